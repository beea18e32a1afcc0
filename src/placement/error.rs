//! Why a project's instance could not be resolved.

use crate::ProjectName;
use crate::connect::ConnectError;
use crate::provision::FleetReadError;

/// Where a project is could not be said, or an instance could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlacementError {
    /// The project's schema is on two or more instances of one environment: a move in
    /// progress (or an interrupted one). Nothing is routed until one copy is gone.
    #[error(
        "project `{project}` on environment `{environment}`: found on instances {}: a move is in \
         progress or was interrupted; finish or abort it (`cotenant move {project} --resume` or \
         `--abort`) before anything else touches the project",
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
