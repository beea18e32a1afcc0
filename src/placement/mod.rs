//! Placement: an environment may have several instances, and each project is on one of them
//! per environment — the same instance name on every environment (staging mirrors prod).
//!
//! Where a project is, is discovered, never stored: the instances of an environment whose
//! catalog has the project's schema ([`EnvironmentSurvey`], one catalog read per instance).
//! Exactly one: the project is there. None: it is not provisioned, and provisioning places it on
//! its declared instance (`[projects.<p>] instance = "b"`), else where it already is on another
//! environment, else where [`PlacementRule`] says on prod. Two: a move in progress, recorded on
//! its source (`cotenant_transfer.moves`, read with each survey): the copy the record says
//! serves (the source until the flip, the target after it) is where reads go, and every command
//! that would change the project is refused with [`PlacementError::Moving`] until the move is
//! resumed to its end or aborted. Two with no move recorded: [`PlacementError::Ambiguous`]
//! ([`serving`] is where that is decided).
//!
//! A declared instance that differs from where the project is found is
//! [`PlacementDrift`]: `apply` reports it, and never moves a project (`cotenant move` does).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::{Cotenant, config::Config};
//!
//! let cotenant = Cotenant::open(Config::load("cotenant.toml")?).await?;
//! let reli = "reli".parse()?;
//! let placement = cotenant.placement(&reli).await?;
//! for located in &placement.environments {
//!     println!("{}: {} (found: {})", located.environment, located.instance, located.found);
//! }
//! // The same environments, each seen on reli's instance: what every command works on.
//! let routed = cotenant.route(&reli).await?;
//! routed.provision(&reli, &Default::default()).await?;
//! # Ok(()) }
//! ```

mod config;
mod decide;
mod error;
mod load;
mod rule;
mod survey;

pub use config::PlacementConfig;
pub use decide::{Located, Moving, Placement, PlacementDrift, decide, serving};
pub use error::PlacementError;
pub use load::InstanceLoad;
pub use rule::PlacementRule;
pub use survey::{EnvironmentSurvey, InstanceSurvey};
