//! Connection pools scoped to one project: what a service embeds to reach its own schema.
//!
//! A pool for project `<p>` on an [`Environment`](crate::Environment):
//!
//! - logs in as `<p>_login` with the password from the secret store
//!   ([`Environment::login_secret`](crate::Environment::login_secret)), never from the config, and
//!   never shows it in `Debug`, logs or errors;
//! - secures the connection as the environment's [`TlsMode`](crate::config::TlsMode) says;
//! - checks **every new connection** before handing it out: it must run as `<p>_app` with
//!   `current_schema()` = `<p>`, which the login's role defaults arrange. If the login is not a
//!   member of `<p>_app`, or its defaults are gone, PostgreSQL still accepts the login (with only a
//!   warning in the server log) and the session runs as the login itself: the pool refuses such a
//!   connection with [`PoolError::WrongScope`], naming what it found;
//! - when a new connection is refused with SQLSTATE `28P01` (wrong password), forgets the cached
//!   credential ([`SecretSource::invalidate`](crate::secret::SecretSource::invalidate)), reads it
//!   again and retries once: a rotated password is picked up without a restart.
//!
//! Two flavours, each behind its feature:
//!
//! | feature | constructor | pool | checks with | refreshes |
//! | --- | --- | --- | --- | --- |
//! | `sqlx` | [`Environment::sqlx_pool`](crate::Environment::sqlx_pool) | [`sqlx::PgPool`](::sqlx::PgPool) | `after_connect` | in [`Environment::sqlx_acquire`](crate::Environment::sqlx_acquire) |
//! | `deadpool` | [`Environment::deadpool_pool`](crate::Environment::deadpool_pool) | [`deadpool_postgres::Pool`] | a `post_create` hook | inside the pool, on every new connection |
//!
//! Both constructors read the credential, open one connection, check it and close it, so a wrong
//! password, an unreachable server or a broken role default fails at startup with a typed
//! [`PoolError`]; the pools themselves open connections as they are needed.
//!
//! ```no_run
//! # #[cfg(all(feature = "sqlx", feature = "deadpool"))]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::{Cotenant, config::Config, pool::PoolOptions};
//!
//! let cotenant = Cotenant::open(Config::load("cotenant.toml")?).await?;
//! let prod = cotenant.environment("prod")?;
//! let reli = "reli".parse()?;
//!
//! // sqlx: lands as `reli_app`, with `reli` first on the search path.
//! let pool = prod.sqlx_pool(&reli, &PoolOptions::new().max_size(5)).await?;
//! let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders").fetch_one(&pool).await?;
//!
//! // deadpool-postgres: the same checks, as a pool of tokio-postgres clients.
//! let pool = prod.deadpool_pool(&reli, &PoolOptions::new()).await?;
//! let client = pool.get().await?;
//! let row = client.query_one("SELECT count(*) FROM orders", &[]).await?;
//! # Ok(()) }
//! ```
//!
//! # Refreshing the credential
//!
//! deadpool-postgres lets cotenant own how a connection is opened (its `Connect` trait), so the
//! refresh happens inside the pool: `pool.get()` just works after a rotation. sqlx 0.8 has no such
//! hook: a connection refused by the server comes back from `pool.acquire()` (or from a query run
//! on `&PgPool`) as an error, and the pool keeps the password it was given. Acquire through
//! [`Environment::sqlx_acquire`](crate::Environment::sqlx_acquire), which refreshes and retries
//! once, or call [`Environment::refresh_sqlx_pool`](crate::Environment::refresh_sqlx_pool) when a
//! query fails with `28P01`; connections already open are not affected either way.
//!
//! # A refused connection
//!
//! A connection that fails the scope check is closed and never handed out. Where the error shows
//! depends on the pool:
//!
//! - the constructors return [`PoolError::WrongScope`];
//! - deadpool's `pool.get()` returns `PoolError::PostCreateHook(HookError::Message(..))` whose text
//!   is that of [`PoolError::WrongScope`];
//! - sqlx retries a connection its `after_connect` refused until the acquire timeout
//!   ([`PoolOptions::acquire_timeout`]), then returns `sqlx::Error::PoolTimedOut`; the refusal
//!   itself is logged (target `cotenant::pool`, level `error`).
//!
//! Either way the cure is to provision the project again, which restores the login's role
//! defaults and membership.

mod credential;
#[cfg(feature = "deadpool")]
mod deadpool;
mod error;
mod options;
mod scope;
#[cfg(feature = "sqlx")]
mod sqlx;

pub use self::error::{PoolError, SecretField};
pub use self::options::PoolOptions;

/// The tracing target of everything the pools log.
const TARGET: &str = "cotenant::pool";
