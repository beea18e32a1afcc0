//! Scoped [`sqlx::PgPool`]s (feature `sqlx`).

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgSslMode, Postgres};
use sqlx::{Connection, Executor, Row};

use crate::config::TlsMode;
use crate::connect::ConnectError;
use crate::secret::DbSecret;
use crate::{Environment, ProjectName};

use super::credential::{AUTH_FAILED, Credential};
use super::scope::{self, Landing};
use super::{PoolError, PoolOptions};

impl Environment {
    /// A [`sqlx::PgPool`] for `project`: logged in as `<p>_login` with the password from the
    /// secret store, running as `<p>_app` in schema `<p>`, and refusing any new connection that
    /// does not (see the [module docs](crate::pool)).
    ///
    /// Reads the credential, then opens one connection and checks it before returning, so a wrong
    /// password, an unreachable server or a broken role default fails here with a typed
    /// [`PoolError`]. A password refused with `28P01` is read again from the store (after
    /// [invalidating](crate::secret::SecretSource::invalidate) any cached copy) and tried once
    /// more. The pool then opens connections as they are needed.
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
    /// # Ok(()) }
    /// ```
    pub async fn sqlx_pool(
        &self,
        project: &ProjectName,
        options: &PoolOptions,
    ) -> Result<PgPool, PoolError> {
        let credential = Credential::new(self, project);
        let base = base_options(self, project, options)?;
        let timeout = options.get_acquire_timeout();
        let secret = credential.read().await?;
        let mut connect_options = with_login(&base, &secret);
        match check_one(&credential, &connect_options, timeout).await {
            Err(e) if e.code() == Some(AUTH_FAILED) => {
                connect_options = with_login(&base, &credential.refresh().await?);
                check_one(&credential, &connect_options, timeout).await?;
            }
            result => result?,
        }
        let scope = Arc::new((self.name().to_owned(), project.clone()));
        Ok(PgPoolOptions::new()
            .max_connections(u32::try_from(options.get_max_size()).unwrap_or(u32::MAX))
            .acquire_timeout(timeout)
            .after_connect(move |conn, _meta| {
                let scope = scope.clone();
                Box::pin(async move {
                    let (environment, project) = &*scope;
                    landing(conn)
                        .await?
                        .check(environment, project)
                        .map_err(|e| sqlx::Error::Configuration(Box::new(e)))
                })
            })
            .connect_lazy_with(connect_options))
    }

    /// Reads `project`'s credential again from the store (after
    /// [invalidating](crate::secret::SecretSource::invalidate) any cached copy) and gives it to
    /// `pool` for the connections it opens from now on; open connections are left as they are.
    ///
    /// What to call when a query on a pool from [`sqlx_pool`](Environment::sqlx_pool) fails with
    /// SQLSTATE `28P01`: sqlx 0.8 cannot do it by itself. [`sqlx_acquire`](Environment::sqlx_acquire)
    /// does it for you.
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
        let secret = Credential::new(self, project).refresh().await?;
        pool.set_connect_options(with_login(&pool.connect_options(), &secret));
        Ok(())
    }

    /// A connection from `pool` (made by [`sqlx_pool`](Environment::sqlx_pool) for `project`),
    /// refreshing the credential once if the server refuses the password of a new connection:
    /// on `28P01` it calls [`refresh_sqlx_pool`](Environment::refresh_sqlx_pool) (unless another
    /// task just did) and tries again.
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
        let error = match pool.acquire().await {
            Ok(conn) => return Ok(conn),
            Err(error) => error,
        };
        let credential = Credential::new(self, project);
        if !is_auth_failure(&error) {
            return Err(sqlx_error(&credential, &before, error));
        }
        if Arc::ptr_eq(&before, &pool.connect_options()) {
            self.refresh_sqlx_pool(project, pool).await?;
        }
        let options = pool.connect_options();
        pool.acquire()
            .await
            .map_err(|source| sqlx_error(&credential, &options, source))
    }
}

/// The environment's address, TLS and the application name; no login yet.
fn base_options(
    environment: &Environment,
    project: &ProjectName,
    options: &PoolOptions,
) -> Result<PgConnectOptions, PoolError> {
    let endpoint = environment.endpoint();
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

fn with_login(base: &PgConnectOptions, secret: &DbSecret) -> PgConnectOptions {
    base.clone()
        .username(&secret.username)
        .password(secret.password.expose_secret())
}

/// Opens one connection outside any pool, checks it and closes it.
async fn check_one(
    credential: &Credential,
    options: &PgConnectOptions,
    timeout: Duration,
) -> Result<(), PoolError> {
    let fail = |source| sqlx_error(credential, options, source);
    let attempt = async {
        let mut conn = PgConnection::connect_with(options).await.map_err(fail)?;
        let landing = landing(&mut conn).await.map_err(fail)?;
        let _ = conn.close().await;
        landing.check(credential.environment().name(), credential.project())
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| PoolError::TimedOut {
            environment: credential.environment().name().to_owned(),
            address: credential.address(),
            user: options.get_username().to_owned(),
            timeout,
        })?
}

/// Runs the scope query as a simple query (a `&str` without arguments), so no statement is
/// left prepared. Through `Executor::fetch_one`, whose boxed future rustc can prove `Send` inside
/// `after_connect` (`raw_sql(..).fetch_one` it cannot).
async fn landing(conn: &mut PgConnection) -> Result<Landing, sqlx::Error> {
    let row = conn.fetch_one(scope::QUERY).await?;
    Ok(Landing {
        current_user: row.try_get(0)?,
        session_user: row.try_get(1)?,
        current_schema: row.try_get(2)?,
    })
}

fn is_auth_failure(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == AUTH_FAILED)
}

fn sqlx_error(
    credential: &Credential,
    options: &PgConnectOptions,
    source: sqlx::Error,
) -> PoolError {
    PoolError::Sqlx {
        environment: credential.environment().name().to_owned(),
        address: credential.address(),
        user: options.get_username().to_owned(),
        source,
    }
}
