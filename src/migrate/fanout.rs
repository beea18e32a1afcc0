//! Migrating many projects of one environment at once, within a connection budget.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::runner::serialize_millis;
use super::{Applied, Gate, MigrateError, Runner};
use crate::secret::Login;
use crate::{Environment, ProjectName};

/// How many migrator connections a fan-out opens at once, by default.
const DEFAULT_CONCURRENCY: usize = 8;

type ProgressHook = dyn Fn(&ProjectOutcome) + Send + Sync;

/// Applies one migration set to many projects of an environment, a bounded number at a time.
///
/// Each project is migrated on a connection of its own as its `<p>_migrator` (see
/// [`Runner`]); at most [`concurrency`](Fanout::concurrency) connections are open at once —
/// the connection budget the instance grants this deploy. Every project gets an outcome:
/// applied, up to date, failed with its error, or not started because an earlier failure
/// stopped the fan-out.
///
/// ```no_run
/// # async fn run(cotenant: cotenant::Cotenant, projects: Vec<cotenant::ProjectName>)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::migrate::{Fanout, Gate, Migrations, Runner};
///
/// let fanout = Fanout::new(Runner::new(Migrations::from_dir("migrations")?))
///     .concurrency(16)
///     .stop_on_failure(false)
///     .on_progress(|outcome| eprintln!("{outcome}"));
/// let staging = cotenant.environment("staging")?;
/// let report = fanout.run(staging, &projects, &Gate::open()).await;
/// println!("{report}");
/// println!("{}", serde_json::to_string(&report)?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Fanout {
    runner: Runner,
    concurrency: usize,
    stop_on_failure: bool,
    progress: Option<Arc<ProgressHook>>,
}

impl fmt::Debug for Fanout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fanout")
            .field("runner", &self.runner)
            .field("concurrency", &self.concurrency)
            .field("stop_on_failure", &self.stop_on_failure)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// What happened to one project in a fan-out.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct ProjectOutcome {
    /// The project.
    pub project: String,
    /// What happened.
    #[serde(flatten)]
    pub result: Outcome,
    /// How long it took, connection included.
    #[serde(rename = "elapsed_ms", serialize_with = "serialize_millis")]
    pub elapsed: Duration,
}

/// The result for one project.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Migrations were applied.
    Applied {
        /// The version before.
        from: u32,
        /// The version after.
        to: u32,
        /// What was applied.
        applied: Vec<Applied>,
    },
    /// Nothing was pending.
    UpToDate {
        /// The version.
        version: u32,
    },
    /// The project's run failed; what it applied before the failure stays applied.
    Failed {
        /// Why.
        #[serde(serialize_with = "serialize_display")]
        error: MigrateError,
        /// The server's SQLSTATE, when the server refused something.
        code: Option<String>,
        /// What was applied before the failure.
        applied: Vec<Applied>,
    },
    /// Not started: an earlier failure stopped the fan-out.
    NotStarted,
}

fn serialize_display<S: serde::Serializer>(
    value: &impl fmt::Display,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

impl ProjectOutcome {
    fn new(
        project: &ProjectName,
        result: Result<super::Report, MigrateError>,
        elapsed: Duration,
    ) -> Self {
        let result = match result {
            Ok(report) if report.applied.is_empty() => Outcome::UpToDate { version: report.to },
            Ok(report) => Outcome::Applied {
                from: report.from,
                to: report.to,
                applied: report.applied,
            },
            Err(error) => Outcome::Failed {
                code: error.code().map(|c| c.code().to_owned()),
                applied: error.applied().to_vec(),
                error,
            },
        };
        Self {
            project: project.to_string(),
            result,
            elapsed,
        }
    }
}

impl fmt::Display for ProjectOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.result {
            Outcome::Applied { from, to, applied } => write!(
                f,
                "{}: {from:03} -> {to:03} ({} migration(s), {} ms)",
                self.project,
                applied.len(),
                self.elapsed.as_millis()
            ),
            Outcome::UpToDate { version } => {
                write!(f, "{}: up to date at {version:03}", self.project)
            }
            Outcome::Failed { error, .. } => write!(f, "{}: FAILED: {error}", self.project),
            Outcome::NotStarted => write!(f, "{}: not started", self.project),
        }
    }
}

/// Counts of a [`FanoutReport`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Counts {
    /// Projects that got migrations.
    pub applied: usize,
    /// Projects with nothing pending.
    pub up_to_date: usize,
    /// Projects whose run failed.
    pub failed: usize,
    /// Projects not started.
    pub not_started: usize,
    /// Migrations applied over all projects.
    pub migrations: usize,
}

/// What a fan-out did: every project's outcome, in the order the projects were given.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct FanoutReport {
    /// The environment.
    pub environment: String,
    /// The counts.
    pub counts: Counts,
    /// How long the whole fan-out took.
    #[serde(rename = "elapsed_ms", serialize_with = "serialize_millis")]
    pub elapsed: Duration,
    /// Each project's outcome.
    pub projects: Vec<ProjectOutcome>,
}

