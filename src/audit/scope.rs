//! What an audit covers: which projects, with which declared settings and allow lists.

use std::collections::{BTreeMap, BTreeSet};

use super::Allowance;
use crate::ProjectName;
use crate::api::{Api, ApiConfig};
use crate::config::Config;
use crate::provision::ProjectSettings;

/// The allow lists of every project, as `[projects.<p>.audit] allow` declares them.
///
/// ```
/// use cotenant::audit::{AllowList, Allowance, Code};
///
/// let list = AllowList::default().with_project(
///     "reli".parse()?,
///     [Allowance::new(Code::RlsDisabled, "reli.countries", "reference data")],
/// );
/// assert_eq!(list.of(&"reli".parse()?).len(), 1);
/// # Ok::<(), cotenant::NameError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    projects: BTreeMap<ProjectName, Vec<Allowance>>,
}

impl AllowList {
    /// With `allowances` added to `project`'s list.
    pub fn with_project(
        mut self,
        project: ProjectName,
        allowances: impl IntoIterator<Item = Allowance>,
    ) -> Self {
        self.projects.entry(project).or_default().extend(allowances);
        self
    }

    /// The allow list of `project` (empty when none is declared).
    pub fn of(&self, project: &ProjectName) -> &[Allowance] {
        self.projects.get(project).map_or(&[], Vec::as_slice)
    }

    fn of_name(&self, project: &str) -> &[Allowance] {
        self.projects
            .iter()
            .find(|(p, _)| p.as_str() == project)
            .map_or(&[], |(_, a)| a.as_slice())
    }
}

/// Which projects an audit covers, and what is declared for them: the login limits to hold
/// their roles to, their Data API roles and the findings they accept. A project without
/// declared settings is held to [`ProjectSettings::default`], one without a declared API to
/// having no API roles.
///
/// ```
/// use cotenant::audit::Scope;
/// use cotenant::provision::ProjectSettings;
///
/// let mut reli = ProjectSettings::default();
/// reli.login.connection_limit = 50;
/// let scope = Scope::only(["reli".parse()?, "annie".parse()?]).with_settings("reli".parse()?, reli);
/// # Ok::<(), cotenant::NameError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Scope {
    only: Option<BTreeSet<ProjectName>>,
    settings: BTreeMap<ProjectName, ProjectSettings>,
    allow: AllowList,
    api: ApiConfig,
}

impl Scope {
    /// Every project found on the instance (a schema `x` with a role `x_owner`).
    pub fn all() -> Self {
        Scope::default()
    }

    /// Only `projects`; one not found on the instance is an `iso.project_missing` finding.
    pub fn only(projects: impl IntoIterator<Item = ProjectName>) -> Self {
        Scope {
            only: Some(projects.into_iter().collect()),
            ..Scope::default()
        }
    }

    /// Every project found on the instance, held to what `config` declares: each declared
    /// project's settings, the Data API roles and the allow lists.
    ///
    /// ```no_run
    /// use cotenant::audit::Scope;
    /// use cotenant::config::Config;
    ///
    /// let config = Config::load("cotenant.toml")?;
    /// let scope = Scope::declared(&config);
    /// # Ok::<(), cotenant::config::ConfigError>(())
    /// ```
    pub fn declared(config: &Config) -> Self {
        let mut scope = Scope::all()
            .with_allow_list(config.audit.clone())
            .with_api(config.api.clone());
        for project in config.projects.names() {
            scope = scope.with_settings(project.clone(), config.projects.settings_of(project));
        }
        scope
    }

    /// The same declarations, for `projects` only (see [`Scope::only`]).
    pub fn restricted_to(mut self, projects: impl IntoIterator<Item = ProjectName>) -> Self {
        self.only = Some(projects.into_iter().collect());
        self
    }

    /// With `settings` as `project`'s declared login limits.
    pub fn with_settings(mut self, project: ProjectName, settings: ProjectSettings) -> Self {
        self.settings.insert(project, settings);
        self
    }

    /// With `allow` as the allow lists.
    pub fn with_allow_list(mut self, allow: AllowList) -> Self {
        self.allow = allow;
        self
    }

    /// This scope with only the named projects `keep` keeps (a scope of every project stays
    /// so): what one instance of an environment is audited for.
    pub(crate) fn narrowed_to(&self, keep: impl Fn(&ProjectName) -> bool) -> Scope {
        let mut scope = self.clone();
        if let Some(only) = &mut scope.only {
            only.retain(|p| keep(p));
        }
        scope
    }

    /// With `api` as every project's declared Data API (`[projects.<p>.api]`): their API roles
    /// are held to it, and are foreign in every other project.
    pub fn with_api(mut self, api: ApiConfig) -> Self {
        self.api = api;
        self
    }

    pub(super) fn includes(&self, project: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|p| p.as_str() == project))
    }

    /// The projects named by [`Scope::only`]; none for [`Scope::all`].
    pub(super) fn named(&self) -> impl Iterator<Item = &ProjectName> {
        self.only.iter().flatten()
    }

    pub(super) fn settings_of(&self, project: &str) -> ProjectSettings {
        self.settings
            .iter()
            .find(|(p, _)| p.as_str() == project)
            .map_or_else(ProjectSettings::default, |(_, s)| *s)
    }

    pub(super) fn api_of(&self, project: &str) -> Api {
        project
            .parse()
            .map_or_else(|_| Api::none(), |p| self.api.api_of(&p))
    }

    pub(super) fn allowances_of(&self, project: &str) -> &[Allowance] {
        self.allow.of_name(project)
    }
}
