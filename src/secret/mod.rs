//! Database credentials in a secret store.
//!
//! Every login cotenant creates (a project's `app` and `migrator` logins, and the admin it provisions
//! with) has its credential in a secret store, in AWS's database-secret JSON:
//!
//! ```json
//! {"engine": "postgres", "host": "db.example", "port": 5432,
//!  "username": "reli_login", "password": "…", "dbname": "postgres"}
//! ```
//!
//! - [`DbSecret`] is that JSON, with the password held as a [`SecretString`](secrecy::SecretString)
//!   that never shows up in `Debug`, logs or errors.
//! - [`SecretSource`] is the store: read a version by [`Stage`], create without overwriting, put a new
//!   version, promote a pending version (rotation), delete.
//! - [`AwsSecretsManager`] (feature `aws`) is AWS Secrets Manager; [`FileSecrets`] is one local JSON file
//!   for development; [`CachedSource`] is a TTL cache in front of either.
//! - [`SecretNaming`] and [`Login`] turn an environment, a project and a login into a secret id.
//!
//! # Rotation
//!
//! The stages follow Secrets Manager's: a new credential is written as [`Stage::Pending`], tested,
//! then [promoted](SecretSource::promote) to [`Stage::Current`]; the version it replaces stays
//! readable as [`Stage::Previous`].
//!
//! ```no_run
//! use cotenant::secret::{FileSecrets, SecretSource, Stage};
//! use secrecy::SecretString;
//!
//! # async fn rotate() -> Result<(), cotenant::secret::SecretError> {
//! let store = FileSecrets::new("secrets.json");
//! let id = "cotenant/staging/reli/app";
//! let mut next = store.get_current(id).await?;
//! next.password = SecretString::from("a fresh password");
//! let version = store.put(id, &next, Stage::Pending).await?;
//! // ... set the password on the server and check that it logs in ...
//! store.promote(id, &version).await?;
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "aws")]
mod aws;
mod cache;
mod db_secret;
mod error;
mod file;
mod naming;
mod source;

#[cfg(feature = "aws")]
pub use self::aws::{AwsLoader, AwsSecretsManager};
pub use self::cache::CachedSource;
pub use self::db_secret::DbSecret;
pub use self::error::SecretError;
pub use self::file::FileSecrets;
pub(crate) use self::naming::is_secret_name_char;
pub use self::naming::{Login, NamingError, SecretNaming};
pub use self::source::{SecretSource, Stage, VersionId};

/// The AWS SDK for Secrets Manager, as cotenant links it (feature `aws`).
///
/// Use it to build an [`AwsSecretsManager`] from your own client, or to reach the store directly,
/// without having to match cotenant's SDK version.
#[cfg(feature = "aws")]
pub use aws_sdk_secretsmanager;
