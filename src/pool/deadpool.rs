//! Scoped [`deadpool_postgres::Pool`]s (feature `deadpool`).
//!
//! The pool is deadpool-postgres's own [`Manager`], built with
//! [`Manager::from_connect`]: cotenant supplies how a connection is opened ([`ScopedConnect`],
//! which owns the credential and refreshes it on `28P01`) and a `post_create` hook that checks
//! where the session landed. Everything else (recycling, statement caches, the returned type) is
//! deadpool-postgres's, so the pool is a plain `deadpool_postgres::Pool`.
//!
//! Why not a manager of our own wrapping deadpool-postgres's: the pool's type would change (a
//! `deadpool::managed::Pool<OurManager>`), which every function taking a `deadpool_postgres::Pool`
//! would refuse. Why not rebuild the config on refresh: deadpool has no way to swap a pool's
//! manager, so a new password would mean a new pool.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use deadpool_postgres::{Connect, Hook, HookError, Manager, ManagerConfig, Pool, Runtime};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::Instrument;

use crate::config::TlsMode;
use crate::secret::DbSecret;
use crate::{Environment, ProjectName};

use super::credential::{Credential, Refusal, Retry, refresh_budget, same_login};
use super::route;
use super::scope::{self, Landing};
use super::{PoolError, PoolOptions, TARGET};

impl Environment {
    /// A [`deadpool_postgres::Pool`] for `project`: logged in as the project's login
    /// ([`PoolOptions::login`]: `<p>_login` by default) with the password from the secret
    /// store, running as `<p>_app` (`<p>_owner` for the migrator) in schema `<p>`, and refusing
    /// any new connection that does not (see the [module docs](crate::pool)).
    ///
    /// Reads the credential and checks that it names this login on this environment, then opens
    /// one connection and checks it before returning, so a wrong secret, a wrong password, an
    /// unreachable server, a broken role default or a pool larger than the login's connection
    /// limit fails here with a typed [`PoolError`]. The pool then opens connections as they are
    /// needed; whenever the server refuses the password of a new one (`28P01`), the pool
    /// [invalidates](crate::secret::SecretSource::invalidate) the cached credential, reads it
    /// again (and the pending version, during a single-user rotation) and retries with a short
    /// backoff, so a rotation is picked up without a restart.
    ///
    /// TLS follows the environment's [`TlsMode`] with the same rustls configuration as every
    /// other cotenant connection. Connections are recycled with deadpool's default
    /// ([`RecyclingMethod::Fast`](deadpool_postgres::RecyclingMethod::Fast): no round trip, so no
    /// recycle timeout either).
    ///
    /// A new connection that fails the scope check makes `pool.get()` return
    /// `PoolError::PostCreateHook(HookError::Message(..))` with the text of
    /// [`PoolError::WrongScope`].
    ///
    /// ```no_run
    /// # async fn run(prod: cotenant::Environment) -> Result<(), Box<dyn std::error::Error>> {
    /// use cotenant::pool::PoolOptions;
    ///
    /// let reli = "reli".parse()?;
    /// let pool = prod.deadpool_pool(&reli, &PoolOptions::new().max_size(5)).await?;
    /// let client = pool.get().await?;
    /// // Unqualified names resolve in schema `reli`.
    /// let row = client
    ///     .query_one("SELECT count(*) FROM orders WHERE NOT shipped", &[])
    ///     .await?;
    /// let open: i64 = row.get(0);
    /// # Ok(()) }
    /// ```
    pub async fn deadpool_pool(
        &self,
        project: &ProjectName,
        options: &PoolOptions,
    ) -> Result<Pool, PoolError> {
        if !self.is_routed() {
            let on = route::on_secret_instance(self, project, options.get_login()).await?;
            return Box::pin(on.deadpool_pool(project, options)).await;
        }
        let credential = Credential::new(self, project, options.get_login());
        let endpoint = route::endpoint(self, options);
        let tls = match endpoint.tls {
            TlsMode::Disable => Tls::None,
            TlsMode::Require | TlsMode::VerifyFull => {
                let config = endpoint
                    .rustls_config()
                    .map_err(|source| PoolError::Connect {
                        environment: self.name().to_owned(),
                        source: Box::new(source),
                    })?;
                Tls::Rustls(MakeRustlsConnect::new(config))
            }
        };
        let secret = credential.read().await?;
        // The password is added for each connection from the current credential.
        let pg_config = endpoint.pg_config(
            &secret.username,
            options.get_application_name().unwrap_or(project.as_str()),
        );
        let timeout = options.get_acquire_timeout();
        let connect = ScopedConnect {
            address: format!("{}:{}/{}", endpoint.host, endpoint.port, endpoint.database),
            endpoint,
            options: options.clone(),
            application_name: options
                .get_application_name()
                .unwrap_or(project.as_str())
                .to_owned(),
            credential,
            tls,
            seen_current: Mutex::new(Arc::new(secret.clone())),
            current: Mutex::new(Arc::new(secret)),
            refreshing: tokio::sync::Mutex::new(()),
            refresh_budget: refresh_budget(timeout),
        };
        let first = tokio::time::timeout(timeout, connect.check_one(&pg_config))
            .await
            .map_err(|_| PoolError::TimedOut {
                environment: self.name().to_owned(),
                address: connect.address.clone(),
                user: connect.current().username.clone(),
                timeout,
            })??;
        let through_pooler = options.pooler_for(self.config()).is_some();
        let max_size = first.pool_size(self.name(), project, options, through_pooler)?;
        let scope = Arc::new((self.name().to_owned(), project.clone(), options.get_login()));
        let manager = Manager::from_connect(pg_config, connect, ManagerConfig::default());
        let pool = Pool::builder(manager)
            .max_size(max_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .post_create(Hook::async_fn(move |client, _metrics| {
                let scope = scope.clone();
                Box::pin(async move {
                    let (environment, project, login) = &*scope;
                    landing(client, false)
                        .await
                        .map_err(HookError::Backend)?
                        .check(environment, project, *login)
                        .map_err(|e| HookError::message(e.to_string()))
                })
            }))
            .build()
            .expect("a pool with a runtime accepts timeouts");
        Ok(pool)
    }
}

/// How the pool's connections are secured.
enum Tls {
    None,
    Rustls(MakeRustlsConnect),
}

/// Opens the pool's connections with the current credential, reading it again when the server
/// refuses its password.
struct ScopedConnect {
    credential: Credential,
    /// `host:port/database` first connected to, for errors.
    address: String,
    /// How the environment is reached; each connection goes to the instance its credential
    /// names ([`route::address`]), so a pool follows its project when it moves.
    endpoint: crate::connect::Endpoint,
    options: PoolOptions,
    application_name: String,
    tls: Tls,
    /// The credential connections are opened with; replaced by a refresh, or when the store's
    /// current version changes.
    current: Mutex<Arc<DbSecret>>,
    /// The store's current version as last read: a new connection adopts the current version
    /// only when it changed, so a pool that moved to the pending version mid-rotation (the
    /// current one still being the refused password) is not moved back.
    seen_current: Mutex<Arc<DbSecret>>,
    /// Held while refreshing, so that connections refused at the same time read the store once.
    refreshing: tokio::sync::Mutex<()>,
    refresh_budget: Duration,
}

type Opened = (Client, JoinHandle<()>);

impl ScopedConnect {
    fn lock(&self) -> MutexGuard<'_, Arc<DbSecret>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn current(&self) -> Arc<DbSecret> {
        self.lock().clone()
    }

