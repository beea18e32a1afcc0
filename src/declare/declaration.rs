//! The declarations: every project and its settings, as `[projects.<p>]` declares them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::ProjectName;
use crate::migrate::{Migrations, SourceError, templates};
use crate::provision::ProjectSettings;

/// Where a project's migrations come from: a directory of numbered SQL files, or a template
/// that ships with cotenant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationSource {
    /// `migrations = "<dir>"`, resolved against the declaring file's directory.
    Dir(PathBuf),
    /// `template = "<name>"`: one of [`MigrationSource::TEMPLATES`].
    Template(String),
}

impl MigrationSource {
    /// The templates a declaration may name (see [`templates`]).
    pub const TEMPLATES: &'static [&'static str] = &["org_app"];

    /// Loads the migrations: reads the directory, or the embedded template.
    ///
    /// ```no_run
    /// use cotenant::declare::MigrationSource;
    ///
    /// let migrations = MigrationSource::Template("org_app".into()).load()?;
    /// assert_eq!(migrations.last_version(), 6);
    /// # Ok::<(), cotenant::migrate::SourceError>(())
    /// ```
    pub fn load(&self) -> Result<Migrations, SourceError> {
        match self {
            MigrationSource::Dir(dir) => Migrations::from_dir(dir),
            MigrationSource::Template(name) => match name.as_str() {
                "org_app" => Ok(templates::org_app()),
                _ => unreachable!("declarations name only known templates"),
            },
        }
    }
}

/// One project's declaration: `[projects.<p>]`. Settings it leaves out are
/// [`ProjectSettings::default`]'s; platform access is in
/// [`Config::platform`](crate::config::Config::platform).
///
/// ```
/// use cotenant::declare::Declaration;
/// use cotenant::provision::ProjectSettings;
///
/// let mut settings = ProjectSettings::default();
/// settings.login.connection_limit = 50;
/// let reli = Declaration::new(settings);
/// assert_eq!(reli.settings.login.connection_limit, 50);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Declaration {
    /// The limits and timeouts of the project's logins.
    pub settings: ProjectSettings,
    /// Where its migrations come from, if declared.
    pub migrations: Option<MigrationSource>,
}

impl Declaration {
    /// A declaration with `settings` and no migration source.
    pub fn new(settings: ProjectSettings) -> Self {
        Self {
            settings,
            migrations: None,
        }
    }

    /// With `source` as where the project's migrations come from.
    pub fn with_migrations(mut self, source: MigrationSource) -> Self {
        self.migrations = Some(source);
        self
    }
}

/// Every declared project, by name: the desired state [`apply`](super::apply) converges.
///
/// ```
/// use cotenant::declare::{Declaration, Declarations};
///
/// let declarations = Declarations::default()
///     .with_project("reli".parse()?, Declaration::default())
///     .with_project("annie".parse()?, Declaration::default());
/// let names: Vec<_> = declarations.names().map(|p| p.as_str()).collect();
/// assert_eq!(names, ["annie", "reli"]);
/// # Ok::<(), cotenant::NameError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declarations {
    projects: BTreeMap<ProjectName, Declaration>,
    file: Option<PathBuf>,
}

impl Declarations {
    /// With `project` declared as `declaration` (replacing an earlier one).
    pub fn with_project(mut self, project: ProjectName, declaration: Declaration) -> Self {
        self.projects.insert(project, declaration);
        self
    }

    /// With `file` as the file the declarations were read from.
    pub(crate) fn with_file(mut self, file: Option<PathBuf>) -> Self {
        self.file = file;
        self
    }

    /// The declaration of `project`, if it is declared.
    pub fn get(&self, project: &ProjectName) -> Option<&Declaration> {
        self.projects.get(project)
    }

    /// The settings `project` is provisioned with: its declared ones, else the defaults.
    pub fn settings_of(&self, project: &ProjectName) -> ProjectSettings {
        self.get(project).map(|d| d.settings).unwrap_or_default()
    }

    /// The declared projects, sorted by name.
    pub fn names(&self) -> impl Iterator<Item = &ProjectName> {
        self.projects.keys()
    }

    /// The declared projects and their declarations, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&ProjectName, &Declaration)> {
        self.projects.iter()
    }

    /// How many projects are declared.
    pub fn len(&self) -> usize {
        self.projects.len()
    }

    /// True when no project is declared.
    pub fn is_empty(&self) -> bool {
        self.projects.is_empty()
    }

    /// The file the declarations were read from (cotenant.toml, or the file its `projects`
    /// names); `None` when they were built in code or given as a string.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}
