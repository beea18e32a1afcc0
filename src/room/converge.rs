//! Applying a room's plan: one transaction under the project's advisory lock (and the
//! instance lock when the plan changes what all projects share), verified before commit.

use tokio_postgres::{Client, Transaction};

use super::RoomPlan;
use crate::ProjectName;
use crate::lock::LockKey;

/// One room's part of one project, as [`apply_in`] converges it: how to read its state, what
/// plan that state gives, and the room's errors.
pub(crate) trait Room {
    /// What the catalog says about the room's part of the project.
    type State;
    /// The room's public plan, a [`RoomPlan`] inside.
    type Plan: AsRef<RoomPlan>;
    /// The room's error.
    type Error;

    fn project(&self) -> &ProjectName;

    /// Reads the state inside the converging transaction.
    fn read(
        &self,
        tx: &Transaction<'_>,
    ) -> impl Future<Output = Result<Self::State, Self::Error>> + Send;

    /// Refuses a state that cannot be converged (the project is not provisioned).
    fn check(&self, state: &Self::State) -> Result<(), Self::Error>;

    /// What must change from `state`.
    fn plan(&self, state: &Self::State) -> Result<Self::Plan, Self::Error>;

    /// The error of a failed statement.
    fn failed(&self, source: tokio_postgres::Error) -> Self::Error;

    /// The error of a plan that left `left` (the reasons of the steps) to do.
    fn not_converged(&self, left: Vec<String>) -> Self::Error;
}

/// Converges `room` in one transaction of its own under the project's provisioning lock;
/// returns the applied plan, empty (and the transaction rolled back) when nothing was needed.
pub(crate) async fn apply<R: Room + Sync>(
    room: &R,
    client: &mut Client,
) -> Result<R::Plan, R::Error> {
    let tx = client.transaction().await.map_err(|e| room.failed(e))?;
    LockKey::provision(room.project())
        .lock(&tx)
        .await
        .map_err(|e| room.failed(e))?;
    let plan = apply_in(room, &tx).await?;
    if plan.as_ref().is_empty() {
        tx.rollback().await.map_err(|e| room.failed(e))?;
    } else {
        tx.commit().await.map_err(|e| room.failed(e))?;
    }
    Ok(plan)
}

/// Converges `room` inside the caller's transaction `tx`, which must hold the project's
/// provisioning lock: reads the catalog, takes the instance lock and reads again if the plan
/// changes what all projects share, runs the plan and checks that nothing is left to do. The
/// caller commits.
pub(crate) async fn apply_in<R: Room + Sync>(
    room: &R,
    tx: &Transaction<'_>,
) -> Result<R::Plan, R::Error> {
    let mut state = room.read(tx).await?;
    room.check(&state)?;
    let mut plan = room.plan(&state)?;
    if plan.as_ref().needs_instance_lock() {
        LockKey::instance()
            .lock(tx)
            .await
            .map_err(|e| room.failed(e))?;
        state = room.read(tx).await?;
        plan = room.plan(&state)?;
    }
    if plan.as_ref().is_empty() {
        return Ok(plan);
    }
    tx.batch_execute(&plan.as_ref().executable_sql())
        .await
        .map_err(|e| room.failed(e))?;
    let after = room.read(tx).await?;
    let left = room.plan(&after)?;
    if !left.as_ref().is_empty() {
        let left = left.as_ref().steps().map(|s| s.why().to_owned()).collect();
        return Err(room.not_converged(left));
    }
    Ok(plan)
}
