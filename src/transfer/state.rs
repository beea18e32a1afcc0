//! The durable state of moves: one row per project in `cotenant_transfer.moves` on the source.

use tokio_postgres::{Client, GenericClient};

use super::{Mechanism, Step, TransferError, Verification};
use crate::ProjectName;
use crate::lock::LockKey;

/// A move as the source records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MoveRecord {
    /// The project.
    pub project: ProjectName,
    /// The target instance's name.
    pub target: String,
    /// The host the logins' secrets name after the flip.
    pub target_host: String,
    /// The port the logins' secrets name after the flip.
    pub target_port: u16,
    /// How the rows travel.
    pub mechanism: Mechanism,
    /// The last step completed.
    pub step: Step,
    /// Whether `--abort` is undoing the move.
    pub aborting: bool,
    /// Where the copies are compared.
    pub verification: Verification,
    /// How the comparison of checksums ended (or that it is still to come).
    pub checksums: Checksums,
}

/// Where the comparison of the two copies' checksums stands: what decides whether `--finish`
/// may drop the source's copy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Checksums {
    /// Not compared yet.
    Pending,
    /// Snapshots of both frozen copies are held and being compared (or the run holding them
    /// was killed, which the next run records as [`Checksums::Incomplete`]).
    Running,
    /// Every table's checksum matched.
    Matched,
    /// The copies differ: per table, both values. The source's copy is kept.
    Differ(Vec<String>),
    /// The run holding the snapshots ended before comparing them, after the target had started
    /// serving: nothing compared the rows, and no later run can (the target has moved on).
    Incomplete,
    /// Counts only ([`Verification::Counts`]): the operator chose not to compare checksums.
    NotCompared,
}

impl Checksums {
    /// The name the state records.
    pub const fn name(&self) -> &'static str {
        match self {
            Checksums::Pending => "pending",
            Checksums::Running => "running",
            Checksums::Matched => "matched",
            Checksums::Differ(_) => "differ",
            Checksums::Incomplete => "incomplete",
            Checksums::NotCompared => "not-compared",
        }
    }

    fn from_row(name: &str, differences: Vec<String>) -> Option<Checksums> {
        Some(match name {
            "pending" => Checksums::Pending,
            "running" => Checksums::Running,
            "matched" => Checksums::Matched,
            "differ" => Checksums::Differ(differences),
            "incomplete" => Checksums::Incomplete,
            "not-compared" => Checksums::NotCompared,
            _ => return None,
        })
    }

    /// Whether the outcome lets `--finish` drop the source's copy without `--unverified`.
    pub fn allows_finish(&self) -> bool {
        matches!(self, Checksums::Matched | Checksums::NotCompared)
    }
}

/// Which instance serves a project's writes, from the recorded state of its move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    /// The source: the move has not reached the flip (or is being aborted).
    Source,
    /// The target: the logins' secrets point at it.
    Target,
}

impl MoveRecord {
    /// Which instance serves the project's writes now. Between the fence and the flip neither
    /// accepts the project's logins: this names the one that will serve if the move is aborted
    /// (the source) until the flip makes it the target.
    pub fn serving(&self) -> Serving {
        if self.step >= Step::Flipped && !self.aborting {
            Serving::Target
        } else {
            Serving::Source
        }
    }
}

/// Creates the state schema and table if missing, under cotenant's instance lock: two first
/// moves on one instance would otherwise race to create the same schema.
pub(crate) async fn ensure_schema(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock({});\n{}",
        crate::provision::instance_lock_key(),
        include_str!("../../sql/transfer/state.sql")
    ))
    .await?;
    tx.commit().await
}

/// Reads `project`'s move; `None` when there is none (or no state schema at all).
pub(crate) async fn read(
    client: &impl GenericClient,
    project: &ProjectName,
) -> Result<Option<Result<MoveRecord, TransferError>>, tokio_postgres::Error> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('cotenant_transfer.moves') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM cotenant_transfer.moves AS m WHERE project = $1"),
            &[&project.as_str()],
        )
        .await?;
    Ok(row.map(|row| record(project.clone(), &row)))
}

/// The recorded moves of any of `projects` on this instance (the source of each), in one read;
/// none when there is no state schema.
pub(crate) async fn read_all(
    client: &impl GenericClient,
    projects: &[ProjectName],
) -> Result<Vec<Result<MoveRecord, TransferError>>, tokio_postgres::Error> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('cotenant_transfer.moves') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = projects.iter().map(ProjectName::as_str).collect();
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM cotenant_transfer.moves AS m WHERE project = ANY($1) ORDER BY project"
            ),
            &[&names],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let name: String = row.get("project");
            let project = projects.iter().find(|p| p.as_str() == name)?;
            Some(record(project.clone(), row))
        })
        .collect())
}

