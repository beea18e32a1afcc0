//! Advisory lock keys: one key space for everything cotenant serializes.
//!
//! Only transaction-level locks (`pg_advisory_xact_lock`) are taken with these keys, so no lock
//! outlives its transaction — none is stranded behind a pooler that keeps sessions open.

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

    /// Serializes provisioning and deprovisioning of one project.
    pub(crate) fn provision(project: &ProjectName) -> Self {
        Self::derive("provision", project.as_str())
    }

    /// Serializes changes to what all projects share: the database's ACL, schema public,
    /// the stewards.
    pub(crate) fn instance() -> Self {
        Self::derive("instance", "")
    }

    pub(crate) fn as_i64(self) -> i64 {
        self.0
    }
}
