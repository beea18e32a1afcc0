//! What a project exposes to its clients through the Data API, as cotenant.toml declares it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use crate::ProjectName;

/// A privilege an API role may get by default on a project's new tables.
///
/// `TRUNCATE`, `REFERENCES` and `TRIGGER` are never offered: `TRUNCATE` ignores row-level
/// security, and the others are DDL a client has no business doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TablePrivilege {
    /// `SELECT`.
    Select,
    /// `INSERT`.
    Insert,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
}

/// A privilege an API role may get by default on a project's new sequences. `UPDATE`
/// (`setval`) is never offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SequencePrivilege {
    /// `USAGE` (`nextval`, `currval`): what an insert into a `serial` column needs.
    Usage,
    /// `SELECT` (`currval`, reading the sequence).
    Select,
}

impl TablePrivilege {
    /// Every table privilege that can be declared.
    pub const ALL: [TablePrivilege; 4] = [Self::Select, Self::Insert, Self::Update, Self::Delete];

    /// The SQL keyword.
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::Select => "SELECT",
            Self::Insert => "INSERT",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
        }
    }
}

impl SequencePrivilege {
    /// Every sequence privilege that can be declared.
    pub const ALL: [SequencePrivilege; 2] = [Self::Usage, Self::Select];

    /// The SQL keyword.
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::Usage => "USAGE",
            Self::Select => "SELECT",
        }
    }
}

impl fmt::Display for TablePrivilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_sql())
    }
}

impl fmt::Display for SequencePrivilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_sql())
    }
}

/// Which of a project's API roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ApiRoleKind {
    /// `<p>_anon`: requests without a user (PostgREST's `anon` for this project).
    Anon,
    /// `<p>_authenticated`: requests of a signed-in user.
    Authenticated,
    /// `<p>_service`: the project's trusted backend, with BYPASSRLS.
    Service,
}

impl ApiRoleKind {
    /// The three kinds, in the order the plan treats them.
    pub const ALL: [ApiRoleKind; 3] = [Self::Anon, Self::Authenticated, Self::Service];

    /// The suffix of the role's name: `anon`, `authenticated`, `service`.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Anon => "anon",
            Self::Authenticated => "authenticated",
            Self::Service => "service",
        }
    }

    /// The role's name for `project`: `<p>_anon`, `<p>_authenticated`, `<p>_service`.
    ///
    /// ```
    /// use cotenant::api::ApiRoleKind;
    ///
    /// assert_eq!(ApiRoleKind::Authenticated.role(&"reli".parse()?), "reli_authenticated");
    /// # Ok::<(), cotenant::NameError>(())
    /// ```
    pub fn role(self, project: &ProjectName) -> String {
        format!("{project}_{}", self.suffix())
    }
}

impl fmt::Display for ApiRoleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// What one API role gets: default privileges on the owner's new objects in the project's
/// schema (none unless declared: exposure is deliberate) and its statement timeout.
///
/// ```
/// use cotenant::api::{ApiRole, TablePrivilege};
/// use std::time::Duration;
///
/// let role = ApiRole::default()
///     .with_tables([TablePrivilege::Select, TablePrivilege::Insert])
///     .with_statement_timeout(Some(Duration::from_secs(5)));
/// assert_eq!(role.tables.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiRole {
    /// Privileges on new tables and views.
    pub tables: BTreeSet<TablePrivilege>,
    /// Privileges on new sequences.
    pub sequences: BTreeSet<SequencePrivilege>,
    /// `EXECUTE` on new functions.
    pub functions: bool,
    /// The role default `statement_timeout` (PostgREST applies an impersonated role's
    /// settings per request); `None` for none.
    pub statement_timeout: Option<Duration>,
}

impl ApiRole {
    /// With these table privileges.
    pub fn with_tables(mut self, privileges: impl IntoIterator<Item = TablePrivilege>) -> Self {
        self.tables = privileges.into_iter().collect();
        self
    }

    /// With these sequence privileges.
    pub fn with_sequences(
        mut self,
        privileges: impl IntoIterator<Item = SequencePrivilege>,
    ) -> Self {
        self.sequences = privileges.into_iter().collect();
        self
    }

    /// With or without `EXECUTE` on new functions.
    pub fn with_functions(mut self, execute: bool) -> Self {
        self.functions = execute;
        self
    }

    /// With this statement timeout (`None`: no role default).
    pub fn with_statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }
}

