//! Types, free-standing sequences and trigger functions used both by what moves and by what
//! stays.

use super::Analysis;
use crate::relocate::SharedChoice;
use crate::relocate::blocker::{Blocker, BlockerKind};
use crate::relocate::catalog::{Kind, ObjectId, SIGNUP_TABLE, Use};

impl Analysis<'_> {
    /// Types, free sequences and trigger functions that objects staying behind use too.
    pub(super) fn shared(&mut self) {
        let mut found: Vec<(ObjectId, Vec<&Use>, Sharing)> = Vec::new();
        for &id in self.moved.keys() {
            let applies = match id.kind {
                Kind::Type => true,
                Kind::Function => true,
                Kind::Relation => self.index.relations[&id.oid].is_sequence(),
            };
            if !applies {
                continue;
            }
            let users: Vec<&Use> = self
                .catalog
                .uses
                .iter()
                .filter(|u| u.used() == id && !self.is_moved(u.user()))
                .filter(|u| id.kind != Kind::Function || u.how == "trigger")
                // Triggers on auth.users are reported as signup triggers.
                .filter(|u| !(u.how == "trigger" && u.user_label == SIGNUP_TABLE))
                .collect();
            if !users.is_empty() {
                found.push((id, users, Sharing::Free));
            }
        }
        for seq in self.catalog.relations.iter().filter(|r| r.is_sequence()) {
            let id = ObjectId::relation(seq.oid);
            let Some(table) = seq.owned_by else { continue };
            let table_moves = self.is_moved(ObjectId::relation(table));
            let users: Vec<&Use> = self
                .catalog
                .uses
                .iter()
                .filter(|u| {
                    u.used() == id && u.how == "default" && self.is_moved(u.user()) != table_moves
                })
                .collect();
            if !users.is_empty() {
                let sharing = if table_moves {
                    Sharing::OwnedByMoved
                } else {
                    Sharing::OwnedByUnmoved(table)
                };
                found.push((id, users, sharing));
            }
        }
        for (id, users, sharing) in found {
            let object = match sharing {
                Sharing::Free => self.index.describe(id),
                _ => format!("sequence public.{}", self.index.name(id)),
            };
            let listed = users
                .iter()
                .map(|u| format!("{} ({})", u.user_label, u.how))
                .collect::<Vec<_>>()
                .join(", ");
            let reason = match sharing {
                Sharing::OwnedByUnmoved(_) => format!(
                    "belongs to a table that stays, yet {listed} moves and takes its values from it: `{}` may not use it there",
                    self.project.roles().app
                ),
                _ => format!("moves, and is also used by what stays: {listed}"),
            };
            let mut blocker = Blocker::new(
                BlockerKind::SharedDependency,
                object,
                reason,
                "move what uses it too (`--shared move-along`) or leave it in public (`--shared leave`)",
            );
            let outside: Vec<&str> = users
                .iter()
                .filter(|u| !u.user_in_public)
                .map(|u| u.user_label.as_str())
                .collect();
            match self.choices.shared {
                Some(SharedChoice::MoveAlong) if outside.is_empty() => {
                    let users: Vec<ObjectId> = users
                        .iter()
                        .map(|u| u.user())
                        .filter(|u| !self.is_moved(*u))
                        .collect();
                    self.additions.extend(users);
                    if let Sharing::OwnedByUnmoved(table) = sharing {
                        self.additions.insert(ObjectId::relation(table));
                    }
                    blocker = blocker.resolved("what uses it moves too");
                }
                Some(SharedChoice::MoveAlong) => {
                    blocker = blocker.with_remedy(format!(
                        "{} is outside public and cannot move along: leave it in public (`--shared leave`)",
                        outside.join(", ")
                    ));
                }
                Some(SharedChoice::Leave) => match sharing {
                    Sharing::Free => {
                        self.leaves.insert(id);
                        blocker = blocker.resolved("left in public");
                    }
                    Sharing::OwnedByUnmoved(_) => {
                        blocker = blocker.resolved("left in public with its table");
                    }
                    Sharing::OwnedByMoved => {
                        blocker = blocker.with_remedy("it belongs to a moved table and moves with it: move what uses it too (`--shared move-along`)");
                    }
                },
                None => {}
            }
            self.report(blocker);
        }
    }
}

/// How a sequence with users on both sides of the move is shared.
#[derive(Debug, Clone, Copy)]
enum Sharing {
    /// Not owned by a column: it moves or stays on its own.
    Free,
    /// Owned by a moved table, used by defaults of tables that stay.
    OwnedByMoved,
    /// Owned by this table, which stays, and used by defaults of moved tables.
    OwnedByUnmoved(u32),
}
