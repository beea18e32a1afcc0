//! Applying a project's pending migrations over its migrator login.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::error::{MigrateError, Position};
use super::gate::Gate;
use super::history::{HistoryRow, NewRow, Summary, Table};
use super::split::split;
use super::{Checksum, Migration, Migrations};
use crate::ProjectName;
use crate::ident::quote_literal;
use crate::lock::LockKey;

/// How long a runner waits, by default, for another run of the same project to finish.
const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10 * 60);

/// The longest pause between two attempts to take a project's lock.
const MAX_LOCK_PAUSE: Duration = Duration::from_millis(250);

/// Applies a migration set to projects, one project per call.
///
/// ```no_run
/// # async fn run(cotenant: cotenant::Cotenant) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::migrate::{Gate, Migrations, Runner};
/// use cotenant::secret::Login;
///
/// let runner = Runner::new(Migrations::from_dir("migrations/reli")?);
/// let reli = "reli".parse()?;
/// let staging = cotenant.environment("staging")?;
/// let migrator = staging.connect_login(&reli, Login::Migrator).await?;
/// let report = runner.run(migrator, &reli, &Gate::open()).await?;
/// println!("{report}");
/// # Ok(()) }
/// ```
///
/// # How a run works
/// - It runs on the project's `<p>_migrator` login only, which acts as `<p>_owner`: a
///   migration has the owner's rights in the project's schema and nothing else, so neither
///   `RESET ROLE`, `SET ROLE <other>_owner` nor `DROP SCHEMA <other>` can reach another project.
///   A connection that is anyone else is refused before anything runs.
/// - Each migration runs in its own transaction together with its history row and the
///   catalog [summary](super::Summary), under the project's transaction-level advisory lock,
///   after re-reading the history: concurrent runners apply each migration once, and different
///   projects migrate in parallel. No lock outlives its transaction.
/// - A failing migration is rolled back and reported with its file and, when the server
///   gives one, the line and column of the error.
/// - An applied migration whose file changed is refused ([`repair`](Runner::repair)
///   re-baselines it on purpose), and so is a history with migrations the files lack.
/// - A `-- cotenant: no-transaction` file runs statement by statement outside a transaction,
///   holding the project's lock as a session lock meanwhile; its history row is written after
///   its last statement.
///
/// # Waiting for the lock
/// A runner never waits inside a blocking lock call: it tries the lock and, if another run
/// holds it, ends its transaction and tries again after a pause. A blocked call would keep a
/// snapshot open, and `CREATE INDEX CONCURRENTLY` in the other run waits for every older
/// snapshot — the two would deadlock.
///
/// # The connection
/// `run` and `repair` take the client by value and drop it when done, which closes the
/// connection: a session lock (held only during a no-transaction file) can never be left
/// behind in a pool. Pass a connection of its own, like
/// [`Environment::connect_login`](crate::Environment::connect_login) opens.
#[derive(Debug, Clone)]
pub struct Runner {
    migrations: Arc<Migrations>,
    target: Option<u32>,
    lock_wait: Duration,
    applied_by: Option<String>,
}

/// One migration a run applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Applied {
    /// The version.
    pub version: u32,
    /// The file.
    pub file: String,
    /// Its checksum.
    pub checksum: Checksum,
    /// How long it ran.
    #[serde(rename = "duration_ms", serialize_with = "serialize_millis")]
    pub duration: Duration,
    /// False for a no-transaction file.
    pub transactional: bool,
}

/// Durations serialize as whole milliseconds, the unit people read in a JSON summary.
pub(crate) fn serialize_millis<S: serde::Serializer>(
    d: &Duration,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What one run did to one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The project.
    pub project: String,
    /// The last applied version before the run.
    pub from: u32,
    /// The last applied version after it.
    pub to: u32,
    /// What this run applied, in order.
    pub applied: Vec<Applied>,
    /// Versions another run applied while this one waited for the lock.
    pub applied_elsewhere: Vec<u32>,
}