/// The columns [`record`] reads. A state table of an earlier version lacks the last three until
/// [`ensure_schema`] adds them: read as the defaults the columns get.
const COLUMNS: &str = "project, target, target_host, target_port, mechanism, step, aborting, \
     to_jsonb(m) ->> 'verification' AS verification, \
     coalesce(to_jsonb(m) ->> 'checksums', 'pending') AS checksums, \
     coalesce(ARRAY(SELECT jsonb_array_elements_text(to_jsonb(m) -> 'checksum_differences')), '{}') AS checksum_differences";

/// A row of `cotenant_transfer.moves` as a record.
fn record(project: ProjectName, row: &tokio_postgres::Row) -> Result<MoveRecord, TransferError> {
    let step: String = row.get("step");
    let mechanism: String = row.get("mechanism");
    let unknown = |step: String| TransferError::UnknownStep {
        project: project.clone(),
        step,
    };
    let port: i32 = row.get("target_port");
    Ok(MoveRecord {
        target: row.get("target"),
        target_host: row.get("target_host"),
        target_port: u16::try_from(port).unwrap_or_default(),
        mechanism: Mechanism::from_name(&mechanism).ok_or_else(|| unknown(mechanism))?,
        step: Step::from_name(&step).ok_or_else(|| unknown(step))?,
        aborting: row.get("aborting"),
        verification: match row.get::<_, Option<String>>("verification") {
            None => Verification::ChecksumsInFence,
            Some(name) => Verification::from_name(&name).ok_or_else(|| unknown(name))?,
        },
        checksums: {
            let name: String = row.get("checksums");
            Checksums::from_row(&name, row.get("checksum_differences"))
                .ok_or_else(|| unknown(name))?
        },
        project,
    })
}

pub(crate) async fn insert(
    client: &impl GenericClient,
    record: &MoveRecord,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO cotenant_transfer.moves \
             (project, target, target_host, target_port, mechanism, step, verification, checksums) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &record.project.as_str(),
                &record.target,
                &record.target_host,
                &i32::from(record.target_port),
                &record.mechanism.name(),
                &record.step.name(),
                &record.verification.name(),
                &record.checksums.name(),
            ],
        )
        .await
        .map(|_| ())
}

pub(crate) async fn set_step(
    client: &impl GenericClient,
    project: &ProjectName,
    step: Step,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE cotenant_transfer.moves SET step = $2, updated_at = now() WHERE project = $1",
            &[&project.as_str(), &step.name()],
        )
        .await
        .map(|_| ())
}

/// Records how the comparison of checksums stands.
pub(crate) async fn set_checksums(
    client: &impl GenericClient,
    project: &ProjectName,
    checksums: &Checksums,
) -> Result<(), tokio_postgres::Error> {
    let differences: &[String] = match checksums {
        Checksums::Differ(tables) => tables,
        _ => &[],
    };
    client
        .execute(
            "UPDATE cotenant_transfer.moves SET checksums = $2, checksum_differences = $3, \
             updated_at = now() WHERE project = $1",
            &[&project.as_str(), &checksums.name(), &differences],
        )
        .await
        .map(|_| ())
}

/// How long [`lock_run`] waits for a lock held by a run that is ending.
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Takes the session-level lock that one run of `project`'s move holds on the source for as
/// long as it runs (its admin connection, never pooled, closes at the end of the run: a killed
/// run's lock goes with its connection). `Err` carries the pid of the server process holding
/// it, when it is still visible.
pub(crate) async fn lock_run(
    client: &impl GenericClient,
    project: &ProjectName,
) -> Result<Result<(), Option<i32>>, tokio_postgres::Error> {
    let key = LockKey::transfer(project).as_i64();
    // A run that just ended dropped its connection, but its server process may not have exited
    // yet: a short grace before calling the lock busy, so runs one after the other never are.
    let started = std::time::Instant::now();
    loop {
        let taken: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await?
            .get(0);
        if taken {
            return Ok(Ok(()));
        }
        if started.elapsed() > LOCK_GRACE {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // A bigint key shows in pg_locks as its high half (classid) and low half (objid).
    let holder = client
        .query_opt(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted \
             AND ((classid::bigint << 32) | objid::bigint) = $1 LIMIT 1",
            &[&key],
        )
        .await?;
    Ok(Err(holder.and_then(|row| row.get(0))))
}

pub(crate) async fn set_aborting(
    client: &impl GenericClient,
    project: &ProjectName,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE cotenant_transfer.moves SET aborting = true, updated_at = now() WHERE project = $1",
            &[&project.as_str()],
        )
        .await
        .map(|_| ())
}

pub(crate) async fn delete(
    client: &impl GenericClient,
    project: &ProjectName,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "DELETE FROM cotenant_transfer.moves WHERE project = $1",
            &[&project.as_str()],
        )
        .await
        .map(|_| ())
}
