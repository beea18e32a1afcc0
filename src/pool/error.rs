use crate::ProjectName;
use crate::connect::ConnectError;
use crate::secret::{Login, SecretError};

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

    /// A new connection did not land as the role its login stands for (`<p>_app` for
    /// [`Login::App`], `<p>_owner` for [`Login::Migrator`]) in the project's schema, so it was
    /// closed: the login's role defaults are missing or did not apply (the login is no longer a
    /// member of that role, or its `role`/`search_path` settings were reset).
    #[error(
        "checking a new connection to environment `{environment}` for project `{project}`: it runs as `{current_user}` with current schema {}, not as `{}` in schema `{project}` (it logged in as `{session_user}`); the login's role defaults are missing or did not apply: provision the project again",
        shown(current_schema),
        expected_role(project, *login)
    )]
    WrongScope {
        /// The environment.
        environment: String,
        /// The project the pool is for.
        project: ProjectName,
        /// The login the pool connects as: the connection must run as `<p>_app` (app) or
        /// `<p>_owner` (migrator).
        login: Login,
        /// The role it logged in as (`session_user`).
        session_user: String,
        /// The role it runs as (`current_user`).
        current_user: String,
        /// Its `current_schema()`: `None` when no schema on the search path is usable.
        current_schema: Option<String>,
    },

    /// The login's secret does not describe this login on this environment: its `username` is
    /// not the login (nor the login's rotation twin), or its `host`, `port` or `dbname` are not
    /// the environment's. Nothing was connected with it.
    #[error(
        "the secret `{secret}` of project `{project}`'s {login} login on environment `{environment}` has {field} `{found}`, expected {expected}; nothing was connected with it: correct the secret in the store (a secret copied from another project or environment?) or the environment's address in the configuration"
    )]
    SecretMismatch {
        /// The environment.
        environment: String,
        /// The project.
        project: ProjectName,
        /// The login whose secret it is.
        login: Login,
        /// The secret's id.
        secret: String,
        /// The key that differs.
        field: SecretField,
        /// What the secret says.
        found: String,
        /// What it must say, quoted: e.g. `` `reli_login` or `reli_login_clone` ``.
        expected: String,
    },

    /// The pool would open more connections than the login may have at once (its `CONNECTION
    /// LIMIT`, read on the first connection): its last connections would be refused with
    /// `53300`.
    #[error(
        "a pool of {max_size} connections for project `{project}` on environment `{environment}` exceeds the connection limit of `{user}` ({connection_limit}): set max_size to at most {connection_limit} (or leave it unset for min(10, {connection_limit})), or raise the login's connection limit in the project's settings and provision again"
    )]
    ExceedsConnectionLimit {
        /// The environment.
        environment: String,
        /// The project.
        project: ProjectName,
        /// The login role whose limit it is (`session_user`).
        user: String,
        /// The size asked for.
        max_size: usize,
        /// The login's `rolconnlimit`.
        connection_limit: usize,
    },
}

/// A key of a login's secret that must match the login and the environment (see
/// [`PoolError::SecretMismatch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretField {
    /// `username`: the login or its rotation twin.
    Username,
    /// `host`: the environment's host (compared without regard to ASCII case).
    Host,
    /// `port`: the environment's port.
    Port,
    /// `dbname`: the environment's database.
    Dbname,
}

impl SecretField {
    /// The key's name in the secret's JSON.
    pub const fn key(self) -> &'static str {
        match self {
            SecretField::Username => "username",
            SecretField::Host => "host",
            SecretField::Port => "port",
            SecretField::Dbname => "dbname",
        }
    }
}

impl std::fmt::Display for SecretField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// The role a connection of `login` must run as.
pub(crate) fn expected_role(project: &ProjectName, login: Login) -> String {
    let roles = project.roles();
    match login {
        Login::App => roles.app,
        Login::Migrator => roles.owner,
    }
}

fn shown(schema: &Option<String>) -> String {
    match schema {
        Some(schema) => format!("`{schema}`"),
        None => "(none)".to_owned(),
    }
}

impl PoolError {
    /// Whether the password was refused (after reading the credential again, see
    /// [refreshing](crate::pool#refreshing-the-credential)): by the server (`28P01`), or by a
    /// transaction pooler in front of it, which checks passwords itself and answers with its own
    /// code (PgBouncer: `08P01`, "SASL authentication failed").
    ///
    /// ```no_run
    /// # #[cfg(feature = "deadpool")]
    /// # async fn run(env: cotenant::Environment, reli: cotenant::ProjectName) {
    /// use cotenant::pool::PoolOptions;
    ///
    /// if let Err(e) = env.deadpool_pool(&reli, &PoolOptions::new()).await
    ///     && e.is_password_refused()
    /// {
    ///     eprintln!("the secret's password is refused: {e}");
    /// }
    /// # }
    /// ```
    pub fn is_password_refused(&self) -> bool {
        match self {
            #[cfg(feature = "deadpool")]
            PoolError::Postgres { source, .. } => {
                super::credential::Refusal::is_refused_password(source)
            }
            #[cfg(feature = "sqlx")]
            PoolError::Sqlx { source, .. } => {
                super::credential::Refusal::is_refused_password(source)
            }
            other => other
                .code()
                .is_some_and(|code| super::credential::refused(code, "")),
        }
    }

    /// The server's SQLSTATE, when the server refused: `28P01` for a password it does not
    /// accept (after reading the credential again, see
    /// [refreshing](crate::pool#refreshing-the-credential)), `42501` for a login without CONNECT
    /// on the database, `53300` for too many connections.
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
            | PoolError::WrongScope { .. }
            | PoolError::SecretMismatch { .. }
            | PoolError::ExceedsConnectionLimit { .. } => None,
        }
    }
}
