//! `cotenant audit [<project>…]`: the isolation invariants and the lints, read from each
//! environment's catalog; exit 1 when an error counts.

use cotenant::ProjectName;
use cotenant::audit::{AuditReport, Scope};
use serde::Serialize;

use super::limits::LimitArgs;
use super::output::{emit, emit_json};
use super::{Failure, open_with_config};
use crate::Global;

/// `cotenant audit [<project>…] [limits]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only these projects (default: every project found on each environment).
    projects: Vec<ProjectName>,

    /// Limits the named projects' logins are held to instead of their declared ones.
    #[command(flatten)]
    limits: LimitArgs,
}

/// One environment's audit, as `--json` shows it.
#[derive(Serialize)]
struct Outcome {
    environment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<AuditReport>,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let (config, cotenant) = open_with_config(global).await?;
    // Every project is held to what is declared (settings, Data API roles, allow lists); an
    // option overrides the limits for the named projects.
    let mut scope = Scope::declared(&config);
    if !args.projects.is_empty() {
        scope = scope.restricted_to(args.projects.iter().cloned());
    }
    for project in &args.projects {
        let (settings, notes) = args.limits.settings(project, &config.projects);
        for note in notes {
            eprintln!("{note}");
        }
        scope = scope.with_settings(project.clone(), settings);
    }
    let mut outcomes = Vec::new();
    for env in cotenant.environments() {
        let (error, report) = match env.audit(&scope).await {
            Ok(report) => (None, Some(report)),
            Err(e) => (Some(crate::chain(&e)), None),
        };
        outcomes.push(Outcome {
            environment: env.name().to_owned(),
            error,
            report,
        });
    }
    if global.json {
        emit_json(&outcomes)?;
    } else {
        let text: String = outcomes
            .iter()
            .map(|o| match (&o.report, &o.error) {
                (Some(report), _) => format!("{}:\n{report}", o.environment),
                (None, error) => format!(
                    "{}: cannot audit: {}\n",
                    o.environment,
                    error.as_deref().unwrap_or_default()
                ),
            })
            .collect();
        emit(&text)?;
    }
    let problems: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match &o.report {
            None => Some(format!("`{}` could not be audited", o.environment)),
            Some(r) if !r.passes() => {
                Some(format!("`{}` has {} error(s)", o.environment, r.errors()))
            }
            Some(_) => None,
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::operation(format!(
            "audit: {}",
            problems.join("; ")
        )))
    }
}
