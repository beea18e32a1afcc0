//! Applying a Data API plan: one transaction under the project's advisory lock (and the
//! instance lock when it changes ACLs all projects share), verified before commit.

use tokio_postgres::{Client, GenericClient, Transaction};

use super::ApiError;
use super::declaration::Api;
use super::plan::{self, ApiPlan};
use super::state::ApiState;
use crate::ProjectName;
use crate::lock::LockKey;
use crate::platform::Access;

/// Reads the catalog and returns what converging `project`'s API roles to `api` would change,
/// changing nothing. `access` is the project's platform access: the API roles get its `auth`
/// and `extensions` as `<p>_app` does.
///
/// ```no_run
/// # async fn run(client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::api::{self, Api};
/// use cotenant::platform::Access;
///
/// let access = Access::default().with_auth(true);
/// let plan = api::plan(&client, &"reli".parse()?, &Api::enabled(), &access).await?;
/// print!("{}", plan.to_sql());
/// # Ok(()) }
/// ```
pub async fn plan(
    client: &impl GenericClient,
    project: &ProjectName,
    api: &Api,
    access: &Access,
) -> Result<ApiPlan, ApiError> {
    let state = ApiState::read(client, project, api.storage).await?;
    plan::compute(&state, project, api, access)
}

/// Converges `project`'s API roles to `api` in one transaction; returns the applied plan,
/// empty when nothing was needed. The project must be provisioned.
///
/// ```no_run
/// # async fn run(mut client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::api::{self, Api};
/// use cotenant::platform::Access;
///
/// let applied = api::apply(&mut client, &"reli".parse()?, &Api::none(), &Access::none()).await?;
/// println!("{applied}");
/// # Ok(()) }
/// ```
pub async fn apply(
    client: &mut Client,
    project: &ProjectName,
    api: &Api,
    access: &Access,
) -> Result<ApiPlan, ApiError> {
    let failed = |source| ApiError::Apply {
        project: project.clone(),
        source,
    };
    let tx = client.transaction().await.map_err(failed)?;
    LockKey::provision(project)
        .lock(&tx)
        .await
        .map_err(failed)?;
    let plan = apply_in(&tx, project, api, access).await?;
    if plan.is_empty() {
        tx.rollback().await.map_err(failed)?;
    } else {
        tx.commit().await.map_err(failed)?;
    }
    Ok(plan)
}

/// Converges `project`'s API roles inside the caller's transaction `tx`, which must hold the
/// project's provisioning lock: reads the catalog, takes the instance lock and reads again if
/// the plan changes shared ACLs, runs the plan and checks that nothing is left to do. The
/// caller commits. This is how provisioning creates the API roles in its own transaction.
pub async fn apply_in(
    tx: &Transaction<'_>,
    project: &ProjectName,
    api: &Api,
    access: &Access,
) -> Result<ApiPlan, ApiError> {
    let failed = |source| ApiError::Apply {
        project: project.clone(),
        source,
    };
    let mut state = ApiState::read(tx, project, api.storage).await?;
    if api.enabled && (state.owner_oid.is_none() || state.schema_oid.is_none()) {
        return Err(ApiError::NotProvisioned {
            project: project.clone(),
        });
    }
    let mut plan = plan::compute(&state, project, api, access)?;
    if plan.needs_instance_lock() {
        LockKey::instance().lock(tx).await.map_err(failed)?;
        state = ApiState::read(tx, project, api.storage).await?;
        plan = plan::compute(&state, project, api, access)?;
    }
    if plan.is_empty() {
        return Ok(plan);
    }
    let mut batch = String::new();
    if state.server_major >= 16 {
        // A server-wide createrole_self_grant would make the steward inherit the roles it
        // creates.
        batch.push_str("SET LOCAL createrole_self_grant = '';\n");
    }
    batch.push_str(&plan.sql());
    tx.batch_execute(&batch).await.map_err(failed)?;
    let after = ApiState::read(tx, project, api.storage).await?;
    let left = plan::compute(&after, project, api, access)?;
    if !left.is_empty() {
        return Err(ApiError::NotConverged {
            project: project.clone(),
            left: left.steps().map(|s| s.why().to_owned()).collect(),
        });
    }
    Ok(plan)
}