    /// The credential to open a new connection with: the store's current version, read through
    /// the secret cache (a hit costs well under a microsecond), whenever it changed since the last
    /// read — so after a rotation new connections use the new credential without waiting for the
    /// old one to be refused. If the store cannot be read, the credential in hand is used.
    async fn for_new_connection(&self) -> Arc<DbSecret> {
        match self.credential.read().await {
            Ok(stored) => {
                let mut seen = self
                    .seen_current
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if !same_login(&seen, &stored) {
                    let stored = Arc::new(stored);
                    *seen = stored.clone();
                    *self.lock() = stored;
                }
            }
            Err(error) => {
                tracing::warn!(target: TARGET, %error, "could not read the credential: using the one in hand");
            }
        }
        self.current()
    }

    /// Opens a connection as `secret`, to the instance it names (or that instance's pooler):
    /// the pool's `pg_config` is only deadpool's, its address the first instance's.
    async fn open_as(
        &self,
        _pg_config: &tokio_postgres::Config,
        secret: &DbSecret,
    ) -> Result<Opened, tokio_postgres::Error> {
        let (host, port, database) =
            route::address(self.credential.environment(), &self.options, secret);
        let span = tracing::info_span!(
            target: TARGET,
            "connect",
            environment = self.credential.environment().name(),
            project = %self.credential.project(),
            user = %secret.username,
        );
        let mut endpoint = self.endpoint.clone();
        (endpoint.host, endpoint.port, endpoint.database) = (host.clone(), port, database);
        let mut config = endpoint.pg_config(&secret.username, &self.application_name);
        config.password(secret.password.expose_secret());
        async {
            let opened = match &self.tls {
                Tls::None => config
                    .connect(NoTls)
                    .await
                    .map(|(client, connection)| (client, tokio::spawn(drive(connection)))),
                Tls::Rustls(tls) => config
                    .connect(tls.clone())
                    .await
                    .map(|(client, connection)| (client, tokio::spawn(drive(connection)))),
            };
            match &opened {
                Ok(_) => tracing::debug!(target: TARGET, %host, port, "connected"),
                Err(error) => {
                    tracing::debug!(target: TARGET, %host, port, %error, "could not connect")
                }
            }
            opened
        }
        .instrument(span)
        .await
    }

