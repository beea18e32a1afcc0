use std::fmt;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::config::{Credentials, Region, SharedHttpClient};
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;
use secrecy::ExposeSecret;

use super::error::scrub;
use super::{DbSecret, SecretError, SecretSource, Stage, VersionId};

/// AWS Secrets Manager as a [`SecretSource`] (feature `aws`).
///
/// Reads always name the stage explicitly (some emulators return a stale version otherwise), and
/// [`promote`](SecretSource::promote) moves `AWSCURRENT` with `UpdateSecretVersionStage`, then removes
/// `AWSPENDING`: the same steps a rotation Lambda takes.
///
/// The client speaks HTTPS through rustls with the *ring* provider, built here and passed to the SDK
/// explicitly (cotenant links the SDK without its default HTTP client, which would pull in aws-lc).
///
/// A client keeps connections on the tokio runtime it first ran on: build one per runtime.
///
/// ```no_run
/// use cotenant::secret::{AwsSecretsManager, SecretSource};
///
/// # async fn run() -> Result<(), cotenant::secret::SecretError> {
/// // Region, credentials and AWS_ENDPOINT_URL(_SECRETS_MANAGER) from the environment and profile.
/// let store = AwsSecretsManager::from_env().await?;
/// let secret = store.get_current("cotenant/prod/reli/app").await?;
/// println!("{}@{}:{}", secret.username, secret.host, secret.port);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AwsSecretsManager {
    client: Client,
    store: String,
}

