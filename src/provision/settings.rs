//! Limits and timeouts of a project's logins.

use std::time::Duration;

/// How one login of a project may use the instance: enforced by PostgreSQL as role
/// attributes and role defaults, so that one noisy project cannot starve the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Most concurrent connections (`CONNECTION LIMIT`).
    pub connection_limit: u32,
    /// `statement_timeout` for every session; `None` leaves statements unbounded.
    pub statement_timeout: Option<Duration>,
    /// `idle_in_transaction_session_timeout`; `None` leaves idle transactions open.
    pub idle_in_transaction_timeout: Option<Duration>,
}

/// A project's limits: one set for `<p>_login` (services) and one for `<p>_migrator`.
///
/// ```
/// use std::time::Duration;
/// use cotenant::provision::ProjectSettings;
///
/// let mut settings = ProjectSettings::default();
/// settings.login.connection_limit = 50;
/// settings.login.statement_timeout = Some(Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectSettings {
    /// Limits of `<p>_login`.
    pub login: LoginLimits,
    /// Limits of `<p>_migrator`.
    pub migrator: LoginLimits,
}

impl Default for ProjectSettings {
    /// Services: 20 connections, 30 s statements, 60 s idle in a transaction. Migrations: 5
    /// connections, 15 min statements (index builds, backfills), 5 min idle in a transaction.
    fn default() -> Self {
        Self {
            login: LoginLimits {
                connection_limit: 20,
                statement_timeout: Some(Duration::from_secs(30)),
                idle_in_transaction_timeout: Some(Duration::from_secs(60)),
            },
            migrator: LoginLimits {
                connection_limit: 5,
                statement_timeout: Some(Duration::from_secs(15 * 60)),
                idle_in_transaction_timeout: Some(Duration::from_secs(5 * 60)),
            },
        }
    }
}

/// A duration as PostgreSQL stores a time setting given in milliseconds.
pub(crate) fn setting_millis(value: Option<Duration>) -> String {
    value.map_or(0, |d| d.as_millis()).to_string()
}
