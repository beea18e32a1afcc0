//! Moving a project between two instances of one environment, online, on PostgreSQL's own
//! machinery (the engine behind `cotenant move`).
//!
//! [`plan`] reads both catalogs and says what the move will do: every step, and which mechanism
//! carries the rows — [logical replication](Mechanism::LogicalReplication) where both admins'
//! privileges allow a publication and a subscription, else
//! [fence-then-COPY](Mechanism::FenceThenCopy), with the reasons and how long writes will be
//! refused. [`run`] carries it out step by step ([`Step`]), recording the last step reached in
//! `cotenant_transfer.moves` on the source, so that after a kill [`resume`] continues and
//! [`abort`] (before the flip) leaves the source as the only copy, serving again. [`finish`]
//! drops the source's copy once the move is complete. [`serving`] says, from the recorded state,
//! which instance serves a project in the middle of a move.
//!
//! # Verification
//! Before the flip, while writes are refused, the move compares every table's row count and
//! every sequence. By default ([`Verification::ChecksumsAfterFlip`]) the checksums of every
//! table's rows, which read every row on both sides, come after: just before the target's
//! logins may log in, one repeatable-read transaction on each side fixes a snapshot of the two
//! frozen copies, and the checksums are read in those snapshots while the target already serves.
//! A difference is recorded ([`Checksums::Differ`], the run's error) and [`finish`] refuses to
//! drop the source's copy; so it does when a kill lost the snapshots before the comparison ended
//! ([`Checksums::Incomplete`]); [`finish_unverified`] overrides. [`Verification::ChecksumsInFence`]
//! compares them before the flip instead, for a longer pause.
//!
//! One run at a time: each run (and `--abort`, `--finish`) holds a session advisory lock keyed
//! on the project on the source for as long as it runs; a second gets [`TransferError::Busy`],
//! naming the first's server process, and changes nothing.
//!
//! The secrets of the project's logins carry the instance's host and port: the flip writes the
//! target's into them (same passwords: the target's logins were created with them), so a service
//! whose pool reads the secret again after the source refused its login follows the project.
//!
//! ```no_run
//! # async fn run(source: cotenant::Environment, target: cotenant::Environment)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::migrate::Migrations;
//! use cotenant::transfer::{self, Instance, MoveOptions};
//!
//! let (a, b) = (Instance::new("a", source), Instance::new("b", target));
//! let reli = "reli".parse()?;
//! let options = MoveOptions::new(Migrations::from_dir("migrations/reli")?);
//! print!("{}", transfer::plan(&a, &b, &reli, &options).await?);
//! let report = transfer::run(&a, &b, &reli, &options).await?;
//! println!("writes paused for {:?}", report.fenced_for);
//! transfer::finish(&a, &reli).await?; // drops the source's copy
//! # Ok(()) }
//! ```
//!
//! # Isolation
//! The state schema belongs to the admin with nothing granted to PUBLIC. The publication belongs
//! to `<p>_owner` and lists only the project's tables; the subscription belongs to the admin;
//! streaming needs REPLICATION, which no project role has. Acting as `<p>_owner` happens as
//! provisioning does it, lent by the steward inside one transaction — except on the target of a
//! logical-replication move, where the admin holds `<p>_owner` with SET (no inheritance) while
//! the subscription exists, because its workers write as each table's owner.

mod catalog;
mod data;
mod engine;
mod error;
mod fence;
mod options;
mod owner;
mod plan;
mod replication;
mod state;
mod step;

pub use engine::{MoveReport, abort, finish, finish_unverified, moves, plan, resume, run, serving};
pub use error::TransferError;
pub use options::{MoveOptions, Verification};
pub use plan::{Mechanism, PlannedTable, TransferPlan};
pub use state::{Checksums, MoveRecord, Serving};
pub use step::Step;

use crate::Environment;

/// One instance of an environment, as a move sees it: a name for people and the
/// [`Environment`] that reaches it (its admin credential and the secret store holding the
/// project's logins, shared by every instance of the environment).
#[derive(Debug, Clone)]
pub struct Instance {
    name: String,
    environment: Environment,
}

impl Instance {
    /// The instance `name`, reached as `environment` says.
    pub fn new(name: impl Into<String>, environment: Environment) -> Self {
        Self {
            name: name.into(),
            environment,
        }
    }

    /// The instance's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How it is reached.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }
}
