//! The role model as the audit expects to find it: one row per role of a project.
//!
//! Adding a kind of project role is adding a row; the catalog reads take their suffixes from
//! this table. The Data API roles (`<p>_anon`, `<p>_authenticated`, `<p>_service`) are rows
//! with an [`ApiRoleKind`]: whether they exist, what they may hold and who may SET ROLE to
//! them follow the project's declared [`Api`].

use crate::api::{AUTHENTICATOR, Api, ApiRoleKind, REALTIME};
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
    /// Whether it may hold any privilege in the project's schema (the catalog reads leave
    /// them out). An API role's privileges there are read and held to its declaration.
    pub(super) holds_privileges: bool,
    /// Whether every provisioned project has it; the rotation twins exist only once a
    /// rotation with alternating users made them. An API role exists exactly when declared.
    pub(super) required: bool,
    /// `Some` for a Data API role.
    pub(super) api: Option<ApiRoleKind>,
    /// Whether it has BYPASSRLS (`<p>_service`, in its own project only).
    pub(super) bypassrls: bool,
}

impl RoleSpec {
    const fn project(
        suffix: &'static str,
        login: Option<Login>,
        uses: Option<&'static str>,
    ) -> Self {
        RoleSpec {
            suffix,
            login,
            uses,
            holds_privileges: uses.is_none(),
            required: true,
            api: None,
            bypassrls: false,
        }
    }

    const fn twin(suffix: &'static str, login: Login, uses: &'static str) -> Self {
        RoleSpec {
            required: false,
            ..RoleSpec::project(suffix, Some(login), Some(uses))
        }
    }

    const fn api(suffix: &'static str, kind: ApiRoleKind) -> Self {
        RoleSpec {
            holds_privileges: false,
            required: false,
            api: Some(kind),
            bypassrls: matches!(kind, ApiRoleKind::Service),
            ..RoleSpec::project(suffix, None, None)
        }
    }

    /// Whether the project's declaration wants this role to exist.
    pub(super) fn wanted(&self, api: &Api) -> bool {
        match self.api {
            Some(kind) => api.kinds().any(|k| k == kind),
            None => self.required,
        }
    }

    /// The roles outside the project that may be members of it (SET, no inheritance):
    /// PostgREST's `authenticator` for an API role, and Realtime's role when declared.
    pub(super) fn granted_to(&self, api: &Api) -> Vec<&'static str> {
        match self.api {
            Some(_) if api.realtime => vec![AUTHENTICATOR, REALTIME],
            Some(_) => vec![AUTHENTICATOR],
            None => Vec::new(),
        }
    }
}

/// The model's roles (README's role table, and the Data API roles of docs/design.md).
pub(super) const ROLES: [RoleSpec; 9] = [
    RoleSpec::project("_owner", None, None),
    RoleSpec::project("_app", None, None),
    RoleSpec::project("_login", Some(Login::App), Some("_app")),
    RoleSpec::project("_migrator", Some(Login::Migrator), Some("_owner")),
    RoleSpec::twin("_login_clone", Login::App, "_app"),
    RoleSpec::twin("_migrator_clone", Login::Migrator, "_owner"),
    RoleSpec::api("_anon", ApiRoleKind::Anon),
    RoleSpec::api("_authenticated", ApiRoleKind::Authenticated),
    RoleSpec::api("_service", ApiRoleKind::Service),
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
