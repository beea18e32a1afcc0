//! cotenant's configuration: one TOML file, with environment variable overrides.
//!
//! ```toml
//! [secrets]
//! store = "aws"              # or "file", with: path = "secrets.json" (relative to this file)
//! # region = "eu-north-1"    # aws only: instead of AWS_REGION / the profile's region
//! # endpoint_url = "http://127.0.0.1:5000"  # aws only: an emulator (moto, LocalStack) or VPC endpoint
//! prefix = "cotenant"        # {prefix} in the naming template
//! naming = "{prefix}/{env}/{project}/{login}"   # {login} is "app" or "migrator"
//! cache_ttl = "5m"           # how long a secret read is served from memory; "0s": never
//!
//! [environments.staging]
//! host = "db.staging.example"
//! port = 5432                # default 5432
//! database = "postgres"      # default "postgres"
//! admin_secret = "cotenant/staging/admin"   # the id of the admin's secret, never a password
//! tls = "verify-full"        # disable | require | verify-full (default)
//! # ca_file = "certs/staging.pem"           # CA to trust for verify-full (relative to this file)
//! # pooler = { host = "pooler.staging.example", port = 6543, mode = "transaction" }
//! #                          # where scoped pools connect (see cotenant::pool); migrations go direct
//!
//! [environments.prod]
//! host = "db.example"
//! admin_secret = "cotenant/prod/admin"
//!
//! # An environment of several instances: `[environments.<env>.instances.<name>]` tables with
//! # the keys above each, instead of them (see cotenant::placement). Every environment has the
//! # same instance names; `[projects.<p>] instance = "<name>"` declares where a project goes.
//! # [environments.prod.instances.b]
//! # host = "db-b.example"
//! # admin_secret = "cotenant/prod/b/admin"
//! # [placement]
//! # rule = "fewest-projects"  # or "most-free-connections": where undeclared projects go
//!
//! # Promotion order: changes reach the first environment first. Optional when the environments
//! # are `staging` and `prod` (staging, then prod); required otherwise, naming each one once.
//! # order = ["staging", "prod"]
//! ```
//!
//! Every section denies unknown keys, so a misspelt key is an error that names it, and every error
//! names the file and the key path:
//!
//! ```text
//! config /etc/cotenant.toml: environments.prod.port: invalid type: found string "x", expected u16
//! ```
//!
//! # Environment overrides
//!
//! A variable `COTENANT_<KEY>` overrides the key path `<KEY>`, its parts joined by a *double*
//! underscore: `COTENANT_ENVIRONMENTS__PROD__PORT=6543` sets `environments.prod.port`,
//! `COTENANT_SECRETS__STORE=file` sets `secrets.store`, `COTENANT_ORDER='["staging","prod"]'` sets
//! `order`. Values are read as TOML-like values (`6543` is a number, `[..]` an array). Only paths into
//! `secrets`, `environments` and `order` are overrides: other `COTENANT_` variables (`COTENANT_CONFIG`,
//! `COTENANT_LOG`, `COTENANT_TEST_*`) belong to the tools that read them and are ignored here. An
//! override of a key that does not exist is an error like a wrong key in the file, naming the
//! variable.
//!
//! ```no_run
//! use cotenant::config::Config;
//!
//! # fn run() -> Result<(), cotenant::config::ConfigError> {
//! let config = Config::load("cotenant.toml")?;
//! for env in config.environments() {
//!     println!("{}: {}:{}", env.name, env.host, env.port);
//! }
//! # Ok(())
//! # }
//! ```

mod api;
mod audit;
mod env;
mod environment;
mod error;
mod instances;
mod placement;
mod platform;
mod pooler;
mod projects;
mod secrets;
#[cfg(test)]
mod testing;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

pub use self::environment::{EnvironmentConfig, InstanceConfig, TlsMode};
pub use self::error::ConfigError;
pub use self::pooler::{PoolerConfig, PoolerMode};
pub use self::projects::MAX_CONNECTION_LIMIT;
pub use self::secrets::{SecretStore, SecretsConfig};

use self::env::EnvVar;
use crate::secret::{NamingError, SecretNaming};

