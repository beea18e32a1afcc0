//! `cotenant status [<project>…] --dir <DIR>`: where every project stands on each environment,
//! from one catalog read per environment.

use cotenant::ProjectName;
use cotenant::migrate::StatusReport;

use super::migration_files::FilesArgs;
use super::output::{emit, emit_json};
use super::{Failure, open_declared};
use crate::Global;

/// `cotenant status [<project>…] [--dir DIR]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only these projects (default: every provisioned project).
    projects: Vec<ProjectName>,

    #[command(flatten)]
    files: FilesArgs,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let (cotenant, declarations) = open_declared(global).await?;
    let migrations = args.files.load(&args.projects, &declarations)?;
    let mut reports = Vec::new();
    for env in cotenant.environments() {
        let recorded = env.migration_status().await.map_err(Failure::operation)?;
        let wanted: Vec<_> = recorded
            .into_iter()
            .filter(|r| {
                args.projects.is_empty() || args.projects.iter().any(|p| p.as_str() == r.project)
            })
            .collect();
        reports.push(StatusReport::new(env.name(), &wanted, &migrations));
    }
    if global.json {
        return emit_json(&reports);
    }
    emit(&reports.iter().map(ToString::to_string).collect::<String>())
}
