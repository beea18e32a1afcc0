use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// How connections to an environment use TLS.
///
/// Written in the config as `"disable"`, `"require"` or `"verify-full"`, like libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// No TLS. Only for a server on the same host or a private test network.
    Disable,
    /// TLS, without checking the server's certificate: encrypted, but open to an active
    /// man-in-the-middle.
    Require,
    /// TLS, checking that the certificate is signed by a trusted CA (`ca_file`, or the bundled web
    /// roots) and names the host. The default.
    #[default]
    VerifyFull,
}

impl TlsMode {
    /// The name used in the config: `disable`, `require` or `verify-full`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Require => "require",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One environment: the shared instance that holds every project's schema there.
///
/// ```no_run
/// # fn run() -> Result<(), cotenant::config::ConfigError> {
/// let config = cotenant::config::Config::load("cotenant.toml")?;
/// let prod = config.environment("prod")?;
/// println!("{} at {}:{}/{} (tls {})", prod.name, prod.host, prod.port, prod.database, prod.tls);
/// # Ok(())
/// # }
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentConfig {
    /// The environment's name: its key under `[environments]`.
    pub name: String,
    /// `host`: the server's host name or address.
    pub host: String,
    /// `port`: default 5432.
    pub port: u16,
    /// `database`: the shared database; default `postgres`, as on hosted Supabase.
    pub database: String,
    /// `admin_secret`: the id of the secret holding the admin credential cotenant provisions with.
    /// The password itself is never in the config.
    pub admin_secret: String,
    /// `tls`: default `verify-full`.
    pub tls: TlsMode,
    /// `ca_file`: PEM certificates to trust for `verify-full` instead of the bundled web roots;
    /// relative to the config file's directory.
    pub ca_file: Option<PathBuf>,
    /// `pooler`: the transaction-mode pooler services reach the server through (hosted
    /// Supabase's port 6543), if any. [Scoped pools](crate::pool) connect through it by default;
    /// cotenant's own work (provisioning, migrations) always connects to the server directly.
    pub pooler: Option<super::PoolerConfig>,
}
