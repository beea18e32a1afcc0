//! What can go wrong while moving a project between instances.

use crate::ProjectName;

/// A move failed or was refused. A refusal changes nothing; a failure leaves the move at the
/// last completed step (recorded on the source), from where `--resume` continues and `--abort`
/// undoes it — and a failure while the source was fenced unfences it first, so the source
/// serves again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// An admin connection could not be opened.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// Provisioning (or deprovisioning) the project on one instance failed.
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
    /// Re-running the project's migrations on the target failed.
    #[error(transparent)]
    Migrate(#[from] crate::migrate::MigrateError),
    /// Removing the project's platform access failed.
    #[error(transparent)]
    Platform(#[from] crate::platform::PlatformError),
    /// Removing the project's Data API roles failed.
    #[error(transparent)]
    Api(#[from] crate::api::ApiError),
    /// A login's secret could not be read or written.
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    /// A statement on one instance failed.
    #[error("moving `{project}`, while {doing} on `{instance}`: {source}")]
    Sql {
        /// The project.
        project: ProjectName,
        /// The instance (source or target) it ran on.
        instance: String,
        /// What the move was doing.
        doing: &'static str,
        /// The server's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// Source and target are the same server.
    #[error(
        "moving `{project}`: source and target are both {host}:{port}; name another instance with `--to`"
    )]
    SameInstance {
        /// The project.
        project: ProjectName,
        /// The host both name.
        host: String,
        /// The port both name.
        port: u16,
    },
    /// The project is not on the source instance.
    #[error(
        "moving `{project}`: it is not provisioned on `{instance}` (no schema `{project}`); check where it is with `cotenant status`"
    )]
    NotOnSource {
        /// The project.
        project: ProjectName,
        /// The source instance.
        instance: String,
    },
    /// The target already has the project's schema, and no move of ours put it there.
    #[error(
        "moving `{project}`: `{instance}` already has schema `{project}`; a move needs an empty target (deprovision it there, or `--resume` the move that created it)"
    )]
    TargetNotEmpty {
        /// The project.
        project: ProjectName,
        /// The target instance.
        instance: String,
    },
    /// The migrations given are not the ones the source has applied.
    #[error(
        "moving `{project}`: the migrations given do not match its history on the source ({reason}); pass the project's own migration files, as `cotenant migrate` uses them"
    )]
    MigrationsDiffer {
        /// The project.
        project: ProjectName,
        /// What differs.
        reason: String,
    },
    /// After the migrations, the target's schema differs from the source's.
    #[error("moving `{project}`: the schema built on the target differs from the source's: {}", differences.join("; "))]
    SchemaDiffers {
        /// The project.
        project: ProjectName,
        /// `-` lines only on the source, `+` lines only on the target.
        differences: Vec<String>,
    },
    /// A table forces row-level security on its owner: neither a subscription nor COPY can
    /// write into it as the owner.
    #[error("moving `{project}`: table(s) {} force row-level security on their owner; run `ALTER TABLE ... NO FORCE ROW LEVEL SECURITY` in a migration for the move, and FORCE again after it", tables.join(", "))]
    ForcedRowSecurity {
        /// The project.
        project: ProjectName,
        /// The tables.
        tables: Vec<String>,
    },
    /// A move of the project is already recorded: continue or undo it.
    #[error(
        "moving `{project}`: a move to `{target}` is already recorded at step `{step}`; continue it with `--resume` or undo it with `--abort`"
    )]
    InProgress {
        /// The project.
        project: ProjectName,
        /// Its recorded target.
        target: String,
        /// The last completed step.
        step: String,
    },
    /// `--resume`, `--abort` or `--finish` found no move of the project on the source.
    #[error(
        "moving `{project}`: no move is recorded on `{instance}`; start one without `--resume`/`--abort`/`--finish`"
    )]
    NoMove {
        /// The project.
        project: ProjectName,
        /// The instance searched.
        instance: String,
    },
    /// The recorded move goes elsewhere than the target given.
    #[error(
        "moving `{project}`: the recorded move goes to `{recorded}`, not `{given}`; resume or abort it with `--to {recorded}`"
    )]
    OtherTarget {
        /// The project.
        project: ProjectName,
        /// The recorded target.
        recorded: String,
        /// The target given now.
        given: String,
    },
    /// The recorded state cannot be read (a step name this version does not know).
    #[error(
        "moving `{project}`: recorded step `{step}` is not one this version of cotenant knows; use the version that started the move"
    )]
    UnknownStep {
        /// The project.
        project: ProjectName,
        /// The recorded text.
        step: String,
    },
    /// `--abort` after the flip: the target already serves the project.
    #[error(
        "moving `{project}`: the logins already point at the target (step `{step}`): too late to abort; finish with `--resume`, then move it back if needed"
    )]
    PastTheFlip {
        /// The project.
        project: ProjectName,
        /// The last completed step.
        step: String,
    },
    /// `--resume` on a move being aborted.
    #[error(
        "moving `{project}`: the move is being aborted; run `--abort` again to finish undoing it"
    )]
    Aborting {
        /// The project.
        project: ProjectName,
    },
    /// `--finish` before the move is complete.
    #[error(
        "moving `{project}`: the move is at step `{step}`; `--finish` drops the source copy only after the move completed (`--resume` first)"
    )]
    NotComplete {
        /// The project.
        project: ProjectName,
        /// The last completed step.
        step: String,
    },
    /// Waiting for something took longer than allowed.
    #[error(
        "moving `{project}`: {what} did not happen within {waited:?}; the move stays at step `{step}` (resume to wait again)"
    )]
    Timeout {
        /// The project.
        project: ProjectName,
        /// What was awaited.
        what: &'static str,
        /// How long it waited.
        waited: std::time::Duration,
        /// The last completed step.
        step: String,
    },
    /// The subscription's workers on the target report errors (their messages are in the
    /// target's server log, not readable by a non-superuser admin).
    #[error(
        "moving `{project}`: the subscription on `{instance}` reports {errors} error(s) of its workers; read the target's server log, fix the cause, then `--resume` (or `--abort`)"
    )]
    SubscriptionFailed {
        /// The project.
        project: ProjectName,
        /// The target instance.
        instance: String,
        /// How many errors `pg_stat_subscription_stats` counts.
        errors: i64,
    },
    /// The target's rows differ from the fenced source's.
    #[error("moving `{project}`: the target's rows differ from the source's: {}", tables.join(", "))]
    Mismatch {
        /// The project.
        project: ProjectName,
        /// What differs, per table or sequence.
        tables: Vec<String>,
    },
    /// Another run of the same move (a run, `--resume`, `--abort` or `--finish`) holds the
    /// move's lock on the source.
    #[error(
        "moving `{project}`: another run of this move is in progress on `{instance}` ({}); wait for it to end (or stop it), then run again",
        match pid { Some(pid) => format!("server process {pid}, see pg_stat_activity"), None => "its server process is not visible".to_owned() }
    )]
    Busy {
        /// The project.
        project: ProjectName,
        /// The source instance, where the lock is held.
        instance: String,
        /// The server process of the run holding the lock, when visible.
        pid: Option<i32>,
    },
    /// The checksums after the flip found the target's rows (as of the flip) different from
    /// the frozen source's. The target serves; the source's copy is kept.
    #[error(
        "moving `{project}`: the target serves, but its rows as of the flip differ from the source's: {}; the source's copy on `{instance}` is kept (fenced) to compare them; `--finish --unverified` drops it anyway", tables.join(", ")
    )]
    ChecksumsDiffer {
        /// The project.
        project: ProjectName,
        /// The source instance, which keeps its copy.
        instance: String,
        /// Per table, both checksums.
        tables: Vec<String>,
    },
    /// `--finish` while nothing proves that the target's rows are the source's: the checksums
    /// after the flip were not completed.
    #[error(
        "moving `{project}`: the checksums comparing the two copies {reason}, so nothing proves the target holds the source's rows; the source's copy on `{instance}` is kept: `--finish --unverified` drops it anyway"
    )]
    Unverified {
        /// The project.
        project: ProjectName,
        /// The source instance, which keeps its copy.
        instance: String,
        /// What happened to the checksums.
        reason: &'static str,
    },
}
