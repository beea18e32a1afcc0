//! Why a fleet could not be planned or applied.

use crate::ProjectName;

/// Why [`plan`](super::plan) or [`apply`](super::apply) stopped. A project that fails to apply
/// is not one of these: it is a result in the [`ApplyReport`](super::ApplyReport).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeclareError {
    /// Connecting to an environment as the admin failed.
    #[error("on environment `{environment}`: {source}")]
    Connect {
        /// The environment.
        environment: String,
        /// What failed.
        source: crate::connect::ConnectError,
    },
    /// The catalog of an environment could not be read.
    #[error("on environment `{environment}`: {source}")]
    Catalog {
        /// The environment.
        environment: String,
        /// What failed.
        source: crate::provision::FleetReadError,
    },
    /// A declared project's platform access could not be planned.
    #[error("on environment `{environment}`: {source}")]
    Platform {
        /// The environment.
        environment: String,
        /// What failed.
        source: crate::platform::PlatformError,
    },
    /// Where a declared project is could not be resolved (two instances have it), or an
    /// instance could not be read.
    #[error(transparent)]
    Placement(#[from] crate::placement::PlacementError),
    /// `--prune` named a project that is declared: pruning drops only undeclared projects.
    #[error(
        "prune `{project}`: the project is declared, and apply only drops undeclared projects: remove its [projects.{project}] table first, or leave it out of --prune"
    )]
    PruneDeclared {
        /// The project.
        project: ProjectName,
    },
    /// `--prune` named a project that no environment has.
    #[error("prune `{project}`: no environment has this project: nothing to drop (check the name)")]
    PruneNotFound {
        /// The project.
        project: ProjectName,
    },
    /// The final check (the audit) found errors after an environment converged; the
    /// environments after it were not touched.
    #[error("on environment `{environment}`: the final check failed: {message}")]
    FinalCheck {
        /// The environment.
        environment: String,
        /// What the check reported.
        message: String,
    },
}
