//! Migrations across environments: each environment connects its projects' migrator logins
//! with the secrets from its store, and every environment after the first in promotion order
//! is gated by the one before it.

use super::{
    Fanout, FanoutReport, Gate, MigrateError, ParityReport, Recorded, Repaired, Report, RlsReport,
    Runner,
};
use crate::secret::Login;
use crate::{Cotenant, Environment, ProjectName};

impl Environment {
    /// Migrates `project` here as its `<p>_migrator`, on a connection opened for the run and
    /// closed after it (see [`Runner::run`]).
    pub async fn migrate(
        &self,
        project: &ProjectName,
        runner: &Runner,
        gate: &Gate,
    ) -> Result<Report, MigrateError> {
        let routed = self.routed_for_change(project).await?;
        let client = routed.connect_login(project, Login::Migrator).await?;
        runner.run(client, project, gate).await
    }

    /// Re-baselines `project`'s history against `runner`'s files (see [`Runner::repair`]).
    pub async fn repair_migrations(
        &self,
        project: &ProjectName,
        runner: &Runner,
    ) -> Result<Vec<Repaired>, MigrateError> {
        let client = self.connect_login(project, Login::Migrator).await?;
        runner.repair(client, project).await
    }

    /// The migration summary of every provisioned project here, in one catalog read as the
    /// admin per instance (see [`read_status`](super::read_status)).
    ///
    /// A project being moved (or moved, its source's copy kept until `--finish`) has a copy on
    /// two instances: only the serving copy's history is counted, as placement decides it.
    pub async fn migration_status(&self) -> Result<Vec<Recorded>, MigrateError> {
        let mut read = Vec::new();
        let mut not_serving: Vec<(String, String)> = Vec::new();
        for on in self.instances_to_read() {
            let admin = on.connect_admin().await?;
            let recorded = super::read_status(&admin, None).await?;
            let projects: Vec<ProjectName> = recorded
                .iter()
                .filter_map(|r| r.project.parse().ok())
                .collect();
            for record in crate::transfer::moves(&admin, &projects)
                .await
                .map_err(|e| MigrateError::Transfer(Box::new(e)))?
            {
                let idle = match record.serving() {
                    crate::transfer::Serving::Target => on.instance().to_owned(),
                    crate::transfer::Serving::Source => record.target.clone(),
                };
                not_serving.push((idle, record.project.as_str().to_owned()));
            }
            read.push((on.instance().to_owned(), recorded));
        }
        Ok(read
            .into_iter()
            .flat_map(|(instance, recorded)| {
                let skip: Vec<String> = not_serving
                    .iter()
                    .filter(|(i, _)| *i == instance)
                    .map(|(_, p)| p.clone())
                    .collect();
                recorded
                    .into_iter()
                    .filter(move |r| !skip.contains(&r.project))
            })
            .collect())
    }

    /// The fingerprint of `project`'s schema here (see [`fingerprint`](super::fingerprint)).
    pub async fn fingerprint(&self, project: &ProjectName) -> Result<Vec<String>, MigrateError> {
        let mut admin = self.routed_for(project).await?.connect_admin().await?;
        super::fingerprint(&mut admin, project).await
    }

    /// The row-level security of `project`'s tables here (see [`rls_report`](super::rls_report)).
    pub async fn rls_report(&self, project: &ProjectName) -> Result<RlsReport, MigrateError> {
        let admin = self.routed_for(project).await?.connect_admin().await?;
        super::rls_report(&admin, project).await
    }
}

impl Cotenant {
    /// The gate for `environment`: open for the first environment in promotion order, else
    /// what the environment before it has applied (one catalog read there).
    pub async fn gate_for(&self, environment: &str) -> Result<Gate, MigrateError> {
        match self.environment_before(environment)? {
            None => Ok(Gate::open()),
            Some(before) => Gate::read(before).await,
        }
    }

