//! The commands, one file each, and what they share: opening the configured environments and
//! the two kinds of failure. A new command is a file here, a `mod` line and a variant below.

mod api;
mod apply;
mod audit;
mod deprovision;
mod doctor;
mod import;
mod instances;
mod limits;
mod migrate;
mod migration_files;
mod output;
mod parity;
mod plan;
mod platform;
mod provision;
mod relocate;
mod repair;
mod rls;
mod rotate;
mod status;
mod transfer;

use std::error::Error;

use cotenant::Cotenant;
use cotenant::config::Config;
use cotenant::declare::Declarations;
use cotenant::provision::ProvisionError;

use crate::Global;

/// What `cotenant` can do.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Check each environment: can cotenant connect as its admin, may the admin create roles,
    /// and which of PostgreSQL's permissive defaults the instance still carries.
    Doctor(doctor::Args),
    /// Show what provisioning a project would change on each environment, changing nothing.
    Plan(plan::Args),
    /// Create or repair a project's schema, roles, grants and login secrets, staging first.
    Provision(provision::Args),
    /// Converge every declared project (`[projects.<p>]`) on every environment, staging first:
    /// one diff, then per-project transactions; undeclared projects are reported and kept.
    Apply(apply::Args),
    /// Converge what a project may use of the shared Supabase schemas (auth, extensions,
    /// Realtime, signup hooks) as cotenant.toml declares it, staging first.
    Platform(platform::Args),
    /// Print what an operator sets up outside cotenant so that clients reach a project through
    /// the Data API: PostgREST's exposed schema and the JWT role claims of its API roles.
    Api(api::Args),
    /// Drop a project's schema, roles and login secrets, prod first.
    Deprovision(deprovision::Args),
    /// Move a project's existing objects out of `public` into its schema (metadata only,
    /// verified), staging first.
    Relocate(relocate::Args),
    /// Consolidate a project's own old instance (its data in `public`, and on Supabase its
    /// users) into its schema on one environment, in one transaction; the source is only read.
    Import(import::Args),
    /// Apply pending numbered SQL files as each project's migrator, staging first; prod runs
    /// only what staging has applied.
    Migrate(migrate::Args),
    /// Show where every project's migrations stand on each environment.
    Status(status::Args),
    /// Re-baseline the recorded checksums of migrations whose files changed after they ran.
    Repair(repair::Args),
    /// Compare a project's schema on staging and prod; exit 1 on drift.
    Parity(parity::Args),
    /// Check that every table of a project has row-level security enabled.
    Rls(rls::Args),
    /// Check from the catalog that isolation still holds (roles, memberships, grants, owners,
    /// routes into project data) and lint project schemas; exit 1 on errors.
    Audit(audit::Args),
    /// Give a project's logins new passwords, staging first, without downtime: staged
    /// AWSPENDING, set, tested by logging in, then promoted to AWSCURRENT.
    Rotate(rotate::Args),
    /// Move a project to another instance of every selected environment, online: staging first,
    /// then prod; `--dry-run` prints each plan, `--resume`/`--abort` continue or undo a move,
    /// `--finish` drops the source's copy.
    Move(transfer::Args),
}

impl Command {
    pub(crate) async fn run(self, global: &Global) -> Result<(), Failure> {
        match self {
            Command::Doctor(args) => doctor::run(args, global).await,
            Command::Plan(args) => plan::run(args, global).await,
            Command::Provision(args) => provision::run(args, global).await,
            Command::Apply(args) => apply::run(args, global).await,
            Command::Platform(args) => platform::run(args, global).await,
            Command::Api(args) => api::run(args, global).await,
            Command::Deprovision(args) => deprovision::run(args, global).await,
            Command::Relocate(args) => relocate::run(args, global).await,
            Command::Import(args) => import::run(args, global).await,
            Command::Migrate(args) => migrate::run(args, global).await,
            Command::Status(args) => status::run(args, global).await,
            Command::Repair(args) => repair::run(args, global).await,
            Command::Parity(args) => parity::run(args, global).await,
            Command::Rls(args) => rls::run(args, global).await,
            Command::Audit(args) => audit::run(args, global).await,
            Command::Rotate(args) => rotate::run(args, global).await,
            Command::Move(args) => transfer::run(args, global).await,
        }
    }
}

/// Why a command did not succeed; decides the exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments or configuration: nothing was attempted (exit code 2).
    Usage(Box<dyn Error + Send + Sync>),
    /// The operation was attempted and failed, or found a problem (exit code 1).
    Operation(Box<dyn Error + Send + Sync>),
}

impl Failure {
    pub(crate) fn usage(error: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Failure::Usage(error.into())
    }

    pub(crate) fn operation(error: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Failure::Operation(error.into())
    }
}

/// A failed run over several environments, with what it had changed before it stopped: the
/// library stops at the first failing environment, and only its error names it.
fn stopped(error: ProvisionError, done: &str, order: &[&str]) -> Failure {
    let message = crate::chain(&error);
    let before = match &error {
        ProvisionError::InEnvironment { environment, .. } => order
            .iter()
            .take_while(|name| *name != environment)
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    if before.is_empty() {
        Failure::operation(message)
    } else {
        Failure::operation(format!(
            "{message}\nnote: {} {done} before the failure; the environments after it were not touched",
            before.join(", ")
        ))
    }
}

/// The configured environments, limited to those `--env` names.
async fn open(global: &Global) -> Result<Cotenant, Failure> {
    Ok(open_with_config(global).await?.1)
}

/// [`open`], and the declared projects (`[projects.<p>]`).
async fn open_declared(global: &Global) -> Result<(Cotenant, Declarations), Failure> {
    let (config, cotenant) = open_with_config(global).await?;
    Ok((cotenant, config.projects))
}

/// [`open`], with the configuration it was opened from.
async fn open_with_config(global: &Global) -> Result<(Config, Cotenant), Failure> {
    let config = Config::load(&global.config).map_err(Failure::usage)?;
    tracing::debug!(
        target: "cotenant_cli",
        config = %global.config.display(),
        environments = ?config.environments().iter().map(|e| &e.name).collect::<Vec<_>>(),
        "loaded the configuration"
    );
    let cotenant = Cotenant::open(config.clone())
        .await
        .map_err(Failure::usage)?;
    let cotenant = if global.environments.is_empty() {
        cotenant
    } else {
        cotenant
            .select(&global.environments)
            .map_err(Failure::usage)?
    };
    Ok((config, cotenant))
}
