//! Limits and timeouts of a project's logins.

use std::time::Duration;

use super::state::RoleState;

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

impl ProjectSettings {
    /// The limits the logins `login` and `migrator` have now; the default of each value whose
    /// role or setting is missing or unreadable.
    pub(crate) fn of_roles(login: Option<&RoleState>, migrator: Option<&RoleState>) -> Self {
        let defaults = ProjectSettings::default();
        ProjectSettings {
            login: login.map_or(defaults.login, |r| LoginLimits::of_role(r, defaults.login)),
            migrator: migrator.map_or(defaults.migrator, |r| {
                LoginLimits::of_role(r, defaults.migrator)
            }),
        }
    }
}

impl LoginLimits {
    fn of_role(role: &RoleState, defaults: LoginLimits) -> Self {
        let setting = |name: &str, default: Option<Duration>| {
            role.settings
                .iter()
                .filter_map(|s| s.split_once('='))
                .find(|(key, _)| *key == name)
                .map_or(default, |(_, value)| parse_time(value).unwrap_or(default))
        };
        LoginLimits {
            connection_limit: u32::try_from(role.connection_limit)
                .unwrap_or(defaults.connection_limit),
            statement_timeout: setting("statement_timeout", defaults.statement_timeout),
            idle_in_transaction_timeout: setting(
                "idle_in_transaction_session_timeout",
                defaults.idle_in_transaction_timeout,
            ),
        }
    }
}

/// A time setting as a role default stores it (`30000`, `30s`, `5min`...; milliseconds without a
/// unit): `Some(None)` for 0 (no timeout), `None` if it cannot be read.
pub(crate) fn parse_time(value: &str) -> Option<Option<Duration>> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "" | "ms" => number,
        "s" => number * 1_000,
        "min" => number * 60_000,
        "h" => number * 3_600_000,
        "d" => number * 86_400_000,
        _ => return None,
    };
    Some((millis > 0).then(|| Duration::from_millis(millis)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_settings_read_as_stored() {
        assert_eq!(parse_time("30000"), Some(Some(Duration::from_secs(30))));
        assert_eq!(parse_time("45s"), Some(Some(Duration::from_secs(45))));
        assert_eq!(parse_time("5min"), Some(Some(Duration::from_secs(300))));
        assert_eq!(parse_time("0"), Some(None));
        assert_eq!(parse_time("soon"), None);
        assert_eq!(parse_time("3 fortnights"), None);
    }
}
