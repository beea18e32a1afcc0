use std::fmt;
use std::time::Duration;

use super::Blocker;
use super::blocker::Listing;
use crate::ProjectName;

/// Relocating failed. Whatever the transaction had done was rolled back: `public` is exactly as
/// it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelocateError {
    /// The failure happened on this environment; environments after it were not touched.
    #[error("on environment `{environment}`: {source}")]
    InEnvironment {
        /// The environment.
        environment: String,
        /// What failed there.
        #[source]
        source: Box<RelocateError>,
    },
    /// The admin connection could not be opened.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// The project's schema or roles are missing or not cotenant's.
    #[error(
        "project `{project}` is not provisioned here ({missing}): run `cotenant provision {project}` first"
    )]
    NotProvisioned {
        /// The project.
        project: ProjectName,
        /// What is missing.
        missing: String,
    },
    /// A table named in the selection is neither in `public` nor in the project's schema.
    #[error(
        "selecting `{name}` for project `{project}`: there is no `public.{name}` (nor `{project}.{name}`); name relations of schema public, without the schema"
    )]
    UnknownTable {
        /// The project.
        project: ProjectName,
        /// The name as given.
        name: String,
    },
    /// Findings of the dependency analysis that no choice handles.
    #[error(
        "relocating into `{project}` is blocked (nothing was changed): {}",
        Listing(blockers)
    )]
    Blocked {
        /// The project.
        project: ProjectName,
        /// The unresolved blockers.
        blockers: Vec<Blocker>,
    },
    /// Every attempt timed out waiting for a lock; other sessions hold locks on the objects.
    #[error(
        "relocating into `{project}`: {attempts} attempt(s) each waited {lock_timeout:?} for a lock and gave up (rolled back, nothing changed); {}",
        Holders(holders)
    )]
    LockTimeout {
        /// The project.
        project: ProjectName,
        /// How many attempts were made.
        attempts: u32,
        /// How long each waited.
        lock_timeout: Duration,
        /// The sessions holding locks on the objects to move, as seen after the last attempt.
        holders: Vec<LockHolder>,
    },
    /// Converging the project's platform access inside the relocation failed (a trigger
    /// function becoming the signup hook needs it).
    #[error("while relocating `{project}`'s signup trigger into its signup hook: {source}")]
    Platform {
        /// The project.
        project: ProjectName,
        /// What went wrong.
        #[source]
        source: Box<crate::platform::PlatformError>,
    },
    /// Reading the catalog failed.
    #[error("reading the catalog for project `{project}`: {source}")]
    Catalog {
        /// The project.
        project: ProjectName,
        /// What went wrong.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The catalog could not be decoded: a bug in cotenant's catalog query.
    #[error(
        "decoding the catalog for project `{project}` (a bug in cotenant, please report it): {source}"
    )]
    CatalogDecode {
        /// The project.
        project: ProjectName,
        /// What did not decode.
        #[source]
        source: serde_json::Error,
    },
    /// A statement failed; the transaction was rolled back.
    #[error(
        "relocating into `{project}`, while {step} (`{statement}`; rolled back, public is as before): {source}"
    )]
    Apply {
        /// The project.
        project: ProjectName,
        /// What the statement was for.
        step: String,
        /// The statement.
        statement: String,
        /// The server's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// Verification found a difference between before and after; rolled back.
    #[error(
        "verifying the relocation into `{project}` (rolled back, public is as before): {}",
        mismatches.join("; ")
    )]
    Verification {
        /// The project.
        project: ProjectName,
        /// What differs.
        mismatches: Vec<String>,
    },
}

impl RelocateError {
    pub(crate) fn in_environment(self, environment: &str) -> Self {
        RelocateError::InEnvironment {
            environment: environment.to_owned(),
            source: Box::new(self),
        }
    }

    /// The unresolved blockers, when that is why the relocation stopped (on any environment).
    pub fn blockers(&self) -> &[Blocker] {
        match self {
            RelocateError::Blocked { blockers, .. } => blockers,
            RelocateError::InEnvironment { source, .. } => source.blockers(),
            _ => &[],
        }
    }
}

/// A session holding a lock on an object a relocation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockHolder {
    /// The server process; `SELECT pg_terminate_backend(pid)` ends the session.
    pub pid: i32,
    /// The role it is connected as.
    pub user: String,
    /// Its `application_name`.
    pub application_name: String,
    /// `active`, `idle in transaction`, …; empty when the admin may not see it (another role's
    /// session, without `pg_read_all_stats`).
    pub state: String,
    /// How long its transaction has been open, in seconds, when visible.
    pub transaction_age_secs: Option<i64>,
    /// The lock mode it holds, e.g. `AccessShareLock`.
    pub mode: String,
    /// The locked object.
    pub object: String,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} (user `{}`, application `{}`",
            self.pid, self.user, self.application_name
        )?;
        if !self.state.is_empty() {
            write!(f, ", {}", self.state)?;
        }
        if let Some(age) = self.transaction_age_secs {
            write!(f, ", transaction open for {age} s")?;
        }
        write!(f, ") holds {} on `{}`", self.mode, self.object)
    }
}

struct Holders<'a>(&'a [LockHolder]);

impl fmt::Display for Holders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str(
                "no session holds a lock on them any more: the conflicting transaction ended; run again",
            );
        }
        for (i, holder) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{holder}")?;
        }
        f.write_str(": run again when it ends, or end it with `SELECT pg_terminate_backend(<pid>)`")
    }
}
