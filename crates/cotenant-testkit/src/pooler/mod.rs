//! PgBouncer in transaction mode in front of a [`Cluster`]: hosted Supabase's usual path.
//!
//! [`Pooler`] runs Debian's `pgbouncer` (1.18 on bookworm; `scripts/setup.sh` installs it) on a
//! free loopback port with a configuration of its own ([`ini`]) in a private directory
//! ([`process`]), stopped and removed on drop and, through a watchdog, when the test process
//! exits. Clients authenticate as hosted Supabase's pooler has them do: `auth_user = pgbouncer`,
//! whose `auth_query` calls `pgbouncer.get_auth($1)` on the server for every new client, so a
//! rotated password is read from the server, never from a file.

mod ini;
mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::Config;

use self::ini::{AUTH_USER, Settings};
use self::process::PgBouncer;
use crate::local::{self, OsUser};
use crate::{Backend, Cluster, Flavor, TestkitError, env, sql};

/// How often PgBouncer is restarted on another port when its port was taken meanwhile.
const PORT_ATTEMPTS: usize = 5;

/// What plain servers get so that PgBouncer's `auth_query` works: see the file.
const PLAIN_AUTH: &str = include_str!("plain_auth.sql");

/// PgBouncer in transaction mode in front of a [`Cluster`].
///
/// - **Transaction mode.** A server connection serves one client for one transaction, then any
///   other client *of the same user*: PgBouncer keeps one pool of at most
///   [`pool_size`](Self::pool_size) server connections per (user, database).
/// - **Authentication as hosted Supabase's pooler does it.** PgBouncer logs in as `pgbouncer`
///   (the only password in its `auth_file`) and, for every new client, calls
///   `pgbouncer.get_auth(user)`, which returns the user's SCRAM secret from the server. It checks
///   the client's SCRAM exchange against it and logs in to the server with the keys that
///   exchange proved (SCRAM pass-through). On the Supabase flavour the function is Supabase's
///   own; on a plain server the pooler creates the login and an equivalent function first, as
///   PgBouncer's docs describe (one `pgbouncer` role, a SECURITY DEFINER function of the
///   superuser reading `pg_shadow`, EXECUTE for `pgbouncer` alone).
/// - **Lifetime.** Stopped and its directory removed on drop, also during a panic, and — through
///   a watchdog — when the test process exits. [`Cluster::pooler`] keeps one per cluster, dropped
///   with it.
///
/// Clients connect to [`host`](Self::host)/[`port`](Self::port) with the server's database name
/// and their own user and password.
///
/// ```no_run
/// use cotenant_testkit::{Cluster, Pooler, TestkitError, test_version};
/// use tokio_postgres::NoTls;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let cluster = Cluster::start(test_version())?;
/// let pooler = match cluster.pooler() {
///     Ok(pooler) => pooler,
///     Err(TestkitError::PoolerNotFound { .. }) => {
///         eprintln!("skipped: PgBouncer is not installed (run scripts/setup.sh)");
///         return Ok(());
///     }
///     Err(error) => panic!("{error}"),
/// };
/// // The admin, through the pooler: the same server, any of the admin's pooled connections.
/// let (client, connection) = pooler.admin_config().connect(NoTls).await?;
/// tokio::spawn(connection);
/// client.simple_query("SELECT pg_backend_pid()").await?;
///
/// // PgBouncer's admin console: SHOW POOLS, SHOW SERVERS, ...
/// let (console, connection) = pooler.console_config().connect(NoTls).await?;
/// tokio::spawn(connection);
/// console.simple_query("SHOW POOLS").await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pooler {
    port: u16,
    pool_size: u16,
    database: String,
    admin: Config,
    console_password: SecretString,
    process: PgBouncer,
}

impl Pooler {
    /// Server connections per (user, database) pool unless asked otherwise: half of a project
    /// login's default connection limit (20), so that a test's direct connections still fit.
    pub const DEFAULT_POOL_SIZE: u16 = 10;

    /// Starts PgBouncer in front of `cluster` with pools of [`DEFAULT_POOL_SIZE`]
    /// server connections; see [`start_with_pool_size`](Self::start_with_pool_size).
    ///
    /// [`DEFAULT_POOL_SIZE`]: Self::DEFAULT_POOL_SIZE
    pub fn start(cluster: &Cluster) -> Result<Pooler, TestkitError> {
        Pooler::start_with_pool_size(cluster, Pooler::DEFAULT_POOL_SIZE)
    }