impl AwsSecretsManager {
    /// Loads the configuration from aws-config's default chain: region and credentials from the
    /// environment, the shared profile, or the instance; `AWS_ENDPOINT_URL` and
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER` are honoured.
    ///
    /// Fails with [`SecretError::Unavailable`] when no region is configured. Same as
    /// `AwsSecretsManager::loader().load()`.
    pub async fn from_env() -> Result<Self, SecretError> {
        Self::loader().load().await
    }

    /// A loader for the default chain, with the region or the endpoint overridden.
    ///
    /// ```no_run
    /// use cotenant::secret::AwsSecretsManager;
    /// # async fn run() -> Result<(), cotenant::secret::SecretError> {
    /// let store = AwsSecretsManager::loader().region("eu-north-1").load().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn loader() -> AwsLoader {
        AwsLoader::default()
    }

    /// Builds a client from an [`SdkConfig`] you loaded yourself.
    ///
    /// If the config has no HTTP client, cotenant's rustls client is used.
    pub fn from_sdk_config(config: &SdkConfig) -> Self {
        let mut builder = aws_sdk_secretsmanager::config::Builder::from(config);
        if config.http_client().is_none() {
            builder = builder.http_client(https_client());
        }
        let mut store = Self::from_client(Client::from_conf(builder.build()));
        if let Some(endpoint) = config.endpoint_url() {
            store.store = format!("{} at {endpoint}", store.store);
        }
        store
    }

    /// Wraps a client you built yourself. It must have an HTTP client: the SDK as cotenant links it
    /// has no default one.
    pub fn from_client(client: Client) -> Self {
        let store = match client.config().region() {
            Some(region) => format!("AWS Secrets Manager in {region}"),
            None => "AWS Secrets Manager".to_owned(),
        };
        AwsSecretsManager { client, store }
    }

    /// A client for a Secrets Manager emulator at `endpoint_url` (moto, LocalStack), signing with
    /// fixed dummy credentials in `region`. Reads no environment variable and no profile.
    ///
    /// ```no_run
    /// use cotenant::secret::AwsSecretsManager;
    /// let store = AwsSecretsManager::for_endpoint("http://127.0.0.1:5000", "us-east-1");
    /// ```
    pub fn for_endpoint(endpoint_url: &str, region: &str) -> Self {
        let config = aws_sdk_secretsmanager::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(endpoint_url)
            .credentials_provider(Credentials::new(
                "cotenant-test",
                "cotenant-test",
                None,
                None,
                "cotenant-static",
            ))
            .http_client(https_client())
            .build();
        AwsSecretsManager {
            client: Client::from_conf(config),
            store: format!("AWS Secrets Manager at {endpoint_url}"),
        }
    }

    /// The SDK client, for calls cotenant does not wrap.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn store_error<E>(
        &self,
        operation: &'static str,
        id: &str,
        error: &SdkError<E, HttpResponse>,
        known_secrets: &[&str],
    ) -> SecretError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        SecretError::Store {
            operation,
            id: id.to_owned(),
            store: self.store.clone(),
            message: scrub(describe_sdk_error(error), known_secrets),
        }
    }

    fn not_found(&self, id: &str) -> SecretError {
        SecretError::NotFound {
            id: id.to_owned(),
            store: self.store.clone(),
        }
    }

    /// The version ids of secret `id` with their labels; `None` if there is no such secret.
    async fn versions(
        &self,
        id: &str,
        operation: &'static str,
    ) -> Result<Option<Vec<(String, Vec<String>)>>, SecretError> {
        match self.client.describe_secret().secret_id(id).send().await {
            Ok(out) => Ok(Some(
                out.version_ids_to_stages()
                    .map(|map| {
                        map.iter()
                            .map(|(v, stages)| (v.clone(), stages.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.store_error(operation, id, &e, &[])),
        }
    }

    fn version_id(
        &self,
        operation: &'static str,
        id: &str,
        version: Option<&str>,
    ) -> Result<VersionId, SecretError> {
        version
            .map(VersionId::new)
            .ok_or_else(|| SecretError::Store {
                operation,
                id: id.to_owned(),
                store: self.store.clone(),
                message: "the response carried no version id".to_owned(),
            })
    }

    async fn put_value(
        &self,
        id: &str,
        secret: &DbSecret,
        stage: Stage,
    ) -> Result<Option<VersionId>, SecretError> {
        let json = secret.to_json();
        let mut request = self
            .client
            .put_secret_value()
            .secret_id(id)
            .secret_string(json.expose_secret());
        if stage != Stage::Current {
            // Without stages the new version becomes AWSCURRENT and the old one AWSPREVIOUS.
            request = request.version_stages(stage.label());
        }
        match request.send().await {
            Ok(out) => self.version_id("put", id, out.version_id()).map(Some),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.store_error(
                "put",
                id,
                &e,
                &[json.expose_secret(), secret.password.expose_secret()],
            )),
        }
    }
}

/// Loads an [`AwsSecretsManager`] from aws-config's default chain, with overrides.
///
/// Made by [`AwsSecretsManager::loader`].
#[derive(Debug, Clone, Default)]
pub struct AwsLoader {
    region: Option<String>,
    endpoint_url: Option<String>,
}

impl AwsLoader {
    /// Uses `region` instead of the one from the environment or profile.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sends requests to `endpoint_url` (an emulator, a VPC endpoint) instead of the one from the
    /// environment or the region.
    pub fn endpoint_url(mut self, endpoint_url: impl Into<String>) -> Self {
        self.endpoint_url = Some(endpoint_url.into());
        self
    }

    /// The region override, if any.
    pub fn get_region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The endpoint override, if any.
    pub fn get_endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// Loads the configuration; fails with [`SecretError::Unavailable`] when no region is
    /// configured anywhere.
    pub async fn load(self) -> Result<AwsSecretsManager, SecretError> {
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).http_client(https_client());
        if let Some(region) = self.region {
            loader = loader.region(Region::new(region));
        }
        if let Some(endpoint_url) = self.endpoint_url {
            loader = loader.endpoint_url(endpoint_url);
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(SecretError::Unavailable {
                store: "AWS Secrets Manager".to_owned(),
                reason:
                    "no AWS region is configured: set AWS_REGION, a region in the AWS profile, \
                         or `secrets.region` in the cotenant config"
                        .to_owned(),
            });
        }
        Ok(AwsSecretsManager::from_sdk_config(&config))
    }
}

impl fmt::Debug for AwsSecretsManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSecretsManager")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// What went wrong, for a message: the service's error code and message, or the error chain of a
/// failure to send or receive.
///
/// Never the SDK error's own `Display` ("service error") nor its full `DisplayErrorContext`, which
/// prints the raw HTTP response, body included: a response that failed to parse could hold a secret.
fn describe_sdk_error<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let service = context.err();
            match (service.code(), service.message()) {
                (Some(code), Some(message)) => format!("{code} (HTTP {status}): {message}"),
                (Some(code), None) => format!("{code} (HTTP {status})"),
                _ => format!("HTTP {status}: {}", DisplayErrorContext(service)),
            }
        }
        SdkError::ResponseError(context) => {
            let status = context.raw().status().as_u16();
            match std::error::Error::source(error) {
                Some(source) => {
                    format!(
                        "unreadable response (HTTP {status}): {}",
                        DisplayErrorContext(source)
                    )
                }
                None => format!("unreadable response (HTTP {status})"),
            }
        }
        // Construction, dispatch and timeout failures carry no response.
        other => DisplayErrorContext(other).to_string(),
    };
    // Some services pad their messages with runs of spaces.
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The SDK's HTTP client: hyper with rustls on *ring* (HTTP and HTTPS endpoints).
fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

