//! Moved tables that publications publish.

use super::Analysis;
use crate::ident::quote_ident;
use crate::relocate::PublicationChoice;
use crate::relocate::blocker::{Blocker, BlockerKind};
use crate::relocate::catalog::ObjectId;

impl Analysis<'_> {
    /// Moved tables that publications publish.
    pub(super) fn publications(&mut self) {
        for r in self.catalog.relations.iter().filter(|r| r.is_table()) {
            if !self.is_moved(ObjectId::relation(r.oid)) {
                continue;
            }
            let object = self.index.describe(ObjectId::relation(r.oid));
            for p in &r.publications {
                let mut blocker = Blocker::new(
                    BlockerKind::Publication,
                    object.clone(),
                    format!(
                        "is published by `{}`; it stays published from its new schema, and subscribers that filter on schema public (e.g. Realtime channels on `public`) must follow",
                        p.name
                    ),
                    "keep publishing it (`--publications keep`) or drop it from the publication (`--publications drop`)",
                );
                match self.choices.publications {
                    Some(PublicationChoice::Keep) => {
                        blocker = blocker.resolved(format!("stays in `{}`", p.name));
                    }
                    Some(PublicationChoice::Drop) if p.admin_acts => {
                        self.closure.publication_drops.push((p.name.clone(), r.oid));
                        blocker = blocker.resolved(format!("dropped from `{}`", p.name));
                    }
                    Some(PublicationChoice::Drop) => {
                        blocker = blocker.with_remedy(format!(
                            "`{}` owns the publication: it (or a superuser) runs `ALTER PUBLICATION {} DROP TABLE public.{}` first, or keep it (`--publications keep`)",
                            p.owner,
                            quote_ident(&p.name),
                            quote_ident(&r.name)
                        ));
                    }
                    None => {}
                }
                self.report(blocker);
            }
            if r.partition_of.is_some() {
                continue;
            }
            for name in &self.catalog.schema_publications {
                let mut blocker = Blocker::new(
                    BlockerKind::Publication,
                    object.clone(),
                    format!(
                        "is published by `{name}`, which publishes the tables of schema public: the move stops publishing it"
                    ),
                    "accept that (`--publications drop`); to keep it published, a superuser runs `ALTER PUBLICATION … ADD TABLE` after the move",
                );
                if self.choices.publications == Some(PublicationChoice::Drop) {
                    blocker = blocker.resolved(format!("leaves `{name}`"));
                }
                self.report(blocker);
            }
        }
    }
}
