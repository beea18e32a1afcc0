//! `cotenant doctor`: what each environment's admin connection can do.

use cotenant::Environment;
use cotenant::doctor::{self, DoctorReport, Verdict};
use serde::Serialize;

use super::output::{emit, emit_json};
use super::{Failure, open};
use crate::Global;

/// `cotenant doctor` takes no arguments of its own.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// One environment's outcome, as `--json` shows it.
#[derive(Serialize)]
struct Outcome {
    environment: String,
    /// Whether cotenant could connect as the admin.
    reachable: bool,
    /// Why it could not connect, or could not read the instance's setup.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<DoctorReport>,
}

impl Outcome {
    /// A problem that makes the command fail: unreachable, unreadable, or a failing check.
    fn problem(&self) -> Option<String> {
        let name = &self.environment;
        match (&self.report, self.reachable) {
            (_, false) => Some(format!("`{name}` cannot be reached")),
            (None, true) => Some(format!("`{name}` could not be examined")),
            (Some(report), true) => {
                let failed = report
                    .checks
                    .iter()
                    .filter(|c| c.verdict == Verdict::Fail)
                    .count();
                (failed > 0).then(|| format!("`{name}` fails {failed} check(s)"))
            }
        }
    }
}

pub(super) async fn run(_args: Args, global: &Global) -> Result<(), Failure> {
    let cotenant = open(global).await?;
    let mut outcomes = Vec::new();
    for env in cotenant.environments() {
        for on in env.instances() {
            outcomes.push(examine(&on).await);
        }
    }
    if global.json {
        emit_json(&outcomes)?;
    } else {
        emit(&outcomes.iter().map(human).collect::<String>())?;
    }
    let problems: Vec<String> = outcomes.iter().filter_map(Outcome::problem).collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::operation(format!(
            "doctor: {}",
            problems.join("; ")
        )))
    }
}

async fn examine(env: &Environment) -> Outcome {
    // An environment of several instances is examined instance by instance: `prod/b`.
    let name = if env.config().has_instances() {
        format!("{}/{}", env.name(), env.instance())
    } else {
        env.name().to_owned()
    };
    let outcome = |reachable, error, report| Outcome {
        environment: name.clone(),
        reachable,
        error,
        report,
    };
    let client = match env.connect_admin().await {
        Ok(client) => client,
        Err(error) => return outcome(false, Some(crate::chain(&error)), None),
    };
    let allowlist = env.platform_config().allowed_extensions();
    let report = match doctor::examine(&client).await {
        Ok(mut report) => cotenant::platform::examine_extensions(&client, allowlist)
            .await
            .map(|checks| {
                report.checks.extend(checks);
                report
            }),
        Err(error) => Err(error),
    };
    match report {
        Ok(report) => outcome(true, None, Some(report)),
        Err(error) => outcome(
            true,
            Some(format!(
                "reading the instance's setup: {}",
                crate::chain(&error)
            )),
            None,
        ),
    }
}

fn human(outcome: &Outcome) -> String {
    let name = &outcome.environment;
    let Some(report) = &outcome.report else {
        let error = outcome.error.as_deref().unwrap_or_default();
        return if outcome.reachable {
            format!("{name}: cannot examine: {error}\n")
        } else {
            format!("{name}: unreachable: {error}\n")
        };
    };
    let mut out = format!(
        "{name}: PostgreSQL {}, admin `{}` on database `{}`\n",
        report.server_version, report.admin, report.database
    );
    for check in &report.checks {
        let verdict = match check.verdict {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        };
        out.push_str(&format!(
            "  {verdict:<4}  {}: {}\n",
            check.name, check.detail
        ));
    }
    out
}
