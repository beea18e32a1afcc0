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

use deadpool_postgres::{Connect, Hook, HookError, Manager, ManagerConfig, Pool, Runtime};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::TlsMode;
use crate::secret::DbSecret;
use crate::{Environment, ProjectName};

use super::credential::{AUTH_FAILED, Credential};
use super::scope::{self, Landing};
use super::{PoolError, PoolOptions, TARGET};

impl Environment {
    /// A [`deadpool_postgres::Pool`] for `project`: logged in as `<p>_login` with the password
    /// from the secret store, running as `<p>_app` in schema `<p>`, and refusing any new
    /// connection that does not (see the [module docs](crate::pool)).
    ///
    /// Reads the credential, then opens one connection and checks it before returning, so a wrong
    /// password, an unreachable server or a broken role default fails here with a typed
    /// [`PoolError`]. The pool then opens connections as they are needed; whenever the server
    /// refuses the password of a new one (`28P01`), the pool
    /// [invalidates](crate::secret::SecretSource::invalidate) the cached credential, reads it
    /// again and retries once, so a rotation is picked up without a restart.
    ///
    /// TLS follows the environment's [`TlsMode`] with the same rustls configuration as every
    /// other cotenant connection. Connections are recycled with deadpool's default
    /// ([`RecyclingMethod::Fast`](deadpool_postgres::RecyclingMethod::Fast)).
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
        let credential = Credential::new(self, project);
        let endpoint = self.endpoint();
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
        let connect = ScopedConnect {
            credential,
            tls,
            current: Mutex::new(Arc::new(secret)),
        };
        let timeout = options.get_acquire_timeout();
        tokio::time::timeout(timeout, connect.check_one(&pg_config))
            .await
            .map_err(|_| PoolError::TimedOut {
                environment: self.name().to_owned(),
                address: connect.credential.address(),
                user: connect.current().username.clone(),
                timeout,
            })??;
        let scope = Arc::new((self.name().to_owned(), project.clone()));
        let manager = Manager::from_connect(pg_config, connect, ManagerConfig::default());
        let pool = Pool::builder(manager)
            .max_size(options.get_max_size())
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .post_create(Hook::async_fn(move |client, _metrics| {
                let scope = scope.clone();
                Box::pin(async move {
                    let (environment, project) = &*scope;
                    landing(client)
                        .await
                        .map_err(HookError::Backend)?
                        .check(environment, project)
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

/// Opens the pool's connections with the current credential, reading it again once when the
/// server refuses its password.
struct ScopedConnect {
    credential: Credential,
    tls: Tls,
    /// The credential connections are opened with; replaced by a refresh.
    current: Mutex<Arc<DbSecret>>,
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

    /// Opens a connection as `secret`.
    async fn open_as(
        &self,
        pg_config: &tokio_postgres::Config,
        secret: &DbSecret,
    ) -> Result<Opened, tokio_postgres::Error> {
        let mut config = pg_config.clone();
        config
            .user(&secret.username)
            .password(secret.password.expose_secret());
        Ok(match &self.tls {
            Tls::None => {
                let (client, connection) = config.connect(NoTls).await?;
                (client, tokio::spawn(drive(connection)))
            }
            Tls::Rustls(tls) => {
                let (client, connection) = config.connect(tls.clone()).await?;
                (client, tokio::spawn(drive(connection)))
            }
        })
    }

    /// Opens a connection with the current credential; if the server refuses its password,
    /// reads the credential again (unless another connection just did) and retries once. On
    /// failure, returns the error with the credential it was attempted with.
    async fn open(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> Result<Opened, (Arc<DbSecret>, tokio_postgres::Error)> {
        let used = self.current();
        let refused = match self.open_as(pg_config, &used).await {
            Err(e) if e.code().map(SqlState::code) == Some(AUTH_FAILED) => e,
            result => return result.map_err(|e| (used, e)),
        };
        let current = self.current();
        let retry = if Arc::ptr_eq(&current, &used) {
            match self.credential.refresh().await {
                Ok(fresh) => {
                    let fresh = Arc::new(fresh);
                    *self.lock() = fresh.clone();
                    fresh
                }
                Err(error) => {
                    tracing::warn!(target: TARGET, %error, "could not read the credential again");
                    return Err((used, refused));
                }
            }
        } else {
            current
        };
        self.open_as(pg_config, &retry)
            .await
            .map_err(|e| (retry, e))
    }

    /// Opens one connection, checks it and closes it: what the constructor does before handing
    /// out the pool.
    async fn check_one(&self, pg_config: &tokio_postgres::Config) -> Result<(), PoolError> {
        let fail = |secret: &DbSecret, source| PoolError::Postgres {
            environment: self.credential.environment().name().to_owned(),
            address: self.credential.address(),
            user: secret.username.clone(),
            source,
        };
        let (client, _connection) = self
            .open(pg_config)
            .await
            .map_err(|(secret, e)| fail(&secret, e))?;
        let landing = landing(&client)
            .await
            .map_err(|e| fail(&self.current(), e))?;
        drop(client);
        landing.check(
            self.credential.environment().name(),
            self.credential.project(),
        )
    }
}

impl Connect for ScopedConnect {
    fn connect(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> Pin<Box<dyn Future<Output = Result<Opened, tokio_postgres::Error>> + Send + '_>> {
        let pg_config = pg_config.clone();
        Box::pin(async move { self.open(&pg_config).await.map_err(|(_, e)| e) })
    }
}

async fn landing(client: &Client) -> Result<Landing, tokio_postgres::Error> {
    let row = client.query_one(scope::QUERY, &[]).await?;
    Ok(Landing {
        current_user: row.try_get(0)?,
        session_user: row.try_get(1)?,
        current_schema: row.try_get(2)?,
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
