//! Scoped [`sqlx::PgPool`]s (feature `sqlx`).

use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgSslMode, Postgres};
use sqlx::{Connection, Executor, Row};
use tracing::Instrument;

use crate::config::TlsMode;
use crate::connect::ConnectError;
use crate::secret::{DbSecret, Login};
use crate::{Environment, ProjectName};

use super::credential::{Credential, Refusal, Retry, refresh_budget, same_login};
use super::route;
use super::scope::{self, Landing};
use super::{PoolError, PoolOptions, TARGET};

impl Environment {
    /// A [`sqlx::PgPool`] for `project`: logged in as the project's login
    /// ([`PoolOptions::login`]: `<p>_login` by default) with the password from the secret
    /// store, running as `<p>_app` (`<p>_owner` for the migrator) in schema `<p>`, and refusing
    /// any new connection that does not (see the [module docs](crate::pool)).
    ///
    /// Reads the credential and checks that it names this login on this environment, then opens
    /// one connection and checks it before returning, so a wrong secret, a wrong password, an
    /// unreachable server, a broken role default or a pool larger than the login's connection
    /// limit fails here with a typed [`PoolError`]. A password refused with `28P01` is read again
    /// from the store (after [invalidating](crate::secret::SecretSource::invalidate) any cached
    /// copy; the pending version too, during a single-user rotation) and retried with a short
    /// backoff. The pool then opens connections as they are needed.
    ///
    /// Unless [`PoolOptions::credential_watch`] is `None`, a background task re-reads the
    /// credential every so often and gives the pool the store's new current version when it
    /// changes (see [refreshing the credential](crate::pool#refreshing-the-credential)). It
    /// holds a handle on the pool and stops when the pool is [closed](sqlx::Pool::close): close
    /// a pool you are done with.
    ///
    /// TLS follows the environment's [`TlsMode`]: `disable`, `require` (encrypted, the server's
    /// certificate not checked) or `verify-full` (the chain and host name checked).
    ///
    /// ### Warning
    /// - The pool's [`connect_options()`](sqlx::Pool::connect_options) hold the password, and
    ///   sqlx's `Debug` of them prints it: never log them.
    /// - With `verify-full` and a `ca_file`, sqlx trusts the file's certificates *in addition to*
    ///   the bundled web roots (sqlx offers no way to replace them); cotenant's own connections
    ///   and [`deadpool_pool`](Environment::deadpool_pool) trust the file only.
    /// - Like libpq, sqlx also reads `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY` and `PGOPTIONS` from
    ///   the process environment. Whatever `PGOPTIONS` sets, the scope check still applies.
    ///
    /// ```no_run
    /// # async fn run(prod: cotenant::Environment) -> Result<(), Box<dyn std::error::Error>> {
    /// use cotenant::pool::PoolOptions;
    ///
    /// let reli = "reli".parse()?;
    /// let pool = prod.sqlx_pool(&reli, &PoolOptions::new().max_size(5)).await?;
    /// // Unqualified names resolve in schema `reli`.
    /// let open: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE NOT shipped")
    ///     .fetch_one(&pool)
    ///     .await?;
    /// pool.close().await;
    /// # Ok(()) }
    /// ```
    pub async fn sqlx_pool(
        &self,
        project: &ProjectName,
        options: &PoolOptions,
    ) -> Result<PgPool, PoolError> {
        if !self.is_routed() {
            let on = route::on_secret_instance(self, project, options.get_login()).await?;
            return Box::pin(on.sqlx_pool(project, options)).await;
        }
        let credential = Credential::new(self, project, options.get_login());
        let base = base_options(self, project, options)?;
        let timeout = options.get_acquire_timeout();
        let budget = refresh_budget(timeout);
        let first = Arc::new(credential.read().await?);
        let attempt = |secret: Arc<DbSecret>| {
            let connect_options = with_login(&base, &secret, Some((self, options)));
            let credential = &credential;
            async move { check_one(credential, &connect_options, timeout).await }
        };
        let (secret, found) = match attempt(first.clone()).await {
            Ok(found) => (first.clone(), found),
            Err(e) if e.is_refused_password() => {
                match credential
                    .retry_refused(first.clone(), e, budget, attempt)
                    .await
                {
                    Ok(worked) => worked,
                    Err(Retry::Failed(_, e) | Retry::Store(e, _)) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let through_pooler = options.pooler_for(self.config()).is_some();
        let max_size = found.pool_size(self.name(), project, options, through_pooler)?;
        let state = Arc::new(State {
            credential,
            follow: Some(options.clone()),
            applied: Mutex::new(secret.clone()),
            seen_current: Mutex::new(first),
            refreshing: tokio::sync::Mutex::new(()),
            budget,
        });
        let in_hook = state.clone();
        let pool = PgPoolOptions::new()
            .max_connections(u32::try_from(max_size).unwrap_or(u32::MAX))
            .acquire_timeout(timeout)
            .after_connect(move |conn, _meta| {
                let state = in_hook.clone();
                Box::pin(async move {
                    let credential = &state.credential;
                    let span = tracing::info_span!(
                        target: TARGET,
                        "connect",
                        environment = credential.environment().name(),
                        project = %credential.project(),
                        user = tracing::field::Empty,
                    );
                    async {
                        let landing = landing(conn, false).await?;
                        tracing::Span::current().record("user", landing.session_user.as_str());
                        landing
                            .check(
                                credential.environment().name(),
                                credential.project(),
                                credential.login(),
                            )
                            .map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
                        tracing::debug!(target: TARGET, "connected");
                        Ok(())
                    }
                    .instrument(span)
                    .await
                })
            })
            .connect_lazy_with(with_login(&base, &secret, Some((self, options))));
        register(&pool, &state);
        if let Some(every) = options.get_credential_watch() {
            tokio::spawn(watch(pool.clone(), state, every));
        }
        Ok(pool)
    }

    /// Makes sure `pool` (made by [`sqlx_pool`](Environment::sqlx_pool) for `project`) opens its
    /// next connections with a credential the server accepts: tries one connection with the
    /// pool's credential and, if the server refuses it (`28P01`), reads the credential again as
    /// [`sqlx_acquire`](Environment::sqlx_acquire) does (the current version, then the pending
    /// one, with a short backoff) and gives the pool the one that logs in. Open connections are
    /// left as they are.
    ///
    /// What to call when a query on `&PgPool` fails with SQLSTATE `28P01`: sqlx 0.8 cannot do
    /// it by itself. [`sqlx_acquire`](Environment::sqlx_acquire) does it for you.
    ///
    /// ```no_run
    /// # async fn run(prod: cotenant::Environment, pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
    /// let reli = "reli".parse()?;
    /// let count = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM orders");
    /// let n = match count.fetch_one(&pool).await {
    ///     Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("28P01") => {
    ///         prod.refresh_sqlx_pool(&reli, &pool).await?;
    ///         sqlx::query_scalar::<_, i64>("SELECT count(*) FROM orders").fetch_one(&pool).await?
    ///     }
    ///     other => other?,
    /// };
    /// # Ok(()) }
    /// ```
    pub async fn refresh_sqlx_pool(
        &self,
        project: &ProjectName,
        pool: &PgPool,
    ) -> Result<(), PoolError> {
        let state = state_of(self, project, pool);
        let _refreshing = state.refreshing.lock().await;
        let options = pool.connect_options();
        match probe(&options).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_refused_password() => state.refresh(pool, e).await,
            Err(e) => Err(sqlx_error(&state.credential, &options, e)),
        }
    }

    /// A connection from `pool` (made by [`sqlx_pool`](Environment::sqlx_pool) for `project`),
    /// refreshing the credential if the server refuses the password of a new connection: on
    /// `28P01` it reads the credential again (unless another task just did), tries the current
    /// version and, if that is the refused one, the pending one, with a short backoff; gives the
    /// pool the one the server accepts and acquires again.
    ///
    /// ```no_run
    /// # async fn run(prod: cotenant::Environment, pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
    /// let reli = "reli".parse()?;
    /// let mut conn = prod.sqlx_acquire(&reli, &pool).await?;
    /// sqlx::query("UPDATE orders SET shipped = true WHERE id = $1")
    ///     .bind(42_i64)
    ///     .execute(&mut *conn)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn sqlx_acquire(
        &self,
        project: &ProjectName,
        pool: &PgPool,
    ) -> Result<PoolConnection<Postgres>, PoolError> {
        let before = pool.connect_options();
        let mut refused = match pool.acquire().await {
            Ok(conn) => return Ok(conn),
            Err(e) if e.is_refused_password() => e,
            Err(e) => return Err(sqlx_error(&self.credential_of(project, pool), &before, e)),
        };
        let state = state_of(self, project, pool);
        {
            let _refreshing = state.refreshing.lock().await;
            if !Arc::ptr_eq(&before, &pool.connect_options()) {
                // Another task refreshed meanwhile: try what it found.
                match pool.acquire().await {
                    Ok(conn) => return Ok(conn),
                    Err(e) if e.is_refused_password() => refused = e,
                    Err(e) => {
                        let options = pool.connect_options();
                        return Err(sqlx_error(&state.credential, &options, e));
                    }
                }
            }
            state.refresh(pool, refused).await?;
        }
        let options = pool.connect_options();
        pool.acquire()
            .await
            .map_err(|source| sqlx_error(&state.credential, &options, source))
    }

    fn credential_of(&self, project: &ProjectName, pool: &PgPool) -> Credential {
        Credential::new(self, project, login_of(project, pool))
    }
}

/// What a pool from [`Environment::sqlx_pool`] shares with its hook, its watcher and
/// [`Environment::sqlx_acquire`]: which credential it was given, and the store's last current
/// version seen.
struct State {
    credential: Credential,
    /// The options the pool was made with: each credential given to the pool also moves it to
    /// the instance the credential names ([`route::address`]). `None` for a pool cotenant did
    /// not make, which stays where it connects.
    follow: Option<PoolOptions>,
    /// The credential in the pool's connect options.
    applied: Mutex<Arc<DbSecret>>,
    /// The last current version read by the constructor or the watcher: the watcher gives the
    /// pool a new current version only when it differs from this one, so a pool that moved to
    /// the pending version (mid-rotation) is not moved back to the refused current one.
    seen_current: Mutex<Arc<DbSecret>>,
    /// Held while refreshing, so that tasks refused at the same time read the store once.
    refreshing: tokio::sync::Mutex<()>,
    budget: Duration,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    /// The environment and options to route a credential with, if the pool follows it.
    fn follow(&self) -> Option<(&Environment, &PoolOptions)> {
        self.follow
            .as_ref()
            .map(|options| (self.credential.environment(), options))
    }

