use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::{DbSecret, SecretError};

/// A staging label: which version of a secret to read.
///
/// The labels are Secrets Manager's own, so a secret rotated by cotenant looks the same to every
/// other tool that reads it.
///
/// ```
/// use cotenant::secret::Stage;
/// assert_eq!(Stage::Pending.label(), "AWSPENDING");
/// assert_eq!(Stage::from_label("AWSCURRENT"), Some(Stage::Current));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// `AWSCURRENT`: the credential in use.
    Current,
    /// `AWSPENDING`: a new credential written during rotation, not yet in use.
    Pending,
    /// `AWSPREVIOUS`: the credential that was current before the last change.
    Previous,
}

impl Stage {
    /// Secrets Manager's name for the stage: `AWSCURRENT`, `AWSPENDING` or `AWSPREVIOUS`.
    pub const fn label(self) -> &'static str {
        match self {
            Stage::Current => "AWSCURRENT",
            Stage::Pending => "AWSPENDING",
            Stage::Previous => "AWSPREVIOUS",
        }
    }

    /// The stage Secrets Manager names `label`, if it is one of the three.
    pub fn from_label(label: &str) -> Option<Stage> {
        match label {
            "AWSCURRENT" => Some(Stage::Current),
            "AWSPENDING" => Some(Stage::Pending),
            "AWSPREVIOUS" => Some(Stage::Previous),
            _ => None,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The id of one version of a secret, as the store assigned it.
///
/// ```
/// use cotenant::secret::VersionId;
/// let v = VersionId::new("6f1c0b8e-1d2c-4a5b-9e8f-0a1b2c3d4e5f");
/// assert_eq!(v.as_str(), "6f1c0b8e-1d2c-4a5b-9e8f-0a1b2c3d4e5f");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionId(String);

impl VersionId {
    /// Wraps a version id the store gave out.
    pub fn new(id: impl Into<String>) -> Self {
        VersionId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for VersionId {
    fn from(id: String) -> Self {
        VersionId(id)
    }
}

/// A store of database secrets with Secrets Manager's version stages.
///
/// Implemented by [`AwsSecretsManager`](super::AwsSecretsManager) (feature `aws`),
/// [`FileSecrets`](super::FileSecrets) and the [`CachedSource`](super::CachedSource) wrapper, and by
/// `Arc<S>` and `Box<S>` of any of them, so an `Arc<dyn SecretSource>` can be passed around.
///
/// ```no_run
/// use cotenant::secret::{DbSecret, FileSecrets, SecretError, SecretSource};
///
/// # async fn run() -> Result<(), SecretError> {
/// let store = FileSecrets::new("secrets.json");
/// let secret = DbSecret::new("db.example", 5432, "reli_login", "s3cret", "postgres");
/// match store.create("cotenant/staging/reli/app", &secret).await {
///     Ok(_) | Err(SecretError::AlreadyExists { .. }) => {}
///     Err(other) => return Err(other),
/// }
/// let read = store.get_current("cotenant/staging/reli/app").await?;
/// assert_eq!(read.username, "reli_login");
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait SecretSource: Send + Sync + fmt::Debug {
    /// Reads the version of secret `id` that has `stage`.
    ///
    /// Fails with [`SecretError::NotFound`] when there is no such secret and
    /// [`SecretError::StageNotFound`] when no version has `stage`; with
    /// [`SecretError::Malformed`], [`SecretError::MissingKey`] or [`SecretError::InvalidKey`] when the
    /// value is not a database secret.
    async fn get(&self, id: &str, stage: Stage) -> Result<DbSecret, SecretError>;

    /// Reads the current version of secret `id`: `get(id, Stage::Current)`.
    async fn get_current(&self, id: &str) -> Result<DbSecret, SecretError> {
        self.get(id, Stage::Current).await
    }

    /// Creates secret `id` with `secret` as its current version.
    ///
    /// Never overwrites: if `id` exists this fails with [`SecretError::AlreadyExists`], also when
    /// another process created it a moment ago. Provisioning relies on that to keep the first
    /// credential written under concurrency.
    async fn create(&self, id: &str, secret: &DbSecret) -> Result<VersionId, SecretError>;

    /// Writes `secret` as a new version of `id` labelled `stage`, and returns the version's id.
    ///
    /// - [`Stage::Current`]: the new version becomes current and the old current becomes
    ///   [`Stage::Previous`]. If `id` does not exist it is created.
    /// - [`Stage::Pending`]: the new version is labelled pending (taking the label from any other
    ///   version) and the current version stays current. `id` must exist.
    /// - [`Stage::Previous`] is refused with [`SecretError::UnsupportedStage`]: that label only
    ///   moves as a consequence of changing the current version.
    async fn put(
        &self,
        id: &str,
        secret: &DbSecret,
        stage: Stage,
    ) -> Result<VersionId, SecretError>;

    /// Makes `version` of `id` current: the old current version becomes previous and `version`
    /// loses the pending label. Other versions keep their labels.
    ///
    /// This ends a rotation: `put(id, new, Stage::Pending)`, check that `new` logs in, then
    /// `promote(id, &version)`. Promoting the current version again only removes its pending label.
    async fn promote(&self, id: &str, version: &VersionId) -> Result<(), SecretError>;

    /// Deletes secret `id` and all its versions at once, without a recovery window.
    ///
    /// Returns `Ok(false)` if there was no such secret.
    async fn delete(&self, id: &str) -> Result<bool, SecretError>;

    /// Forgets anything remembered about `id`, so that the next read asks the store.
    ///
    /// Call it when a credential read from here failed to authenticate: it may have been rotated
    /// since. A no-op for sources that remember nothing; [`CachedSource`](super::CachedSource) drops
    /// its entries.
    fn invalidate(&self, id: &str) {
        let _ = id;
    }
}

macro_rules! forward_secret_source {
    ($($wrapper:ty),*) => {$(
        #[async_trait]
        impl<S: SecretSource + ?Sized> SecretSource for $wrapper {
            async fn get(&self, id: &str, stage: Stage) -> Result<DbSecret, SecretError> {
                (**self).get(id, stage).await
            }

            async fn get_current(&self, id: &str) -> Result<DbSecret, SecretError> {
                (**self).get_current(id).await
            }

            async fn create(&self, id: &str, secret: &DbSecret) -> Result<VersionId, SecretError> {
                (**self).create(id, secret).await
            }

            async fn put(
                &self,
                id: &str,
                secret: &DbSecret,
                stage: Stage,
            ) -> Result<VersionId, SecretError> {
                (**self).put(id, secret, stage).await
            }

            async fn promote(&self, id: &str, version: &VersionId) -> Result<(), SecretError> {
                (**self).promote(id, version).await
            }

            async fn delete(&self, id: &str) -> Result<bool, SecretError> {
                (**self).delete(id).await
            }

            fn invalidate(&self, id: &str) {
                (**self).invalidate(id)
            }
        }
    )*};
}

forward_secret_source!(Arc<S>, Box<S>);