    /// Starts PgBouncer in front of `cluster`, at most `pool_size` server connections per
    /// (user, database), and waits until it listens.
    ///
    /// Fails with [`TestkitError::PoolerNotFound`] when no `pgbouncer` program is installed: a
    /// test that needs one should say it is skipped and why. Needs a started server (local or
    /// Docker): the `pgbouncer` login's password must be known, or set through the superuser.
    /// Blocking; safe inside a tokio runtime.
    pub fn start_with_pool_size(cluster: &Cluster, pool_size: u16) -> Result<Pooler, TestkitError> {
        let program = program()?;
        let user = local::OsUser::get()?;
        let auth_password = auth_user_password(cluster)?;
        let console_password = auth_password.clone();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Pooler::start_once(cluster, &program, user, pool_size, &auth_password) {
                Ok((process, port)) => {
                    tracing::info!(
                        target: "cotenant_testkit",
                        port,
                        server_port = cluster.port(),
                        pool_size,
                        "started PgBouncer in transaction mode"
                    );
                    let mut admin = cluster.admin_config();
                    admin.host("127.0.0.1").port(port);
                    return Ok(Pooler {
                        port,
                        pool_size,
                        database: cluster.database().to_owned(),
                        admin,
                        console_password,
                        process,
                    });
                }
                Err(TestkitError::PoolerExited { log, .. })
                    if attempt < PORT_ATTEMPTS && log.contains("Address already in use") =>
                {
                    tracing::debug!(target: "cotenant_testkit", "pooler port taken, trying another");
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn start_once(
        cluster: &Cluster,
        program: &Path,
        user: &OsUser,
        pool_size: u16,
        auth_password: &SecretString,
    ) -> Result<(PgBouncer, u16), TestkitError> {
        let mut process = PgBouncer::create(user)?;
        let port = local::free_port()?;
        let ini = ini::pgbouncer_ini(&Settings {
            server_host: cluster.host(),
            server_port: cluster.port(),
            database: cluster.database(),
            listen_port: port,
            pool_size,
            dir: process.dir(),
        });
        process.write(user, "pgbouncer.ini", &SecretString::from(ini))?;
        process.write(user, "userlist.txt", &ini::userlist(auth_password))?;
        process.start(program, user, port)?;
        Ok((process, port))
    }

    /// Where clients connect: `127.0.0.1`.
    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    /// The port PgBouncer listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database clients ask for: the server's.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// At most this many server connections per (user, database).
    pub fn pool_size(&self) -> u16 {
        self.pool_size
    }

    /// The cluster's admin (`postgres`), through the pooler.
    pub fn admin_config(&self) -> Config {
        self.admin.clone()
    }

    /// `config` (any user and password of the cluster's) pointed at the pooler instead.
    pub fn through(&self, config: &Config) -> Config {
        let mut config = config.clone();
        config.host(self.host()).port(self.port);
        config
    }

    /// PgBouncer's admin console (the virtual database `pgbouncer`, as the auth user): it speaks
    /// the simple query protocol only, so use `simple_query` (`SHOW POOLS`, `SHOW SERVERS`,
    /// `SHOW CLIENTS`, `RECONNECT`).
    pub fn console_config(&self) -> Config {
        let mut config = Config::new();
        config
            .host(self.host())
            .port(self.port)
            .user(AUTH_USER)
            .password(self.console_password.expose_secret())
            .dbname("pgbouncer")
            .connect_timeout(Duration::from_secs(10));
        config
    }

    /// The directory holding PgBouncer's configuration and log: gone once the pooler is dropped.
    pub fn dir(&self) -> &Path {
        self.process.dir()
    }

    /// PgBouncer's log (its stderr), for a test that wants to know what the pooler saw.
    pub fn log_file(&self) -> PathBuf {
        self.process.log_file()
    }

    /// PgBouncer's process id.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }
}

/// The `pgbouncer` program: `COTENANT_PGBOUNCER`, else the first on `PATH`, else Debian's
/// `/usr/sbin/pgbouncer` (not on a non-root user's `PATH`).
fn program() -> Result<PathBuf, TestkitError> {
    let mut searched = Vec::new();
    if let Some(program) = env::var(env::PGBOUNCER) {
        let program = PathBuf::from(program);
        if is_executable(&program) {
            return Ok(program);
        }
        searched.push(program);
        return Err(TestkitError::PoolerNotFound { searched });
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin")]) {
        let program = dir.join("pgbouncer");
        if is_executable(&program) {
            return Ok(program);
        }
        searched.push(dir);
    }
    Err(TestkitError::PoolerNotFound { searched })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The password of the login PgBouncer runs `auth_query` as. The Supabase flavour has the login
/// and its function, with a random password per server. On a plain server they are created
/// (once per server: later poolers reuse the password) through the superuser.
fn auth_user_password(cluster: &Cluster) -> Result<SecretString, TestkitError> {
    if cluster.backend() == Backend::External {
        return Err(TestkitError::PoolerUnavailable(
            "the test kit knows no password of an external server's `pgbouncer` login".into(),
        ));
    }
    if let Some(config) = cluster.login_config(AUTH_USER) {
        let password = config.get_password().unwrap_or_default();
        return Ok(SecretString::from(
            String::from_utf8_lossy(password).into_owned(),
        ));
    }
    debug_assert_eq!(cluster.flavor(), Flavor::Plain);
    let mut known = cluster.plain_pooler_password();
    if let Some(password) = &*known {
        return Ok(password.clone());
    }
    let password: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let password = SecretString::from(password);
    let statements = SecretString::from(format!(
        "{PLAIN_AUTH}\nALTER ROLE {AUTH_USER} PASSWORD '{}';",
        password.expose_secret()
    ));
    sql::execute(
        &cluster.superuser_config(),
        statements.expose_secret(),
        "creating PgBouncer's auth user and function on a plain server",
    )?;
    *known = Some(password.clone());
    Ok(password)
}