    fn apply(&self, pool: &PgPool, secret: Arc<DbSecret>) {
        pool.set_connect_options(with_login(&pool.connect_options(), &secret, self.follow()));
        *locked(&self.applied) = secret;
    }

    /// After the server refused the pool's credential with `refused`: finds one it accepts
    /// (one probe connection per candidate) and gives it to the pool.
    async fn refresh(&self, pool: &PgPool, refused: sqlx::Error) -> Result<(), PoolError> {
        let applied = locked(&self.applied).clone();
        let base = pool.connect_options();
        let attempt = |secret: Arc<DbSecret>| {
            let options = with_login(&base, &secret, self.follow());
            async move { probe(&options).await }
        };
        match self
            .credential
            .retry_refused(applied, refused, self.budget, attempt)
            .await
        {
            Ok((secret, ())) => {
                self.apply(pool, secret);
                Ok(())
            }
            Err(Retry::Failed(secret, e)) => {
                let options = with_login(&base, &secret, self.follow());
                Err(sqlx_error(&self.credential, &options, e))
            }
            Err(Retry::Store(e, _)) => Err(e),
        }
    }
}

/// The states of the live pools made by [`Environment::sqlx_pool`], by the address of their
/// options (stable while a pool lives; the hook holds the state, so it dies with the pool).
static POOLS: Mutex<Vec<(usize, Weak<State>)>> = Mutex::new(Vec::new());

fn key(pool: &PgPool) -> usize {
    std::ptr::from_ref(pool.options()) as usize
}

fn register(pool: &PgPool, state: &Arc<State>) {
    let mut pools = locked(&POOLS);
    pools.retain(|(_, state)| state.strong_count() > 0);
    pools.push((key(pool), Arc::downgrade(state)));
}

/// The state of `pool`, or, for a pool cotenant did not make, one from what the pool says.
fn state_of(environment: &Environment, project: &ProjectName, pool: &PgPool) -> Arc<State> {
    let key = key(pool);
    let found = locked(&POOLS)
        .iter()
        .filter(|(k, _)| *k == key)
        .find_map(|(_, state)| state.upgrade());
    if let Some(state) = found
        && state.credential.environment().name() == environment.name()
        && state.credential.project() == project
    {
        return state;
    }
    let options = pool.connect_options();
    // The password it holds is unknown: any credential read will be tried.
    let unknown = Arc::new(DbSecret::new(
        options.get_host(),
        options.get_port(),
        options.get_username(),
        "",
        options.get_database().unwrap_or_default(),
    ));
    let timeout = pool.options().get_acquire_timeout();
    Arc::new(State {
        credential: Credential::new(environment, project, login_of(project, pool)),
        follow: None,
        applied: Mutex::new(unknown.clone()),
        seen_current: Mutex::new(unknown),
        refreshing: tokio::sync::Mutex::new(()),
        budget: refresh_budget(timeout),
    })
}

/// The login a pool logs in as, by its user name.
fn login_of(project: &ProjectName, pool: &PgPool) -> Login {
    let roles = project.roles();
    let user = pool.connect_options().get_username().to_owned();
    if user == roles.migrator || user == roles.migrator_clone {
        Login::Migrator
    } else {
        Login::App
    }
}

/// Every `every`, reads the credential (through the environment's cache) and, when the store's
/// current version changed, gives it to the pool. Stops when the pool is closed.
async fn watch(pool: PgPool, state: Arc<State>, every: Duration) {
    let mut closed = pin!(pool.close_event());
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut closed => return,
            _ = ticks.tick() => {}
        }
        let current = match state.credential.read().await {
            Ok(current) => Arc::new(current),
            Err(error) => {
                tracing::warn!(target: TARGET, %error, "could not read the credential");
                continue;
            }
        };
        let changed = {
            let mut seen = locked(&state.seen_current);
            let changed = !same_login(&seen, &current);
            if changed {
                *seen = current.clone();
            }
            changed
        };
        if changed && !same_login(&locked(&state.applied), &current) {
            tracing::info!(
                target: TARGET,
                environment = state.credential.environment().name(),
                project = %state.credential.project(),
                user = %current.username,
                "the credential's current version changed: new connections use it"
            );
            state.apply(&pool, current);
        }
    }
}

