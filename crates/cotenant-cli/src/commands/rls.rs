//! `cotenant rls <project>…`: check that every table of each project has row-level security
//! enabled, on every environment; exit 1 when one does not.

use cotenant::ProjectName;
use serde::Serialize;

use super::output::{emit, emit_json};
use super::{Failure, open};
use crate::Global;

/// `cotenant rls <project>…`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The projects to check.
    #[arg(required = true)]
    projects: Vec<ProjectName>,
}

#[derive(Serialize)]
struct RlsJson {
    environment: String,
    #[serde(flatten)]
    report: cotenant::migrate::RlsReport,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let cotenant = open(global).await?;
    let mut reports = Vec::new();
    for env in cotenant.environments() {
        for project in &args.projects {
            let report = env.rls_report(project).await.map_err(Failure::operation)?;
            reports.push(RlsJson {
                environment: env.name().to_owned(),
                report,
            });
        }
    }
    if global.json {
        emit_json(&reports)?;
    } else {
        let text: String = reports
            .iter()
            .map(|r| format!("{}: {}\n", r.environment, r.report))
            .collect();
        emit(&text)?;
    }
    let failing = reports.iter().filter(|r| !r.report.all_enabled()).count();
    if failing == 0 {
        Ok(())
    } else {
        Err(Failure::operation(format!(
            "{failing} project/environment pair(s) have tables without row-level security"
        )))
    }
}