impl Report {
    /// True when the run found nothing to apply.
    pub fn is_up_to_date(&self) -> bool {
        self.applied.is_empty()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.applied.is_empty() {
            return write!(f, "{}: up to date at {:03}", self.project, self.to);
        }
        write!(
            f,
            "{}: {:03} -> {:03}, applied {}",
            self.project,
            self.from,
            self.to,
            self.applied
                .iter()
                .map(|a| format!("{} ({} ms)", a.file, a.duration.as_millis()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// One migration whose recorded checksum [`Runner::repair`] re-baselined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Repaired {
    /// The version.
    pub version: u32,
    /// The file.
    pub file: String,
    /// The checksum the history had.
    pub from: Checksum,
    /// The file's checksum, now in the history.
    pub to: Checksum,
}

impl Runner {
    /// A runner for `migrations`.
    pub fn new(migrations: impl Into<Arc<Migrations>>) -> Self {
        Self {
            migrations: migrations.into(),
            target: None,
            lock_wait: DEFAULT_LOCK_WAIT,
            applied_by: None,
        }
    }

    /// Applies migrations up to `version` only (default: all).
    pub fn target(mut self, version: u32) -> Self {
        self.target = Some(version);
        self
    }

    /// How long to wait for another run of the same project (default 10 minutes).
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// A label for the history's `applied_by`, e.g. a CI job (default: the login).
    pub fn applied_by(mut self, label: impl Into<String>) -> Self {
        self.applied_by = Some(label.into());
        self
    }

    /// The migrations.
    pub fn migrations(&self) -> &Migrations {
        &self.migrations
    }

    /// The highest version a run applies.
    pub fn target_version(&self) -> u32 {
        self.target
            .unwrap_or(u32::MAX)
            .min(self.migrations.last_version())
    }

    /// Applies `project`'s pending migrations over `client`, its migrator login, if `gate`
    /// lets them through; the client is closed at the end.
    ///
    /// On failure, migrations applied before it stay applied and are listed by
    /// [`MigrateError::applied`].
    pub async fn run(
        &self,
        client: Client,
        project: &ProjectName,
        gate: &Gate,
    ) -> Result<Report, MigrateError> {
        let mut session = Session::open(client, project, self).await?;
        let rows = session.history().await?;
        let from = self.check_history(project, &rows)?;
        let pending: Vec<&Migration> = self
            .migrations
            .iter()
            .filter(|m| m.version() > from && m.version() <= self.target_version())
            .collect();
        gate.check(project, &self.migrations, &pending)
            .map_err(|refusal| MigrateError::Gated {
                project: project.clone(),
                refusal,
            })?;
        let mut report = Report {
            project: project.to_string(),
            from,
            to: from,
            applied: Vec::new(),
            applied_elsewhere: Vec::new(),
        };
        if pending.is_empty() {
            if session.has_table && session.summary != Some(Summary::of(&rows)) {
                session.refresh_summary().await?;
            }
            return Ok(report);
        }
        // Created only now: a refused or empty run leaves the schema as it found it.
        session.ensure_table().await?;
        for migration in pending {
            let applied = if migration.runs_in_transaction() {
                session.apply_in_transaction(migration).await
            } else {
                session.apply_without_transaction(migration).await
            };
            match applied {
                Ok(Some(applied)) => {
                    tracing::info!(
                        target: "cotenant::migrate",
                        project = %project,
                        file = %applied.file,
                        duration_ms = applied.duration.as_millis(),
                        "applied migration"
                    );
                    report.applied.push(applied);
                }
                Ok(None) => report.applied_elsewhere.push(migration.version()),
                Err(e) => return Err(e.after(project, &report.applied)),
            }
            report.to = migration.version();
        }
        Ok(report)
    }

    /// The migrations a run would apply to `project`, read over a connection that may read its
    /// schema (its migrator login). Changes nothing; the gate is not consulted.
    pub async fn pending(
        &self,
        client: &Client,
        project: &ProjectName,
    ) -> Result<Vec<&Migration>, MigrateError> {
        let rows = super::history(client, project).await?;
        let from = self.check_history(project, &rows)?;
        Ok(self
            .migrations
            .iter()
            .filter(|m| m.version() > from && m.version() <= self.target_version())
            .collect())
    }

    /// Re-baselines `project`'s history on purpose: every applied migration whose file changed
    /// since gets the file's current name and checksum (and `repaired_at`). Nothing is run.
    /// Refused when the history has migrations the files lack.
    pub async fn repair(
        &self,
        client: Client,
        project: &ProjectName,
    ) -> Result<Vec<Repaired>, MigrateError> {
        let session = Session::open(client, project, self).await?;
        if !session.has_table {
            return Ok(Vec::new());
        }
        session.begin_locked().await?;
        let result = async {
            let mut rows = session.table.read(&session.client).await?;
            self.unknown_applied(project, &rows)?;
            let mut repaired = Vec::new();
            for row in &mut rows {
                let Some(m) = self.migrations.get(row.version) else {
                    continue;
                };
                if m.checksum() == row.checksum && m.file_name() == row.name {
                    continue;
                }
                session
                    .table
                    .rebaseline(&session.client, row.version, m.file_name(), m.checksum())
                    .await?;
                repaired.push(Repaired {
                    version: row.version,
                    file: m.file_name().to_owned(),
                    from: row.checksum,
                    to: m.checksum(),
                });
                row.checksum = m.checksum();
            }
            session
                .table
                .write_summary(&session.client, Summary::of(&rows))
                .await?;
            Ok(repaired)
        }
        .await;
        session.finish(result).await
    }

    /// Checks the applied history against the files; returns the last applied version.
    fn check_history(
        &self,
        project: &ProjectName,
        rows: &[HistoryRow],
    ) -> Result<u32, MigrateError> {
        self.unknown_applied(project, rows)?;
        for row in rows {
            let m = self
                .migrations
                .get(row.version)
                .expect("unknown_applied checked");
            if m.checksum() != row.checksum {
                return Err(MigrateError::ChecksumMismatch {
                    project: project.clone(),
                    file: m.file_name().to_owned(),
                    applied: row.checksum,
                    local: m.checksum(),
                });
            }
        }
        let last = rows.last().map_or(0, |r| r.version);
        if let Some(missing) = self
            .migrations
            .iter()
            .take_while(|m| m.version() < last)
            .find(|m| rows.iter().all(|r| r.version != m.version()))
        {
            return Err(MigrateError::OutOfOrder {
                project: project.clone(),
                missing: missing.file_name().to_owned(),
                applied: last,
            });
        }
        Ok(last)
    }

    fn unknown_applied(
        &self,
        project: &ProjectName,
        rows: &[HistoryRow],
    ) -> Result<(), MigrateError> {
        let unknown: Vec<String> = rows
            .iter()
            .filter(|r| self.migrations.get(r.version).is_none())
            .map(|r| r.name.clone())
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(MigrateError::UnknownApplied {
                project: project.clone(),
                unknown,
            })
        }
    }
}

/// A migrator connection of one project during a run.
struct Session<'r> {
    client: Client,
    project: ProjectName,
    runner: &'r Runner,
    table: Table,
    key: i64,
    has_table: bool,
    /// The summary in the catalog when the session started.
    summary: Option<Summary>,
}

impl<'r> Session<'r> {
    /// Checks that `client` is the project's migrator acting as its owner, and reads whether
    /// the history table exists and its summary — one round trip.
    async fn open(
        client: Client,
        project: &ProjectName,
        runner: &'r Runner,
    ) -> Result<Session<'r>, MigrateError> {
        let table = Table::new(project);
        let roles = project.roles();
        // The table is looked up only on the right session: anyone else may not even look
        // into the schema, and must get the clear refusal below instead.
        let sql = format!(
            "RESET ROLE; SELECT session_user::text, current_user::text, t IS NOT NULL, \
             obj_description(t, 'pg_class') FROM (SELECT CASE WHEN session_user = {migrator} \
             AND current_user = {owner} THEN to_regclass({name}) END AS t) AS history",
            migrator = quote_literal(&roles.migrator),
            owner = quote_literal(&roles.owner),
            name = quote_literal(&table.qualified)
        );
        let messages = client
            .simple_query(&sql)
            .await
            .map_err(|source| table.failed("checking the migrator session", source))?;
        let row = first_row(&messages);
        let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let (session_user, current_user) = (field(0), field(1));
        if session_user != roles.migrator || current_user != roles.owner {
            return Err(MigrateError::NotMigrator {
                project: project.clone(),
                session_user,
                current_user,
            });
        }
        let has_table = field(2) == "t";
        let summary = row
            .get(3)
            .cloned()
            .flatten()
            .and_then(|c| Summary::parse(Some(&c)));
        let session = Session {
            client,
            project: project.clone(),
            runner,
            key: LockKey::migrate(project).as_i64(),
            table,
            has_table,
            summary,
        };
        Ok(session)
    }

    async fn history(&self) -> Result<Vec<HistoryRow>, MigrateError> {
        if self.has_table {
            self.table.read(&self.client).await
        } else {
            Ok(Vec::new())
        }
    }

    /// Creates the history table if the session did not find it, under the lock (the
    /// statement is idempotent, the lock keeps two first runs from racing on the catalog).
    async fn ensure_table(&mut self) -> Result<(), MigrateError> {
        if self.has_table {
            return Ok(());
        }
        self.begin_locked().await?;
        let result = async {
            self.client
                .batch_execute(&self.table.create_sql())
                .await
                .map_err(|source| self.table.failed("creating the history table", source))?;
            // Another first run may have created it and applied migrations while this one
            // waited for the lock: the summary is the history's, not an empty one.
            let rows = self.table.read(&self.client).await?;
            self.table
                .write_summary(&self.client, Summary::of(&rows))
                .await
        }
        .await;
        self.finish(result).await?;
        self.has_table = true;
        Ok(())
    }

    /// Rewrites the catalog summary from the history, under the lock.
    async fn refresh_summary(&self) -> Result<(), MigrateError> {
        self.begin_locked().await?;
        let result = async {
            let rows = self.table.read(&self.client).await?;
            self.table
                .write_summary(&self.client, Summary::of(&rows))
                .await
        }
        .await;
        self.finish(result).await
    }

    /// Begins a transaction holding the project's lock, as the owner with the role's default
    /// settings (a migration before may have changed them for the session). Returns the
    /// transaction id.
    async fn begin_locked(&self) -> Result<i64, MigrateError> {
        let sql = format!(
            "BEGIN; RESET ALL; RESET ROLE; \
             SELECT pg_try_advisory_xact_lock({}), current_user::text, txid_current()",
            self.key
        );
        let row = self.take_lock(&sql, true).await?;
        Ok(row
            .get(2)
            .cloned()
            .flatten()
            .unwrap_or_default()
            .parse()
            .unwrap_or(-1))
    }

    /// Takes the project's lock as a session lock, outside any transaction.
    async fn lock_session(&self) -> Result<(), MigrateError> {
        let sql = format!(
            "RESET ALL; RESET ROLE; SELECT pg_try_advisory_lock({}), current_user::text",
            self.key
        );
        self.take_lock(&sql, false).await.map(drop)
    }

    async fn unlock_session(&self) -> Result<(), MigrateError> {
        self.client
            .execute("SELECT pg_advisory_unlock($1)", &[&self.key])
            .await
            .map(drop)
            .map_err(|source| self.table.failed("releasing the migration lock", source))
    }

    /// Tries `sql` (whose first row is `lock taken?, current_user, …`) until the lock is
    /// taken; between tries the transaction, if any, is ended and the runner sleeps.
    async fn take_lock(
        &self,
        sql: &str,
        in_transaction: bool,
    ) -> Result<Vec<Option<String>>, MigrateError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let messages = self
                .client
                .simple_query(sql)
                .await
                .map_err(|source| self.table.failed("taking the migration lock", source))?;
            let row = first_row(&messages);
            let current_user = row.get(1).cloned().flatten().unwrap_or_default();
            let owner = self.project.roles().owner;
            if current_user != owner {
                // A role default that no longer applies leaves the session as the login.
                self.end(in_transaction).await;
                return Err(MigrateError::NotMigrator {
                    project: self.project.clone(),
                    session_user: self.project.roles().migrator,
                    current_user,
                });
            }
            if row.first().cloned().flatten().as_deref() == Some("t") {
                return Ok(row);
            }
            self.end(in_transaction).await;
            if started.elapsed() >= self.runner.lock_wait {
                return Err(MigrateError::LockTimeout {
                    project: self.project.clone(),
                    waited: started.elapsed(),
                });
            }
            let jitter = rand::random_range(0..=pause.as_millis() as u64 / 2);
            tokio::time::sleep(pause + Duration::from_millis(jitter)).await;
            pause = (pause * 2).min(MAX_LOCK_PAUSE);
        }
    }

    /// Rolls back, best effort: when the connection is gone the server rolled back already.
    async fn end(&self, in_transaction: bool) {
        if in_transaction {
            let _ = self.client.batch_execute("ROLLBACK").await;
        }
    }

    /// Commits after `result` succeeded, rolls back otherwise.
    async fn finish<T>(&self, result: Result<T, MigrateError>) -> Result<T, MigrateError> {
        match result {
            Ok(value) => {
                self.client
                    .batch_execute("COMMIT")
                    .await
                    .map_err(|source| self.table.failed("committing", source))?;
                Ok(value)
            }
            Err(e) => {
                self.end(true).await;
                Err(e)
            }
        }
    }

    /// Re-reads the history under the lock: `Ok(None)` when another run applied `m` meanwhile,
    /// else the history before it.
    async fn history_before(&self, m: &Migration) -> Result<Option<Vec<HistoryRow>>, MigrateError> {
        let rows = self.table.read(&self.client).await?;
        let last = self.runner.check_history(&self.project, &rows)?;
        if last >= m.version() {
            return Ok(None);
        }
        Ok(Some(rows))
    }

    async fn apply_in_transaction(&self, m: &Migration) -> Result<Option<Applied>, MigrateError> {
        let txid = self.begin_locked().await?;
        let before = match self.history_before(m).await {
            Ok(Some(rows)) => rows,
            other => return self.finish(other.map(|_| None)).await,
        };
        let started = Instant::now();
        if let Err(source) = self.client.batch_execute(m.sql()).await {
            self.end(true).await;
            return Err(self.failed(m, source, 0, 1, true));
        }
        let duration = started.elapsed();
        let result = self.record(m, duration, txid, before).await;
        let applied = match result {
            Ok(applied) => applied,
            Err(e) => {
                self.end(true).await;
                return Err(e);
            }
        };
        // Deferred constraints fire at COMMIT: a failure there is the migration's.
        if let Err(source) = self.client.batch_execute("COMMIT").await {
            return Err(self.failed(m, source, 0, 1, true));
        }
        Ok(Some(applied))
    }

    /// Runs a no-transaction file statement by statement under the project's session lock,
    /// then records it in a transaction of its own. The lock is released right after.
    async fn apply_without_transaction(
        &self,
        m: &Migration,
    ) -> Result<Option<Applied>, MigrateError> {
        let statements = split(m.sql()).map_err(|e| MigrateError::Unsplittable {
            project: self.project.clone(),
            file: m.file_name().to_owned(),
            at: e.at,
        })?;
        self.lock_session().await?;
        let result = async {
            let Some(_) = self.history_before(m).await? else {
                return Ok(None);
            };
            let started = Instant::now();
            for (index, statement) in statements.iter().enumerate() {
                if let Err(source) = self.client.batch_execute(statement.text).await {
                    let mut error = self.failed(m, source, statement.offset, index + 1, false);
                    // Without the server's position, the statement's own is the next best.
                    if let MigrateError::Failed { at: at @ None, .. } = &mut error {
                        *at = Some(Position::of_byte(m.sql(), statement.code));
                    }
                    return Err(error);
                }
            }
            let duration = started.elapsed();
            // Still under the session lock: no other run can have recorded it meanwhile.
            let txid = self.begin_locked().await?;
            let rows = self.table.read(&self.client).await?;
            let applied = self.record(m, duration, txid, rows).await;
            self.finish(applied).await.map(Some)
        }
        .await;
        let unlocked = self.unlock_session().await;
        let applied = result?;
        unlocked?;
        Ok(applied)
    }

    /// Writes the history row and the summary in the current transaction.
    async fn record(
        &self,
        m: &Migration,
        duration: Duration,
        txid: i64,
        mut rows: Vec<HistoryRow>,
    ) -> Result<Applied, MigrateError> {
        let row = NewRow {
            version: m.version(),
            name: m.file_name(),
            checksum: m.checksum(),
            transactional: m.runs_in_transaction(),
            duration,
            applied_by: self.runner.applied_by.as_deref(),
        };
        if !self.table.insert(&self.client, &row, txid).await? {
            return Err(MigrateError::EndedTransaction {
                project: self.project.clone(),
                file: m.file_name().to_owned(),
            });
        }
        rows.push(HistoryRow {
            version: m.version(),
            name: m.file_name().to_owned(),
            checksum: m.checksum(),
            transactional: m.runs_in_transaction(),
            applied_at: std::time::SystemTime::now(),
            duration,
            applied_by: String::new(),
            repaired_at: None,
        });
        self.table
            .write_summary(&self.client, Summary::of(&rows))
            .await?;
        Ok(Applied {
            version: m.version(),
            file: m.file_name().to_owned(),
            checksum: m.checksum(),
            duration,
            transactional: m.runs_in_transaction(),
        })
    }

    /// The error of a migration's statement that began at byte `offset` of its file.
    fn failed(
        &self,
        m: &Migration,
        error: tokio_postgres::Error,
        offset: usize,
        statement: usize,
        transactional: bool,
    ) -> MigrateError {
        let at = error
            .as_db_error()
            .and_then(|db| Position::of_server_error(m.sql(), offset, db));
        MigrateError::Failed {
            project: self.project.clone(),
            file: m.file_name().to_owned(),
            at,
            transactional,
            statement,
            error,
        }
    }
}

/// The first data row of a simple query's results, as text fields.
fn first_row(messages: &[SimpleQueryMessage]) -> Vec<Option<String>> {
    messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}
