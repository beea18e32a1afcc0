//! Why a server could not be started.

use std::error::Error as _;
use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use crate::PgVersion;

/// Why a server could not be started (or an external one not used).
///
/// Messages never contain passwords.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// A version other than 15 or 17 was asked for.
    #[error("unsupported PostgreSQL version {0:?}: expected 15 or 17")]
    InvalidVersion(String),

    /// A flavour other than `supabase` or `plain` was asked for.
    #[error("unsupported test kit flavour {0:?}: expected supabase or plain")]
    InvalidFlavor(String),

    /// An environment variable holds a value the testkit cannot use.
    #[error("invalid {var}: {reason}")]
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// What is wrong with its value.
        reason: String,
    },

    /// No `initdb`/`postgres` for the version in any of the places searched.
    #[error(
        "PostgreSQL {version} binaries not found (looked in {}): run scripts/setup.sh",
        display_paths(searched)
    )]
    BinariesNotFound {
        /// The version asked for.
        version: PgVersion,
        /// The directories searched, in order.
        searched: Vec<PathBuf>,
    },

    /// The binaries found are of another major version.
    #[error("while checking the binaries in {}: expected PostgreSQL {expected}, found {found:?}", dir.display())]
    WrongBinaries {
        /// The directory of the binaries.
        dir: PathBuf,
        /// The version asked for.
        expected: PgVersion,
        /// What `postgres --version` printed.
        found: String,
    },

    /// Running as root without an unprivileged OS user to run PostgreSQL as.
    #[error(
        "while choosing an OS user to run PostgreSQL as: running as root, and neither `postgres` nor `nobody` is in /etc/passwd"
    )]
    NoUnprivilegedUser,

    /// A file system or process operation failed.
    #[error("while {context}: {source}")]
    Io {
        /// What the testkit was doing.
        context: String,
        /// The failure.
        source: io::Error,
    },

    /// A helper program (initdb, cp) failed.
    #[error("while {context}: {status}: {output}")]
    Command {
        /// What the testkit was doing.
        context: String,
        /// How the program exited.
        status: ExitStatus,
        /// What it printed on stderr (and stdout).
        output: String,
    },

    /// The postmaster exited before it accepted connections.
    #[error("while starting postgres: it exited ({status}); its log ends with:\n{log}")]
    ServerExited {
        /// How the postmaster exited.
        status: ExitStatus,
        /// The last lines of the server log.
        log: String,
    },

    /// The postmaster did not become ready in time.
    #[error("while starting postgres: not ready after {waited:?}; its log ends with:\n{log}")]
    StartTimeout {
        /// How long the testkit waited.
        waited: Duration,
        /// The last lines of the server log.
        log: String,
    },

    /// A statement or connection failed.
    #[error("while {context}: {}", describe(source))]
    Sql {
        /// What the testkit was doing.
        context: String,
        /// The failure.
        source: tokio_postgres::Error,
    },

    /// Connection settings for an external server lack what the testkit needs.
    #[error("invalid connection settings for an external server: {0}")]
    InvalidConfig(String),

    /// An external server runs another major version than the one asked for.
    #[error(
        "while checking the external server {server}: expected PostgreSQL {expected}, it runs {found}"
    )]
    ExternalVersion {
        /// `host:port`.
        server: String,
        /// The version asked for.
        expected: PgVersion,
        /// The server's `server_version`.
        found: String,
    },

    /// No `pgbouncer` program was found: tests that need a pooler cannot run.
    #[error(
        "PgBouncer not found (looked in {}): run scripts/setup.sh (it installs Debian's pgbouncer package), or set COTENANT_PGBOUNCER to the program",
        display_paths(searched)
    )]
    PoolerNotFound {
        /// The places searched, in order.
        searched: Vec<PathBuf>,
    },

    /// A pooler cannot be put in front of this server.
    #[error("while starting a pooler: {0}")]
    PoolerUnavailable(String),

    /// PgBouncer exited before it listened.
    #[error("while starting pgbouncer: it exited ({status}); its log ends with:\n{log}")]
    PoolerExited {
        /// How it exited.
        status: ExitStatus,
        /// The last lines of its log.
        log: String,
    },

    /// Starting or reaching a container failed.
    #[error("while {context}: {source}")]
    Docker {
        /// What the testkit was doing.
        context: String,
        /// The failure.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl TestkitError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> TestkitError {
        let context = context.into();
        move |source| TestkitError::Io { context, source }
    }

    pub(crate) fn sql(
        context: impl Into<String>,
    ) -> impl FnOnce(tokio_postgres::Error) -> TestkitError {
        let context = context.into();
        move |source| TestkitError::Sql { context, source }
    }
}

/// tokio-postgres's Display is only the kind ("db error"): the server's message is in the source.
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    match error.source() {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    let paths: Vec<String> = paths
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    paths.join(", ")
}
