//! Row-level security policies on moved tables that apply only to roles outside the project.

use super::Analysis;
use crate::relocate::PolicyChoice;
use crate::relocate::blocker::{Blocker, BlockerKind};
use crate::relocate::catalog::ObjectId;

impl Analysis<'_> {
    /// Policies on moved tables that apply only to roles outside the project.
    pub(super) fn policies(&mut self) {
        let roles = self.project.roles();
        let project_roles = roles.all();
        for r in &self.catalog.relations {
            if !self.is_moved(ObjectId::relation(r.oid)) {
                continue;
            }
            for p in &r.policies {
                let applies_to_project = p
                    .roles
                    .iter()
                    .any(|role| role == "PUBLIC" || project_roles.contains(&role.as_str()));
                if applies_to_project {
                    continue;
                }
                let mut blocker = Blocker::new(
                    BlockerKind::Policy,
                    format!("policy `{}` on table public.{}", p.name, r.name),
                    format!(
                        "applies only to {}, which lose every privilege on the table: `{}` would see no rows through it",
                        p.roles.join(", "),
                        roles.app
                    ),
                    format!(
                        "make it apply to `{}` (`--policies to-app`) or keep it (`--policies keep`)",
                        roles.app
                    ),
                );
                match self.choices.policies {
                    Some(PolicyChoice::ToApp) => {
                        self.closure.policies_to_app.push((r.oid, p.name.clone()));
                        blocker = blocker.resolved(format!("now applies to `{}`", roles.app));
                    }
                    Some(PolicyChoice::Keep) => blocker = blocker.resolved("kept"),
                    None => {}
                }
                self.report(blocker);
            }
        }
    }
}
