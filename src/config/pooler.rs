//! `[environments.<env>.pooler]`: the connection pooler in front of an environment's server.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::ConfigError;

/// How a pooler hands server connections to its clients.
///
/// Written in the config as `mode = "transaction"`, the only mode cotenant's pools need to know
/// about: a session-mode pooler behaves like the server itself for them (configure it as the
/// environment's `host`/`port` instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PoolerMode {
    /// A server connection is a client's for one transaction, then another client's of the same
    /// user (PgBouncer's `pool_mode = transaction`; hosted Supabase's pooler on port 6543).
    #[default]
    Transaction,
}

impl PoolerMode {
    /// The name used in the config: `transaction`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PoolerMode::Transaction => "transaction",
        }
    }
}

impl fmt::Display for PoolerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pooler services reach an environment through: where [scoped pools](crate::pool) connect
/// unless told to go direct ([`PoolOptions::direct`](crate::pool::PoolOptions::direct)).
///
/// ```
/// use cotenant::config::{Config, PoolerMode};
///
/// let config = Config::from_toml_str(r#"
///     [secrets]
///     store = "file"
///     path = "secrets.json"
///
///     [environments.prod]
///     host = "db.abcdefgh.supabase.co"
///     admin_secret = "cotenant/prod/admin"
///     pooler = { host = "pooler.internal" }   # port 6543, mode "transaction" by default
/// "#)?;
/// let pooler = config.environment("prod")?.pooler.as_ref().unwrap();
/// assert_eq!((pooler.host.as_str(), pooler.port), ("pooler.internal", 6543));
/// assert_eq!(pooler.mode, PoolerMode::Transaction);
/// # Ok::<(), cotenant::config::ConfigError>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolerConfig {
    /// `host`: the pooler's host name or address.
    pub host: String,
    /// `port`: default 6543, hosted Supabase's transaction-mode port.
    pub port: u16,
    /// `mode`: default (and only) `transaction`.
    pub mode: PoolerMode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPooler {
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    #[serde(default)]
    mode: PoolerMode,
}

fn default_port() -> u16 {
    6543
}

impl RawPooler {
    pub(super) fn validate(
        self,
        environment: &str,
        file: Option<&Path>,
    ) -> Result<PoolerConfig, ConfigError> {
        let key = |field: &str| format!("environments.{environment}.pooler.{field}");
        if self.host.trim().is_empty() {
            return Err(ConfigError::invalid(
                file,
                key("host"),
                "is empty: expected the pooler's host name or address",
            ));
        }
        if self.port == 0 {
            return Err(ConfigError::invalid(
                file,
                key("port"),
                "is 0: expected a port from 1 to 65535",
            ));
        }
        Ok(PoolerConfig {
            host: self.host,
            port: self.port,
            mode: self.mode,
        })
    }
}