/// The environment's address, TLS and the application name; no login yet.
fn base_options(
    environment: &Environment,
    project: &ProjectName,
    options: &PoolOptions,
) -> Result<PgConnectOptions, PoolError> {
    let endpoint = route::endpoint(environment, options);
    let fail = |source| PoolError::Connect {
        environment: environment.name().to_owned(),
        source: Box::new(source),
    };
    let mut connect_options = PgConnectOptions::new_without_pgpass()
        .host(&endpoint.host)
        .port(endpoint.port)
        .database(&endpoint.database)
        .application_name(options.get_application_name().unwrap_or(project.as_str()))
        .ssl_mode(match endpoint.tls {
            TlsMode::Disable => PgSslMode::Disable,
            TlsMode::Require => PgSslMode::Require,
            TlsMode::VerifyFull => PgSslMode::VerifyFull,
        });
    if endpoint.tls == TlsMode::VerifyFull
        && let Some(path) = &endpoint.ca_file
    {
        // Refuses a file without certificates as every other connection does.
        endpoint.rustls_config().map_err(fail)?;
        let pem = std::fs::read(path).map_err(|e| {
            fail(ConnectError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })
        })?;
        connect_options = connect_options.ssl_root_cert_from_pem(pem);
    }
    Ok(connect_options)
}

