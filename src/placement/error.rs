//! Why a project's instance could not be resolved.

use crate::ProjectName;
use crate::connect::ConnectError;
use crate::provision::FleetReadError;

/// Where a project is could not be said, or an instance could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlacementError {
    /// The project's schema is on two or more instances of one environment and no move of it
    /// is recorded there (a move records itself on its source, and placement then routes to the
    /// copy the record says serves): nothing is routed until one copy is gone.
    #[error(
        "project `{project}` on environment `{environment}`: found on instances {} and no move \
         of it is recorded on them (a copy made by hand, or a move's record lost): drop the copy \
         that must not serve, on its instance, before anything else touches the project",
        instances.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        /// The project.
        project: ProjectName,
        /// The environment.
        environment: String,
        /// The instances that have its schema, sorted.
        instances: Vec<String>,
    },
    /// A command that would change the project while a move of it is in progress: provisioning
    /// (or migrating, rotating, relocating, deprovisioning) either copy mid-move could let the
    /// fenced source's logins log in again, or change a copy the move is about to replace.
    #[error(
        "project `{project}` on environment `{environment}` is being moved from instance \
         `{source_instance}` to `{target}` (last step done: {step}): nothing may change it until the move \
         ends; continue it with `cotenant move {project} --resume` or undo it with \
         `cotenant move {project} --abort`, then run this again"
    )]
    Moving {
        /// The project.
        project: ProjectName,
        /// The environment.
        environment: String,
        /// The instance it moves from (which records the move).
        source_instance: String,
        /// The instance it moves to.
        target: String,
        /// The last step the move completed.
        step: crate::transfer::Step,
    },
    /// An instance's recorded moves could not be read.
    #[error("on environment `{environment}`, instance `{instance}`: {source}")]
    Moves {
        /// The environment.
        environment: String,
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: Box<crate::transfer::TransferError>,
    },
    /// An instance name the environment does not have.
    #[error(
        "environment `{environment}` has no instance `{instance}`: configured are {}",
        known.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
    )]
    UnknownInstance {
        /// The environment.
        environment: String,
        /// The name asked for.
        instance: String,
        /// The instances it has.
        known: Vec<String>,
    },
    /// An instance's admin connection could not be opened.
    #[error("on environment `{environment}`, instance `{instance}`: {source}")]
    Connect {
        /// The environment.
        environment: String,
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: Box<ConnectError>,
    },
    /// An instance's catalog could not be read.
    #[error("on environment `{environment}`, instance `{instance}`: {source}")]
    Catalog {
        /// The environment.
        environment: String,
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: Box<FleetReadError>,
    },
    /// An instance's load could not be read.
    #[error("reading the load of instance `{instance}` on environment `{environment}`: {source}")]
    Load {
        /// The environment.
        environment: String,
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: tokio_postgres::Error,
    },
}
