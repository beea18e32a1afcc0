//! Where every project of an instance stands, read in one catalog query.
//!
//! Connecting as each project's migrator to read its history would cost a login (a SCRAM
//! exchange) per project — seconds for a thousand — and the admin may not read project schemas
//! at all. Instead the runner keeps a [`Summary`] of each history in the catalog (the history
//! table's comment), which the admin reads for all projects at once.

use std::fmt;

use serde::Serialize;
use tokio_postgres::Client;

use super::{MigrateError, Migrations, Summary};
use crate::ProjectName;

/// What the catalog says about one project's migrations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Recorded {
    /// The project (its schema).
    pub project: String,
    /// Whether its history table exists (it is created by the first run).
    pub has_history: bool,
    /// The summary, `None` when there is no history table or its comment is missing or not
    /// cotenant's (a run rewrites it).
    pub summary: Option<Summary>,
}

/// Reads the migration summary of every provisioned project on the instance behind `admin`
/// (or only of `project`), in one query over the catalog.
///
/// ```no_run
/// # async fn run(admin: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::migrate::{Migrations, StatusReport, read_status};
///
/// let migrations = Migrations::from_dir("migrations")?;
/// let recorded = read_status(&admin, None).await?;
/// let report = StatusReport::new("prod", &recorded, &migrations);
/// println!("{report}");
/// # Ok(()) }
/// ```
pub async fn read_status(
    admin: &Client,
    project: Option<&ProjectName>,
) -> Result<Vec<Recorded>, MigrateError> {
    let rows = admin
        .query(
            include_str!("../../sql/migrate/status.sql"),
            &[&project.map(ProjectName::as_str)],
        )
        .await
        .map_err(|error| MigrateError::Status { error })?;
    Ok(rows
        .iter()
        .map(|row| {
            let comment: Option<String> = row.get(2);
            Recorded {
                project: row.get(0),
                has_history: row.get(1),
                summary: Summary::parse(comment.as_deref()),
            }
        })
        .collect())
}

/// How a project's recorded history compares with a migration set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProjectStatus {
    /// Every migration is applied.
    UpToDate {
        /// The last version.
        version: u32,
    },
    /// Some migrations are not applied yet (`version` 0: none is).
    Pending {
        /// The last applied version.
        version: u32,
        /// The versions to apply.
        pending: Vec<u32>,
    },
    /// What was applied up to `version` is not what these files say: a file changed after it
    /// was applied, or the project ran other files. `migrate` names the file.
    Differs {
        /// The last applied version.
        version: u32,
    },
    /// The project has more migrations applied than these files have.
    Ahead {
        /// The last applied version.
        version: u32,
        /// The last version of the files.
        last: u32,
    },
    /// The summary is missing or unreadable (someone changed the history table's comment);
    /// the next `migrate` of the project rewrites it.
    Unknown,
}

impl Recorded {
    /// Compares the recorded history with `migrations`.
    pub fn status(&self, migrations: &Migrations) -> ProjectStatus {
        let summary = match (self.has_history, self.summary) {
            (false, _) => Summary::of(&[]),
            (true, Some(summary)) => summary,
            (true, None) => return ProjectStatus::Unknown,
        };
        let last = migrations.last_version();
        if summary.version > last {
            return ProjectStatus::Ahead {
                version: summary.version,
                last,
            };
        }
        if migrations.history_checksum(summary.version) != Some(summary.history) {
            return ProjectStatus::Differs {
                version: summary.version,
            };
        }
        if summary.version == last {
            ProjectStatus::UpToDate {
                version: summary.version,
            }
        } else {
            ProjectStatus::Pending {
                version: summary.version,
                pending: (summary.version + 1..=last).collect(),
            }
        }
    }
}

/// The status of many projects on one environment against one migration set.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StatusReport {
    /// The environment.
    pub environment: String,
    /// Each project and its status, by project name.
    pub projects: Vec<ProjectStatusEntry>,
}