/// `base` logging in as `secret`; with `follow`, to the instance `secret` names (or its pooler),
/// so that a pool follows its project when a move rewrites the secret.
fn with_login(
    base: &PgConnectOptions,
    secret: &DbSecret,
    follow: Option<(&Environment, &PoolOptions)>,
) -> PgConnectOptions {
    let options = base
        .clone()
        .username(&secret.username)
        .password(secret.password.expose_secret());
    match follow {
        Some((environment, pool_options)) => {
            let (host, port, database) = route::address(environment, pool_options, secret);
            options.host(&host).port(port).database(&database)
        }
        None => options,
    }
}

/// Opens one connection outside any pool, checks it and closes it; returns what it found.
async fn check_one(
    credential: &Credential,
    options: &PgConnectOptions,
    timeout: Duration,
) -> Result<Landing, PoolError> {
    let fail = |source| sqlx_error(credential, options, source);
    let span = tracing::info_span!(
        target: TARGET,
        "connect",
        environment = credential.environment().name(),
        project = %credential.project(),
        user = options.get_username(),
    );
    let attempt = async {
        let mut conn = PgConnection::connect_with(options).await.map_err(|error| {
            tracing::debug!(target: TARGET, %error, "could not connect");
            fail(error)
        })?;
        tracing::debug!(target: TARGET, "connected");
        let landing = landing(&mut conn, true).await.map_err(fail)?;
        let _ = conn.close().await;
        landing.check(
            credential.environment().name(),
            credential.project(),
            credential.login(),
        )?;
        Ok(landing)
    };
    tokio::time::timeout(timeout, attempt.instrument(span))
        .await
        .map_err(|_| PoolError::TimedOut {
            environment: credential.environment().name().to_owned(),
            address: address(options),
            user: options.get_username().to_owned(),
            timeout,
        })?
}