#[async_trait]
impl SecretSource for AwsSecretsManager {
    async fn get(&self, id: &str, stage: Stage) -> Result<DbSecret, SecretError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(id)
            // Always explicit: moto answers a stage-less read with a stale version after
            // UpdateSecretVersionStage.
            .version_stage(stage.label())
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                // Secrets Manager says the same for a missing secret and a missing stage.
                return Err(match self.versions(id, "read").await {
                    Ok(Some(_)) => SecretError::StageNotFound {
                        id: id.to_owned(),
                        stage,
                        store: self.store.clone(),
                    },
                    _ => self.not_found(id),
                });
            }
            Err(e) => return Err(self.store_error("read", id, &e, &[])),
        };
        match out.secret_string() {
            Some(text) => DbSecret::from_json(id, text),
            None => Err(SecretError::Malformed {
                id: id.to_owned(),
                reason: if out.secret_binary().is_some() {
                    "it is stored as SecretBinary, not as a SecretString".to_owned()
                } else {
                    "the version has no value".to_owned()
                },
            }),
        }
    }

    async fn create(&self, id: &str, secret: &DbSecret) -> Result<VersionId, SecretError> {
        let json = secret.to_json();
        let result = self
            .client
            .create_secret()
            .name(id)
            .secret_string(json.expose_secret())
            .send()
            .await;
        match result {
            Ok(out) => self.version_id("create", id, out.version_id()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_exists_exception()) =>
            {
                Err(SecretError::AlreadyExists {
                    id: id.to_owned(),
                    store: self.store.clone(),
                })
            }
            Err(e) => Err(self.store_error(
                "create",
                id,
                &e,
                &[json.expose_secret(), secret.password.expose_secret()],
            )),
        }
    }

    async fn put(
        &self,
        id: &str,
        secret: &DbSecret,
        stage: Stage,
    ) -> Result<VersionId, SecretError> {
        match stage {
            Stage::Previous => Err(SecretError::UnsupportedStage {
                id: id.to_owned(),
                stage,
                operation: "put",
            }),
            Stage::Pending => match self.put_value(id, secret, stage).await? {
                Some(version) => Ok(version),
                None => Err(self.not_found(id)),
            },
            Stage::Current => {
                if let Some(version) = self.put_value(id, secret, stage).await? {
                    return Ok(version);
                }
                match self.create(id, secret).await {
                    // Someone created it between our put and our create: put again.
                    Err(SecretError::AlreadyExists { .. }) => self
                        .put_value(id, secret, stage)
                        .await?
                        .ok_or_else(|| self.not_found(id)),
                    other => other,
                }
            }
        }
    }

    async fn promote(&self, id: &str, version: &VersionId) -> Result<(), SecretError> {
        let versions = self
            .versions(id, "promote")
            .await?
            .ok_or_else(|| self.not_found(id))?;
        let Some((_, labels)) = versions.iter().find(|(v, _)| v == version.as_str()) else {
            return Err(SecretError::VersionNotFound {
                id: id.to_owned(),
                version: version.clone(),
                store: self.store.clone(),
            });
        };
        let has = |label: Stage| labels.iter().any(|l| l == label.label());
        if !has(Stage::Current) {
            let current = versions
                .iter()
                .find(|(_, labels)| labels.iter().any(|l| l == Stage::Current.label()))
                .map(|(v, _)| v.clone());
            // Secrets Manager moves AWSPREVIOUS to the version AWSCURRENT leaves.
            self.client
                .update_secret_version_stage()
                .secret_id(id)
                .version_stage(Stage::Current.label())
                .move_to_version_id(version.as_str())
                .set_remove_from_version_id(current)
                .send()
                .await
                .map_err(|e| self.store_error("promote", id, &e, &[]))?;
        }
        if has(Stage::Pending) {
            self.client
                .update_secret_version_stage()
                .secret_id(id)
                .version_stage(Stage::Pending.label())
                .remove_from_version_id(version.as_str())
                .send()
                .await
                .map_err(|e| self.store_error("promote", id, &e, &[]))?;
        }
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, SecretError> {
        // A forced delete of a missing secret succeeds (Secrets Manager makes it idempotent), so
        // ask first to tell the two apart.
        if self.versions(id, "delete").await?.is_none() {
            return Ok(false);
        }
        let result = self
            .client
            .delete_secret()
            .secret_id(id)
            .force_delete_without_recovery(true)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.store_error("delete", id, &e, &[])),
        }
    }
}