    /// Migrates `project` on `environment`, gated by the environment before it.
    ///
    /// ### Warning
    /// The gate comes from this `Cotenant`'s own order: on one narrowed with
    /// [`select`](Cotenant::select) to prod alone, prod is first and runs ungated. Commands
    /// limited to some environments should call this on the full configuration.
    pub async fn migrate_on(
        &self,
        environment: &str,
        project: &ProjectName,
        runner: &Runner,
    ) -> Result<Report, MigrateError> {
        let gate = match self.environment_before(environment)? {
            None => Gate::open(),
            // One project: read only its summary there.
            Some(before) => {
                let admin = before.routed_for(project).await?.connect_admin().await?;
                let recorded = super::read_status(&admin, Some(project)).await?;
                Gate::after(before.name(), &recorded)
            }
        };
        self.environment(environment)?
            .migrate(project, runner, &gate)
            .await
    }

    /// The environment before `environment` in promotion order, if any.
    fn environment_before(&self, environment: &str) -> Result<Option<&Environment>, MigrateError> {
        self.environment(environment)?;
        let position = self
            .environments()
            .iter()
            .position(|e| e.name() == environment)
            .expect("found above");
        Ok(position
            .checked_sub(1)
            .map(|before| &self.environments()[before]))
    }

    /// Migrates `project` on every environment in promotion order, each gated by the one
    /// before; the first failure stops the run.
    ///
    /// ```no_run
    /// # async fn run(cotenant: cotenant::Cotenant) -> Result<(), Box<dyn std::error::Error>> {
    /// use cotenant::migrate::{Migrations, Runner};
    ///
    /// let runner = Runner::new(Migrations::from_dir("migrations/reli")?);
    /// for (environment, report) in cotenant.migrate(&"reli".parse()?, &runner).await? {
    ///     println!("{environment}: {report}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn migrate(
        &self,
        project: &ProjectName,
        runner: &Runner,
    ) -> Result<Vec<(String, Report)>, MigrateError> {
        let mut reports = Vec::new();
        for environment in self.environments() {
            let report = self.migrate_on(environment.name(), project, runner).await?;
            reports.push((environment.name().to_owned(), report));
        }
        Ok(reports)
    }

    /// Migrates `projects` on `environment` with `fanout`, gated by the environment before it
    /// (see the warning on [`migrate_on`](Cotenant::migrate_on)).
    pub async fn migrate_all_on(
        &self,
        environment: &str,
        projects: &[ProjectName],
        fanout: &Fanout,
    ) -> Result<FanoutReport, MigrateError> {
        let gate = self.gate_for(environment).await?;
        Ok(fanout
            .run(self.environment(environment)?, projects, &gate)
            .await)
    }

    /// Migrates `projects` on every environment in promotion order, each gated by the one
    /// before. With [`stop_on_failure`](Fanout::stop_on_failure), an environment with a
    /// failure is the last one run.
    pub async fn migrate_all(
        &self,
        projects: &[ProjectName],
        fanout: &Fanout,
    ) -> Result<Vec<FanoutReport>, MigrateError> {
        let mut reports = Vec::new();
        for environment in self.environments() {
            let report = self
                .migrate_all_on(environment.name(), projects, fanout)
                .await?;
            let stop = fanout.stops_on_failure() && !report.is_success();
            reports.push(report);
            if stop {
                break;
            }
        }
        Ok(reports)
    }

    /// Compares `project`'s schema on the first environment (staging) with each later one.
    /// Fingerprints are read from all environments at once.
    ///
    /// ```no_run
    /// # async fn run(cotenant: cotenant::Cotenant) -> Result<(), Box<dyn std::error::Error>> {
    /// for report in cotenant.parity(&"reli".parse()?).await? {
    ///     print!("{report}");
    ///     if !report.is_equal() {
    ///         std::process::exit(1);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn parity(&self, project: &ProjectName) -> Result<Vec<ParityReport>, MigrateError> {
        let fingerprints = futures_util::future::try_join_all(
            self.environments().iter().map(|e| e.fingerprint(project)),
        )
        .await?;
        let mut environments = self.environments().iter().zip(&fingerprints);
        let Some((first, reference)) = environments.next() else {
            return Ok(Vec::new());
        };
        Ok(environments
            .map(|(other, lines)| {
                ParityReport::compare(project, (first.name(), reference), (other.name(), lines))
            })
            .collect())
    }
}
