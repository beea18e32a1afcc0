use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::secret::{CachedSource, FileSecrets, Login, SecretError, SecretNaming, SecretSource};

/// Which secret store holds the credentials.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretStore {
    /// `store = "aws"`: AWS Secrets Manager, configured by aws-config's default chain
    /// (environment, profile, instance role). Needs feature `aws`.
    Aws {
        /// `region`: overrides the region from the environment or profile.
        region: Option<String>,
        /// `endpoint_url`: overrides the endpoint (an emulator such as moto or LocalStack, a VPC
        /// endpoint), like `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
        endpoint_url: Option<String>,
    },
    /// `store = "file"`: one local JSON file, for development (see
    /// [`FileSecrets`]).
    File {
        /// `path`: relative to the config file's directory.
        path: PathBuf,
    },
}

/// The `[secrets]` section: where credentials live and how their secrets are named.
///
/// ```no_run
/// use cotenant::config::Config;
/// use cotenant::secret::Login;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = Config::load("cotenant.toml")?;
/// let store = config.secrets.open().await?;
/// let id = config.secrets.secret_id("prod", "reli", Login::App);
/// let credential = store.get_current(&id).await?;
/// # Ok(())
/// # }
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsConfig {
    /// `store` (`"aws"`, the default, or `"file"`) with its options.
    pub store: SecretStore,
    /// `prefix` (default `cotenant`) and `naming` (default `{prefix}/{env}/{project}/{login}`).
    pub naming: SecretNaming,
    /// `cache_ttl`: how long a secret read is served from memory (default `5m`; `0s` turns the
    /// cache off).
    pub cache_ttl: Duration,
}

impl SecretsConfig {
    /// The id of the secret of `login` of `project` on environment `env`.
    pub fn secret_id(&self, env: &str, project: &str, login: Login) -> String {
        self.naming.secret_id(env, project, login)
    }

    /// Opens the configured store behind a [`CachedSource`] with [`cache_ttl`](Self::cache_ttl).
    ///
    /// For AWS this loads the credentials and region (see
    /// [`AwsSecretsManager::from_env`](crate::secret::AwsSecretsManager::from_env)); the store is
    /// first contacted by the first read.
    pub async fn open(&self) -> Result<Arc<dyn SecretSource>, SecretError> {
        let store = self.open_uncached().await?;
        Ok(Arc::new(CachedSource::new(store, self.cache_ttl)))
    }

    /// Opens the configured store without a cache.
    pub async fn open_uncached(&self) -> Result<Arc<dyn SecretSource>, SecretError> {
        match &self.store {
            SecretStore::File { path } => Ok(Arc::new(FileSecrets::new(path.clone()))),
            #[cfg(feature = "aws")]
            SecretStore::Aws {
                region,
                endpoint_url,
            } => {
                let mut loader = crate::secret::AwsSecretsManager::loader();
                if let Some(region) = region {
                    loader = loader.region(region.clone());
                }
                if let Some(endpoint_url) = endpoint_url {
                    loader = loader.endpoint_url(endpoint_url.clone());
                }
                Ok(Arc::new(loader.load().await?))
            }
            #[cfg(not(feature = "aws"))]
            SecretStore::Aws { .. } => Err(SecretError::Unavailable {
                store: "AWS Secrets Manager".to_owned(),
                reason: "this build of cotenant lacks feature `aws`: enable it, or set \
                         `secrets.store = \"file\"`"
                    .to_owned(),
            }),
        }
    }
}
