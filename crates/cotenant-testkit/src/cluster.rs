//! One PostgreSQL server set up as one [`Flavor`]: hosted Supabase or plain self-hosted.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::Config;
use tokio_postgres::config::Host;

use crate::local::{self, LocalServer};
use crate::sql::{self, ADMIN, DATABASE, Passwords};
use crate::{Flavor, PgVersion, Pooler, TestkitError, env, test_flavor};

/// Where a [`Cluster`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL binaries on this machine, in a temporary directory.
    Local,
    /// A `postgres:<major>` container started with testcontainers.
    Docker,
    /// An existing server named by environment variables: never started or stopped by us.
    External,
}

/// One PostgreSQL server set up as a [`Flavor`] (see the crate docs).
///
/// Started servers (local, Docker) are stopped and removed on drop, also during a panic; a server
/// kept in a `static` is removed when the test process exits.
///
/// ```no_run
/// use cotenant_testkit::{Cluster, Flavor, PgVersion};
///
/// let cluster = Cluster::start_flavor(PgVersion::V17, Flavor::Supabase)?;
/// let admin = cluster.admin_config(); // connects as `postgres`, not a superuser
/// let gotrue = cluster.auth_admin_config(); // as `supabase_auth_admin`, GoTrue's login
/// let postgrest = cluster.authenticator_config(); // as `authenticator`, PostgREST's login
/// # Ok::<(), cotenant_testkit::TestkitError>(())
/// ```
pub struct Cluster {
    version: PgVersion,
    flavor: Flavor,
    host: String,
    port: u16,
    database: String,
    admin_user: String,
    admin_password: SecretString,
    admin: Config,
    superuser: Option<Config>,
    /// The flavour's other logins with their connection settings (empty for external servers).
    logins: Vec<(&'static str, Config)>,
    /// The pooler of [`Cluster::pooler`], started on first use; declared before `server` so that
    /// it is dropped first.
    pooler: OnceLock<Result<Pooler, TestkitError>>,
    /// On a plain server, the password the pooler's auth user got when the first pooler created it.
    plain_pooler_password: Mutex<Option<SecretString>>,
    server: Server,
}

/// What keeps the server alive; dropping it stops and removes the server.
enum Server {
    Local(LocalServer),
    #[cfg(feature = "docker")]
    Docker(
        #[expect(
            dead_code,
            reason = "held only to be dropped: dropping removes the container"
        )]
        Box<crate::docker::DockerServer>,
    ),
    External,
}

impl Cluster {
    /// Starts a server of `version` set up as the flavour `COTENANT_TEST_FLAVOR` names
    /// ([`test_flavor`]: Supabase by default); see [`start_flavor`](Self::start_flavor).
    pub fn start(version: PgVersion) -> Result<Cluster, TestkitError> {
        Cluster::start_flavor(version, test_flavor())
    }

    /// Starts a server of `version` set up as `flavor`, on the backend `COTENANT_TEST_BACKEND`
    /// selects: by default Docker where an engine answers (with the `docker` feature), local
    /// binaries otherwise.
    ///
    /// Blocks until the server accepts connections; safe to call inside a tokio runtime (the
    /// work runs on threads of its own) and holds no tokio resources afterwards.
    pub fn start_flavor(version: PgVersion, flavor: Flavor) -> Result<Cluster, TestkitError> {
        let started = Instant::now();
        let cluster = match backend()? {
            Backend::Local => Cluster::start_local(version, flavor)?,
            #[cfg(feature = "docker")]
            Backend::Docker => Cluster::start_docker(version, flavor)?,
            backend => unreachable!("backend() never selects {backend:?}"),
        };
        tracing::info!(
            target: "cotenant_testkit",
            backend = ?cluster.backend(),
            version = %version,
            flavor = %flavor,
            port = cluster.port,
            elapsed = ?started.elapsed(),
            "started a PostgreSQL server"
        );
        Ok(cluster)
    }

    fn start_local(version: PgVersion, flavor: Flavor) -> Result<Cluster, TestkitError> {
        let started = local::start(version, flavor)?;
        Ok(Cluster::started(
            version,
            "127.0.0.1",
            started.port,
            &started.passwords,
            Server::Local(started.server),
        ))
    }

    #[cfg(feature = "docker")]
    fn start_docker(version: PgVersion, flavor: Flavor) -> Result<Cluster, TestkitError> {
        let started = crate::docker::start(version, flavor)?;
        Ok(Cluster::started(
            version,
            &started.host,
            started.port,
            &started.passwords,
            Server::Docker(Box::new(started.server)),
        ))
    }

