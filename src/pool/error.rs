use crate::ProjectName;
use crate::connect::ConnectError;
use crate::secret::SecretError;

/// Opening or checking a scoped connection failed.
///
/// No variant holds a password: credentials are named by their user, and the drivers' errors carry
/// only what the server answered.
///
/// ```no_run
/// # #[cfg(feature = "deadpool")]
/// # async fn run(env: cotenant::Environment, reli: cotenant::ProjectName) {
/// use cotenant::pool::{PoolError, PoolOptions};
///
/// match env.deadpool_pool(&reli, &PoolOptions::new()).await {
///     Ok(pool) => { /* serve */ }
///     Err(PoolError::WrongScope { current_user, .. }) => {
///         eprintln!("reli's login landed as `{current_user}`: provision reli again");
///     }
///     Err(e) if e.code() == Some("28P01") => eprintln!("the secret's password is refused: {e}"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The login's credential could not be read from the secret store.
    #[error(
        "reading the credential of project `{project}` on environment `{environment}`: {source}"
    )]
    Secret {
        /// The environment.
        environment: String,
        /// The project.
        project: ProjectName,
        /// What the store said.
        #[source]
        source: Box<SecretError>,
    },

    /// The environment's TLS settings could not be used, e.g. an unreadable `ca_file`.
    #[error("preparing connections to environment `{environment}`: {source}")]
    Connect {
        /// The environment.
        environment: String,
        /// What is wrong.
        #[source]
        source: Box<ConnectError>,
    },

    /// tokio-postgres could not connect, or the check of a new connection failed to run
    /// (feature `deadpool`).
    #[cfg(feature = "deadpool")]
    #[error("connecting to environment `{environment}` ({address}) as `{user}`: {source}")]
    Postgres {
        /// The environment.
        environment: String,
        /// `host:port/database`.
        address: String,
        /// The login.
        user: String,
        /// The driver's error; carries the server's SQLSTATE when it refused.
        #[source]
        source: tokio_postgres::Error,
    },

    /// sqlx could not connect, or the check of a new connection failed to run (feature `sqlx`).
    #[cfg(feature = "sqlx")]
    #[error("connecting to environment `{environment}` ({address}) as `{user}`: {source}")]
    Sqlx {
        /// The environment.
        environment: String,
        /// `host:port/database`.
        address: String,
        /// The login.
        user: String,
        /// The driver's error; carries the server's SQLSTATE when it refused.
        #[source]
        source: sqlx::Error,
    },

    /// No connection could be opened and checked within the acquire timeout.
    #[error(
        "connecting to environment `{environment}` ({address}) as `{user}`: no connection within {timeout:?}"
    )]
    TimedOut {
        /// The environment.
        environment: String,
        /// `host:port/database`.
        address: String,
        /// The login.
        user: String,
        /// The acquire timeout.
        timeout: std::time::Duration,
    },

    /// A new connection did not land as the project's app role in the project's schema, so it
    /// was closed: the login's role defaults are missing or did not apply (the login is no
    /// longer a member of the app role, or its `role`/`search_path` settings were reset).
    #[error(
        "checking a new connection to environment `{environment}` for project `{project}`: it runs as `{current_user}` with current schema {}, not as `{}` in schema `{project}` (it logged in as `{session_user}`); the login's role defaults are missing or did not apply: provision the project again",
        shown(current_schema),
        project.roles().app
    )]
    WrongScope {
        /// The environment.
        environment: String,
        /// The project the pool is for: the connection must run as its app role, `<p>_app`.
        project: ProjectName,
        /// The role it logged in as (`session_user`).
        session_user: String,
        /// The role it runs as (`current_user`).
        current_user: String,
        /// Its `current_schema()`: `None` when no schema on the search path is usable.
        current_schema: Option<String>,
    },
}

fn shown(schema: &Option<String>) -> String {
    match schema {
        Some(schema) => format!("`{schema}`"),
        None => "(none)".to_owned(),
    }
}

impl PoolError {
    /// The server's SQLSTATE, when the server refused: `28P01` for a password it does not
    /// accept (after the one refresh), `42501` for a login without CONNECT on the database,
    /// `53300` for too many connections.
    pub fn code(&self) -> Option<&str> {
        match self {
            PoolError::Connect { source, .. } => source.code().map(|c| c.code()),
            #[cfg(feature = "deadpool")]
            PoolError::Postgres { source, .. } => source.code().map(|c| c.code()),
            #[cfg(feature = "sqlx")]
            PoolError::Sqlx { source, .. } => source
                .as_database_error()?
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .map(|e| e.code()),
            PoolError::Secret { .. }
            | PoolError::TimedOut { .. }
            | PoolError::WrongScope { .. } => None,
        }
    }
}
