//! The role model as the audit expects to find it: one row per role of a project.
//!
//! Adding a kind of project role is adding a row. The Data API roles to come (`<p>_anon`,
//! `<p>_authenticated`, `<p>_service`) are rows with `holds_privileges: true` (grants in
//! their own schema), `granted_to: &["authenticator"]` (PostgREST's login switches to them)
//! and no login; the catalog reads take their suffixes from this table.

use crate::secret::Login;

/// One role of a project's model.
#[derive(Debug, Clone, Copy)]
pub(super) struct RoleSpec {
    /// The name is the project's name and this suffix.
    pub(super) suffix: &'static str,
    /// `Some` for a login: whose limits and role defaults it has.
    pub(super) login: Option<Login>,
    /// The suffix of the project role it is a member of (SET, no inheritance, no ADMIN), and
    /// that its sessions start as.
    pub(super) uses: Option<&'static str>,
    /// Whether it may hold privileges in the project's schema.
    pub(super) holds_privileges: bool,
    /// Whether every provisioned project has it; the rotation twins exist only once a
    /// rotation with alternating users made them.
    pub(super) required: bool,
    /// Roles outside the project that may be members of it (SET, no inheritance).
    pub(super) granted_to: &'static [&'static str],
}

/// The model's roles (README's role table).
pub(super) const ROLES: [RoleSpec; 6] = [
    RoleSpec {
        suffix: "_owner",
        login: None,
        uses: None,
        holds_privileges: true,
        required: true,
        granted_to: &[],
    },
    RoleSpec {
        suffix: "_app",
        login: None,
        uses: None,
        holds_privileges: true,
        required: true,
        granted_to: &[],
    },
    RoleSpec {
        suffix: "_login",
        login: Some(Login::App),
        uses: Some("_app"),
        holds_privileges: false,
        required: true,
        granted_to: &[],
    },
    RoleSpec {
        suffix: "_migrator",
        login: Some(Login::Migrator),
        uses: Some("_owner"),
        holds_privileges: false,
        required: true,
        granted_to: &[],
    },
    RoleSpec {
        suffix: "_login_clone",
        login: Some(Login::App),
        uses: Some("_app"),
        holds_privileges: false,
        required: false,
        granted_to: &[],
    },
    RoleSpec {
        suffix: "_migrator_clone",
        login: Some(Login::Migrator),
        uses: Some("_owner"),
        holds_privileges: false,
        required: false,
        granted_to: &[],
    },
];

/// The suffixes of every model role, as the catalog reads take them.
pub(super) fn suffixes() -> Vec<&'static str> {
    ROLES.iter().map(|r| r.suffix).collect()
}

/// The suffixes of the roles that may hold privileges in their own schema.
pub(super) fn privileged_suffixes() -> Vec<&'static str> {
    ROLES
        .iter()
        .filter(|r| r.holds_privileges)
        .map(|r| r.suffix)
        .collect()
}

/// The row of `suffix`.
pub(super) fn spec(suffix: &str) -> Option<&'static RoleSpec> {
    ROLES.iter().find(|r| r.suffix == suffix)
}