    fn started(
        version: PgVersion,
        host: &str,
        port: u16,
        passwords: &Passwords,
        server: Server,
    ) -> Cluster {
        let flavor = passwords.flavor();
        let config = |user: &str, password: &SecretString| {
            let mut config = Config::new();
            config
                .host(host)
                .port(port)
                .user(user)
                .password(password.expose_secret())
                .dbname(DATABASE)
                .connect_timeout(Duration::from_secs(10));
            config
        };
        let admin = config(ADMIN, passwords.admin());
        let superuser = Some(config(flavor.superuser(), passwords.superuser()));
        let logins = passwords
            .logins()
            .map(|(role, password)| (role, config(role, password)))
            .collect();
        Cluster {
            version,
            flavor,
            host: host.to_owned(),
            port,
            database: DATABASE.to_owned(),
            admin_user: ADMIN.to_owned(),
            admin_password: passwords.admin().clone(),
            admin,
            superuser,
            logins,
            pooler: OnceLock::new(),
            plain_pooler_password: Mutex::new(None),
            server,
        }
    }

    /// An existing server: `admin` must be its non-superuser admin, `superuser` (optional) a
    /// superuser. Nothing is started, set up or stopped: the server must already be set up as one
    /// of the flavours. Connects to check that the server runs `version` and to tell its flavour:
    /// Supabase when the roles `authenticator` and `supabase_auth_admin` exist, plain otherwise.
    /// The testkit knows no password but the admin's: [`login_config`](Self::login_config) is
    /// `None` for every role.
    ///
    /// Used by [`crate::Pair::start`] when `COTENANT_TEST_PROD_URL` and `COTENANT_TEST_STAGING_URL`
    /// are set.
    pub fn external(
        version: PgVersion,
        admin: Config,
        superuser: Option<Config>,
    ) -> Result<Cluster, TestkitError> {
        let host = match admin.get_hosts().first() {
            Some(Host::Tcp(host)) => host.clone(),
            Some(Host::Unix(path)) => path.to_string_lossy().into_owned(),
            None => return Err(TestkitError::InvalidConfig("no host".into())),
        };
        let admin_user = admin
            .get_user()
            .ok_or_else(|| TestkitError::InvalidConfig("no user".into()))?
            .to_owned();
        let port = admin.get_ports().first().copied().unwrap_or(5432);
        let (major, found) = sql::server_version(&admin)?;
        if major != version.major() {
            return Err(TestkitError::ExternalVersion {
                server: format!("{host}:{port}"),
                expected: version,
                found,
            });
        }
        let flavor = if sql::has_supabase_roles(&admin)? {
            Flavor::Supabase
        } else {
            Flavor::Plain
        };
        let password = admin
            .get_password()
            .map(|password| String::from_utf8_lossy(password).into_owned())
            .unwrap_or_default();
        Ok(Cluster {
            version,
            flavor,
            host,
            port,
            // libpq's default database is the user's name.
            database: admin.get_dbname().unwrap_or(&admin_user).to_owned(),
            admin_password: SecretString::from(password),
            admin_user,
            admin,
            superuser,
            logins: Vec::new(),
            pooler: OnceLock::new(),
            plain_pooler_password: Mutex::new(None),
            server: Server::External,
        })
    }

    /// The PostgreSQL major version.
    pub fn version(&self) -> PgVersion {
        self.version
    }

    /// What the server is set up as.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// Where the server runs.
    pub fn backend(&self) -> Backend {
        match self.server {
            Server::Local(_) => Backend::Local,
            #[cfg(feature = "docker")]
            Server::Docker(_) => Backend::Docker,
            Server::External => Backend::External,
        }
    }

    /// The host to connect to: `127.0.0.1` for local servers.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database: `postgres`, owned by the admin.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The admin cotenant connects as: `postgres`, not a superuser, with CREATEROLE, owner of the
    /// database.
    pub fn admin_user(&self) -> &str {
        &self.admin_user
    }

    /// The admin's password, random per server.
    pub fn admin_password(&self) -> &SecretString {
        &self.admin_password
    }

    /// Connection settings for the admin (no TLS).
    pub fn admin_config(&self) -> Config {
        self.admin.clone()
    }

    /// Connection settings for the bootstrap superuser ([`Flavor::superuser`]: `supabase_admin`
    /// or `bootstrap`), for tests that must inspect or kill backends or read what the admin cannot.
    ///
    /// # Panics
    /// For an external server given without a superuser URL; see
    /// [`try_superuser_config`](Self::try_superuser_config).
    pub fn superuser_config(&self) -> Config {
        self.try_superuser_config().expect(
            "no superuser for this external server: set COTENANT_TEST_PROD_SUPERUSER_URL / \
             COTENANT_TEST_STAGING_SUPERUSER_URL",
        )
    }

    /// Connection settings for a superuser, when there is one (always, unless external).
    pub fn try_superuser_config(&self) -> Option<Config> {
        self.superuser.clone()
    }

    /// Connection settings for `role`, one of the flavour's [`logins`](Flavor::logins) (such as
    /// [`Flavor::AUTH_ADMIN`] or [`Flavor::AUTHENTICATOR`]) with this server's random password for
    /// it; `None` for any other role, on the plain flavour, and on external servers.
    ///
    /// ```no_run
    /// # let cluster = cotenant_testkit::Cluster::start(cotenant_testkit::test_version())?;
    /// let read_only = cluster.login_config("supabase_read_only_user");
    /// # Ok::<(), cotenant_testkit::TestkitError>(())
    /// ```
    pub fn login_config(&self, role: &str) -> Option<Config> {
        self.logins
            .iter()
            .find(|(name, _)| *name == role)
            .map(|(_, config)| config.clone())
    }

