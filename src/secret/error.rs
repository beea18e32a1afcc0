use std::path::PathBuf;

use super::{Stage, VersionId};

/// Why a secret could not be read or written.
///
/// No variant ever holds a secret value: errors name the secret, the key and what was expected, and
/// parsing errors give positions, never text from the value. Store errors that could echo a value
/// are scrubbed of the values cotenant knows.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// There is no secret `id` in the store.
    #[error(
        "secret `{id}` not found in {store}: create it (provisioning writes project secrets) or check `secrets.prefix` and `secrets.naming` in the config"
    )]
    NotFound {
        /// The secret's id.
        id: String,
        /// The store, e.g. `AWS Secrets Manager`.
        store: String,
    },

    /// Secret `id` exists but no version of it carries `stage`.
    #[error(
        "secret `{id}` has no version labelled {stage} in {store}: write one with put, or read another stage"
    )]
    StageNotFound {
        /// The secret's id.
        id: String,
        /// The stage asked for.
        stage: Stage,
        /// The store.
        store: String,
    },

    /// Secret `id` exists but has no version `version`.
    #[error(
        "secret `{id}` has no version `{version}` in {store}: promote a version id that put returned"
    )]
    VersionNotFound {
        /// The secret's id.
        id: String,
        /// The version asked for.
        version: VersionId,
        /// The store.
        store: String,
    },

    /// [`create`](super::SecretSource::create) found secret `id` already there.
    #[error(
        "secret `{id}` already exists in {store}: create never overwrites; use put to write a new version, or delete the secret first"
    )]
    AlreadyExists {
        /// The secret's id.
        id: String,
        /// The store.
        store: String,
    },

    /// The operation does not write that stage (only `AWSCURRENT` and `AWSPENDING` are written).
    #[error(
        "cannot {operation} secret `{id}` as {stage}: only AWSCURRENT and AWSPENDING are written; AWSPREVIOUS follows from changing AWSCURRENT"
    )]
    UnsupportedStage {
        /// The secret's id.
        id: String,
        /// The stage refused.
        stage: Stage,
        /// What was asked, e.g. `put`.
        operation: &'static str,
    },

    /// The value is not a JSON object (or not text at all).
    #[error(
        "secret `{id}` is not a database secret: {reason}; store AWS's database-secret JSON with engine, host, port, username, password and dbname"
    )]
    Malformed {
        /// The secret's id.
        id: String,
        /// What is wrong, without any text from the value.
        reason: String,
    },

    /// The JSON lacks a key a database secret needs.
    #[error(
        "secret `{id}` lacks key `{key}`: a database secret needs engine, host, port, username, password and dbname"
    )]
    MissingKey {
        /// The secret's id.
        id: String,
        /// The missing key.
        key: &'static str,
    },

    /// A key has a value of the wrong type or out of range.
    #[error("secret `{id}`: key `{key}` must be {expected}, found {found}")]
    InvalidKey {
        /// The secret's id.
        id: String,
        /// The key.
        key: &'static str,
        /// What the key must hold.
        expected: &'static str,
        /// What it holds: a JSON type (`a number`, `null`), never the value — except for `port`,
        /// whose value is not secret.
        found: String,
    },

    /// The store refused or failed the request.
    #[error("{operation} secret `{id}` in {store} failed: {message}")]
    Store {
        /// What was asked, e.g. `read`.
        operation: &'static str,
        /// The secret's id.
        id: String,
        /// The store.
        store: String,
        /// The store's explanation, scrubbed of secret values.
        message: String,
    },

    /// Reading or writing the secrets file failed.
    #[error("cannot {operation} secrets file `{}`: {source}", path.display())]
    File {
        /// What was tried, e.g. `read`.
        operation: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },

    /// The secrets file is not in cotenant's format.
    #[error(
        "secrets file `{}` is unreadable: {reason}; fix or move it (it holds passwords: do not paste it anywhere)",
        path.display()
    )]
    CorruptFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, without any text from the file.
        reason: String,
    },

    /// The store cannot be used as configured.
    #[error("{store} is unavailable: {reason}")]
    Unavailable {
        /// The store.
        store: String,
        /// Why, and what to do.
        reason: String,
    },
}

impl SecretError {
    /// The id of the secret the error is about, if it is about one.
    pub fn secret_id(&self) -> Option<&str> {
        match self {
            SecretError::NotFound { id, .. }
            | SecretError::StageNotFound { id, .. }
            | SecretError::VersionNotFound { id, .. }
            | SecretError::AlreadyExists { id, .. }
            | SecretError::UnsupportedStage { id, .. }
            | SecretError::Malformed { id, .. }
            | SecretError::MissingKey { id, .. }
            | SecretError::InvalidKey { id, .. }
            | SecretError::Store { id, .. } => Some(id),
            SecretError::File { .. }
            | SecretError::CorruptFile { .. }
            | SecretError::Unavailable { .. } => None,
        }
    }

    /// Whether the secret, or the stage or version asked for, does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            SecretError::NotFound { .. }
                | SecretError::StageNotFound { .. }
                | SecretError::VersionNotFound { .. }
        )
    }

    /// Whether the value exists but is not a usable database secret.
    pub fn is_invalid_value(&self) -> bool {
        matches!(
            self,
            SecretError::Malformed { .. }
                | SecretError::MissingKey { .. }
                | SecretError::InvalidKey { .. }
        )
    }
}

/// Removes every occurrence of each non-empty `secret` from `message` and bounds its length.
pub(crate) fn scrub(message: String, secrets: &[&str]) -> String {
    const MAX: usize = 2000;
    let mut message = message;
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if message.contains(secret) {
            message = message.replace(secret, "[redacted]");
        }
    }
    if message.len() > MAX {
        let mut end = MAX;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}
