//! The limits of a project's logins as command-line options, shared by `plan` and `provision`.
//! Their default is the project's declaration (`[projects.<p>]`, else cotenant's defaults); an
//! option given overrides it for this run, and the command says so.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use cotenant::ProjectName;
use cotenant::config::MAX_CONNECTION_LIMIT;
use cotenant::declare::Declarations;
use cotenant::provision::ProjectSettings;

/// `--connection-limit` and friends.
#[derive(Debug, clap::Args)]
#[command(
    next_help_heading = "Limits (default: the project's [projects.<p>] declaration; an option overrides it for this run only)"
)]
pub(super) struct LimitArgs {
    /// Most concurrent connections of `<project>_login`.
    #[arg(long, value_name = "N", value_parser = connection_limit)]
    connection_limit: Option<u32>,

    /// `statement_timeout` of `<project>_login`'s sessions, e.g. `30s`, `2m`; `off` for none.
    #[arg(long, value_name = "DURATION")]
    statement_timeout: Option<Timeout>,

    /// `idle_in_transaction_session_timeout` of `<project>_login`'s sessions; `off` for none.
    #[arg(long, value_name = "DURATION")]
    idle_in_transaction_timeout: Option<Timeout>,

    /// Most concurrent connections of `<project>_migrator`.
    #[arg(long, value_name = "N", value_parser = connection_limit)]
    migrator_connection_limit: Option<u32>,

    /// `statement_timeout` of `<project>_migrator`'s sessions; `off` for none.
    #[arg(long, value_name = "DURATION")]
    migrator_statement_timeout: Option<Timeout>,

    /// `idle_in_transaction_session_timeout` of `<project>_migrator`'s sessions; `off` for none.
    #[arg(long, value_name = "DURATION")]
    migrator_idle_in_transaction_timeout: Option<Timeout>,
}

fn connection_limit(s: &str) -> Result<u32, String> {
    let n: i64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of connections"))?;
    if !(1..=MAX_CONNECTION_LIMIT).contains(&n) {
        return Err(format!("expected 1 to {MAX_CONNECTION_LIMIT} connections"));
    }
    Ok(u32::try_from(n).expect("checked to be in range"))
}

impl LimitArgs {
    /// The settings for `project`: its declared ones (or the defaults) with the options given
    /// in place, and one note per option that changes a value, naming the setting, the declared
    /// value and the given one.
    pub(super) fn settings(
        &self,
        project: &ProjectName,
        declarations: &Declarations,
    ) -> (ProjectSettings, Vec<String>) {
        let declared = declarations.settings_of(project);
        let source = if declarations.get(project).is_some() {
            "declared"
        } else {
            "default (the project is not declared)"
        };
        let roles = project.roles();
        let mut notes = Vec::new();
        let mut settings = declared;
        for (role, limits, connections, statement, idle) in [
            (
                &roles.login,
                &mut settings.login,
                self.connection_limit,
                self.statement_timeout,
                self.idle_in_transaction_timeout,
            ),
            (
                &roles.migrator,
                &mut settings.migrator,
                self.migrator_connection_limit,
                self.migrator_statement_timeout,
                self.migrator_idle_in_transaction_timeout,
            ),
        ] {
            let mut note = |setting: &str, was: String, given: String| {
                if was != given {
                    notes.push(format!(
                        "note: {setting} of `{role}` is {given} for this run, overriding the {source} {was}"
                    ));
                }
            };
            if let Some(n) = connections {
                note(
                    "connection_limit",
                    limits.connection_limit.to_string(),
                    n.to_string(),
                );
                limits.connection_limit = n;
            }
            if let Some(t) = statement {
                note(
                    "statement_timeout",
                    Timeout(limits.statement_timeout).to_string(),
                    t.to_string(),
                );
                limits.statement_timeout = t.0;
            }
            if let Some(t) = idle {
                note(
                    "idle_in_transaction_timeout",
                    Timeout(limits.idle_in_transaction_timeout).to_string(),
                    t.to_string(),
                );
                limits.idle_in_transaction_timeout = t.0;
            }
        }
        (settings, notes)
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
    use cotenant::declare::Declaration;

    use super::*;

    fn defaults() -> ProjectSettings {
        ProjectSettings::default()
    }

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

    #[test]
    fn options_override_the_declaration_and_say_so() {
        let reli: ProjectName = "reli".parse().unwrap();
        let mut declared = defaults();
        declared.login.connection_limit = 50;
        let declarations =
            Declarations::default().with_project(reli.clone(), Declaration::new(declared));
        let none = LimitArgs {
            connection_limit: None,
            statement_timeout: None,
            idle_in_transaction_timeout: None,
            migrator_connection_limit: None,
            migrator_statement_timeout: None,
            migrator_idle_in_transaction_timeout: None,
        };
        assert_eq!(none.settings(&reli, &declarations), (declared, vec![]));
        let given = LimitArgs {
            connection_limit: Some(10),
            migrator_statement_timeout: Some(Timeout(None)),
            ..none
        };
        let (settings, notes) = given.settings(&reli, &declarations);
        assert_eq!(settings.login.connection_limit, 10);
        assert_eq!(settings.migrator.statement_timeout, None);
        assert_eq!(
            notes,
            [
                "note: connection_limit of `reli_login` is 10 for this run, overriding the declared 50",
                "note: statement_timeout of `reli_migrator` is off for this run, overriding the declared 15m",
            ]
        );
        let (_, notes) = given.settings(&"annie".parse().unwrap(), &declarations);
        assert!(
            notes[0].contains("default (the project is not declared) 20"),
            "{notes:?}"
        );
    }
}
