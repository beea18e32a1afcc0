//! `[environments.<env>]`: one instance (the single-instance form, named `main` unless
//! `instance = "<name>"` says otherwise), or several as `[environments.<env>.instances.<name>]`
//! tables with the same connection keys each. Not both at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::environment::{EnvironmentConfig, InstanceConfig, TlsMode};
use super::pooler::RawPooler;
use super::{ConfigError, default_database, default_port};

/// The name of the only instance of an environment in the single-instance form.
pub(crate) const DEFAULT_INSTANCE: &str = "main";

/// `[environments.<env>]` as written: either form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnvironment {
    // The single-instance keys first: an unknown key's error lists them in this order.
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    admin_secret: Option<String>,
    tls: Option<TlsMode>,
    ca_file: Option<PathBuf>,
    pooler: Option<RawPooler>,
    instance: Option<String>,
    instances: Option<BTreeMap<String, RawInstance>>,
}

/// The connection keys of the single-instance form, all optional so that the `instances`
/// form can say which one is in the way.
struct RawSingle {
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    admin_secret: Option<String>,
    tls: Option<TlsMode>,
    ca_file: Option<PathBuf>,
    pooler: Option<RawPooler>,
}

/// `[environments.<env>.instances.<name>]`: one instance's connection keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    #[serde(default = "default_database")]
    database: String,
    admin_secret: String,
    #[serde(default)]
    tls: TlsMode,
    ca_file: Option<PathBuf>,
    pooler: Option<RawPooler>,
}

/// Instance names: what `instance = "…"` and `cotenant move --to` write.
fn valid_instance_name(name: &str) -> bool {
    super::valid_environment_name(name)
}

impl RawSingle {
    fn is_empty(&self) -> bool {
        let RawSingle {
            host,
            port,
            database,
            admin_secret,
            tls,
            ca_file,
            pooler,
        } = self;
        host.is_none()
            && port.is_none()
            && database.is_none()
            && admin_secret.is_none()
            && tls.is_none()
            && ca_file.is_none()
            && pooler.is_none()
    }

    /// The first key set, for the error saying it does not belong with `instances`.
    fn first_key(&self) -> &'static str {
        [
            (self.host.is_some(), "host"),
            (self.port.is_some(), "port"),
            (self.database.is_some(), "database"),
            (self.admin_secret.is_some(), "admin_secret"),
            (self.tls.is_some(), "tls"),
            (self.ca_file.is_some(), "ca_file"),
            (self.pooler.is_some(), "pooler"),
        ]
        .into_iter()
        .find_map(|(set, key)| set.then_some(key))
        .unwrap_or("host")
    }
}

impl RawEnvironment {
    pub(super) fn validate(
        self,
        name: String,
        file: Option<&Path>,
        base: &Path,
    ) -> Result<EnvironmentConfig, ConfigError> {
        if !super::valid_environment_name(&name) {
            return Err(ConfigError::invalid(
                file,
                format!("environments.{name}"),
                "environment names are lowercase ASCII letters, digits, `-` and `_`, starting with a \
                 letter, at most 63 characters",
            ));
        }
        let single = RawSingle {
            host: self.host,
            port: self.port,
            database: self.database,
            admin_secret: self.admin_secret,
            tls: self.tls,
            ca_file: self.ca_file,
            pooler: self.pooler,
        };
        let raw: Vec<(String, String, RawInstance)> = match (self.instances, self.instance) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    file,
                    format!("environments.{name}.instance"),
                    "names the single instance of the one-instance form, but the environment has \
                     [instances.*] tables: remove it (each table's key is its instance's name)",
                ));
            }
            (Some(instances), None) => {
                if !single.is_empty() {
                    return Err(ConfigError::invalid(
                        file,
                        format!("environments.{name}.{}", single.first_key()),
                        format!(
                            "the environment has [environments.{name}.instances.*] tables: its \
                             connection keys go in each instance's table, not here (use one form \
                             or the other)"
                        ),
                    ));
                }
                if instances.is_empty() {
                    return Err(ConfigError::invalid(
                        file,
                        format!("environments.{name}.instances"),
                        "is empty: add at least one [instances.<name>] table",
                    ));
                }
                instances
                    .into_iter()
                    .map(|(instance, raw)| {
                        let key = format!("environments.{name}.instances.{instance}");
                        (instance, key, raw)
                    })
                    .collect()
            }
            (None, instance) => {
                let required = |field: &str| {
                    ConfigError::invalid(
                        file,
                        format!("environments.{name}.{field}"),
                        "missing: this key is required",
                    )
                };
                let raw = RawInstance {
                    host: single.host.ok_or_else(|| required("host"))?,
                    port: single.port.unwrap_or_else(default_port),
                    database: single.database.unwrap_or_else(default_database),
                    admin_secret: single
                        .admin_secret
                        .ok_or_else(|| required("admin_secret"))?,
                    tls: single.tls.unwrap_or_default(),
                    ca_file: single.ca_file,
                    pooler: single.pooler,
                };
                let instance = instance.unwrap_or_else(|| DEFAULT_INSTANCE.to_owned());
                vec![(instance, format!("environments.{name}"), raw)]
            }
        };
        let mut instances = Vec::with_capacity(raw.len());
        for (instance, key, raw) in raw {
            if !valid_instance_name(&instance) {
                let at = if key == format!("environments.{name}") {
                    format!("{key}.instance")
                } else {
                    key
                };
                return Err(ConfigError::invalid(
                    file,
                    at,
                    format!(
                        "`{instance}`: instance names are lowercase ASCII letters, digits, `-` and \
                         `_`, starting with a letter, at most 63 characters"
                    ),
                ));
            }
            instances.push(raw.validate(instance, &key, file, base)?);
        }
        Ok(EnvironmentConfig::from_instances(name, instances))
    }
}