/// Opens one connection outside any pool and closes it: whether the server accepts a login.
async fn probe(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let span = tracing::info_span!(target: TARGET, "connect", user = options.get_username());
    async {
        match PgConnection::connect_with(options).await {
            Ok(conn) => {
                tracing::debug!(target: TARGET, "connected");
                conn.close().await
            }
            Err(error) => {
                tracing::debug!(target: TARGET, %error, "could not connect");
                Err(error)
            }
        }
    }
    .instrument(span)
    .await
}

/// Runs the scope query as a simple query (a `&str` without arguments), so no statement is
/// left prepared. Through `Executor::fetch_one`, whose boxed future rustc can prove `Send` inside
/// `after_connect` (`raw_sql(..).fetch_one` it cannot).
/// With `first`, also reads the login's connection limit.
async fn landing(conn: &mut PgConnection, first: bool) -> Result<Landing, sqlx::Error> {
    let query = if first {
        scope::FIRST_QUERY
    } else {
        scope::QUERY
    };
    let row = conn.fetch_one(query).await?;
    Ok(Landing {
        current_user: row.try_get(0)?,
        session_user: row.try_get(1)?,
        current_schema: row.try_get(2)?,
        connection_limit: if first { row.try_get(3)? } else { None },
    })
}

/// `host:port/database` of `options`, for errors.
fn address(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

fn sqlx_error(
    credential: &Credential,
    options: &PgConnectOptions,
    source: sqlx::Error,
) -> PoolError {
    PoolError::Sqlx {
        environment: credential.environment().name().to_owned(),
        address: address(options),
        user: options.get_username().to_owned(),
        source,
    }
}