    /// Connection settings for `supabase_auth_admin`, GoTrue's login and owner of schema `auth`:
    /// a signup is its `INSERT INTO auth.users`.
    ///
    /// # Panics
    /// When the server has no such login the testkit knows: see [`login_config`](Self::login_config).
    pub fn auth_admin_config(&self) -> Config {
        self.expect_login(Flavor::AUTH_ADMIN)
    }

    /// Connection settings for `authenticator`, PostgREST's login (NOINHERIT, member of `anon`,
    /// `authenticated` and `service_role`, to which it `SET ROLE`s per request).
    ///
    /// # Panics
    /// When the server has no such login the testkit knows: see [`login_config`](Self::login_config).
    pub fn authenticator_config(&self) -> Config {
        self.expect_login(Flavor::AUTHENTICATOR)
    }

    fn expect_login(&self, role: &str) -> Config {
        self.login_config(role).unwrap_or_else(|| {
            panic!(
                "no {role} login on this {} {:?} server: start one with Flavor::Supabase",
                self.flavor,
                self.backend()
            )
        })
    }

    /// PgBouncer in transaction mode in front of this server ([`Pooler::start`]), started on
    /// first use and stopped with the cluster; every call returns the same one, or the same
    /// error.
    ///
    /// [`TestkitError::PoolerNotFound`] means PgBouncer is not installed: a test that needs it
    /// should print that it is skipped and why, never pass silently.
    ///
    /// ```no_run
    /// # let cluster = cotenant_testkit::Cluster::start(cotenant_testkit::test_version())?;
    /// let pooler = cluster.pooler().expect("PgBouncer: run scripts/setup.sh");
    /// println!("transaction pooler at {}:{}", pooler.host(), pooler.port());
    /// # Ok::<(), cotenant_testkit::TestkitError>(())
    /// ```
    pub fn pooler(&self) -> Result<&Pooler, &TestkitError> {
        self.pooler.get_or_init(|| Pooler::start(self)).as_ref()
    }

    pub(crate) fn plain_pooler_password(&self) -> MutexGuard<'_, Option<SecretString>> {
        self.plain_pooler_password
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The data directory of a local server.
    pub fn data_dir(&self) -> Option<&Path> {
        match &self.server {
            Server::Local(server) => Some(server.data_dir()),
            _ => None,
        }
    }

    /// The directory a local server lives in (data directory, socket, log): gone once the
    /// cluster is dropped.
    pub fn dir(&self) -> Option<&Path> {
        match &self.server {
            Server::Local(server) => Some(server.dir()),
            _ => None,
        }
    }

    /// The server log of a local server, for a test that wants to know what the server saw.
    pub fn log_file(&self) -> Option<PathBuf> {
        match &self.server {
            Server::Local(server) => Some(server.log_file()),
            _ => None,
        }
    }

    /// The postmaster's process id, for a local server.
    pub fn pid(&self) -> Option<u32> {
        match &self.server {
            Server::Local(server) => server.pid(),
            _ => None,
        }
    }
}

/// By hand: never shows a password.
impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("version", &self.version)
            .field("flavor", &self.flavor)
            .field("backend", &self.backend())
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("admin_user", &self.admin_user)
            .field("dir", &self.dir())
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

/// The backend for started servers, chosen (and logged) once per process.
fn backend() -> Result<Backend, TestkitError> {
    static CHOSEN: OnceLock<Result<Backend, String>> = OnceLock::new();
    CHOSEN
        .get_or_init(choose_backend)
        .clone()
        .map_err(|reason| TestkitError::InvalidEnv {
            var: env::TEST_BACKEND,
            reason,
        })
}

fn choose_backend() -> Result<Backend, String> {
    let (backend, why) = match env::var(env::TEST_BACKEND).as_deref() {
        None | Some("auto") if docker_answers() => (Backend::Docker, "a Docker engine answers"),
        None | Some("auto") => (Backend::Local, "no Docker engine answers"),
        Some("local") => (Backend::Local, "COTENANT_TEST_BACKEND=local"),
        Some("docker") if cfg!(feature = "docker") => {
            (Backend::Docker, "COTENANT_TEST_BACKEND=docker")
        }
        Some(other) => {
            return Err(format!(
                "{other:?}: expected local, docker or auto (docker needs the `docker` feature)"
            ));
        }
    };
    tracing::info!(
        target: "cotenant_testkit",
        "starting PostgreSQL servers with the {backend:?} backend: {why}"
    );
    Ok(backend)
}

fn docker_answers() -> bool {
    #[cfg(feature = "docker")]
    return crate::docker::engine_answers();
    #[cfg(not(feature = "docker"))]
    return false;
}
