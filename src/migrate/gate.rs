//! The staging gate: an environment runs a migration only once the environment before it
//! (staging, for prod) has applied the same version with the same checksum.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::{MigrateError, Migration, Migrations, Recorded, Summary};
use crate::{Environment, ProjectName};

/// What an environment may run, judged by what the environment before it has applied.
///
/// Built from that environment's [`read_status`](super::read_status) — one catalog read covers
/// every project, so gating a fan-out over a thousand projects costs one query. The check uses
/// the recorded [`Summary`]: staging at version `v` with the history checksum these files have
/// at `v` has applied exactly migrations 1..=`v` of these files.
///
/// ```no_run
/// # async fn run(cotenant: cotenant::Cotenant) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::migrate::{Gate, Migrations, Runner};
///
/// let runner = Runner::new(Migrations::from_dir("migrations/reli")?);
/// let reli = "reli".parse()?;
/// let gate = Gate::read(cotenant.environment("staging")?).await?;
/// cotenant.environment("prod")?.migrate(&reli, &runner, &gate).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Gate {
    upstream: Option<Upstream>,
}

#[derive(Debug, Clone)]
struct Upstream {
    environment: String,
    /// Per project: `None` when it has a history table whose summary is unreadable.
    summaries: Arc<HashMap<String, Option<Summary>>>,
}

/// Why the gate refused a project's pending migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GateRefusal {
    /// The environment before lacks these migrations (file names with short checksums).
    Lacks {
        /// The environment before.
        environment: String,
        /// What it lacks.
        missing: Vec<String>,
    },
    /// What the environment before applied up to `version` differs from these files.
    Differs {
        /// The environment before.
        environment: String,
        /// Its last applied version.
        version: u32,
    },
    /// The environment before is beyond these files: they cannot be matched against it.
    Ahead {
        /// The environment before.
        environment: String,
        /// Its last applied version.
        version: u32,
        /// The last version of these files.
        last: u32,
    },
    /// The project does not exist on the environment before.
    NotProvisioned {
        /// The environment before.
        environment: String,
    },
    /// The environment before has no readable summary for the project.
    Unknown {
        /// The environment before.
        environment: String,
    },
}

impl fmt::Display for GateRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateRefusal::Lacks {
                environment,
                missing,
            } => write!(
                f,
                "`{environment}` has not applied {}: migrate `{environment}` first",
                missing.join(", ")
            ),
            GateRefusal::Differs {
                environment,
                version,
            } => write!(
                f,
                "what `{environment}` applied up to version {version} differs from these files: migrate `{environment}` with them first (it names the file that differs)"
            ),
            GateRefusal::Ahead {
                environment,
                version,
                last,
            } => write!(
                f,
                "`{environment}` is at version {version}, beyond these files (last {last}): use the files `{environment}` was migrated with"
            ),
            GateRefusal::NotProvisioned { environment } => {
                write!(f, "the project is not provisioned on `{environment}`")
            }
            GateRefusal::Unknown { environment } => write!(
                f,
                "the migration summary on `{environment}` is missing or unreadable: migrate `{environment}` again to rewrite it"
            ),
        }
    }
}

impl Gate {
    /// No gate: for the first environment in promotion order.
    ///
    /// ### Warning
    /// Passing an open gate for prod skips the staging check entirely.
    pub fn open() -> Self {
        Self { upstream: None }
    }

    /// A gate from what `environment` recorded (its [`read_status`](super::read_status)).
    pub fn after(environment: impl Into<String>, recorded: &[Recorded]) -> Self {
        let summaries = recorded
            .iter()
            .map(|r| {
                let summary = if r.has_history {
                    r.summary
                } else {
                    Some(Summary::of(&[]))
                };
                (r.project.clone(), summary)
            })
            .collect();
        Self {
            upstream: Some(Upstream {
                environment: environment.into(),
                summaries: Arc::new(summaries),
            }),
        }
    }

    /// A gate from the current state of `upstream`, read in one catalog query as its admin
    /// (one per instance).
    pub async fn read(upstream: &Environment) -> Result<Self, MigrateError> {
        let recorded = upstream.migration_status().await?;
        Ok(Self::after(upstream.name(), &recorded))
    }

    /// The environment this gate defers to, if any.
    pub fn upstream(&self) -> Option<&str> {
        self.upstream.as_ref().map(|u| u.environment.as_str())
    }

    /// Refuses `pending` unless the environment before has applied each of them, with the
    /// same checksums, on top of the same history.
    pub(crate) fn check(
        &self,
        project: &ProjectName,
        migrations: &Migrations,
        pending: &[&Migration],
    ) -> Result<(), GateRefusal> {
        let Some(upstream) = &self.upstream else {
            return Ok(());
        };
        if pending.is_empty() {
            return Ok(());
        }
        let environment = upstream.environment.clone();
        let summary = match upstream.summaries.get(project.as_str()) {
            None => return Err(GateRefusal::NotProvisioned { environment }),
            Some(None) => return Err(GateRefusal::Unknown { environment }),
            Some(Some(summary)) => *summary,
        };
        let last = migrations.last_version();
        if summary.version > last {
            return Err(GateRefusal::Ahead {
                environment,
                version: summary.version,
                last,
            });
        }
        if migrations.history_checksum(summary.version) != Some(summary.history) {
            return Err(GateRefusal::Differs {
                environment,
                version: summary.version,
            });
        }
        let missing: Vec<String> = pending
            .iter()
            .filter(|m| m.version() > summary.version)
            .map(|m| format!("`{}` ({})", m.file_name(), m.checksum().short()))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(GateRefusal::Lacks {
                environment,
                missing,
            })
        }
    }
}
