//! Applying a platform plan: one transaction under the project's advisory lock (and the
//! instance lock when the plan changes what all projects share), verified before commit.

use tokio_postgres::{Client, GenericClient, Transaction};

use super::PlatformError;
use super::declaration::Access;
use super::plan::{self, PlatformPlan};
use super::state::PlatformState;
use crate::ProjectName;
use crate::lock::LockKey;

/// Reads the catalog and returns what converging `project`'s platform access to `access`
/// would change, changing nothing. `allowlist` is the instance's `[platform.allow] extensions`.
///
/// ```no_run
/// # async fn run(client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::platform::{self, Access};
///
/// let access = Access::default().with_auth(true);
/// let plan = platform::plan(&client, &"reli".parse()?, &access, &[]).await?;
/// print!("{}", plan.to_sql());
/// # Ok(()) }
/// ```
pub async fn plan(
    client: &impl GenericClient,
    project: &ProjectName,
    access: &Access,
    allowlist: &[String],
) -> Result<PlatformPlan, PlatformError> {
    let state = read(client, project, access, allowlist).await?;
    plan::compute(&state, project, access, allowlist)
}

/// Converges `project`'s platform access to `access` in one transaction; returns the applied
/// plan, empty when nothing was needed. The project must be provisioned.
///
/// ```no_run
/// # async fn run(mut client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::platform::{self, Access};
///
/// let access = Access::default().with_auth(true).with_extensions(true);
/// let applied = platform::apply(&mut client, &"reli".parse()?, &access, &[]).await?;
/// println!("{applied}");
/// # Ok(()) }
/// ```
pub async fn apply(
    client: &mut Client,
    project: &ProjectName,
    access: &Access,
    allowlist: &[String],
) -> Result<PlatformPlan, PlatformError> {
    let failed = |source| PlatformError::Apply {
        project: project.clone(),
        source,
    };
    let tx = client.transaction().await.map_err(failed)?;
    LockKey::provision(project)
        .lock(&tx)
        .await
        .map_err(failed)?;
    let plan = apply_in(&tx, project, access, allowlist).await?;
    if plan.is_empty() {
        tx.rollback().await.map_err(failed)?;
    } else {
        tx.commit().await.map_err(failed)?;
    }
    Ok(plan)
}

/// Converges `project`'s platform access inside the caller's transaction `tx`, which must
/// hold the project's provisioning lock (provisioning and relocation do): reads the catalog,
/// takes the instance lock and reads again if the plan changes what all projects share, runs
/// the plan and checks that nothing is left to do. The caller commits. This is how
/// provisioning converges platform access in its own transaction, and how relocation turns a
/// trigger function on `auth.users` into the project's signup hook in its.
pub async fn apply_in(
    tx: &Transaction<'_>,
    project: &ProjectName,
    access: &Access,
    allowlist: &[String],
) -> Result<PlatformPlan, PlatformError> {
    let failed = |source| PlatformError::Apply {
        project: project.clone(),
        source,
    };
    let mut state = read(tx, project, access, allowlist).await?;
    if access.any() && !state.owner_exists {
        return Err(PlatformError::NotProvisioned {
            project: project.clone(),
        });
    }
    let mut plan = plan::compute(&state, project, access, allowlist)?;
    if plan.needs_instance_lock() {
        LockKey::instance().lock(tx).await.map_err(failed)?;
        state = read(tx, project, access, allowlist).await?;
        plan = plan::compute(&state, project, access, allowlist)?;
    }
    if plan.is_empty() {
        return Ok(plan);
    }
    tx.batch_execute(&plan.sql()).await.map_err(failed)?;
    let after = read(tx, project, access, allowlist).await?;
    let left = plan::compute(&after, project, access, allowlist)?;
    if !left.is_empty() {
        return Err(PlatformError::NotConverged {
            project: project.clone(),
            left: left.steps().map(|s| s.why().to_owned()).collect(),
        });
    }
    Ok(plan)
}

async fn read(
    client: &impl GenericClient,
    project: &ProjectName,
    access: &Access,
    allowlist: &[String],
) -> Result<PlatformState, PlatformError> {
    PlatformState::read(
        client,
        project,
        access.signup_hook.as_deref(),
        &access.realtime,
        allowlist,
    )
    .await
}
