//! Trigger functions that a trigger on `auth.users` fires: on a shared instance every project's
//! signups insert into that one table, so such a function runs for all of them. Moved into the
//! project it would break every signup; it can become the project's signup hook instead.

use super::Analysis;
use crate::platform::SIGNUP_COLUMNS;
use crate::relocate::blocker::{Blocker, BlockerKind};
use crate::relocate::body::identifiers;
use crate::relocate::catalog::{ObjectId, SIGNUP_TABLE};
use crate::relocate::{SharedChoice, SignupTriggerChoice};

/// What a trigger function may use and a signup hook cannot offer: the trigger's own variables.
const TRIGGER_ONLY: &[&str] = &[
    "old",
    "tg_name",
    "tg_when",
    "tg_level",
    "tg_op",
    "tg_relid",
    "tg_relname",
    "tg_table_name",
    "tg_table_schema",
    "tg_nargs",
    "tg_argv",
];

impl Analysis<'_> {
    /// Whether `function` becomes the project's signup hook in this relocation.
    pub(super) fn becomes_hook(&self, function: u32) -> bool {
        self.choices.signup_triggers == Some(SignupTriggerChoice::Hook)
            && self.is_moved(ObjectId::function(function))
            && self.hook_problem(function).is_none()
    }

    /// Why `function`, fired by a trigger on auth.users, cannot become a signup hook as it is:
    /// every reason, so that one dry run shows all there is to fix.
    fn hook_problem(&self, function: u32) -> Option<String> {
        let mut problems = Vec::new();
        let triggers: Vec<_> = self
            .catalog
            .signup_triggers
            .iter()
            .filter(|t| t.function == function)
            .collect();
        if triggers.len() != 1 || !triggers[0].after_insert_per_row {
            problems.push(format!(
                "a signup hook replaces one `AFTER INSERT ... FOR EACH ROW` trigger without a `WHEN` clause; {} fire it",
                triggers
                    .iter()
                    .map(|t| format!("`{}`", t.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let f = self.index.functions.get(&function)?;
        match f.body.as_deref().filter(|_| f.arg_types.is_empty()) {
            None => problems.push(
                "only a PL/pgSQL trigger function without arguments can become a hook".to_owned(),
            ),
            Some(body) => {
                let (idents, fields) = identifiers(body, "new");
                let trigger_only: Vec<&str> = TRIGGER_ONLY
                    .iter()
                    .copied()
                    .filter(|v| idents.contains(*v))
                    .collect();
                if !trigger_only.is_empty() {
                    problems.push(format!(
                        "its body uses {}, which a hook does not have",
                        trigger_only.join(", ")
                    ));
                }
                let hidden: Vec<&str> = fields
                    .iter()
                    .map(String::as_str)
                    .filter(|field| SIGNUP_COLUMNS.iter().all(|(column, _)| column != field))
                    .collect();
                if !hidden.is_empty() {
                    problems.push(format!(
                        "its body reads NEW.{}, which a hook does not see (hooks see {}: never passwords or tokens)",
                        hidden.join(", NEW."),
                        SIGNUP_COLUMNS
                            .iter()
                            .map(|(c, _)| *c)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        let name = self.selection.renamed(&f.name);
        match self.platform.and_then(|a| a.signup_hook.as_deref()) {
            Some(declared) if declared == name => {}
            Some(declared) => problems.push(format!(
                "the platform access of `{}` declares `{declared}` as its signup hook, not `{name}`",
                self.project
            )),
            None => problems.push(format!(
                "declare it: `signup_hook = \"{name}\"` under `[projects.{}.platform]` in cotenant.toml",
                self.project
            )),
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// Moved routines that a trigger on auth.users fires.
    pub(super) fn signup_triggers(&mut self) {
        let found: Vec<(u32, String)> = self
            .catalog
            .signup_triggers
            .iter()
            .filter(|t| self.is_moved(ObjectId::function(t.function)))
            .map(|t| (t.function, t.name.clone()))
            .collect();
        for (function, trigger) in found {
            let id = ObjectId::function(function);
            let mut blocker = Blocker::new(
                BlockerKind::SignupTrigger,
                self.index.describe(id),
                format!(
                    "trigger `{trigger}` on {SIGNUP_TABLE} fires it for every signup on the instance, every project's: moved into `{}` without it, every signup would fail",
                    self.project
                ),
                format!(
                    "make it `{}`'s signup hook (`--signup-triggers hook`), or leave it in public (`--shared leave`)",
                    self.project
                ),
            );
            if self.choices.shared == Some(SharedChoice::Leave)
                && self.choices.signup_triggers.is_none()
            {
                self.leaves.insert(id);
                blocker = blocker.resolved("left in public");
            } else if self.choices.signup_triggers == Some(SignupTriggerChoice::Hook) {
                match self.hook_problem(function) {
                    None => {
                        blocker = blocker.resolved(format!(
                            "becomes `{}`'s signup hook: trigger `{trigger}` is dropped and the signup dispatcher calls it",
                            self.project
                        ));
                        self.closure.hooks.push((function, trigger));
                    }
                    Some(problem) => blocker = blocker.with_remedy(problem),
                }
            }
            self.report(blocker);
        }
    }
}
