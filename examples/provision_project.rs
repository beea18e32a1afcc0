//! An operator's script: plan, print and provision one project on every environment of a
//! cotenant.toml, staging first.
//!
//! ```text
//! cargo run --example provision_project -- --config cotenant.toml reli
//! ```
//!
//! The secret store is the configured one (AWS Secrets Manager by default: credentials and
//! region from the usual AWS environment variables or profile).

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use cotenant::config::Config;
use cotenant::provision::ProjectSettings;
use cotenant::{Cotenant, ProjectName};

const USAGE: &str = "usage: provision_project [--config <cotenant.toml>] <project>";

#[tokio::main]
async fn main() -> ExitCode {
    // Errors are shown with Display: their messages say where and why, and name the fix.
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let (config, project) = parse_args(std::env::args().skip(1))?;
    let cotenant = Cotenant::open(Config::load(&config)?).await?;
    let settings = ProjectSettings::default();

    for (environment, plan) in cotenant.plan(&project, &settings).await? {
        println!("{environment}: {plan}");
    }
    // Staging first; the first failure stops the run before the next environment.
    for (environment, plan) in cotenant.provision(&project, &settings).await? {
        println!("{environment}: applied {} statement(s)", plan.len());
    }
    Ok(())
}

/// `[--config <path>] <project>`; the project name is checked before anything is read.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(PathBuf, ProjectName), String> {
    let mut config = PathBuf::from("cotenant.toml");
    let mut project = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = args.next().ok_or(USAGE)?.into(),
            _ if project.is_none() && !arg.starts_with('-') => {
                project = Some(arg.parse().map_err(|e| format!("{e}"))?);
            }
            _ => return Err(format!("unexpected argument `{arg}`\n{USAGE}")),
        }
    }
    Ok((config, project.ok_or(USAGE)?))
}
