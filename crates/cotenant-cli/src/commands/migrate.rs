//! `cotenant migrate <project>… --dir <DIR>`: apply pending migrations as each project's
//! migrator, environment by environment in promotion order; an environment after the first
//! runs only what the one before it has applied.

use cotenant::ProjectName;
use cotenant::migrate::{Fanout, FanoutReport, Outcome, Runner, StatusReport};

use super::Failure;
use super::migration_files::{FilesArgs, open_whole, progress};
use super::output::{emit, emit_json};
use crate::Global;

/// `cotenant migrate (<project>… | --all) [--dir DIR] [--target N] [--concurrency N] [--continue] [--dry-run]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The projects to migrate, all with the same files.
    #[arg(required_unless_present = "all")]
    projects: Vec<ProjectName>,

    /// Every provisioned project of the first selected environment.
    #[arg(long, conflicts_with = "projects")]
    all: bool,

    #[command(flatten)]
    files: FilesArgs,

    /// Apply migrations up to this version only.
    #[arg(long, value_name = "VERSION")]
    target: Option<u32>,

    /// How many projects to migrate at once: each holds one connection.
    #[arg(long, value_name = "N", default_value_t = 8)]
    concurrency: usize,

    /// Keep starting projects after one fails, and go on to the next environment.
    #[arg(long = "continue")]
    keep_going: bool,

    /// Recorded in each history row as who applied it (default: the migrator login).
    #[arg(long, value_name = "LABEL")]
    applied_by: Option<String>,

    /// Show what is pending on each environment, from its catalog, and apply nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let (cotenant, environments, declarations) = open_whole(global).await?;
    let projects = if args.all {
        let first = environments
            .first()
            .ok_or_else(|| Failure::usage("no environment"))?;
        let recorded = cotenant
            .environment(first)
            .map_err(Failure::usage)?
            .migration_status()
            .await
            .map_err(Failure::operation)?;
        recorded
            .iter()
            .filter_map(|r| r.project.parse().ok())
            .collect()
    } else {
        args.projects.clone()
    };
    let migrations = args.files.load(&projects, &declarations)?;

    if args.dry_run {
        let mut reports = Vec::new();
        for name in &environments {
            let env = cotenant.environment(name).map_err(Failure::usage)?;
            let recorded = env.migration_status().await.map_err(Failure::operation)?;
            let mine: Vec<_> = recorded
                .into_iter()
                .filter(|r| projects.iter().any(|p| p.as_str() == r.project))
                .collect();
            reports.push(StatusReport::new(name.clone(), &mine, &migrations));
        }
        if global.json {
            return emit_json(&reports);
        }
        let mut out = String::from("dry run: nothing is applied\n");
        for report in &reports {
            out.push_str(&report.to_string());
        }
        return emit(&out);
    }

    let mut runner = Runner::new(migrations);
    if let Some(target) = args.target {
        runner = runner.target(target);
    }
    if let Some(label) = &args.applied_by {
        runner = runner.applied_by(label.clone());
    }
    let mut reports: Vec<FanoutReport> = Vec::new();
    for name in &environments {
        let mut fanout = Fanout::new(runner.clone())
            .concurrency(args.concurrency)
            .stop_on_failure(!args.keep_going);
        if !global.json
            && let Some(hook) = progress(name, projects.len())
        {
            fanout = fanout.on_progress(hook);
        }
        let report = cotenant
            .migrate_all_on(name, &projects, &fanout)
            .await
            .map_err(Failure::operation)?;
        let failed = !report.is_success();
        reports.push(report);
        if failed && !args.keep_going {
            break;
        }
    }
    if global.json {
        emit_json(&reports)?;
    } else {
        let mut out = String::new();
        for report in &reports {
            // The report lists failures itself; below it, what each migrated project got.
            out.push_str(&report.to_string());
            for project in &report.projects {
                if matches!(project.result, Outcome::Applied { .. }) {
                    out.push_str(&format!("  {project}\n"));
                }
            }
        }
        emit(&out)?;
    }
    let failed: usize = reports.iter().map(|r| r.counts.failed).sum();
    let not_run = environments.len() - reports.len();
    if failed == 0 && not_run == 0 {
        return Ok(());
    }
    Err(Failure::operation(format!(
        "{failed} project run(s) failed{}",
        if not_run > 0 {
            format!("; {not_run} later environment(s) were not touched")
        } else {
            String::new()
        }
    )))
}