impl FanoutReport {
    fn new(environment: &str, projects: Vec<ProjectOutcome>, elapsed: Duration) -> Self {
        let mut counts = Counts::default();
        for p in &projects {
            match &p.result {
                Outcome::Applied { applied, .. } => {
                    counts.applied += 1;
                    counts.migrations += applied.len();
                }
                Outcome::UpToDate { .. } => counts.up_to_date += 1,
                Outcome::Failed { applied, .. } => {
                    counts.failed += 1;
                    counts.migrations += applied.len();
                }
                Outcome::NotStarted => counts.not_started += 1,
            }
        }
        Self {
            environment: environment.to_owned(),
            counts,
            elapsed,
            projects,
        }
    }

    /// True when every project was migrated or up to date.
    pub fn is_success(&self) -> bool {
        self.counts.failed == 0 && self.counts.not_started == 0
    }

    /// The failed projects and their errors.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &MigrateError)> {
        self.projects.iter().filter_map(|p| match &p.result {
            Outcome::Failed { error, .. } => Some((p.project.as_str(), error)),
            _ => None,
        })
    }
}

impl fmt::Display for FanoutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.counts;
        writeln!(
            f,
            "{}: {} project(s) in {:.1} s: {} migrated, {} up to date, {} failed, {} not started ({} migration(s) applied)",
            self.environment,
            self.projects.len(),
            self.elapsed.as_secs_f64(),
            c.applied,
            c.up_to_date,
            c.failed,
            c.not_started,
            c.migrations
        )?;
        for (project, error) in self.failures() {
            writeln!(f, "  {project}: {error}")?;
        }
        if c.not_started > 0 {
            writeln!(
                f,
                "  stopped after the first failure: {} project(s) not started",
                c.not_started
            )?;
        }
        Ok(())
    }
}

impl Fanout {
    /// A fan-out of `runner`: 8 connections at a time, stopping at the first failure.
    pub fn new(runner: Runner) -> Self {
        Self {
            runner,
            concurrency: DEFAULT_CONCURRENCY,
            stop_on_failure: true,
            progress: None,
        }
    }

    /// At most `connections` projects at a time (at least 1): each holds one connection.
    pub fn concurrency(mut self, connections: usize) -> Self {
        self.concurrency = connections.max(1);
        self
    }

    /// Whether a failure stops projects not yet started (default: true). Projects already
    /// running finish either way.
    pub fn stop_on_failure(mut self, stop: bool) -> Self {
        self.stop_on_failure = stop;
        self
    }

    /// Called with each project's outcome as it completes, e.g. to advance a progress bar.
    pub fn on_progress(mut self, hook: impl Fn(&ProjectOutcome) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(hook));
        self
    }

    /// Whether a failure stops projects not yet started.
    pub fn stops_on_failure(&self) -> bool {
        self.stop_on_failure
    }

    /// The runner.
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// Migrates `projects` on `environment`, each as its migrator, gated by `gate`.
    pub async fn run(
        &self,
        environment: &Environment,
        projects: &[ProjectName],
        gate: &Gate,
    ) -> FanoutReport {
        let started = Instant::now();
        let budget = Arc::new(Semaphore::new(self.concurrency));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        for (index, project) in projects.iter().enumerate() {
            let permit = Arc::clone(&budget)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let (environment, runner, gate) =
                (environment.clone(), self.runner.clone(), gate.clone());
            let (project, stop, progress) = (project.clone(), stop.clone(), self.progress.clone());
            let stop_on_failure = self.stop_on_failure;
            // A task per project: logins (SCRAM) and result handling spread over the runtime's
            // threads instead of sharing one.
            tasks.spawn(async move {
                let _permit = permit;
                let began = Instant::now();
                let result = match environment.connect_login(&project, Login::Migrator).await {
                    Ok(client) => runner.run(client, &project, &gate).await,
                    Err(e) => Err(e.into()),
                };
                if result.is_err() && stop_on_failure {
                    stop.store(true, Ordering::Relaxed);
                }
                let outcome = ProjectOutcome::new(&project, result, began.elapsed());
                if let Some(hook) = &progress {
                    hook(&outcome);
                }
                (index, outcome)
            });
        }
        let mut outcomes: Vec<Option<ProjectOutcome>> = projects.iter().map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((index, outcome)) => outcomes[index] = Some(outcome),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => {} // cancelled: only when the runtime shuts down
            }
        }
        let outcomes = outcomes
            .into_iter()
            .zip(projects)
            .map(|(outcome, project)| {
                outcome.unwrap_or_else(|| ProjectOutcome {
                    project: project.to_string(),
                    result: Outcome::NotStarted,
                    elapsed: Duration::ZERO,
                })
            })
            .collect();
        FanoutReport::new(environment.name(), outcomes, started.elapsed())
    }
}