/// One project's line in a [`StatusReport`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ProjectStatusEntry {
    /// The project.
    pub project: String,
    /// Its status.
    #[serde(flatten)]
    pub status: ProjectStatus,
}

impl StatusReport {
    /// Compares each of `recorded` with `migrations`.
    pub fn new(
        environment: impl Into<String>,
        recorded: &[Recorded],
        migrations: &Migrations,
    ) -> Self {
        Self {
            environment: environment.into(),
            projects: recorded
                .iter()
                .map(|r| ProjectStatusEntry {
                    project: r.project.clone(),
                    status: r.status(migrations),
                })
                .collect(),
        }
    }

    /// True when every project is up to date.
    pub fn is_up_to_date(&self) -> bool {
        self.projects
            .iter()
            .all(|p| matches!(p.status, ProjectStatus::UpToDate { .. }))
    }

    /// The projects that are not up to date.
    pub fn needing_attention(&self) -> impl Iterator<Item = &ProjectStatusEntry> {
        self.projects
            .iter()
            .filter(|p| !matches!(p.status, ProjectStatus::UpToDate { .. }))
    }
}

impl fmt::Display for ProjectStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectStatus::UpToDate { version } => write!(f, "up to date at {version:03}"),
            ProjectStatus::Pending { version, pending } => write!(
                f,
                "at {version:03}, {} pending ({:03}..={:03})",
                pending.len(),
                pending.first().unwrap_or(&0),
                pending.last().unwrap_or(&0)
            ),
            ProjectStatus::Differs { version } => write!(
                f,
                "at {version:03}, but its history differs from these files (run migrate to see which file)"
            ),
            ProjectStatus::Ahead { version, last } => {
                write!(f, "at {version:03}, ahead of these files (last {last:03})")
            }
            ProjectStatus::Unknown => {
                f.write_str("summary missing or unreadable (the next migrate rewrites it)")
            }
        }
    }
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.projects.len();
        let attention: Vec<_> = self.needing_attention().collect();
        writeln!(
            f,
            "{}: {} of {total} project(s) up to date",
            self.environment,
            total - attention.len()
        )?;
        for entry in attention {
            writeln!(f, "  {}: {}", entry.project, entry.status)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::Migrations;

    fn set(n: u32) -> Migrations {
        let files: Vec<(String, String)> = (1..=n)
            .map(|v| (format!("{v:03}_m.sql"), format!("SELECT {v}")))
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        Migrations::from_embedded(&refs).unwrap()
    }

    fn recorded(set: &Migrations, version: u32) -> Recorded {
        Recorded {
            project: "p".into(),
            has_history: true,
            summary: Some(Summary {
                version,
                history: set.history_checksum(version).unwrap(),
            }),
        }
    }

    #[test]
    fn status_follows_from_the_summary_alone() {
        let three = set(3);
        assert_eq!(
            recorded(&three, 3).status(&three),
            ProjectStatus::UpToDate { version: 3 }
        );
        assert_eq!(
            recorded(&three, 1).status(&three),
            ProjectStatus::Pending {
                version: 1,
                pending: vec![2, 3]
            }
        );
        assert_eq!(
            recorded(&three, 3).status(&set(2)),
            ProjectStatus::Ahead {
                version: 3,
                last: 2
            }
        );
        let other = Migrations::from_embedded(&[("001_m.sql", "SELECT 42")]).unwrap();
        assert_eq!(
            recorded(&three, 1).status(&other),
            ProjectStatus::Differs { version: 1 }
        );
        let never = Recorded {
            project: "p".into(),
            has_history: false,
            summary: None,
        };
        assert_eq!(
            never.status(&three),
            ProjectStatus::Pending {
                version: 0,
                pending: vec![1, 2, 3]
            }
        );
        let lost = Recorded {
            summary: None,
            ..recorded(&three, 3)
        };
        assert_eq!(lost.status(&three), ProjectStatus::Unknown);
    }
}
