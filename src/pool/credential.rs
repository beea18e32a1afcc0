//! Where a pool's password comes from, and how it is read again after the server refused it.

use crate::secret::{DbSecret, Login};
use crate::{Environment, ProjectName};

use super::PoolError;

/// The SQLSTATE of a refused password: `invalid_password`.
pub(crate) const AUTH_FAILED: &str = "28P01";

/// The app login's credential of one project on one environment.
#[derive(Debug, Clone)]
pub(crate) struct Credential {
    environment: Environment,
    project: ProjectName,
}

impl Credential {
    pub(crate) fn new(environment: &Environment, project: &ProjectName) -> Self {
        Credential {
            environment: environment.clone(),
            project: project.clone(),
        }
    }

    pub(crate) fn environment(&self) -> &Environment {
        &self.environment
    }

    pub(crate) fn project(&self) -> &ProjectName {
        &self.project
    }

    /// The current version, possibly from a cache in front of the store.
    pub(crate) async fn read(&self) -> Result<DbSecret, PoolError> {
        self.environment
            .login_secret(&self.project, Login::App)
            .await
            .map_err(|source| PoolError::Secret {
                environment: self.environment.name().to_owned(),
                project: self.project.clone(),
                source: Box::new(source),
            })
    }

    /// The current version as the store has it now: what to retry with after the server refused
    /// the password read before, which may have been rotated since.
    pub(crate) async fn refresh(&self) -> Result<DbSecret, PoolError> {
        let id = self.environment.secret_id(&self.project, Login::App);
        tracing::info!(
            target: super::TARGET,
            environment = self.environment.name(),
            project = %self.project,
            secret = %id,
            "the server refused the password: reading the credential again"
        );
        self.environment.secrets().invalidate(&id);
        self.read().await
    }

    /// `host:port/database`, for errors.
    pub(crate) fn address(&self) -> String {
        let config = self.environment.config();
        format!("{}:{}/{}", config.host, config.port, config.database)
    }
}
