//! Importing on an environment: the target is the environment's admin connection, the
//! relocation gets the environment's platform access of the project.

use super::{Import, ImportError, ImportPlan, Imported, Source};
use crate::secret::DbSecret;
use crate::{Environment, ProjectName};

impl Environment {
    /// The source named by `from`: a connection string (`postgres://…`, or `key=value` pairs),
    /// else a secret id read from this environment's secret store (a database secret), reached
    /// with this environment's TLS mode.
    pub async fn import_source(&self, from: &str) -> Result<Source, ImportError> {
        if from.contains("://") || from.contains('=') {
            return Source::from_dsn(from);
        }
        let secret: DbSecret =
            self.secrets()
                .get_current(from)
                .await
                .map_err(|e| ImportError::Source {
                    from: from.to_owned(),
                    reason: format!(
                        "it is not a connection string, and reading it as a secret failed: {e}"
                    ),
                })?;
        Ok(Source::new(secret).tls(self.config().tls))
    }

    /// What importing `source` into `project` here would do, changing nothing.
    ///
    /// ```no_run
    /// # async fn run(env: &cotenant::Environment) -> Result<(), Box<dyn std::error::Error>> {
    /// use cotenant::import::Import;
    /// use cotenant::relocate::{Relocation, Selection};
    ///
    /// let source = env.import_source("postgres://postgres:secret@old-crm.example/postgres").await?;
    /// let plan = env.plan_import(&"crm".parse()?, &source, &Import::new(Relocation::new(Selection::All))).await?;
    /// println!("{plan}");
    /// # Ok(()) }
    /// ```
    pub async fn plan_import(
        &self,
        project: &ProjectName,
        source: &Source,
        import: &Import,
    ) -> Result<ImportPlan, ImportError> {
        let target = self.connect_admin().await?;
        super::plan(
            source,
            &target,
            project,
            &self.import_with_platform(project, import),
        )
        .await
    }

    /// Imports `source` into `project` here (see [`import`](super::import)), over an admin
    /// connection of its own.
    pub async fn import(
        &self,
        project: &ProjectName,
        source: &Source,
        import: &Import,
    ) -> Result<Imported, ImportError> {
        let mut target = self.connect_admin().await?;
        super::import(
            source,
            &mut target,
            project,
            &self.import_with_platform(project, import),
        )
        .await
    }

    /// `import` with this environment's platform access of `project` unless it has its own.
    fn import_with_platform(&self, project: &ProjectName, import: &Import) -> Import {
        let relocation = import.get_relocation();
        match relocation.get_platform() {
            Some(_) => import.clone(),
            None => import.clone().with_relocation(relocation.clone().platform(
                self.platform_access(project),
                self.platform_allowlist().to_vec(),
            )),
        }
    }
}
