//! Applying a platform plan: one transaction under the project's advisory lock (and the
//! instance lock when the plan changes what all projects share), verified before commit.

use tokio_postgres::{Client, GenericClient, Transaction};

use super::PlatformError;
use super::declaration::Access;
use super::plan::{self, PlatformPlan};
use super::state::PlatformState;
use crate::ProjectName;
use crate::room::{self, Room};

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
    room::apply(&PlatformRoom::new(project, access, allowlist), client).await
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
    room::apply_in(&PlatformRoom::new(project, access, allowlist), tx).await
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

/// One project's platform access, as the shared apply converges it.
struct PlatformRoom<'a> {
    project: &'a ProjectName,
    access: &'a Access,
    allowlist: &'a [String],
}

impl<'a> PlatformRoom<'a> {
    fn new(project: &'a ProjectName, access: &'a Access, allowlist: &'a [String]) -> Self {
        Self {
            project,
            access,
            allowlist,
        }
    }
}

impl Room for PlatformRoom<'_> {
    type State = PlatformState;
    type Plan = PlatformPlan;
    type Error = PlatformError;

    fn project(&self) -> &ProjectName {
        self.project
    }

    async fn read(&self, tx: &Transaction<'_>) -> Result<PlatformState, PlatformError> {
        read(tx, self.project, self.access, self.allowlist).await
    }

    fn check(&self, state: &PlatformState) -> Result<(), PlatformError> {
        if self.access.any() && !state.owner_exists {
            return Err(PlatformError::NotProvisioned {
                project: self.project.clone(),
            });
        }
        Ok(())
    }

    fn plan(&self, state: &PlatformState) -> Result<PlatformPlan, PlatformError> {
        plan::compute(state, self.project, self.access, self.allowlist)
    }

    fn failed(&self, source: tokio_postgres::Error) -> PlatformError {
        PlatformError::Apply {
            project: self.project.clone(),
            source,
        }
    }

    fn not_converged(&self, left: Vec<String>) -> PlatformError {
        PlatformError::NotConverged {
            project: self.project.clone(),
            left,
        }
    }
}
