//! Provisioning: bring a project's schema, roles and grants on one instance to the role model.
//!
//! [`plan`] reads the catalog and returns a [`Plan`] — what will change and why, printable as
//! SQL — without changing anything; [`apply`] computes the same plan inside one transaction
//! under the project's advisory lock, runs it, checks that nothing is left to do and commits.
//! Running it again plans nothing.

mod apply;
mod connect;
mod deprovision;
mod error;
mod fleet;
mod plan;
mod settings;
mod state;
mod steward;
mod summary;
mod users;

pub use apply::{LoginPasswords, apply, plan};
pub use apply::{apply_with_api, apply_with_platform};
pub(crate) use apply::{current_settings, plan_with};
pub(crate) use connect::CONNECT_ROLE;
pub use deprovision::{DropObjects, deprovision, plan_deprovision};
pub use error::ProvisionError;
pub use fleet::{FleetReadError, FleetState};
pub use plan::{Actor, PasswordResets, Plan, Step};
pub use settings::{LoginLimits, ProjectSettings};
pub(crate) use settings::{parse_time, setting_millis};
pub(crate) use summary::{differences, summary};
pub use users::{LoginUser, LoginUsers};

/// The advisory lock key cotenant holds (transaction-level) while it changes what all
/// projects share: the database's ACL, schema `public`, the stewards. An operator script that
/// changes those too can take `pg_advisory_xact_lock(instance_lock_key())` to stay out of
/// cotenant's way.
pub fn instance_lock_key() -> i64 {
    crate::lock::LockKey::instance().as_i64()
}

/// The steward of `project`: the role that creates and manages its roles (see the design
/// notes in `docs/design.md`). An operator who must change a project's memberships by hand
/// does it as this role (`SET ROLE`), so that cotenant can later repair or revoke it — on
/// PostgreSQL 16+ only the grantor's privileges allow revoking a membership.
pub fn steward_of(project: &crate::ProjectName) -> String {
    steward::for_project(project)
}

/// The sub-steward of `project` on PostgreSQL 16+: the role that creates and manages its roles
/// under its [steward](steward_of), which inherits it (see `docs/design.md`). Projects that a
/// steward created itself, before sub-stewards, stay with the steward.
pub fn sub_steward_of(project: &crate::ProjectName) -> String {
    steward::sub_steward_for(project)
}