/// The Data API of one project: whether it is on, whether it has a service role, and what
/// each API role gets. Off by default.
///
/// The defaults follow hosted Supabase's: `<p>_anon` has a 3 s statement timeout,
/// `<p>_authenticated` 8 s, `<p>_service` none; no role gets any default privilege.
///
/// ```
/// use cotenant::api::{Api, ApiRoleKind, TablePrivilege};
///
/// let api = Api::enabled().with_service(true);
/// let api = api.with_role(ApiRoleKind::Authenticated, |r| r.with_tables(TablePrivilege::ALL));
/// assert!(api.enabled && api.service);
/// assert_eq!(api.role(ApiRoleKind::Anon).statement_timeout.unwrap().as_secs(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Api {
    /// The API roles exist (`false`: they are dropped).
    pub enabled: bool,
    /// `<p>_service` exists too.
    pub service: bool,
    /// Supabase Realtime may impersonate the API roles (`supabase_realtime_admin` is granted
    /// them, SET only), as it does to check a subscriber's RLS on Postgres Changes.
    pub realtime: bool,
    /// A Storage bucket named after the project, with policies on `storage.objects` that let
    /// `<p>_anon` and `<p>_authenticated` reach that bucket's objects only.
    pub storage: bool,
    /// `<p>_anon`.
    pub anon: ApiRole,
    /// `<p>_authenticated`.
    pub authenticated: ApiRole,
    /// `<p>_service`.
    pub service_role: ApiRole,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            enabled: false,
            service: false,
            realtime: false,
            storage: false,
            anon: ApiRole::default().with_statement_timeout(Some(Duration::from_secs(3))),
            authenticated: ApiRole::default().with_statement_timeout(Some(Duration::from_secs(8))),
            service_role: ApiRole::default(),
        }
    }
}

impl Api {
    /// No API: what deprovisioning converges to.
    pub fn none() -> Self {
        Self::default()
    }

    /// The API on, with the defaults.
    pub fn enabled() -> Self {
        Self {
            enabled: true,
            ..Self::default()
        }
    }

    /// With or without `<p>_service`.
    pub fn with_service(mut self, service: bool) -> Self {
        self.service = service;
        self
    }

    /// With or without Realtime's impersonation of the API roles.
    pub fn with_realtime(mut self, realtime: bool) -> Self {
        self.realtime = realtime;
        self
    }

    /// With or without the project's Storage bucket.
    pub fn with_storage(mut self, storage: bool) -> Self {
        self.storage = storage;
        self
    }

    /// With `kind`'s settings changed by `change`.
    pub fn with_role(mut self, kind: ApiRoleKind, change: impl FnOnce(ApiRole) -> ApiRole) -> Self {
        let role = self.role_mut(kind);
        *role = change(std::mem::take(role));
        self
    }

    /// The settings of `kind`.
    pub fn role(&self, kind: ApiRoleKind) -> &ApiRole {
        match kind {
            ApiRoleKind::Anon => &self.anon,
            ApiRoleKind::Authenticated => &self.authenticated,
            ApiRoleKind::Service => &self.service_role,
        }
    }

    fn role_mut(&mut self, kind: ApiRoleKind) -> &mut ApiRole {
        match kind {
            ApiRoleKind::Anon => &mut self.anon,
            ApiRoleKind::Authenticated => &mut self.authenticated,
            ApiRoleKind::Service => &mut self.service_role,
        }
    }

    /// The API roles this declaration wants to exist.
    pub fn kinds(&self) -> impl Iterator<Item = ApiRoleKind> + '_ {
        ApiRoleKind::ALL
            .into_iter()
            .filter(|k| self.enabled && (*k != ApiRoleKind::Service || self.service))
    }
}

/// Every project's Data API (`[projects.<p>.api]`); a project not named has none.
///
/// ```
/// use cotenant::api::{Api, ApiConfig};
///
/// let config = ApiConfig::default().with_project("reli".parse()?, Api::enabled());
/// assert!(config.api_of(&"reli".parse()?).enabled);
/// assert!(!config.api_of(&"annie".parse()?).enabled);
/// # Ok::<(), cotenant::NameError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiConfig {
    projects: BTreeMap<ProjectName, Api>,
}

impl ApiConfig {
    /// With `project`'s API.
    pub fn with_project(mut self, project: ProjectName, api: Api) -> Self {
        self.projects.insert(project, api);
        self
    }

    /// The API of `project`: its declaration, or none.
    pub fn api_of(&self, project: &ProjectName) -> Api {
        self.projects.get(project).cloned().unwrap_or_default()
    }
}
