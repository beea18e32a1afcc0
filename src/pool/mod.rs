//! Connection pools scoped to one project: what a service embeds to reach its own schema.
//!
//! A pool for project `<p>` on an [`Environment`](crate::Environment):
//!
//! - logs in as one of the project's logins ([`PoolOptions::login`]): `<p>_login` (the default,
//!   [`Login::App`](crate::secret::Login::App)) or `<p>_migrator`
//!   ([`Login::Migrator`](crate::secret::Login::Migrator)), with the password from the secret
//!   store ([`Environment::login_secret`](crate::Environment::login_secret)), never from the
//!   config, and never shows it in `Debug`, logs or errors;
//! - refuses a secret that does not describe that login on that environment: its `username` must
//!   be the login or its rotation twin (`<p>_login_clone`, `<p>_migrator_clone`), its `host`,
//!   `port` and `dbname` the environment's ([`PoolError::SecretMismatch`]; nothing is connected
//!   with it); on an environment of several instances, the pool connects to the instance whose
//!   `host` and `port` the secret names (through that instance's pooler, if it has one), so a
//!   service follows its project's [placement](crate::placement) without a change;
//! - secures the connection as the environment's [`TlsMode`](crate::config::TlsMode) says;
//! - checks **every new connection** before handing it out: it must run as `<p>_app` (as
//!   `<p>_owner` for the migrator) with `current_schema()` = `<p>`, which the login's role
//!   defaults arrange. If the login is not a member of that role, or its defaults are gone,
//!   PostgreSQL still accepts the login (with only a warning in the server log) and the session
//!   runs as the login itself: the pool refuses such a connection with
//!   [`PoolError::WrongScope`], naming what it found. The check is one round trip when a
//!   connection is opened; checking a connection out of the pool costs nothing more;
//! - is sized by the login's `CONNECTION LIMIT`, read by the constructor's check: unset, the
//!   size is min(10, the limit); set above it, the constructor fails with
//!   [`PoolError::ExceedsConnectionLimit`];
//! - when a new connection is refused with SQLSTATE `28P01` (wrong password), reads the
//!   credential again and retries (see [below](#refreshing-the-credential)): a rotated password
//!   is picked up without a restart.
//!
//! Two flavours, each behind its feature:
//!
//! | feature | constructor | pool | checks with | refreshes |
//! | --- | --- | --- | --- | --- |
//! | `sqlx` | [`Environment::sqlx_pool`](crate::Environment::sqlx_pool) | [`sqlx::PgPool`](::sqlx::PgPool) | `after_connect` | in [`Environment::sqlx_acquire`](crate::Environment::sqlx_acquire), and a watcher task |
//! | `deadpool` | [`Environment::deadpool_pool`](crate::Environment::deadpool_pool) | [`deadpool_postgres::Pool`] | a `post_create` hook | inside the pool, on every new connection |
//!
//! Both constructors read the credential, open one connection, check it and close it, so a wrong
//! secret, a wrong password, an unreachable server or a broken role default fails at startup with
//! a typed [`PoolError`]; the pools themselves open connections as they are needed.
//!
//! ```no_run
//! # #[cfg(all(feature = "sqlx", feature = "deadpool"))]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::{Cotenant, config::Config, pool::PoolOptions, secret::Login};
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
//!
//! // The migrator: lands as `reli_owner`, for schema changes.
//! let owner = prod
//!     .deadpool_pool(&reli, &PoolOptions::new().login(Login::Migrator))
//!     .await?;
//! owner.get().await?.batch_execute("CREATE INDEX ON orders (shipped)").await?;
//! # Ok(()) }
//! ```
//!
//! # Refreshing the credential
//!
//! The deadpool pool reads the credential for every new connection it opens (never on checkout)
//! through the secret store — with the configured cache in front, a hit costs well under a
//! microsecond — and uses the current version whenever it changed since the last read; sqlx 0.8
//! cannot choose a password per connection, so its pools are moved by a watcher (below).
//!
//! When the server refuses the password of a new connection (`28P01`; through a transaction
//! pooler, the pooler's own refusal, PgBouncer's `08P01`), the pool
//! [invalidates](crate::secret::SecretSource::invalidate) the cached credential and reads the
//! current version (`AWSCURRENT`) again. If that is the credential just refused (same user, same
//! password), it also reads the pending version (`AWSPENDING`): a single-user rotation sets the
//! new password on the server *before* it promotes the version holding it. It tries what is new;
//! if the server still refuses, it reads again after 50, 100 and 200 ms (at most four rounds,
//! and no longer than a quarter of the acquire timeout), then gives up with the last `28P01`.
//! Connections refused at the same moment wait for one refresh instead of each reading the
//! store, and for 2 s after a refresh gave up, a refusal of the same credential fails at once
//! (a password that is simply wrong costs one refresh, not one per new connection). Every refresh and every connection is logged in a span (`refresh`, `connect`; target
//! `cotenant::pool`) with the environment, the project and the login's user name, never the
//! password.
//!
//! deadpool-postgres lets cotenant own how a connection is opened (its `Connect` trait), so the
//! refresh happens inside the pool: `pool.get()` just works. sqlx 0.8 has no such hook: a
//! connection refused by the server comes back from `pool.acquire()` (or from a query run on
//! `&PgPool`) as an error, and the pool keeps the password it was given. Acquire through
//! [`Environment::sqlx_acquire`](crate::Environment::sqlx_acquire), which refreshes and gives
//! the pool the credential that worked, or call
//! [`Environment::refresh_sqlx_pool`](crate::Environment::refresh_sqlx_pool) when a query fails
//! with `28P01`. In addition, a sqlx pool has a **watcher** ([`PoolOptions::credential_watch`],
//! every 30 s by default): a task that reads the credential through the environment's secret
//! cache and, when the store's current version changed, gives it to the pool with
//! [`set_connect_options`](::sqlx::Pool::set_connect_options). It holds a handle on the pool and
//! stops when the pool is [closed](::sqlx::Pool::close).
//!
//! What each pool guarantees while a login is rotated (connections already open are never
//! affected: PostgreSQL checks passwords at login only):
//!
//! | | single user: `AWSPENDING` written, password set on the server, then promoted | alternating users: the twin gets a new password, the credential moves to it; the other user's password is changed only at the next rotation |
//! | --- | --- | --- |
//! | deadpool, `pool.get()` | no error: new connections refused between the server change and the promotion retry with the pending version | no error: new connections use the twin once the secret cache serves the promoted version (within its TTL); until then the old user, whose password still works |
//! | sqlx, [`sqlx_acquire`](crate::Environment::sqlx_acquire) | no error, as deadpool | no error, as deadpool; the watcher usually moves the pool first |
//! | sqlx, plain `&PgPool` | new connections fail with `28P01` from the server change until the pool is refreshed: by a `sqlx_acquire` or `refresh_sqlx_pool` call, or by the watcher after the promotion (within its interval plus the secret cache's TTL) | no error if rotations are further apart than the watcher's interval plus the cache's TTL (30 s + 5 min by default): the watcher moves the pool to the twin long before its old user's password changes; with `credential_watch(None)`, new connections fail with `28P01` from the next rotation on |
//!
//! # When the project moves
//!
//! A pool is built for the project where it is, but connects each new connection to the
//! instance its credential names *at that moment* (the secret's `host` and `port`, or that
//! instance's pooler), so a service needs no change when `cotenant move` moves its project to
//! another instance of the environment. The secret may name any configured instance of the
//! environment; one naming no configured instance is refused
//! ([`PoolError::SecretMismatch`]), as before. During the move the source's logins are NOLOGIN:
//! the server answers `28000` ("not permitted to log in"), which the pools treat like a refused
//! password — they read the secret again and reconnect where it then points. Once the move has
//! flipped the secrets, the first refusal moves the pool (deadpool: on its next new connection;
//! sqlx: through [`sqlx_acquire`](crate::Environment::sqlx_acquire) or the watcher). Connections
//! opened before the fence are ended by it. Inserts refused during the fence failed and did not
//! commit: retrying them is the service's business (`tests/transfer.rs` counts them).
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
//!
//! A connection that passed the check can still change its own session afterwards. `RESET ROLE`,
//! `RESET ALL` and `DISCARD ALL` bring it back to the login's role defaults, so it stays
//! `<p>_app`; `SET ROLE NONE` leaves it running as `<p>_login` itself, which has no privilege on
//! any schema: its own project's tables, other projects' tables and `SET ROLE <other>_app` all
//! fail with `42501`. Such a connection goes back into the pool as it is (neither pool resets
//! sessions on checkout, to keep checkout free), and fails closed for whoever gets it next.
//!
//! # Transaction-mode poolers
//!
//! Hosted Supabase's usual path is its pooler in transaction mode (port 6543); self-hosted
//! instances often have PgBouncer with `pool_mode = transaction`. Name it once per environment
//! and every pool goes through it:
//!
//! ```toml
//! [environments.prod]
//! host = "db.abcdefgh.supabase.co"
//! admin_secret = "cotenant/prod/admin"
//! pooler = { host = "aws-0-eu-central-1.pooler.supabase.com", port = 6543 }  # mode = "transaction"
//! ```
//!
//! Why a key on the environment and not a default detected at connect time: a pooler speaks the
//! server's protocol and cannot be told from it reliably, and whether services go through it is
//! a property of the deployment (staging must mirror prod), not of each service's code. Why pools
//! go through it *by default*: that is what the pooler is for, and what keeps many services'
//! pools within the login's connection limit. [`PoolOptions::direct`] goes to the server anyway,
//! for work that needs a session of its own (`LISTEN`, session advisory locks, named prepared
//! statements); [`PoolOptions::transaction_pooler`] names another pooler for one pool.
//! cotenant's own work (provisioning, migrations, rotation checks) always connects directly:
//! migrations hold session advisory locks.
//!
//! ```no_run
//! # #[cfg(feature = "deadpool")]
//! # async fn run(prod: cotenant::Environment) -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::pool::PoolOptions;
//! use tokio_postgres::types::Type;
//!
//! let reli = "reli".parse()?;
//! // Through the environment's pooler; 50 of the pooler's clients are not bounded by the
//! // login's connection limit (the pooler's own pool is).
//! let pool = prod.deadpool_pool(&reli, &PoolOptions::new().max_size(50)).await?;
//! let client = pool.get().await?;
//! // One round trip, an unnamed statement: safe through the pooler.
//! let rows = client
//!     .query_typed("SELECT id FROM orders WHERE customer = $1", &[(&7_i64, Type::INT8)])
//!     .await?;
//!
//! // A listener needs its session: straight to the server.
//! let listener = prod
//!     .deadpool_pool(&reli, &PoolOptions::new().direct().max_size(1))
//!     .await?;
//! listener.get().await?.batch_execute("LISTEN reli_orders").await?;
//! # Ok(()) }
//! ```
//!
//! What a pool does differently through a pooler, and why (all of it proven against PgBouncer 1.18
//! in `tests/pooler.rs`):
//!
//! - **Size.** [`PoolOptions::max_size`] is not bounded by the login's connection limit: the
//!   pool's connections are the pooler's clients. The pooler's own pool size for the login must
//!   stay under the limit.
//! - **A refused password** is answered by the pooler itself, which checks it against the secret
//!   its `auth_query` read from the server (so a rotated password is refused at once): PgBouncer
//!   sends `08P01` "SASL authentication failed", not the server's `28P01`. The pools treat both
//!   as a refusal and [refresh the credential](#refreshing-the-credential);
//!   [`PoolError::is_password_refused`] says either. Connections already open keep serving, and
//!   once a client with the new password has logged in, PgBouncer opens new server connections
//!   with it (SCRAM pass-through).
//! - **The scope check** runs on a new *client* connection, and vouches for the server
//!   connection its query ran on. The pooler hands each *transaction* to whichever server
//!   connection of the same login is free; all of them logged in as that login with its role
//!   defaults, so they land alike. A server connection opened while the login's role default was
//!   missing stays wrong in the pooler after provisioning fixed the role: the check keeps
//!   refusing new clients until the pooler reconnects (PgBouncer: `RECONNECT` on its console, or
//!   its `server_lifetime`).
//! - **Never two projects on one server connection**: PgBouncer (and Supavisor) pool per
//!   (user, database), and each project has logins of its own, so sharing stays inside a
//!   project. The test watches `pg_backend_pid()` through the pooler, `pg_stat_activity` and
//!   `SHOW SERVERS` while two projects' pools share a pooler under load.
//!
//! Two things do not survive the hand-over between transactions, whatever the pool does:
//!
//! - **Session state.** A session-level `SET` (or `SET ROLE`) outlives the transaction on the
//!   server connection and reaches the next client of the same login. Use `SET LOCAL` inside a
//!   transaction. A client that runs `SET ROLE NONE` leaves a connection that reaches nothing
//!   (above): wrong but closed.
//! - **Named prepared statements.** A named statement lives on the server connection it was
//!   prepared on; the next round trip may get another (`26000`: "prepared statement does not
//!   exist"), and a later client of the same login may meet it there (`42P05`: "already
//!   exists"). No pool option fixes that for these drivers (sqlx 0.8.6, tokio-postgres 0.7.18,
//!   read from their source; `tests/pool.rs` and `tests/pooler.rs` check it):
//!   - tokio-postgres (deadpool): `query(&str, ..)`, `execute(&str, ..)` and `prepare` first
//!     *prepare a named statement* (`s0`, `s1`, …; Parse/Describe/Sync) and run it in a second
//!     round trip, and close it when the `Statement` is dropped; deadpool's `prepare_cached`
//!     keeps them for the connection's life. Through a transaction pooler use them only inside
//!     an explicit transaction, dropping the statement before it ends. `query_typed`,
//!     `query_typed_opt`, `execute_typed` (parameters with their types) send
//!     Parse/Bind/Execute/Sync for the *unnamed* statement in one round trip, and
//!     `simple_query`/`batch_execute` use the simple protocol (text results, no parameters):
//!     both are safe anywhere. (A result column of a type tokio-postgres does not know, an enum
//!     say, makes it look the type up with a named statement of its own.)
//!   - sqlx: `sqlx::query(..)` is *persistent* by default: a named statement (`sqlx_s_1`, …)
//!     cached per connection; through PgBouncer it can fail on its very first use, as its
//!     Parse and its Bind are sent in two round trips. `statement_cache_capacity(0)` does
//!     **not** help in 0.8: the statement is still named, no longer cached, and never closed —
//!     one more prepared statement on the server per execution — so cotenant does not set it.
//!     `.persistent(false)` uses the unnamed statement but still prepares it in its own round
//!     trip, so it is safe only inside an explicit transaction (`pool.begin()`), where the
//!     pooler keeps the server connection. `sqlx::raw_sql` and queries given as a plain `&str`
//!     without arguments use the simple protocol and are safe anywhere.
//!
//!   Named statements do work through a pooler that tracks them: PgBouncer 1.21 or later
//!   with `max_prepared_statements` above zero (Debian bookworm ships 1.18). Supabase documents
//!   its transaction mode (port 6543) as not supporting prepared statements: there, use the safe
//!   forms above.
//!
//! cotenant's own check query is sent with no parameters (sqlx: simple protocol;
//! tokio-postgres: `query_typed`), and both pools ping or recycle without statements, so the
//! pools themselves never leave a named statement.

mod credential;
#[cfg(feature = "deadpool")]
mod deadpool;
mod error;
mod options;
mod route;
mod scope;
#[cfg(feature = "sqlx")]
mod sqlx;

pub use self::error::{PoolError, SecretField};
pub use self::options::PoolOptions;

/// The tracing target of everything the pools log.
const TARGET: &str = "cotenant::pool";
