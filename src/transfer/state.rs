//! The durable state of moves: one row per project in `cotenant_transfer.moves` on the source.

use tokio_postgres::{Client, GenericClient};

use super::{Mechanism, Step, TransferError};
use crate::ProjectName;

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
            "SELECT project, target, target_host, target_port, mechanism, step, aborting \
             FROM cotenant_transfer.moves WHERE project = $1",
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
            "SELECT project, target, target_host, target_port, mechanism, step, aborting \
             FROM cotenant_transfer.moves WHERE project = ANY($1) ORDER BY project",
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
             (project, target, target_host, target_port, mechanism, step) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &record.project.as_str(),
                &record.target,
                &record.target_host,
                &i32::from(record.target_port),
                &record.mechanism.name(),
                &record.step.name(),
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