/// The whole configuration: the secret store and the environments, in promotion order.
///
/// ```
/// use cotenant::config::{Config, TlsMode};
///
/// let config = Config::from_toml_str(r#"
///     [secrets]
///     store = "file"
///     path = "secrets.json"
///
///     [environments.staging]
///     host = "localhost"
///     port = 5433
///     admin_secret = "cotenant/staging/admin"
///     tls = "disable"
///
///     [environments.prod]
///     host = "localhost"
///     admin_secret = "cotenant/prod/admin"
///     tls = "disable"
/// "#)?;
/// let names: Vec<_> = config.environments().iter().map(|e| e.name.as_str()).collect();
/// assert_eq!(names, ["staging", "prod"]);
/// assert_eq!(config.environment("staging")?.port, 5433);
/// assert_eq!(config.environment("prod")?.tls, TlsMode::Disable);
/// # Ok::<(), cotenant::config::ConfigError>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The `[secrets]` section.
    pub secrets: SecretsConfig,
    /// The `[platform]` section with the `[projects.<p>.platform]` overrides: what projects may
    /// use of the shared Supabase schemas.
    pub platform: crate::platform::PlatformConfig,
    /// The `[projects.<p>]` tables: every declared project and its settings (see
    /// [`declare`](crate::declare)).
    pub projects: crate::declare::Declarations,
    /// The `[projects.<p>.audit]` allow lists: findings each project accepts, with the reason.
    pub audit: crate::audit::AllowList,
    /// The `[projects.<p>.api]` sections: each project's Data API roles (none unless declared).
    pub api: crate::api::ApiConfig,
    /// `[placement]` and the `[projects.<p>] instance` keys: where projects go on environments
    /// with several instances.
    pub placement: crate::placement::PlacementConfig,
    environments: Vec<EnvironmentConfig>,
    file: Option<PathBuf>,
}

impl Config {
    /// Reads the TOML file at `path`, then applies `COTENANT_` environment overrides (see the
    /// [module docs](self)).
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let vars = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        Self::load_with_env(path, vars)
    }

    /// Like [`load`](Config::load), with the overrides taken from `vars` instead of the process
    /// environment: for tests, and for tools that run several configurations side by side.
    ///
    /// ```no_run
    /// use cotenant::config::Config;
    /// let config = Config::load_with_env(
    ///     "cotenant.toml",
    ///     [("COTENANT_ENVIRONMENTS__STAGING__PORT", "6543")],
    /// )?;
    /// # Ok::<(), cotenant::config::ConfigError>(())
    /// ```
    pub fn load_with_env<I, K, V>(path: impl AsRef<Path>, vars: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let path = path.as_ref();
        // figment reads a missing file as an empty one: say so instead.
        std::fs::metadata(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut figment = Figment::from(Toml::file_exact(path));
        for (name, value) in vars {
            if let Some(var) = EnvVar::parse(name.as_ref(), value.as_ref()) {
                figment = figment.merge(var);
            }
        }
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| ConfigError::from_figment(e, Some(path)))?;
        let base = path.parent().unwrap_or(Path::new(""));
        raw.validate(Some(path), base)
    }

    /// Parses a configuration given as TOML text, without environment overrides. Relative paths
    /// stay relative to the working directory.
    pub fn from_toml_str(toml: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = Figment::from(Toml::string(toml))
            .extract()
            .map_err(|e| ConfigError::from_figment(e, None))?;
        raw.validate(None, Path::new(""))
    }

    /// The environment named `name`; the error lists the defined ones.
    pub fn environment(&self, name: &str) -> Result<&EnvironmentConfig, ConfigError> {
        self.environments
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| ConfigError::UnknownEnvironment {
                name: name.to_owned(),
                known: self.environments.iter().map(|e| e.name.clone()).collect(),
            })
    }

    /// Every environment, in promotion order (the first one receives changes first).
    pub fn environments(&self) -> &[EnvironmentConfig] {
        &self.environments
    }

    /// The file the configuration was loaded from; `None` for [`from_toml_str`](Config::from_toml_str).
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    secrets: RawSecrets,
    #[serde(default)]
    environments: BTreeMap<String, instances::RawEnvironment>,
    order: Option<Vec<String>>,
    placement: Option<placement::RawPlacement>,
    platform: Option<platform::RawPlatform>,
    projects: Option<projects::RawProjects>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecrets {
    #[serde(default)]
    store: StoreKind,
    path: Option<PathBuf>,
    region: Option<String>,
    endpoint_url: Option<String>,
    #[serde(default = "default_prefix")]
    prefix: String,
    #[serde(default = "default_naming")]
    naming: String,
    #[serde(default = "default_cache_ttl", with = "humantime_serde")]
    cache_ttl: Duration,
}

