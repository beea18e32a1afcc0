//! Advisory lock keys: one key space for everything cotenant serializes.
//!
//! Only transaction-level locks (`pg_advisory_xact_lock`) are taken with these keys, so no lock
//! outlives its transaction — none is stranded behind a pooler that keeps sessions open. The one
//! exception is a no-transaction migration (e.g. `CREATE INDEX CONCURRENTLY`, which cannot run in
//! a transaction): its runner holds the project's migrate key as a session lock on a dedicated
//! connection that is never pooled, unlocks right after the file, and closes the connection at
//! the end of the run (see `migrate::Runner`). The other: a move's run holds its project's
//! transfer key as a session lock on its own admin connection to the source, never pooled,
//! closed at the end of the run (see `transfer`).

use sha2::{Digest, Sha256};

use crate::ProjectName;

/// A 64-bit advisory lock key derived from a purpose and a name. Distinct projects get distinct
/// keys (barring a 64-bit hash collision, which only serializes two runs that need not be).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockKey(i64);

impl LockKey {
    fn derive(purpose: &str, name: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(b"cotenant/")
            .chain_update(purpose.as_bytes())
            .chain_update(b"/")
            .chain_update(name.as_bytes())
            .finalize();
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        Self(i64::from_be_bytes(bytes))
    }

    /// Serializes provisioning, deprovisioning and relocation of one project: relocation
    /// changes the objects and grants in the schema that provisioning reads.
    pub(crate) fn provision(project: &ProjectName) -> Self {
        Self::derive("provision", project.as_str())
    }

    /// Serializes migration runs of one project: each migration's transaction holds it, so
    /// concurrent runners apply every migration once.
    pub(crate) fn migrate(project: &ProjectName) -> Self {
        Self::derive("migrate", project.as_str())
    }

    /// Serializes rotations of one project's credentials: held for the whole rotation (secret
    /// versions, the password change, the test login, the promotion), not one transaction.
    pub(crate) fn rotate(project: &ProjectName) -> Self {
        Self::derive("rotate", project.as_str())
    }

    /// Serializes runs of one project's move (run, resume, abort, finish): held as a session
    /// lock on the source by the run's own admin connection, never pooled, for the whole run —
    /// its steps span many transactions and connections.
    pub(crate) fn transfer(project: &ProjectName) -> Self {
        Self::derive("transfer", project.as_str())
    }

    /// Serializes provisioning of the projects of one sub-steward (16+, `provision::steward`):
    /// each lets the steward act as the sub-steward and takes it back, updating the same
    /// membership row. Taken after the project's key and before the instance's.
    pub(crate) fn sub_steward(project: &ProjectName) -> Self {
        Self::derive("sub-steward", &crate::provision::sub_steward_of(project))
    }

    /// Serializes changes to what all projects share: the database's ACL, schema public,
    /// the stewards.
    pub(crate) fn instance() -> Self {
        Self::derive("instance", "")
    }

    pub(crate) fn as_i64(self) -> i64 {
        self.0
    }

    /// Takes the key as a transaction-level lock in `tx`, waiting for it.
    pub(crate) async fn lock(
        self,
        tx: &tokio_postgres::Transaction<'_>,
    ) -> Result<(), tokio_postgres::Error> {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&self.0])
            .await
            .map(|_| ())
    }
}
