use crate::ProjectName;
use crate::connect::ConnectError;
use crate::provision::ProvisionError;
use crate::secret::{Login, SecretError};

/// A rotation failed. Every message names the environment and says what state it left.
///
/// No variant holds a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// The project's login does not exist there, or has no secret: nothing to rotate.
    #[error(
        "rotating the {login} credential of project `{project}` on `{environment}`: {what}; provision the project first (`cotenant provision {project}`)"
    )]
    NotProvisioned {
        /// The environment.
        environment: String,
        /// The project.
        project: ProjectName,
        /// The login.
        login: Login,
        /// What is missing.
        what: String,
    },

    /// The secret names a user that is neither the login nor its twin, or another server.
    #[error(
        "rotating with secret `{id}` on `{environment}`: its `{field}` is `{found}`, expected {expected}; correct the secret (nothing was changed)"
    )]
    SecretMismatch {
        /// The environment.
        environment: String,
        /// The secret's id.
        id: String,
        /// The key that does not match: `username`, `host`, `port` or `dbname`.
        field: &'static str,
        /// What the secret holds.
        found: String,
        /// What it should hold.
        expected: String,
    },

    /// Reading or writing the secret failed.
    #[error("rotating with secret `{id}` on `{environment}`: {source}")]
    Secret {
        /// The environment.
        environment: String,
        /// The secret's id.
        id: String,
        /// What the store said.
        #[source]
        source: Box<SecretError>,
    },

    /// The admin connection could not be opened or failed.
    #[error("rotating credentials of project `{project}` on `{environment}`: {source}")]
    Admin {
        /// The environment.
        environment: String,
        /// The project.
        project: ProjectName,
        /// What failed.
        #[source]
        source: Box<ConnectError>,
    },

    /// Taking the rotation lock failed.
    #[error(
        "rotating credentials of project `{project}` on `{environment}`: taking the rotation lock: {source}"
    )]
    Lock {
        /// The environment.
        environment: String,
        /// The project.
        project: ProjectName,
        /// The server's error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// Applying the password change failed; the transaction was rolled back and the store's
    /// current version is unchanged.
    #[error("rotating credentials of project `{project}` on `{environment}`: {source}")]
    Provision {
        /// The environment.
        environment: String,
        /// The project.
        project: ProjectName,
        /// What failed.
        #[source]
        source: Box<ProvisionError>,
    },

    /// The new password was set but logging in with it failed or did not land where the login
    /// must: the new version stays staged `AWSPENDING` and was not promoted.
    #[error(
        "rotating secret `{id}` on `{environment}`: the new password of `{user}` was set, but {problem}; the new version is still pending, not current: fix the cause and run the rotation again to finish it"
    )]
    TestLogin {
        /// The environment.
        environment: String,
        /// The secret's id.
        id: String,
        /// The user the new password was set on.
        user: String,
        /// What went wrong.
        problem: String,
    },
}
