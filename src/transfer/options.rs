//! How a move runs: the project's migrations, deadlines, and a stop for tests.

use std::time::Duration;

use crate::migrate::Migrations;

use super::Step;

/// The inputs of a move besides the two instances.
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use cotenant::migrate::Migrations;
/// use cotenant::transfer::MoveOptions;
///
/// let options = MoveOptions::new(Migrations::from_dir("migrations/reli")?)
///     .fence_deadline(Duration::from_millis(200));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MoveOptions {
    pub(crate) migrations: Migrations,
    pub(crate) fence_deadline: Duration,
    pub(crate) catch_up_timeout: Duration,
    pub(crate) sync_timeout: Duration,
    pub(crate) stop_after: Option<Step>,
    pub(crate) logical_replication: bool,
    pub(crate) verification: Verification,
}

/// Where a move compares the two copies before the source's copy may be dropped.
///
/// Every variant compares row counts per table and every sequence while writes are refused,
/// before the flip. They differ in the checksums (an order-independent checksum of every
/// table's rows), which read every row on both sides: on large tables they are most of the write
/// pause if taken inside it (BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Verification {
    /// Counts and sequences in the fence; checksums after the flip (the default). Before the
    /// target's logins may log in, one repeatable-read transaction on each side fixes a snapshot
    /// of the frozen copies; the target then serves while the checksums are computed in those
    /// snapshots. A difference is recorded and [`finish`](super::finish) refuses to drop the
    /// source's copy, as it does when a kill lost the snapshots before the comparison ended
    /// ([`finish_unverified`](super::finish_unverified) overrides, naming the risk).
    #[default]
    ChecksumsAfterFlip,
    /// Counts, checksums and sequences in the fence: nothing is served by the target before
    /// they all match, for a longer write pause.
    ChecksumsInFence,
    /// Counts and sequences only: for logical replication, where PostgreSQL's own apply carries
    /// each row and the counts confirm that the last changes arrived.
    Counts,
}

impl Verification {
    /// The name the state records: `checksums-after-flip`, `checksums-in-fence` or `counts`.
    pub const fn name(self) -> &'static str {
        match self {
            Verification::ChecksumsAfterFlip => "checksums-after-flip",
            Verification::ChecksumsInFence => "checksums-in-fence",
            Verification::Counts => "counts",
        }
    }

    /// The verification named `name`.
    pub fn from_name(name: &str) -> Option<Verification> {
        [
            Verification::ChecksumsAfterFlip,
            Verification::ChecksumsInFence,
            Verification::Counts,
        ]
        .into_iter()
        .find(|v| v.name() == name)
    }
}

impl std::fmt::Display for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl MoveOptions {
    /// A move that rebuilds the schema on the target from `migrations`: the project's own
    /// files, whose checksums must match its history on the source.
    pub fn new(migrations: Migrations) -> Self {
        Self {
            migrations,
            fence_deadline: Duration::from_millis(250),
            catch_up_timeout: Duration::from_secs(30 * 60),
            sync_timeout: Duration::from_secs(30),
            stop_after: None,
            logical_replication: true,
            verification: Verification::ChecksumsAfterFlip,
        }
    }

    /// How long the project's sessions on the source may keep running after its logins are
    /// refused (NOLOGIN) before they are ended with `pg_terminate_backend` (default 250 ms):
    /// part of the write pause.
    pub fn fence_deadline(mut self, deadline: Duration) -> Self {
        self.fence_deadline = deadline;
        self
    }

    /// How long the subscription's initial copy may take (default 30 min).
    pub fn catch_up_timeout(mut self, timeout: Duration) -> Self {
        self.catch_up_timeout = timeout;
        self
    }

    /// How long, once fenced, the target may take to hold every row of the source (default
    /// 30 s); past it, the source is unfenced and the move stays resumable.
    pub fn sync_timeout(mut self, timeout: Duration) -> Self {
        self.sync_timeout = timeout;
        self
    }

    /// Where the copies are compared (default: counts in the fence, checksums after the flip).
    /// A resumed move keeps the verification it was started with.
    pub fn verification(mut self, verification: Verification) -> Self {
        self.verification = verification;
        self
    }

    /// Use fence-then-COPY even where logical replication is possible.
    pub fn without_logical_replication(mut self) -> Self {
        self.logical_replication = false;
        self
    }

    /// Stop (successfully) right after completing `step`, as if killed there: how tests and
    /// operators rehearse `--resume` and `--abort` at each step.
    pub fn stop_after(mut self, step: Step) -> Self {
        self.stop_after = Some(step);
        self
    }
}
