//! Applying a plan: one transaction under the project's advisory lock, verified before commit.

use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::{Client, Transaction};

use super::ProvisionError;
use super::plan::{self, PasswordResets, Plan};
use super::settings::ProjectSettings;
use super::state::ProjectState;
use super::steward;
use crate::ProjectName;
use crate::lock::LockKey;
use crate::secret::Login;

/// The passwords of a project's two logins, as the secret store holds them.
pub struct LoginPasswords {
    /// The password of `<p>_login`.
    pub app: SecretString,
    /// The password of `<p>_migrator`.
    pub migrator: SecretString,
}

impl std::fmt::Debug for LoginPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginPasswords { app: [redacted], migrator: [redacted] }")
    }
}

/// Reads the catalog and returns what provisioning `project` would change, changing nothing.
///
/// ```no_run
/// # async fn run(client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::provision::{self, ProjectSettings};
///
/// let plan = provision::plan(&client, &"reli".parse()?, &ProjectSettings::default()).await?;
/// print!("{}", plan.to_sql());
/// # Ok(()) }
/// ```
pub async fn plan(
    client: &Client,
    project: &ProjectName,
    settings: &ProjectSettings,
) -> Result<Plan, ProvisionError> {
    let state = read(client, project).await?;
    Ok(plan::compute(
        &state,
        project,
        settings,
        PasswordResets::default(),
    ))
}

/// Brings `project` to the role model on the instance behind `client`, in one transaction.
///
/// Takes the project's transaction-level advisory lock (so runs for the same project wait for
/// each other and runs for different projects proceed in parallel), reads the catalog, applies
/// the plan, reads the catalog again and commits only if nothing is left to do. An error rolls
/// everything back. Returns the plan that was applied — empty when nothing was needed.
pub async fn apply(
    client: &mut Client,
    project: &ProjectName,
    settings: &ProjectSettings,
    passwords: &LoginPasswords,
    resets: PasswordResets,
) -> Result<Plan, ProvisionError> {
    let failed = |source| ProvisionError::Apply {
        project: project.clone(),
        source,
    };
    // SCRAM verifiers take 4096 PBKDF2 rounds each: computed on blocking threads while the
    // catalog is read, so they cost no latency. Only the verifier reaches the server.
    let app_verifier = scram_verifier(&passwords.app);
    let migrator_verifier = scram_verifier(&passwords.migrator);
    let tx = client.transaction().await.map_err(failed)?;
    lock(&tx, LockKey::provision(project))
        .await
        .map_err(failed)?;
    let mut state = read(&tx, project).await?;
    let mut plan = plan::compute(&state, project, settings, resets);
    if plan.needs_instance_lock_first() {
        lock(&tx, LockKey::instance()).await.map_err(failed)?;
        state = read(&tx, project).await?;
        plan = plan::compute(&state, project, settings, resets);
    }
    if plan.is_empty() {
        tx.rollback().await.map_err(failed)?;
        return Ok(plan);
    }
    if state.has_grant_options() {
        // A server-wide createrole_self_grant would make the steward inherit every project's
        // roles it creates: this transaction creates roles with ADMIN for the steward only.
        tx.batch_execute("SET LOCAL createrole_self_grant = ''")
            .await
            .map_err(failed)?;
    }
    let (app, migrator) = (app_verifier.await, migrator_verifier.await);
    let verifier = |login: Login| match login {
        Login::App => app.clone(),
        Login::Migrator => migrator.clone(),
    };
    tx.batch_execute(&plan.project_sql(verifier))
        .await
        .map_err(failed)?;
    if plan.has_instance_steps() {
        lock(&tx, LockKey::instance()).await.map_err(failed)?;
        tx.batch_execute(&plan.instance_sql())
            .await
            .map_err(failed)?;
    }
    let after = read(&tx, project).await?;
    let left = plan::compute(&after, project, settings, PasswordResets::default());
    if !left.is_empty() {
        tx.rollback().await.map_err(failed)?;
        return Err(ProvisionError::NotConverged {
            project: project.clone(),
            left: left.steps().map(|s| s.why().to_owned()).collect(),
        });
    }
    tx.commit().await.map_err(failed)?;
    Ok(plan)
}

/// Computes the SCRAM-SHA-256 verifier of `password` on a blocking thread.
fn scram_verifier(password: &SecretString) -> impl Future<Output = String> + use<> {
    let password = password.clone();
    let task = tokio::task::spawn_blocking(move || {
        postgres_protocol::password::scram_sha_256(password.expose_secret().as_bytes())
    });
    async move {
        task.await
            .expect("computing a SCRAM verifier does not panic")
    }
}

async fn lock(tx: &Transaction<'_>, key: LockKey) -> Result<(), tokio_postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key.as_i64()])
        .await
        .map(drop)
}

async fn read(
    client: &impl tokio_postgres::GenericClient,
    project: &ProjectName,
) -> Result<ProjectState, ProvisionError> {
    ProjectState::read(client, project, &steward::for_project(project)).await
}
