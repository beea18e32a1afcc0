//! The relocation plan: what moves where and why, what stands in the way, and the statements —
//! a value that can be printed, reviewed as SQL and tested without a database.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::blocker::Blocker;
use super::catalog::ObjectId;
use super::object::ObjectKind;
use crate::ProjectName;
use crate::ident::quote_ident;
use crate::lock::LockKey;
use crate::provision::{Actor, Step};

/// One object that moves: from where, to where, and why it is part of the move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub(super) kind: ObjectKind,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) why: String,
}

impl Move {
    /// The kind of object.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// Where it is: `public.<name>` (a routine with its argument types).
    pub fn from(&self) -> &str {
        &self.from
    }

    /// Where it goes: `<p>.<name>`.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// Why it moves: selected, or what it is needed by.
    pub fn why(&self) -> &str {
        &self.why
    }
}

/// What relocating a project's objects out of `public` will do on one instance.
///
/// Print it with [`Display`](fmt::Display) for the dependency report (moves, blockers, what
/// was skipped), or with [`to_sql`](RelocationPlan::to_sql) as the script to review. A plan
/// with unresolved [blockers](RelocationPlan::blockers) is refused by
/// [`relocate`](super::relocate).
///
/// ```no_run
/// # async fn run(client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::relocate::{self, Relocation, Selection};
///
/// let plan = relocate::plan(&client, &"crm".parse()?, &Relocation::new(Selection::All)).await?;
/// println!("{plan}");
/// if !plan.is_blocked() {
///     print!("{}", plan.to_sql());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RelocationPlan {
    pub(super) project: ProjectName,
    pub(super) database: String,
    pub(super) server_major: u32,
    pub(super) steward: String,
    pub(super) lock_timeout: Duration,
    pub(super) moves: Vec<Move>,
    pub(super) blockers: Vec<Blocker>,
    pub(super) rewrites: Vec<Rewrite>,
    /// Whether a trigger function of auth.users becomes the project's signup hook.
    pub(super) makes_hook: bool,
    pub(super) already: Vec<String>,
    pub(super) skipped: Vec<String>,
    /// Act as the owner, let the admin into the schema, lock the relations.
    pub(super) prepare: Vec<Step>,
    /// Move, rename and adjust: the admin still owns everything.
    pub(super) relocate: Vec<Step>,
    /// Hand over, grant, revoke, and end acting as the owner.
    pub(super) finish: Vec<Step>,
    pub(super) checks: Checks,
}

/// What verification reads, by stage.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checks {
    /// Relations with rows: their names before and after the move.
    pub(crate) counted: Vec<Counted>,
    /// Every moved relation (owned sequences included), by OID.
    pub(crate) relations: Vec<u32>,
    pub(crate) types: Vec<u32>,
    pub(crate) functions: Vec<u32>,
    /// Where each moved object must be afterwards: its name in the project's schema.
    pub(crate) expected: BTreeMap<ObjectId, String>,
    /// Rewritten routines by OID, with their labels: their bodies must name no moved object
    /// as `public.<name>` afterwards.
    pub(crate) rewritten: BTreeMap<u32, String>,
    /// The names of the moved objects in public.
    pub(crate) moved_names: Vec<String>,
}

/// A routine restated with the moved objects it names qualified by the project's schema
/// ([`FunctionChoice::Rewrite`](super::FunctionChoice::Rewrite)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    pub(super) oid: u32,
    pub(super) function: String,
    pub(super) before: String,
    pub(super) after: String,
}

impl Rewrite {
    /// The routine, where it ends up: `<p>.<name>(<arguments>)`.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// Its definition before (`pg_get_functiondef`).
    pub fn before(&self) -> &str {
        &self.before
    }

    /// The `CREATE OR REPLACE` statement that replaces it.
    pub fn after(&self) -> &str {
        &self.after
    }

    /// The lines that change, as `- old` / `+ new` pairs in order.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for (old, new) in self.before.lines().zip(self.after.lines()) {
            if old != new {
                out.push_str(&format!("- {old}\n+ {new}\n"));
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Counted {
    /// As SQL, in public.
    pub(crate) before: String,
    /// As SQL, in the project's schema.
    pub(crate) after: String,
    /// For reports: `<p>.<name>`.
    pub(crate) label: String,
}

/// The stages apply runs, verifying in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Prepare,
    Relocate,
    Finish,
}

impl RelocationPlan {
    /// The project the plan is for.
    pub fn project(&self) -> &ProjectName {
        &self.project
    }

