//! Objects relocation does not handle, and objects whose owner the admin cannot act as.

use super::Analysis;
use crate::ident::quote_ident;
use crate::relocate::blocker::{Blocker, BlockerKind};
use crate::relocate::catalog::{Kind, ObjectId, Ownership};

impl Analysis<'_> {
    /// Objects relocation cannot handle, and objects whose owner the admin cannot act as.
    pub(super) fn support_and_owners(&mut self) {
        for &id in self.moved.keys() {
            let object = self.index.describe(id);
            let unsupported = match id.kind {
                Kind::Relation => {
                    let r = self.index.relations[&id.oid];
                    if r.extension {
                        Some(extension_reason())
                    } else if r.kind == "f" {
                        Some("foreign tables are not relocated: move it by hand with `ALTER FOREIGN TABLE … SET SCHEMA`".to_owned())
                    } else if r.inheritance {
                        Some("takes part in table inheritance (not partitioning), whose parents and children cotenant does not move".to_owned())
                    } else if let Some(parent) = r
                        .partition_of
                        .filter(|p| !self.is_moved(ObjectId::relation(*p)))
                    {
                        Some(format!(
                            "is a partition of `public.{}`: select that table, and its partitions move with it",
                            self.index
                                .relations
                                .get(&parent)
                                .map_or("?", |p| p.name.as_str())
                        ))
                    } else if let Some(table) = r.owned_by.filter(|_| r.is_sequence()) {
                        Some(format!(
                            "is owned by a column of `public.{}` and moves with that table only",
                            self.index
                                .relations
                                .get(&table)
                                .map_or("?", |t| t.name.as_str())
                        ))
                    } else {
                        None
                    }
                }
                Kind::Type => {
                    let t = self.index.types[&id.oid];
                    if t.extension {
                        Some(extension_reason())
                    } else if t.kind == "r" {
                        Some("range types are not relocated: PostgreSQL moves a range without its multirange type".to_owned())
                    } else {
                        None
                    }
                }
                Kind::Function => {
                    let f = self.index.functions[&id.oid];
                    if f.extension {
                        Some(extension_reason())
                    } else if f.kind == "a" {
                        Some("aggregates are not relocated: move it by hand with `ALTER AGGREGATE … SET SCHEMA`".to_owned())
                    } else {
                        None
                    }
                }
            };
            if let Some(reason) = unsupported {
                self.closure.blockers.push(Blocker::new(
                    BlockerKind::Unsupported,
                    object.clone(),
                    reason,
                    "leave it out of the selection, or move it by hand first",
                ));
            }
            let ownership = self.ownership(id);
            if !ownership.admin_acts {
                let (reason, remedy) = self.owner_remedy(id, ownership);
                self.closure.blockers.push(Blocker::new(
                    BlockerKind::OwnerOutOfReach,
                    object,
                    reason,
                    remedy,
                ));
            }
        }
    }

    pub(super) fn ownership(&self, id: ObjectId) -> &Ownership {
        match id.kind {
            Kind::Relation => &self.index.relations[&id.oid].ownership,
            Kind::Type => &self.index.types[&id.oid].ownership,
            Kind::Function => &self.index.functions[&id.oid].ownership,
        }
    }

    /// Why the admin cannot move an object, and the statement that would let it.
    pub(super) fn owner_remedy(&self, id: ObjectId, ownership: &Ownership) -> (String, String) {
        let kind = self.index.kind(id);
        let name = match id.kind {
            Kind::Function => format!(
                "public.{}({})",
                quote_ident(self.index.name(id)),
                self.index.functions[&id.oid]
                    .arg_types
                    .iter()
                    .map(|t| self.index.labels.get(t).map_or("?", |l| l.label.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => format!("public.{}", quote_ident(self.index.name(id))),
        };
        let admin = quote_ident(&self.catalog.admin);
        let owner = &ownership.owner;
        let hand_over = format!("ALTER {} {name} OWNER TO {admin}", kind.keyword());
        let reason = format!(
            "is owned by `{owner}`, whose privileges the admin `{}` does not have: moving it needs them",
            self.catalog.admin
        );
        let remedy = if ownership.owner_superuser {
            format!(
                "`{owner}` is a superuser, whose objects only a superuser can hand over: as a superuser, run `{hand_over}`, then relocate again"
            )
        } else if self.catalog.has_grant_options() {
            format!(
                "as `{owner}` (or a superuser) run `{hand_over}`; or a role with ADMIN on `{owner}` runs `GRANT {} TO {admin} WITH INHERIT TRUE` (a lasting membership); then relocate again",
                quote_ident(owner)
            )
        } else {
            format!(
                "as `{owner}` (or a superuser) run `{hand_over}`; or run `GRANT {} TO {admin}` (on PostgreSQL 15 the admin's CREATEROLE allows it, as a lasting membership); then relocate again",
                quote_ident(owner)
            )
        };
        (reason, remedy)
    }
}

fn extension_reason() -> String {
    "belongs to an extension: it moves only with its extension (`ALTER EXTENSION … SET SCHEMA`)"
        .to_owned()
}
