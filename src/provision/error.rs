use crate::ProjectName;

/// Provisioning or deprovisioning a project failed; whatever the transaction did was rolled
/// back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// Reading the catalog failed.
    #[error("reading the catalog for project `{project}`: {source}")]
    Catalog {
        /// The project.
        project: ProjectName,
        /// What went wrong.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The catalog state could not be decoded: a bug in cotenant's catalog query.
    #[error("decoding the catalog state of project `{project}` (a bug in cotenant, please report it): {source}")]
    CatalogDecode {
        /// The project.
        project: ProjectName,
        /// What did not decode.
        #[source]
        source: serde_json::Error,
    },
    /// A statement of the plan failed; the transaction was rolled back.
    #[error("applying the plan for project `{project}` (rolled back, nothing changed): {source}")]
    Apply {
        /// The project.
        project: ProjectName,
        /// The server's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// After applying the plan the catalog still differs from the role model — something
    /// outside cotenant's reach (e.g. a grant made by another grantor) holds it back.
    #[error(
        "project `{project}` did not converge (rolled back, nothing changed); still to do: {}",
        left.join("; ")
    )]
    NotConverged {
        /// The project.
        project: ProjectName,
        /// Why each remaining step is needed.
        left: Vec<String>,
    },
}
