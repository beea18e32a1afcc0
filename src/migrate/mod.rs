//! Per-project numbered migrations: run as the project's migrator, one transaction each with
//! its history row, prod only after staging, fanned out over many projects, with a cheap
//! instance-wide status and a staging/prod schema parity check.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::{Cotenant, config::Config};
//! use cotenant::migrate::{Fanout, Migrations, Runner, StatusReport};
//!
//! let cotenant = Cotenant::open(Config::load("cotenant.toml")?).await?;
//! let migrations = Migrations::from_dir("migrations/reli")?;
//! let runner = Runner::new(migrations.clone());
//!
//! // One project: staging, then prod (refused there unless staging has each migration).
//! let reli = "reli".parse()?;
//! for (environment, report) in cotenant.migrate(&reli, &runner).await? {
//!     println!("{environment}: {report}");
//! }
//!
//! // Many projects sharing one set, 16 connections at a time.
//! let projects = vec!["reli".parse()?, "filmduel".parse()?];
//! for report in cotenant.migrate_all(&projects, &Fanout::new(runner).concurrency(16)).await? {
//!     print!("{report}");
//! }
//!
//! // Where every project stands, in one catalog read per environment.
//! let prod = cotenant.environment("prod")?;
//! println!("{}", StatusReport::new("prod", &prod.migration_status().await?, &migrations));
//!
//! // Does prod's schema match staging's?
//! for report in cotenant.parity(&reli).await? {
//!     print!("{report}");
//! }
//! # Ok(()) }
//! ```
//!
//! # Files
//! A project's migrations are `NNN_description.sql` files numbered 1, 2, 3, … without gaps
//! ([`Migrations`]). A file whose leading comments include `-- cotenant: no-transaction` runs
//! outside a transaction (for `CREATE INDEX CONCURRENTLY`), statement by statement.
//!
//! # Where the history lives
//! In the project's own schema, table [`HISTORY_TABLE`], owned by `<p>_owner` and closed to
//! `<p>_app`. The runner also writes a [`Summary`] of it (last version and a checksum over the
//! whole history) as the table's comment, in the same transaction as each history row: that is
//! what [`read_status`] and the staging [`Gate`] read, for all projects in one catalog query,
//! without logging in as each project or reading its schema. Catalog comments are visible to
//! every role on the instance, like table names (see [`Summary`]).
//!
//! # Isolation
//! Migrations run only as `<p>_migrator`, which acts as `<p>_owner` and holds nothing outside
//! `<p>`: a migration that tries `RESET ROLE`, `SET ROLE <other>_owner` or
//! `DROP SCHEMA <other> CASCADE` fails with `42501` and is rolled back. Advisory-lock keys are
//! one of the surfaces one database cannot close: another project's login could take this
//! project's migrate key (derived from its public name) and so delay, never alter, its runs.

mod environments;
mod error;
mod fanout;
mod gate;
mod history;
mod migration;
mod parity;
mod rls;
mod runner;
mod source;
mod split;
mod status;
pub mod templates;

pub use error::{MigrateError, Position, SourceError};
pub use fanout::{Counts, Fanout, FanoutReport, Outcome, ProjectOutcome};
pub use gate::{Gate, GateRefusal};
pub use history::{HISTORY_TABLE, HistoryRow, Summary, history};
pub use migration::{BadChecksum, Checksum, Migration, NO_TRANSACTION};
pub use parity::{Difference, ParityReport, Side, fingerprint};
pub use rls::{RlsReport, TableRls, rls_report};
pub use runner::{Applied, Repaired, Report, Runner};
pub use source::Migrations;
pub use status::{ProjectStatus, ProjectStatusEntry, Recorded, StatusReport, read_status};
