use std::time::Duration;

use crate::config::EnvironmentConfig;
use crate::secret::Login;

/// The size a pool gets when [`PoolOptions::max_size`] is not set, unless the login's connection
/// limit is lower.
pub(crate) const DEFAULT_MAX_SIZE: usize = 10;

/// How a scoped pool logs in, is sized and waits; the same for both flavours.
///
/// ```
/// use std::time::Duration;
/// use cotenant::pool::PoolOptions;
/// use cotenant::secret::Login;
///
/// let options = PoolOptions::new()
///     .max_size(20)
///     .acquire_timeout(Duration::from_secs(5))
///     .application_name("reli-api");
/// assert_eq!(options.get_max_size(), Some(20));
/// assert_eq!(options.get_application_name(), Some("reli-api"));
/// assert_eq!(options.get_login(), Login::App);
///
/// let defaults = PoolOptions::default();
/// assert_eq!(defaults.get_max_size(), None); // min(10, the login's connection limit)
/// assert_eq!(defaults.get_acquire_timeout(), Duration::from_secs(30));
/// assert_eq!(defaults.get_credential_watch(), Some(Duration::from_secs(30)));
///
/// // Migrations and other schema changes: `<p>_migrator`, landing as `<p>_owner`.
/// let migrator = PoolOptions::new().login(Login::Migrator).max_size(2);
/// assert_eq!(migrator.get_login(), Login::Migrator);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    login: Login,
    max_size: Option<usize>,
    acquire_timeout: Duration,
    application_name: Option<String>,
    route: Route,
    credential_watch: Option<Duration>,
}

/// Where a pool connects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// Through the environment's `pooler` when it has one, else to the server.
    Environment,
    /// To the server, whatever the environment's `pooler`.
    Direct,
    /// Through this transaction-mode pooler.
    TransactionPooler(String, u16),
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            login: Login::App,
            max_size: None,
            acquire_timeout: Duration::from_secs(30),
            application_name: None,
            route: Route::Environment,
            credential_watch: Some(Duration::from_secs(30)),
        }
    }
}

impl PoolOptions {
    /// The defaults: the app login (`<p>_login`, landing as `<p>_app`), at most
    /// min(10, the login's connection limit) connections, 30 s to get one, the project's name as
    /// `application_name`, through the environment's `pooler` when the configuration names one
    /// (else straight to its server), the credential re-read every 30 s (sqlx).
    pub fn new() -> Self {
        Self::default()
    }

    /// Which login the pool connects as: [`Login::App`] (the default: `<p>_login`, whose
    /// connections must land as `<p>_app`) or [`Login::Migrator`] (`<p>_migrator`, whose
    /// connections must land as `<p>_owner`: what migrations and other schema changes run as).
    /// Either way the current schema must be `<p>`.
    pub fn login(mut self, login: Login) -> Self {
        self.login = login;
        self
    }

    /// Which of the project's logins the pool connects as.
    pub fn get_login(&self) -> Login {
        self.login
    }