impl RawInstance {
    /// Checks one instance's keys, `key` being the table they are in
    /// (`environments.prod` or `environments.prod.instances.b`).
    fn validate(
        self,
        name: String,
        key: &str,
        file: Option<&Path>,
        base: &Path,
    ) -> Result<InstanceConfig, ConfigError> {
        let key_of = |field: &str| format!("{key}.{field}");
        if self.host.trim().is_empty() {
            return Err(ConfigError::invalid(
                file,
                key_of("host"),
                "is empty: expected the server's host name or address",
            ));
        }
        if self.port == 0 {
            return Err(ConfigError::invalid(
                file,
                key_of("port"),
                "is 0: expected a port from 1 to 65535",
            ));
        }
        if self.database.is_empty() {
            return Err(ConfigError::invalid(
                file,
                key_of("database"),
                "is empty: expected the shared database's name (hosted Supabase: postgres)",
            ));
        }
        if self.admin_secret.is_empty()
            || !self
                .admin_secret
                .chars()
                .all(crate::secret::is_secret_name_char)
        {
            return Err(ConfigError::invalid(
                file,
                key_of("admin_secret"),
                "expected the id of the secret holding the admin credential (ASCII letters, digits \
                 and / _ + = . @ -), not the password itself",
            ));
        }
        if self.ca_file.is_some() && self.tls != TlsMode::VerifyFull {
            return Err(ConfigError::invalid(
                file,
                key_of("ca_file"),
                format!(
                    "only used with tls = \"verify-full\" (tls is \"{}\"): remove it or verify the server",
                    self.tls
                ),
            ));
        }
        let pooler = match self.pooler {
            Some(pooler) => {
                let table = key.strip_prefix("environments.").unwrap_or(key);
                Some(pooler.validate(table, file)?)
            }
            None => None,
        };
        Ok(InstanceConfig {
            name,
            host: self.host,
            port: self.port,
            database: self.database,
            admin_secret: self.admin_secret,
            tls: self.tls,
            ca_file: self.ca_file.map(|p| base.join(p)),
            pooler,
        })
    }
}

/// Instance names are the same across environments (staging mirrors prod's placement): an
/// environment lacking an instance another one has is an error naming it.
pub(super) fn check_mirrored(
    environments: &[EnvironmentConfig],
    file: Option<&Path>,
) -> Result<(), ConfigError> {
    let all: std::collections::BTreeSet<&str> = environments
        .iter()
        .flat_map(EnvironmentConfig::instance_names)
        .collect();
    for env in environments {
        let names: Vec<&str> = env.instance_names().collect();
        if let Some(missing) = all.iter().find(|n| !names.contains(n)) {
            let has: Vec<String> = environments
                .iter()
                .filter(|e| e.instance_names().any(|n| n == *missing))
                .map(|e| format!("`{}`", e.name))
                .collect();
            return Err(ConfigError::invalid(
                file,
                format!("environments.{}.instances.{missing}", env.name),
                format!(
                    "missing: {} {} an instance `{missing}`, and every environment has the same \
                     instances (staging mirrors prod's placement): add it, or rename the \
                     instances to match",
                    has.join(", "),
                    if has.len() == 1 { "has" } else { "have" }
                ),
            ));
        }
    }
    Ok(())
}
