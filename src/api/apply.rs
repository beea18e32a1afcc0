//! Applying a Data API plan: one transaction under the project's advisory lock (and the
//! instance lock when it changes ACLs all projects share), verified before commit.

use tokio_postgres::{Client, GenericClient, Transaction};

use super::ApiError;
use super::declaration::Api;
use super::plan::{self, ApiPlan};
use super::state::ApiState;
use crate::ProjectName;
use crate::platform::Access;
use crate::room::{self, Room};

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
    room::apply(&ApiRoom::new(project, api, access), client).await
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
    room::apply_in(&ApiRoom::new(project, api, access), tx).await
}

/// One project's Data API roles, as the shared apply converges them.
struct ApiRoom<'a> {
    project: &'a ProjectName,
    api: &'a Api,
    access: &'a Access,
}

impl<'a> ApiRoom<'a> {
    fn new(project: &'a ProjectName, api: &'a Api, access: &'a Access) -> Self {
        Self {
            project,
            api,
            access,
        }
    }
}

impl Room for ApiRoom<'_> {
    type State = ApiState;
    type Plan = ApiPlan;
    type Error = ApiError;

    fn project(&self) -> &ProjectName {
        self.project
    }

    async fn read(&self, tx: &Transaction<'_>) -> Result<ApiState, ApiError> {
        ApiState::read(tx, self.project, self.api.storage).await
    }

    fn check(&self, state: &ApiState) -> Result<(), ApiError> {
        if self.api.enabled && (state.owner_oid.is_none() || state.schema_oid.is_none()) {
            return Err(ApiError::NotProvisioned {
                project: self.project.clone(),
            });
        }
        Ok(())
    }

    fn plan(&self, state: &ApiState) -> Result<ApiPlan, ApiError> {
        plan::compute(state, self.project, self.api, self.access)
    }

    fn failed(&self, source: tokio_postgres::Error) -> ApiError {
        ApiError::Apply {
            project: self.project.clone(),
            source,
        }
    }

    fn not_converged(&self, left: Vec<String>) -> ApiError {
        ApiError::NotConverged {
            project: self.project.clone(),
            left,
        }
    }
}
