//! What the config modules' unit tests share.

use super::{Config, ConfigError};

/// The one environment every config needs.
const STAGING: &str = r#"
    [environments.staging]
    host = "localhost"
    admin_secret = "cotenant/staging/admin"
"#;

/// Reads `tables` (TOML) as a config, after a minimal `[environments.staging]`.
pub(super) fn read_with_staging(tables: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(&format!("{STAGING}\n{tables}"))
}
