//! `cotenant parity <project>…`: fingerprint each project's schema on staging and on prod and
//! print what differs; exit 1 on drift.

use cotenant::ProjectName;

use super::output::{emit, emit_json};
use super::{Failure, open};
use crate::Global;

/// `cotenant parity <project>…`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The projects to compare.
    #[arg(required = true)]
    projects: Vec<ProjectName>,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let cotenant = open(global).await?;
    if cotenant.environments().len() < 2 {
        return Err(Failure::usage(
            "parity compares environments: select at least two (or leave out --env)",
        ));
    }
    let mut reports = Vec::new();
    for project in &args.projects {
        reports.extend(cotenant.parity(project).await.map_err(Failure::operation)?);
    }
    if global.json {
        emit_json(&reports)?;
    } else {
        emit(&reports.iter().map(ToString::to_string).collect::<String>())?;
    }
    let drifted: Vec<&str> = reports
        .iter()
        .filter(|r| !r.is_equal())
        .map(|r| r.project.as_str())
        .collect();
    if drifted.is_empty() {
        Ok(())
    } else {
        Err(Failure::operation(format!(
            "drift in {}",
            drifted.join(", ")
        )))
    }
}