impl Default for RawSecrets {
    fn default() -> Self {
        RawSecrets {
            store: StoreKind::default(),
            path: None,
            region: None,
            endpoint_url: None,
            prefix: default_prefix(),
            naming: default_naming(),
            cache_ttl: default_cache_ttl(),
        }
    }
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum StoreKind {
    #[default]
    Aws,
    File,
}

fn default_prefix() -> String {
    SecretNaming::DEFAULT_PREFIX.to_owned()
}

fn default_naming() -> String {
    SecretNaming::DEFAULT_TEMPLATE.to_owned()
}

fn default_cache_ttl() -> Duration {
    Duration::from_secs(300)
}

pub(super) fn default_port() -> u16 {
    5432
}

pub(super) fn default_database() -> String {
    "postgres".to_owned()
}

/// The order used when the config has no `order`: staging first, then prod.
const DEFAULT_ORDER: [&str; 2] = ["staging", "prod"];

pub(super) fn valid_environment_name(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl RawConfig {
    fn validate(self, file: Option<&Path>, base: &Path) -> Result<Config, ConfigError> {
        let invalid = |key: String, message: String| ConfigError::invalid(file, key, message);
        let secrets = self.secrets.validate(file, base)?;
        let mut loaded = projects::load(self.projects, file, base)?;
        let projects_file = loaded.file.clone();
        let audits = loaded
            .projects
            .iter_mut()
            .filter_map(|(name, p)| Some((name.clone(), p.audit.take()?)))
            .collect();
        let audit = audit::validate(audits, projects_file.as_deref())?;
        let declared_instances: Vec<(String, String)> = loaded
            .projects
            .iter_mut()
            .filter_map(|(name, p)| Some((name.clone(), p.instance.take()?)))
            .collect();
        let api = api::validate(&loaded.projects, projects_file.as_deref())?;
        let (projects, platform_overrides) = projects::validate(loaded)?;
        let platform = platform::validate(
            self.platform,
            platform_overrides,
            file,
            projects_file.as_deref(),
        )?;

        if self.environments.is_empty() {
            return Err(invalid(
                "environments".into(),
                "no environment is defined: add [environments.staging] and [environments.prod]"
                    .into(),
            ));
        }
        let known = || {
            self.environments
                .keys()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let order: Vec<String> = match self.order {
            Some(order) => {
                for (i, name) in order.iter().enumerate() {
                    if !self.environments.contains_key(name) {
                        return Err(invalid(
                            "order".into(),
                            format!(
                                "names `{name}`, which is not under [environments]: defined are {}",
                                known()
                            ),
                        ));
                    }
                    if order[..i].contains(name) {
                        return Err(invalid(
                            "order".into(),
                            format!("names `{name}` twice: list each environment once"),
                        ));
                    }
                }
                if let Some(missing) = self.environments.keys().find(|n| !order.contains(n)) {
                    return Err(invalid(
                        "order".into(),
                        format!(
                            "lacks `{missing}`: list every environment, in the order changes reach them"
                        ),
                    ));
                }
                order
            }
            None => {
                if self
                    .environments
                    .keys()
                    .any(|n| !DEFAULT_ORDER.contains(&n.as_str()))
                {
                    return Err(invalid(
                        "order".into(),
                        format!(
                            "missing: with environments other than staging and prod ({}), list them in \
                             promotion order, e.g. order = [\"dev\", \"staging\", \"prod\"]",
                            known()
                        ),
                    ));
                }
                DEFAULT_ORDER
                    .iter()
                    .filter(|n| self.environments.contains_key(**n))
                    .map(|n| (*n).to_owned())
                    .collect()
            }
        };

        let mut raw_environments = self.environments;
        let mut environments = Vec::with_capacity(order.len());
        for name in order {
            let raw = raw_environments
                .remove(&name)
                .expect("order names only defined environments");
            environments.push(raw.validate(name, file, base)?);
        }
        instances::check_mirrored(&environments, file)?;
        let placement = placement::validate(
            self.placement,
            declared_instances,
            &environments,
            file,
            projects_file.as_deref(),
        )?;
        Ok(Config {
            placement,
            secrets,
            platform,
            projects,
            audit,
            api,
            environments,
            file: file.map(Path::to_path_buf),
        })
    }
}

impl RawSecrets {
    fn validate(self, file: Option<&Path>, base: &Path) -> Result<SecretsConfig, ConfigError> {
        let naming = SecretNaming::new(self.prefix, self.naming).map_err(|e| {
            let key = match &e {
                NamingError::InvalidCharacter { what: "prefix", .. } => "secrets.prefix",
                _ => "secrets.naming",
            };
            ConfigError::invalid(file, key, e.to_string())
        })?;
        let only_for = |key: &str, store: &str| {
            ConfigError::invalid(
                file,
                format!("secrets.{key}"),
                format!(
                    "only used with store = \"{store}\": remove it, or set store = \"{store}\""
                ),
            )
        };
        let store = match self.store {
            StoreKind::Aws => {
                if self.path.is_some() {
                    return Err(only_for("path", "file"));
                }
                SecretStore::Aws {
                    region: self.region,
                    endpoint_url: self.endpoint_url,
                }
            }
            StoreKind::File => {
                if self.region.is_some() {
                    return Err(only_for("region", "aws"));
                }
                if self.endpoint_url.is_some() {
                    return Err(only_for("endpoint_url", "aws"));
                }
                let Some(path) = self.path else {
                    return Err(ConfigError::invalid(
                        file,
                        "secrets.path",
                        "missing: store = \"file\" needs the secrets file, e.g. path = \"secrets.json\" \
                         (relative to the config file)",
                    ));
                };
                SecretStore::File {
                    path: base.join(path),
                }
            }
        };
        Ok(SecretsConfig {
            store,
            naming,
            cache_ttl: self.cache_ttl,
        })
    }
}
