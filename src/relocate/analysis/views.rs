//! Views that read moved and unmoved relations.

use std::collections::BTreeMap;

use super::Analysis;
use crate::relocate::ViewChoice;
use crate::relocate::blocker::{Blocker, BlockerKind};
use crate::relocate::catalog::{ObjectId, Use};

impl Analysis<'_> {
    /// Views that read moved and unmoved relations, in public or elsewhere.
    pub(super) fn views(&mut self) {
        let mut views: BTreeMap<ObjectId, (String, bool, Vec<&Use>)> = BTreeMap::new();
        for u in self.catalog.uses.iter().filter(|u| u.how == "view") {
            let entry = views
                .entry(u.user())
                .or_insert_with(|| (u.user_label.clone(), u.user_in_public, Vec::new()));
            entry.2.push(u);
        }
        for (id, (label, in_public, reads)) in views {
            let view_moves = in_public && self.is_moved(id);
            let (moving, staying): (Vec<&Use>, Vec<&Use>) =
                reads.into_iter().partition(|u| self.is_moved(u.used()));
            let mixed = if view_moves {
                !staying.is_empty()
            } else {
                !moving.is_empty()
            };
            if !mixed {
                continue;
            }
            let names = |uses: &[&Use]| {
                uses.iter()
                    .map(|u| u.used_label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let object = if in_public {
                self.index.describe(id)
            } else {
                format!("view {label}")
            };
            let reason = if view_moves {
                format!(
                    "moves, but also reads {}, which stay{}: its owner `{}` may not read {}",
                    names(&staying),
                    if staying.len() == 1 { "s" } else { "" },
                    self.project.roles().owner,
                    if staying.len() == 1 { "it" } else { "them" }
                )
            } else {
                format!(
                    "stays, but reads {}, which move{}: its owner loses access to {}",
                    names(&moving),
                    if moving.len() == 1 { "s" } else { "" },
                    if moving.len() == 1 { "it" } else { "them" }
                )
            };
            let mut blocker = Blocker::new(
                BlockerKind::MixedView,
                object,
                reason,
                "move it with everything it reads (`--views move-along`) or leave it in public (`--views leave`)",
            );
            let outside: Vec<&str> = std::iter::once(&label)
                .filter(|_| !in_public)
                .map(String::as_str)
                .chain(
                    staying
                        .iter()
                        .filter(|u| !self.index.contains(u.used()))
                        .map(|u| u.used_label.as_str()),
                )
                .collect();
            match self.choices.views {
                Some(ViewChoice::MoveAlong) if outside.is_empty() => {
                    self.additions.insert(id);
                    self.additions.extend(staying.iter().map(|u| u.used()));
                    blocker = blocker.resolved("moves with what it reads");
                }
                Some(ViewChoice::MoveAlong) => {
                    blocker = blocker.with_remedy(format!(
                        "{} is outside public and cannot move along: leave it (`--views leave`)",
                        outside.join(", ")
                    ));
                }
                Some(ViewChoice::Leave) => {
                    if in_public {
                        self.leaves.insert(id);
                    }
                    blocker = blocker.resolved("left where it is");
                }
                None => {}
            }
            self.report(blocker);
        }
    }
}
