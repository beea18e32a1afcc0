//! Foreign keys with one end moving and the other staying.

use super::Analysis;
use crate::relocate::ForeignKeyChoice;
use crate::relocate::blocker::{Blocker, BlockerKind};
use crate::relocate::catalog::{ObjectId, SIGNUP_TABLE};

impl Analysis<'_> {
    /// Foreign keys with one end moving and the other staying.
    pub(super) fn foreign_keys(&mut self) {
        for fk in &self.catalog.foreign_keys {
            let from_moves = fk.from_in_public && self.is_moved(ObjectId::relation(fk.from));
            let to_moves = fk.to_in_public && self.is_moved(ObjectId::relation(fk.to));
            if from_moves == to_moves {
                continue;
            }
            let (other, other_label, other_in_public) = if from_moves {
                (fk.to, &fk.to_label, fk.to_in_public)
            } else {
                (fk.from, &fk.from_label, fk.from_in_public)
            };
            let reason = if from_moves {
                format!(
                    "references {}, which stays: the project would depend on a table outside it",
                    fk.to_label
                )
            } else {
                format!(
                    "references {}, which moves, while {} stays",
                    fk.to_label, fk.from_label
                )
            };
            let mut blocker = Blocker::new(
                BlockerKind::ForeignKey,
                format!("foreign key `{}` of {}", fk.name, fk.from_label),
                reason,
                "move the other table too (`--foreign-keys move-along`) or keep the key across schemas (`--foreign-keys keep`)",
            );
            // Supabase apps reference auth.users by design: with platform access `auth` the
            // project may (REFERENCES on its id), and the key keeps working from the project.
            let references_users = from_moves && fk.to_label == SIGNUP_TABLE;
            if references_users && self.platform.is_some_and(|a| a.auth) {
                self.report(blocker.resolved(format!(
                    "kept: `{}` references {SIGNUP_TABLE} through its platform access `auth`",
                    self.project
                )));
                continue;
            }
            if references_users {
                blocker = blocker.with_remedy(format!(
                    "declare platform access `auth = true` for `{}` (it may then reference {SIGNUP_TABLE}), or keep the key (`--foreign-keys keep`)",
                    self.project
                ));
            }
            match self.choices.foreign_keys {
                Some(ForeignKeyChoice::MoveAlong) if other_in_public => {
                    self.additions.insert(ObjectId::relation(other));
                    blocker = blocker.resolved(format!("{other_label} moves too"));
                }
                Some(ForeignKeyChoice::MoveAlong) => {
                    blocker = blocker.with_remedy(format!(
                        "{other_label} is outside public and cannot move along: keep the key (`--foreign-keys keep`)"
                    ));
                }
                Some(ForeignKeyChoice::Keep) => {
                    blocker = blocker.resolved("kept across schemas");
                }
                None => {}
            }
            self.report(blocker);
        }
    }
}
