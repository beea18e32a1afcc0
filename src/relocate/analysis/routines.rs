//! Routines whose text body or `search_path` setting would not resolve their names after the
//! move.

use super::Analysis;
use crate::ident::quote_ident;
use crate::relocate::blocker::{Blocker, BlockerKind};
use crate::relocate::body::mentions;
use crate::relocate::catalog::ObjectId;
use crate::relocate::{FunctionChoice, SearchPathChoice};

impl Analysis<'_> {
    /// The names of moved relations as routine bodies may spell them: (name in public, final
    /// name). Owned sequences count: `nextval('t_id_seq')` names one.
    pub(super) fn moved_relation_names(&self) -> Vec<(&str, &str)> {
        self.catalog
            .relations
            .iter()
            .filter(|r| {
                self.is_moved(ObjectId::relation(r.oid))
                    || r.owned_by
                        .is_some_and(|t| self.is_moved(ObjectId::relation(t)))
            })
            .map(|r| (r.name.as_str(), self.selection.renamed(&r.name)))
            .collect()
    }

    /// The relations of public that stay, as routine bodies may spell them, with what would
    /// have to move for them to move: owned sequences move with their table.
    pub(super) fn staying_relation_names(&self) -> Vec<(&str, ObjectId)> {
        self.catalog
            .relations
            .iter()
            .filter_map(|r| {
                let id = ObjectId::relation(r.owned_by.unwrap_or(r.oid));
                let movable = r.partition_of.is_none() && !r.extension;
                (!self.is_moved(id) && movable).then_some((r.name.as_str(), id))
            })
            .collect()
    }

    /// Routines whose text body names a relation where the name will not resolve after the
    /// move: a routine that stays naming a moved relation, a moved routine naming one that stays
    /// (it runs in the project now, which cannot reach public's relations), and a moved routine
    /// naming a moved relation as `public.…` or by a name the move changes.
    pub(super) fn bodies(&mut self) {
        let moving = self.moved_relation_names();
        let staying = self.staying_relation_names();
        // (what moving along would add, how the routine is named, why it breaks, whether
        // `--functions rewrite` mends it)
        let mut found: Vec<(Vec<ObjectId>, String, String, bool)> = Vec::new();
        for f in &self.catalog.functions {
            let Some(body) = &f.body else { continue };
            let id = ObjectId::function(f.oid);
            // A hook's body is qualified as it is recreated.
            if self.becomes_hook(f.oid) {
                continue;
            }
            if !self.is_moved(id) {
                let hits: Vec<&str> = moving
                    .iter()
                    .filter(|(name, _)| mentions(body, name).any())
                    .map(|(name, _)| *name)
                    .collect();
                if !hits.is_empty() {
                    found.push((
                        vec![id],
                        self.index.describe(id),
                        format!(
                            "stays in public, and its body names {}: calls will fail",
                            which_move(&hits)
                        ),
                        true,
                    ));
                }
                continue;
            }
            // Only `public.<name>` can be rewritten: an unqualified name the move changes may be
            // a column or a variable as well.
            let mut rewritable = f.definition.is_some();
            let broken: Vec<&str> = moving
                .iter()
                .filter(|(name, renamed)| {
                    let m = mentions(body, name);
                    let renamed_bare = m.unqualified && name != renamed;
                    rewritable &= !renamed_bare;
                    m.qualified || renamed_bare
                })
                .map(|(name, _)| *name)
                .collect();
            if !broken.is_empty() {
                found.push((
                    Vec::new(),
                    self.index.describe(id),
                    format!(
                        "moves, and its body names {} as `public.…` or by a name the move changes: that will not resolve",
                        quoted(&broken)
                    ),
                    rewritable,
                ));
            }
            let (hits, relations): (Vec<&str>, Vec<ObjectId>) = staying
                .iter()
                .filter(|(name, _)| mentions(body, name).any())
                .copied()
                .unzip();
            if !hits.is_empty() {
                found.push((
                    relations,
                    self.index.describe(id),
                    format!(
                        "moves, and its body names {}, which stay{} in public: from `{}` they are out of reach",
                        quoted(&hits),
                        if hits.len() == 1 { "s" } else { "" },
                        self.project
                    ),
                    true,
                ));
            }
        }
        for b in &self.catalog.outside_bodies {
            let hits: Vec<&str> = moving
                .iter()
                .filter(|(name, _)| mentions(&b.body, name).qualified)
                .map(|(name, _)| *name)
                .collect();
            if !hits.is_empty() {
                found.push((
                    Vec::new(),
                    format!("function {}", b.label),
                    format!("its body names {} as `public.…`", which_move(&hits)),
                    false,
                ));
            }
        }
        for (along, object, reason, rewritable) in found {
            let remedy = match (along.is_empty(), rewritable) {
                (true, true) => {
                    "rewrite its body (`--functions rewrite`), or fix it after the move (`CREATE OR REPLACE FUNCTION` in a migration) and confirm with `--functions ignore`"
                }
                (true, false) => {
                    "fix its body after the move (`CREATE OR REPLACE FUNCTION` in a migration) and confirm with `--functions ignore`"
                }
                (false, _) => {
                    "move it along (`--functions move-along`, or `--functions rewrite` to also qualify its `public.…` names), or confirm with `--functions ignore`"
                }
            };
            let mut blocker = Blocker::new(
                BlockerKind::FunctionBody,
                object,
                format!("{reason} (found by searching the body's text, which can be wrong)"),
                remedy,
            );
            match self.choices.functions {
                Some(FunctionChoice::MoveAlong | FunctionChoice::Rewrite) if !along.is_empty() => {
                    self.additions.extend(along);
                    blocker = blocker.resolved("what it names moves with it");
                }
                Some(FunctionChoice::Rewrite) if rewritable => {
                    blocker = blocker.resolved(format!(
                        "its `public.…` names are rewritten to `{}.…`",
                        self.project
                    ));
                }
                Some(FunctionChoice::Ignore) => blocker = blocker.resolved("ignored"),
                _ => {}
            }
            self.report(blocker);
        }
    }

    /// Moved routines pinned to public, and SECURITY DEFINER routines pinned to nothing.
    pub(super) fn search_paths(&mut self) {
        let schema = quote_ident(self.project.as_str());
        for f in &self.catalog.functions {
            let id = ObjectId::function(f.oid);
            // A hook pins its search_path to the project as it is recreated.
            if !self.is_moved(id) || self.becomes_hook(f.oid) {
                continue;
            }
            let (reason, repointed) = match &f.search_path {
                Some(path) => {
                    let elements: Vec<&str> = path.split(',').map(str::trim).collect();
                    if !elements.iter().any(|e| *e == "public" || *e == "\"public\"") {
                        continue;
                    }
                    let repointed = elements
                        .iter()
                        .map(|e| match *e {
                            "public" | "\"public\"" => schema.clone(),
                            other => other.to_owned(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    (
                        format!(
                            "runs with `search_path = {path}`: its unqualified names would keep resolving in public, where the moved objects no longer are"
                        ),
                        repointed,
                    )
                }
                None if f.security_definer => (
                    "is SECURITY DEFINER without a pinned search_path: in a project it must pin one, or each caller's search_path decides what it runs with the owner's rights".to_owned(),
                    schema.clone(),
                ),
                None => continue,
            };
            let mut blocker = Blocker::new(
                BlockerKind::SearchPath,
                self.index.describe(id),
                reason,
                format!(
                    "set it to `{repointed}` (`--search-paths repoint`) or keep it (`--search-paths keep`)"
                ),
            );
            match self.choices.search_paths {
                Some(SearchPathChoice::Repoint) => {
                    blocker = blocker.resolved(format!("search_path set to `{repointed}`"));
                    self.closure.repoints.push((f.oid, repointed));
                }
                Some(SearchPathChoice::Keep) => blocker = blocker.resolved("kept"),
                None => {}
            }
            self.report(blocker);
        }
    }
}

/// `a`, `b`, which move — or `a`, which moves.
fn which_move(names: &[&str]) -> String {
    let verb = if names.len() == 1 { "moves" } else { "move" };
    format!("{}, which {verb}", quoted(names))
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
