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

/// One environment seen on one of its instances: the connection keys of that instance (the
/// only one in the single-instance form), the name of the instance, and every instance of the
/// environment.
///
/// A value from [`Config::environments`](super::Config::environments) describes the
/// environment's *first* instance by name; [`on`](Self::on) gives the same environment seen on
/// another. Which instance a project is on is discovered from the catalogs (see
/// [`placement`](crate::placement)); cotenant's commands resolve it before connecting.
///
/// ```no_run
/// # fn run() -> Result<(), cotenant::config::ConfigError> {
/// let config = cotenant::config::Config::load("cotenant.toml")?;
/// let prod = config.environment("prod")?;
/// println!("{} at {}:{}/{} (tls {})", prod.name, prod.host, prod.port, prod.database, prod.tls);
/// for instance in prod.instances() {
///     println!("  instance {} at {}:{}", instance.name, instance.host, instance.port);
/// }
/// # Ok(())
/// # }
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentConfig {
    /// The environment's name: its key under `[environments]`.
    pub name: String,
    /// The name of the instance the keys below describe: `main` in the single-instance form
    /// unless `instance = "…"` names it, else the key of its `[instances.<name>]` table.
    pub instance: String,
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
    instances: Vec<InstanceConfig>,
}

/// One instance of an environment: a server (and database) shared by the projects placed on
/// it. Every environment has the same instance names.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// The instance's name: `main` in the single-instance form (or its `instance = "…"`), else
    /// the key of its `[environments.<env>.instances.<name>]` table.
    pub name: String,
    /// `host`.
    pub host: String,
    /// `port`: default 5432.
    pub port: u16,
    /// `database`: default `postgres`.
    pub database: String,
    /// `admin_secret`: the id of the secret holding this instance's admin credential.
    pub admin_secret: String,
    /// `tls`: default `verify-full`.
    pub tls: TlsMode,
    /// `ca_file`.
    pub ca_file: Option<PathBuf>,
    /// `pooler`: this instance's transaction-mode pooler, if any.
    pub pooler: Option<super::PoolerConfig>,
}

impl EnvironmentConfig {
    /// The environment `name` with `instances` (at least one, sorted by name), seen on the first.
    pub(super) fn from_instances(name: String, mut instances: Vec<InstanceConfig>) -> Self {
        instances.sort_by(|a, b| a.name.cmp(&b.name));
        let first = instances[0].clone();
        let mut config = EnvironmentConfig {
            name,
            instance: String::new(),
            host: String::new(),
            port: 0,
            database: String::new(),
            admin_secret: String::new(),
            tls: TlsMode::default(),
            ca_file: None,
            pooler: None,
            instances,
        };
        config.see(&first);
        config
    }

    fn see(&mut self, instance: &InstanceConfig) {
        self.instance = instance.name.clone();
        self.host = instance.host.clone();
        self.port = instance.port;
        self.database = instance.database.clone();
        self.admin_secret = instance.admin_secret.clone();
        self.tls = instance.tls;
        self.ca_file = instance.ca_file.clone();
        self.pooler = instance.pooler.clone();
    }

    /// Every instance of the environment, sorted by name.
    pub fn instances(&self) -> &[InstanceConfig] {
        &self.instances
    }

    /// The names of the environment's instances, sorted.
    pub fn instance_names(&self) -> impl Iterator<Item = &str> {
        self.instances.iter().map(|i| i.name.as_str())
    }

    /// True when the environment has more than one instance.
    pub fn has_instances(&self) -> bool {
        self.instances.len() > 1
    }

    /// The same environment seen on its instance `instance`; `None` when it has none of that name.
    ///
    /// ```
    /// let config = cotenant::config::Config::from_toml_str(r#"
    ///     [secrets]
    ///     store = "file"
    ///     path = "secrets.json"
    ///     [environments.prod.instances.a]
    ///     host = "db-a.example"
    ///     admin_secret = "cotenant/prod/a/admin"
    ///     [environments.prod.instances.b]
    ///     host = "db-b.example"
    ///     admin_secret = "cotenant/prod/b/admin"
    /// "#)?;
    /// let prod = config.environment("prod")?;
    /// assert_eq!((prod.instance.as_str(), prod.host.as_str()), ("a", "db-a.example"));
    /// let on_b = prod.on("b").unwrap();
    /// assert_eq!((on_b.instance.as_str(), on_b.host.as_str()), ("b", "db-b.example"));
    /// assert!(prod.on("c").is_none());
    /// # Ok::<(), cotenant::config::ConfigError>(())
    /// ```
    pub fn on(&self, instance: &str) -> Option<EnvironmentConfig> {
        let found = self.instances.iter().find(|i| i.name == instance)?;
        let mut config = self.clone();
        config.see(found);
        Some(config)
    }

    /// The instance whose server is `host:port` (host compared without regard to ASCII case):
    /// what a login secret names.
    pub fn instance_at(&self, host: &str, port: u16) -> Option<&InstanceConfig> {
        self.instances
            .iter()
            .find(|i| i.port == port && i.host.eq_ignore_ascii_case(host))
    }
}
