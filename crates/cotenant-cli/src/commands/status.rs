//! `cotenant status [<project>…] --dir <DIR>`: where every project stands on each environment,
//! from one catalog read per instance; with `--usage`, what each project uses of it now; with
//! `--instances`, the projects on each instance and its load.

use cotenant::ProjectName;
use cotenant::migrate::StatusReport;
use cotenant::usage::UsageReport;
use serde::Serialize;

use super::migration_files::FilesArgs;
use super::output::{emit, emit_json};
use super::{Failure, open, open_declared};
use crate::Global;

/// `cotenant status [<project>…] [--dir DIR | --usage]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only these projects (default: every provisioned project).
    projects: Vec<ProjectName>,

    /// Show each project's usage instead: the size of its schema, its connections against its
    /// limits, its longest-running query and, where pg_stat_statements is installed, its top
    /// statements by total time.
    #[arg(long, conflicts_with = "instances")]
    usage: bool,

    /// Show each environment's instances instead: the projects on each, and its load (project
    /// count, connections in use against max_connections, database size).
    #[arg(long)]
    instances: bool,

    #[command(flatten)]
    files: FilesArgs,
}

/// One environment's usage, as `--json` shows it.
#[derive(Serialize)]
struct Usage {
    environment: String,
    #[serde(flatten)]
    report: UsageReport,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    if args.usage {
        return usage(args, global).await;
    }
    if args.instances {
        return super::instances::run(&open(global).await?, global.json).await;
    }
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

async fn usage(args: Args, global: &Global) -> Result<(), Failure> {
    let cotenant = open(global).await?;
    let mut reports = Vec::new();
    for env in cotenant.environments() {
        let report = env
            .usage(&args.projects)
            .await
            .map_err(Failure::operation)?;
        reports.push(Usage {
            environment: env.name().to_owned(),
            report,
        });
    }
    if global.json {
        return emit_json(&reports);
    }
    emit(
        &reports
            .iter()
            .map(|u| format!("{}:\n{}", u.environment, u.report))
            .collect::<String>(),
    )
}