    /// True when nothing moves (everything selected is already in the project's schema).
    pub fn is_empty(&self) -> bool {
        self.moves.is_empty()
    }

    /// True when an unresolved blocker stops the relocation.
    pub fn is_blocked(&self) -> bool {
        self.blockers.iter().any(|b| !b.is_resolved())
    }

    /// What moves, in the order the plan moves it.
    pub fn moves(&self) -> &[Move] {
        &self.moves
    }

    /// Every finding of the dependency analysis, resolved by a choice or not.
    pub fn blockers(&self) -> &[Blocker] {
        &self.blockers
    }

    /// The routines `--functions rewrite` restates, with what changes.
    pub fn rewrites(&self) -> &[Rewrite] {
        &self.rewrites
    }

    /// Whether a trigger function of `auth.users` becomes the project's signup hook: applying
    /// then converges the project's platform access in the same transaction.
    pub fn makes_signup_hook(&self) -> bool {
        self.makes_hook
    }

    /// Selected relations already in the project's schema (moved by an earlier run).
    pub fn already_moved(&self) -> &[String] {
        &self.already
    }

    /// What the selection matched but leaves in public, with why.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// The number of statements.
    pub fn len(&self) -> usize {
        self.steps().count()
    }

    /// The statements in the order they run.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.prepare
            .iter()
            .chain(&self.relocate)
            .chain(&self.finish)
    }

    pub(crate) fn stage(&self, stage: Stage) -> &[Step] {
        match stage {
            Stage::Prepare => &self.prepare,
            Stage::Relocate => &self.relocate,
            Stage::Finish => &self.finish,
        }
    }

    pub(crate) fn checks(&self) -> &Checks {
        &self.checks
    }

    /// The statement that makes `actor` the current role.
    pub(crate) fn switch_to(&self, actor: Actor) -> String {
        match actor {
            Actor::Steward => format!("SET LOCAL ROLE {}", quote_ident(&self.steward)),
            Actor::Owner => format!(
                "SET LOCAL ROLE {}",
                quote_ident(&self.project.roles().owner)
            ),
            _ => "RESET ROLE".to_owned(),
        }
    }

    /// The plan as one SQL script in one transaction, the way cotenant applies it: the
    /// project's lock, a short lock timeout, the statements with the reason for each. cotenant
    /// also verifies between the stages (rows and relfilenodes before and after, grants at the
    /// end); the script marks where, and does not verify.
    pub fn to_sql(&self) -> String {
        let mut out = format!(
            "-- cotenant relocation: {} object(s) from `public` into `{}` on database `{}` (PostgreSQL {}), {} statement(s).\n",
            self.moves.len(),
            self.project,
            self.database,
            self.server_major,
            self.len()
        );
        if self.is_blocked() {
            out.push_str("-- Blocked: resolve these first; the script would fail or break them.\n");
            for blocker in self.blockers.iter().filter(|b| !b.is_resolved()) {
                out.push_str(&format!("--   {blocker}\n"));
            }
        }
        if self.is_empty() {
            out.push_str("-- Nothing to move.\n");
            return out;
        }
        out.push_str("BEGIN;\n");
        out.push_str(&format!(
            "SELECT pg_advisory_xact_lock({}); -- cotenant's lock of project `{}`\n",
            LockKey::provision(&self.project).as_i64(),
            self.project
        ));
        out.push_str(&format!(
            "SET LOCAL lock_timeout = '{}ms';\n",
            self.lock_timeout.as_millis()
        ));
        let mut current = Actor::Admin;
        for (stage, note) in [
            (Stage::Prepare, None),
            (
                Stage::Relocate,
                Some("cotenant counts every moved table's rows and reads its relfilenode here"),
            ),
            (
                Stage::Finish,
                Some("cotenant counts the rows again here: same rows, same relfilenodes"),
            ),
        ] {
            if let Some(note) = note {
                if current != Actor::Admin {
                    out.push_str("RESET ROLE;\n");
                    current = Actor::Admin;
                }
                out.push_str(&format!("-- ({note})\n"));
            }
            for step in self.stage(stage) {
                if step.actor() != current {
                    out.push_str(&self.switch_to(step.actor()));
                    out.push_str(";\n");
                    current = step.actor();
                }
                out.push_str(&format!("-- {}\n{};\n", step.why(), step.sql()));
            }
        }
        if current != Actor::Admin {
            out.push_str("RESET ROLE;\n");
        }
        out.push_str("COMMIT;\n");
        out
    }
}

