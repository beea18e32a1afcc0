//! An operator's script: apply one directory of numbered SQL files to many projects (or every
//! provisioned one), staging first, then prod — where each project gets only what staging has.
//!
//! ```text
//! cargo run --example migrate_all -- --config cotenant.toml --dir migrations [--json] [project…]
//! ```
//!
//! Without project names it migrates every project provisioned on the first environment. The
//! secret store is the configured one (AWS Secrets Manager by default). Exits 1 when a project
//! failed; the report says how far each environment got.

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use cotenant::config::Config;
use cotenant::migrate::{Fanout, Migrations, Runner, StatusReport};
use cotenant::{Cotenant, ProjectName};

const USAGE: &str =
    "usage: migrate_all [--config <cotenant.toml>] [--dir <migrations>] [--json] [project…]";

struct Args {
    config: PathBuf,
    dir: PathBuf,
    json: bool,
    projects: Vec<ProjectName>,
}

#[tokio::main]
async fn main() -> ExitCode {
    // Errors are shown with Display: their messages say where and why, and name the fix.
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

/// Returns whether every project of every environment was migrated or up to date.
async fn run() -> Result<bool, Box<dyn Error>> {
    let args = parse_args(std::env::args().skip(1))?;
    // The files are checked (names, gaps, duplicates) before anything connects.
    let migrations = Migrations::from_dir(&args.dir)?;
    let cotenant = Cotenant::open(Config::load(&args.config)?).await?;
    let first = cotenant
        .environments()
        .first()
        .ok_or("the configuration has no environment")?;

    let projects = if args.projects.is_empty() {
        let recorded = first.migration_status().await?;
        let report = StatusReport::new(first.name(), &recorded, &migrations);
        eprint!("{report}");
        recorded
            .iter()
            .map(|r| r.project.parse())
            .collect::<Result<Vec<ProjectName>, _>>()?
    } else {
        args.projects
    };

    let fanout = Fanout::new(Runner::new(migrations))
        .concurrency(16)
        .stop_on_failure(true)
        .on_progress(|outcome| eprintln!("  {outcome}"));
    // Staging, then prod gated by staging; an environment with a failure is the last one run.
    let reports = cotenant.migrate_all(&projects, &fanout).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for report in &reports {
            print!("{report}");
        }
    }
    Ok(reports.len() == cotenant.environments().len() && reports.iter().all(|r| r.is_success()))
}

/// `[--config <path>] [--dir <path>] [--json] [project…]`; names are checked before anything
/// is read.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        config: PathBuf::from("cotenant.toml"),
        dir: PathBuf::from("migrations"),
        json: false,
        projects: Vec::new(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => parsed.config = args.next().ok_or(USAGE)?.into(),
            "--dir" => parsed.dir = args.next().ok_or(USAGE)?.into(),
            "--json" => parsed.json = true,
            _ if !arg.starts_with('-') => parsed
                .projects
                .push(arg.parse().map_err(|e| format!("{e}"))?),
            _ => return Err(format!("unexpected argument `{arg}`\n{USAGE}")),
        }
    }
    Ok(parsed)
}
