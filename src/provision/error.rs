use crate::ProjectName;

/// Provisioning or deprovisioning a project failed; whatever the transaction did was rolled
/// back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The failure happened on this environment; environments after it were not touched.
    #[error("on environment `{environment}`: {source}")]
    InEnvironment {
        /// The environment.
        environment: String,
        /// What failed there.
        #[source]
        source: Box<ProvisionError>,
    },
    /// The admin connection could not be opened.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// Converging the project's platform access failed (in provisioning's transaction, so
    /// nothing of provisioning was committed either).
    #[error(transparent)]
    Platform(#[from] crate::platform::PlatformError),
    /// Converging the project's Data API roles failed (in provisioning's transaction, so
    /// nothing was committed).
    #[error(transparent)]
    Api(#[from] crate::api::ApiError),
    /// Where the project is could not be resolved (see [`placement`](crate::placement)).
    #[error(transparent)]
    Placement(#[from] crate::placement::PlacementError),
    /// A login's secret could not be read or written.
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    /// A login's secret names another user than the login it is for.
    #[error(
        "secret `{id}` is for user `{found}`, not `{expected}` (or its rotation twin `{expected}_clone`): correct its `username`, or delete the secret so provisioning creates a new one"
    )]
    SecretMismatch {
        /// The secret's id.
        id: String,
        /// The username in the secret.
        found: String,
        /// The login it should name.
        expected: String,
    },
    /// After provisioning, two environments report different states for the project.
    #[error(
        "project `{project}` differs between `{first}` and `{second}` after provisioning: {}",
        differences.join("; ")
    )]
    EnvironmentsDiffer {
        /// The project.
        project: ProjectName,
        /// The environment provisioned first.
        first: String,
        /// The environment that differs from it.
        second: String,
        /// What differs, `-` lines only in the first, `+` lines only in the second.
        differences: Vec<String>,
    },
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
    #[error(
        "decoding the catalog state of project `{project}` (a bug in cotenant, please report it): {source}"
    )]
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
    /// Deprovisioning refused: the schema still holds objects.
    #[error(
        "schema `{project}` holds {} object(s) ({}): deprovisioning refuses to drop them; to drop them anyway, confirm with the project name (`--force {project}`)",
        objects.len(),
        preview(objects)
    )]
    SchemaNotEmpty {
        /// The project.
        project: ProjectName,
        /// The objects' names.
        objects: Vec<String>,
    },
    /// The confirmation typed for a forced deprovision is not the project's name.
    #[error("confirmation `{typed}` does not match project `{project}`: nothing was dropped")]
    ConfirmationMismatch {
        /// The project.
        project: ProjectName,
        /// What was typed.
        typed: String,
    },
}

impl ProvisionError {
    pub(crate) fn in_environment(self, environment: &str) -> Self {
        ProvisionError::InEnvironment {
            environment: environment.to_owned(),
            source: Box::new(self),
        }
    }
}

fn preview(objects: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut out = objects
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if objects.len() > SHOWN {
        out.push_str(&format!(", and {} more", objects.len() - SHOWN));
    }
    out
}
