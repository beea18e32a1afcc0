//! The limits of a project's logins as command-line options, shared by `plan` and `provision`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use cotenant::provision::{LoginLimits, ProjectSettings};

/// `--connection-limit` and friends. Nothing stores them: a run without an option plans the
/// default again, so give the same options on every run of a project.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Limits (not stored: give the same ones on every run)")]
pub(super) struct LimitArgs {
    /// Most concurrent connections of `<project>_login`.
    #[arg(long, value_name = "N", default_value_t = defaults().login.connection_limit)]
    connection_limit: u32,

    /// `statement_timeout` of `<project>_login`'s sessions, e.g. `30s`, `2m`; `off` for none.
    #[arg(long, value_name = "DURATION", default_value_t = Timeout(defaults().login.statement_timeout))]
    statement_timeout: Timeout,

    /// `idle_in_transaction_session_timeout` of `<project>_login`'s sessions; `off` for none.
    #[arg(long, value_name = "DURATION", default_value_t = Timeout(defaults().login.idle_in_transaction_timeout))]
    idle_in_transaction_timeout: Timeout,

    /// Most concurrent connections of `<project>_migrator`.
    #[arg(long, value_name = "N", default_value_t = defaults().migrator.connection_limit)]
    migrator_connection_limit: u32,

    /// `statement_timeout` of `<project>_migrator`'s sessions; `off` for none.
    #[arg(long, value_name = "DURATION", default_value_t = Timeout(defaults().migrator.statement_timeout))]
    migrator_statement_timeout: Timeout,

    /// `idle_in_transaction_session_timeout` of `<project>_migrator`'s sessions; `off` for none.
    #[arg(long, value_name = "DURATION", default_value_t = Timeout(defaults().migrator.idle_in_transaction_timeout))]
    migrator_idle_in_transaction_timeout: Timeout,
}

fn defaults() -> ProjectSettings {
    ProjectSettings::default()
}

impl LimitArgs {
    pub(super) fn settings(&self) -> ProjectSettings {
        ProjectSettings {
            login: LoginLimits {
                connection_limit: self.connection_limit,
                statement_timeout: self.statement_timeout.0,
                idle_in_transaction_timeout: self.idle_in_transaction_timeout.0,
            },
            migrator: LoginLimits {
                connection_limit: self.migrator_connection_limit,
                statement_timeout: self.migrator_statement_timeout.0,
                idle_in_transaction_timeout: self.migrator_idle_in_transaction_timeout.0,
            },
        }
    }
}

/// A timeout as PostgreSQL takes it: whole milliseconds up to `i32::MAX`, zero meaning none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timeout(Option<Duration>);

/// The longest timeout PostgreSQL accepts: `i32::MAX` milliseconds, about 24.8 days.
const MAX_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

impl FromStr for Timeout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "off" || s == "0" {
            return Ok(Timeout(None));
        }
        let duration = humantime::parse_duration(s).map_err(|error| {
            format!("{error}: give a duration such as `30s`, `1m 30s` or `500ms`, or `off`")
        })?;
        if duration.is_zero() {
            Ok(Timeout(None))
        } else if duration.subsec_nanos() % 1_000_000 != 0 {
            Err("PostgreSQL counts timeouts in whole milliseconds".to_owned())
        } else if duration > MAX_TIMEOUT {
            Err(format!(
                "at most {} ({} ms) is accepted by PostgreSQL; use `off` for no timeout",
                humantime::format_duration(MAX_TIMEOUT),
                MAX_TIMEOUT.as_millis()
            ))
        } else {
            Ok(Timeout(Some(duration)))
        }
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("off"),
            Some(duration) => write!(f, "{}", humantime::format_duration(duration)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<Duration>, String> {
        s.parse::<Timeout>().map(|t| t.0)
    }

    #[test]
    fn timeouts_read_like_humantime_and_off_means_none() {
        assert_eq!(parse("30s"), Ok(Some(Duration::from_secs(30))));
        assert_eq!(parse("1m 30s"), Ok(Some(Duration::from_secs(90))));
        assert_eq!(parse("250ms"), Ok(Some(Duration::from_millis(250))));
        assert_eq!(parse("off"), Ok(None));
        assert_eq!(parse("0s"), Ok(None));
        assert!(parse("1500us").unwrap_err().contains("whole milliseconds"));
        assert!(parse("30 days").unwrap_err().contains("at most"));
        assert!(parse("soon").unwrap_err().contains("`off`"));
    }

    #[test]
    fn defaults_print_as_they_parse() {
        for timeout in [
            Timeout(None),
            Timeout(defaults().login.statement_timeout),
            Timeout(defaults().migrator.statement_timeout),
        ] {
            assert_eq!(timeout.to_string().parse::<Timeout>(), Ok(timeout));
        }
    }
}