    /// At most `max_size` connections open at once.
    ///
    /// Unset, a pool has min(10, the login's `CONNECTION LIMIT`) connections. Set above the
    /// login's connection limit (read on the constructor's first connection), the constructor
    /// fails with [`PoolError::ExceedsConnectionLimit`](super::PoolError::ExceedsConnectionLimit)
    /// rather than handing out a pool whose last connections the server would refuse with
    /// `53300`. The limit counts every connection of the login, so the sizes of all the pools a
    /// project's services open must add up to no more than it; cotenant can only check one pool.
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.max_size = Some(max_size);
        self
    }

    /// The most connections the pool opens, if set.
    pub fn get_max_size(&self) -> Option<usize> {
        self.max_size
    }

    /// How long getting a connection may take (default 30 s). sqlx counts waiting for a free
    /// connection and opening a new one together; deadpool allows this long for each. Also
    /// bounds the constructors' first connection. Refreshing a refused credential (re-reading
    /// the secret, backing off) stops well within it.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long getting a connection may take.
    pub fn get_acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// The `application_name` the connections report in `pg_stat_activity` (default: the project's
    /// name).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// The `application_name` set, if any.
    pub fn get_application_name(&self) -> Option<&str> {
        self.application_name.as_deref()
    }

    /// Connects through a transaction-mode pooler at `host:port` (Supavisor's port 6543, or
    /// PgBouncer with `pool_mode = transaction`) instead of the environment's server or the
    /// environment's configured `pooler`.
    ///
    /// What changes: the address (TLS still follows the environment's mode, and `verify-full`
    /// checks the pooler's name), and the pool's size is no longer bounded by the login's
    /// connection limit (the pool's connections are the pooler's clients; the pooler's own pool
    /// is what reaches the server). What does not: the secret is still checked against the
    /// environment's `host`/`port`/`database` (it names the database server behind the pooler),
    /// and every new connection is checked as always. How to run queries through such a pooler
    /// (no named prepared statements) is in the [module docs](crate::pool#transaction-mode-poolers).
    ///
    /// The user name sent is the secret's `username`: poolers that want tenant-qualified names
    /// (Supavisor's shared pooler: `reli_login.<project-ref>`) are not supported yet.
    ///
    /// Usually the pooler is configured once per environment instead (`pooler = { host, port }`
    /// under `[environments.<env>]`, see [`PoolerConfig`](crate::config::PoolerConfig)), and
    /// every pool goes through it without being told.
    pub fn transaction_pooler(mut self, host: impl Into<String>, port: u16) -> Self {
        self.route = Route::TransactionPooler(host.into(), port);
        self
    }

    /// The transaction-mode pooler set with [`transaction_pooler`](Self::transaction_pooler),
    /// if any: `(host, port)`. The environment's configured `pooler` is not shown here: see
    /// [`pooler_for`](Self::pooler_for).
    pub fn get_transaction_pooler(&self) -> Option<(&str, u16)> {
        match &self.route {
            Route::TransactionPooler(host, port) => Some((host.as_str(), *port)),
            Route::Environment | Route::Direct => None,
        }
    }

    /// Connects to the environment's server even when the configuration names a `pooler`: for
    /// work that needs a session of its own (`LISTEN`, session-level `SET`, session advisory
    /// locks, `COPY` spanning transactions, named prepared statements), which a transaction-mode
    /// pooler cannot keep. The pool is then bounded by the login's connection limit again, and
    /// its connections count against it directly.
    ///
    /// ```
    /// use cotenant::pool::PoolOptions;
    ///
    /// let listener = PoolOptions::new().direct().max_size(1);
    /// assert!(listener.is_direct());
    /// assert!(!PoolOptions::new().is_direct());
    /// ```
    pub fn direct(mut self) -> Self {
        self.route = Route::Direct;
        self
    }

    /// Whether the pool goes to the server whatever the environment's `pooler`.
    pub fn is_direct(&self) -> bool {
        self.route == Route::Direct
    }

    /// The transaction-mode pooler a pool with these options connects through on `environment`:
    /// the one set with [`transaction_pooler`](Self::transaction_pooler), else the environment's
    /// `pooler` unless [`direct`](Self::direct); `None`: the server itself.
    ///
    /// ```
    /// use cotenant::config::Config;
    /// use cotenant::pool::PoolOptions;
    ///
    /// let config = Config::from_toml_str(r#"
    ///     [secrets]
    ///     store = "file"
    ///     path = "secrets.json"
    ///     [environments.prod]
    ///     host = "db.example"
    ///     admin_secret = "cotenant/prod/admin"
    ///     pooler = { host = "pooler.example", port = 6543 }
    /// "#)?;
    /// let prod = config.environment("prod")?;
    /// assert_eq!(PoolOptions::new().pooler_for(prod), Some(("pooler.example", 6543)));
    /// assert_eq!(PoolOptions::new().direct().pooler_for(prod), None);
    /// let other = PoolOptions::new().transaction_pooler("127.0.0.1", 6432);
    /// assert_eq!(other.pooler_for(prod), Some(("127.0.0.1", 6432)));
    /// # Ok::<(), cotenant::config::ConfigError>(())
    /// ```
    pub fn pooler_for<'a>(&'a self, environment: &'a EnvironmentConfig) -> Option<(&'a str, u16)> {
        match &self.route {
            Route::TransactionPooler(host, port) => Some((host.as_str(), *port)),
            Route::Direct => None,
            Route::Environment => environment
                .pooler
                .as_ref()
                .map(|pooler| (pooler.host.as_str(), pooler.port)),
        }
    }

    /// How often a [sqlx pool](crate::Environment::sqlx_pool) re-reads its credential (through
    /// the environment's secret cache) and, when the store's current version changed, gives it to
    /// the pool for its next connections (default every 30 s; `None`: never). See
    /// [refreshing the credential](crate::pool#refreshing-the-credential). deadpool pools need no
    /// watcher and ignore it.
    pub fn credential_watch(mut self, every: Option<Duration>) -> Self {
        self.credential_watch = every;
        self
    }

    /// How often a sqlx pool re-reads its credential, if it does.
    pub fn get_credential_watch(&self) -> Option<Duration> {
        self.credential_watch
    }
}