impl fmt::Display for RelocationPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "project `{}` on `{}`: {} object(s) to move from public",
            self.project,
            self.database,
            self.moves.len()
        )?;
        if self.is_blocked() {
            f.write_str(" — blocked")?;
        }
        writeln!(f)?;
        for m in &self.moves {
            writeln!(f, "  {} {} → {} ({})", m.kind, m.from, m.to, m.why)?;
        }
        if !self.blockers.is_empty() {
            writeln!(f, "findings:")?;
            for b in &self.blockers {
                let mark = if b.is_resolved() { "ok" } else { "BLOCKS" };
                writeln!(f, "  [{mark}] {b}")?;
            }
        }
        for rewrite in &self.rewrites {
            writeln!(f, "rewrites {}:", rewrite.function)?;
            for line in rewrite.diff().lines() {
                writeln!(f, "    {line}")?;
            }
        }
        if !self.already.is_empty() {
            writeln!(
                f,
                "already in `{}`: {}",
                self.project,
                self.already.join(", ")
            )?;
        }
        if !self.skipped.is_empty() {
            writeln!(f, "left in public: {}", self.skipped.join("; "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::provision::steward_of;
    use crate::relocate::closure::{close, tests::catalog};
    use crate::relocate::statements::build;
    use crate::relocate::{Relocation, Selection};

    #[test]
    fn routines_move_before_their_types_and_are_named_where_their_types_are() {
        let catalog = catalog();
        let project = "shop".parse().unwrap();
        let relocation = Relocation::new(Selection::All);
        let seeds = relocation
            .get_selection()
            .seeds(&catalog, &project)
            .unwrap();
        let closure = close(&catalog, &project, &relocation, &seeds.objects);
        let plan = build(&catalog, &project, &relocation, seeds, closure);
        assert!(!plan.is_blocked(), "{plan}");
        let sql: Vec<String> = plan.steps().map(|s| s.sql()).collect();
        let at = |statement: &str| {
            sql.iter()
                .position(|s| s == statement)
                .unwrap_or_else(|| panic!("`{statement}` in {sql:#?}"))
        };
        let routine = at(
            r#"ALTER FUNCTION public."report"(public."order_state", public."order_state"[]) SET SCHEMA "shop""#,
        );
        let enum_type = at(r#"ALTER TYPE public."order_state" SET SCHEMA "shop""#);
        let table = at(r#"ALTER TABLE public."orders" SET SCHEMA "shop""#);
        let view = at(r#"ALTER VIEW public."open_orders" SET SCHEMA "shop""#);
        assert!(routine < enum_type && enum_type < table && table < view);
        // After the move, the routine's signature names the type in its new schema.
        at(
            r#"ALTER FUNCTION "shop"."report"("shop"."order_state", "shop"."order_state"[]) OWNER TO "shop_owner""#,
        );
        at(r#"REVOKE ALL ON SEQUENCE "shop"."orders_id_seq" FROM "anon", PUBLIC CASCADE"#);
        at(r#"GRANT USAGE, SELECT ON SEQUENCE "shop"."orders_id_seq" TO "shop_app""#);
        at(r#"REVOKE ALL ON TYPE "shop"."order_state" FROM PUBLIC CASCADE"#);
        at(r#"GRANT EXECUTE ON FUNCTION "shop"."stamp"() TO "shop_app""#);
        assert_eq!(
            sql.last().unwrap(),
            &format!(r#"REVOKE "shop_owner" FROM "{}""#, steward_of(&project))
        );
        let script = plan.to_sql();
        assert!(
            script.starts_with("-- cotenant relocation: 7 object(s)"),
            "{script}"
        );
        assert!(script.contains("-- (cotenant counts every moved table's rows"));
    }
}
