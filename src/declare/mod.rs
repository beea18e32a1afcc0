//! Declarations and apply: every project and its settings in one place, converged on every
//! environment by one command.
//!
//! [`Declarations`] are the `[projects.<p>]` tables of cotenant.toml (or of the file its
//! `projects = "…"` names). [`plan`] reads each environment's catalog once, for every project
//! at a time, and computes each project's provisioning plan in memory: projects to create,
//! settings that drifted (the setting, the declared value and the value found), grants and
//! memberships missing or extra, and projects found but not declared. [`apply`] converges the
//! projects that need work, environment by environment in promotion order, each in its own
//! transaction under its advisory lock.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::Cotenant;
//! use cotenant::config::Config;
//! use cotenant::declare::{self, ApplyOptions};
//!
//! let config = Config::load("cotenant.toml")?;
//! let declarations = config.projects.clone();
//! let cotenant = Cotenant::open(config).await?;
//! let plan = declare::plan(&cotenant, &declarations).await?;
//! print!("{plan}");
//! let report = declare::apply(&cotenant, &declarations, &ApplyOptions::default()).await?;
//! assert!(report.is_success());
//! # Ok(()) }
//! ```

mod apply;
mod declaration;
mod error;
mod plan;

pub use apply::{
    ApplyOptions, ApplyReport, EnvironmentReport, FinalCheck, ProgressHook, ProjectResult,
    PruneOutcome, apply,
};
pub use declaration::{Declaration, Declarations, MigrationSource};
pub use error::DeclareError;
pub use plan::{EnvironmentPlan, FleetPlan, ProjectPlan, SettingDrift, plan, plan_environment};