    /// Opens a connection with the current credential. If the server refuses its password,
    /// tries what another connection's refresh found meanwhile, else refreshes (see
    /// [`Credential::retry_refused`]) and keeps what worked for the next connections. On
    /// failure, returns the error with the credential it was met with.
    async fn open(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> Result<Opened, (Arc<DbSecret>, Failure)> {
        let mut used = self.for_new_connection().await;
        let mut refused = match self.open_as(pg_config, &used).await {
            Err(e) if e.is_refused_password() => e,
            result => return result.map_err(|e| (used, Failure::Postgres(e))),
        };
        let _refreshing = self.refreshing.lock().await;
        let current = self.current();
        if !Arc::ptr_eq(&current, &used) {
            match self.open_as(pg_config, &current).await {
                Err(e) if e.is_refused_password() => (used, refused) = (current, e),
                result => return result.map_err(|e| (current, Failure::Postgres(e))),
            }
        }
        let attempt = |secret: Arc<DbSecret>| async move { self.open_as(pg_config, &secret).await };
        match self
            .credential
            .retry_refused(used, refused, self.refresh_budget, attempt)
            .await
        {
            Ok((secret, opened)) => {
                *self.lock() = secret;
                Ok(opened)
            }
            Err(Retry::Failed(secret, e)) => Err((secret, Failure::Postgres(e))),
            Err(Retry::Store(error, refused)) => {
                Err((self.current(), Failure::Store(error, refused)))
            }
        }
    }

    /// Opens one connection, checks it and closes it: what the constructor does before handing
    /// out the pool. Returns what the check found, for the pool's size.
    async fn check_one(&self, pg_config: &tokio_postgres::Config) -> Result<Landing, PoolError> {
        let fail = |secret: &DbSecret, source| PoolError::Postgres {
            environment: self.credential.environment().name().to_owned(),
            address: self.address.clone(),
            user: secret.username.clone(),
            source,
        };
        let (client, _connection) = self.open(pg_config).await.map_err(|(secret, e)| match e {
            Failure::Postgres(e) => fail(&secret, e),
            Failure::Store(e, _) => e,
        })?;
        let landing = landing(&client, true)
            .await
            .map_err(|e| fail(&self.current(), e))?;
        drop(client);
        landing.check(
            self.credential.environment().name(),
            self.credential.project(),
            self.credential.login(),
        )?;
        Ok(landing)
    }
}

/// Why [`ScopedConnect::open`] failed.
enum Failure {
    Postgres(tokio_postgres::Error),
    /// Refreshing the credential failed in the store, or found a secret that does not match;
    /// with the refusal that led to the refresh.
    Store(PoolError, tokio_postgres::Error),
}

impl Connect for ScopedConnect {
    fn connect(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> Pin<Box<dyn Future<Output = Result<Opened, tokio_postgres::Error>> + Send + '_>> {
        let pg_config = pg_config.clone();
        Box::pin(async move {
            match self.open(&pg_config).await {
                Ok(opened) => Ok(opened),
                Err((_, Failure::Postgres(e))) => Err(e),
                Err((_, Failure::Store(error, refused))) => {
                    // deadpool can only report a driver error: report the refusal that led to
                    // the refresh, and log why the refresh failed.
                    tracing::error!(target: TARGET, %error, "could not read the credential again");
                    Err(refused)
                }
            }
        })
    }
}

/// Runs the scope query with `query_typed`: one round trip, an unnamed statement. With
/// `first`, also reads the login's connection limit.
async fn landing(client: &Client, first: bool) -> Result<Landing, tokio_postgres::Error> {
    let query = if first {
        scope::FIRST_QUERY
    } else {
        scope::QUERY
    };
    let row = client.query_typed(query, &[]).await?;
    let row = row
        .into_iter()
        .next()
        .expect("the scope query returns one row");
    Ok(Landing {
        current_user: row.try_get(0)?,
        session_user: row.try_get(1)?,
        current_schema: row.try_get(2)?,
        connection_limit: if first { row.try_get(3)? } else { None },
    })
}

async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio_postgres::tls::TlsStream + Unpin,
{
    if let Err(error) = connection.await {
        tracing::debug!(target: TARGET, %error, "connection closed with an error");
    }
}
