//! The steps of a move, in order: the state records the last one completed.

use std::fmt;

/// One step of a move. A move records the last step it completed on the source; every step
/// can run again after a kill, so `--resume` starts with the step after the recorded one.
///
/// ```
/// use cotenant::transfer::Step;
/// assert!(Step::Fenced < Step::Flipped);
/// assert_eq!(Step::from_name("flipped"), Some(Step::Flipped));
/// assert_eq!(Step::Flipped.name(), "flipped");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Step {
    /// The move is recorded on the source.
    Started,
    /// `<p>` is provisioned on the target with the same settings and the passwords of the
    /// current secrets.
    Provisioned,
    /// The project's migrations ran on the target, source and target have the same schema
    /// (parity), and the target's logins are fenced (NOLOGIN) until the flip.
    SchemaBuilt,
    /// Logical replication only: a publication of the project's tables on the source and a
    /// subscription on the target, which copies the rows and then streams changes.
    Replicating,
    /// Logical replication only: every table finished its initial copy.
    CaughtUp,
    /// The source's logins are NOLOGIN and their sessions are gone: no write reaches the source.
    Fenced,
    /// The target holds every row the source has (streamed, or copied while fenced).
    Synced,
    /// The target's sequences are where the source's are.
    SequencesSynced,
    /// Counts per table and sequences (and, with [`Verification::ChecksumsInFence`], checksums)
    /// match between source and target.
    ///
    /// [`Verification::ChecksumsInFence`]: super::Verification::ChecksumsInFence
    Verified,
    /// The logins' secrets name the target's host and port: the target serves the project.
    Flipped,
    /// The target's logins may log in (with [`Verification::ChecksumsAfterFlip`], once a
    /// snapshot of each frozen copy is held for the checksums).
    ///
    /// [`Verification::ChecksumsAfterFlip`]: super::Verification::ChecksumsAfterFlip
    Unfenced,
    /// With [`Verification::ChecksumsAfterFlip`]: the checksums of the two snapshots are
    /// compared and the outcome recorded (a difference, or snapshots lost to a kill, keeps the
    /// source's copy until `--finish --unverified`).
    ///
    /// [`Verification::ChecksumsAfterFlip`]: super::Verification::ChecksumsAfterFlip
    Checksummed,
    /// The subscription, its slot and the publication are dropped. The source keeps its copy
    /// (fenced) until `--finish`.
    CleanedUp,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 13] = [
        Step::Started,
        Step::Provisioned,
        Step::SchemaBuilt,
        Step::Replicating,
        Step::CaughtUp,
        Step::Fenced,
        Step::Synced,
        Step::SequencesSynced,
        Step::Verified,
        Step::Flipped,
        Step::Unfenced,
        Step::Checksummed,
        Step::CleanedUp,
    ];

    /// The step's name, as the state records it.
    pub const fn name(self) -> &'static str {
        match self {
            Step::Started => "started",
            Step::Provisioned => "provisioned",
            Step::SchemaBuilt => "schema-built",
            Step::Replicating => "replicating",
            Step::CaughtUp => "caught-up",
            Step::Fenced => "fenced",
            Step::Synced => "synced",
            Step::SequencesSynced => "sequences-synced",
            Step::Verified => "verified",
            Step::Flipped => "flipped",
            Step::Unfenced => "unfenced",
            Step::Checksummed => "checksummed",
            Step::CleanedUp => "cleaned-up",
        }
    }

    /// The step named `name`.
    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the source's logins are fenced once this step is complete and until the flip.
    pub(crate) fn source_fenced(self) -> bool {
        (Step::Fenced..Step::Flipped).contains(&self)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
