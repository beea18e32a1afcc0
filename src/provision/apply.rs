//! Applying a plan: one transaction under the project's advisory lock, verified before commit.

use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::{Client, Transaction};

use super::ProvisionError;
use super::plan::{self, PasswordResets, Plan};
use super::settings::ProjectSettings;
use super::state::ProjectState;
use super::steward;
use super::users::LoginUsers;
use crate::ProjectName;
use crate::api::Api;
use crate::lock::LockKey;
use crate::platform::Access;
use crate::secret::Login;

/// The credentials of a project's two logins, as the secret store holds them.
pub struct LoginPasswords {
    /// The password of the app login's credential.
    pub app: SecretString,
    /// The password of the migrator's credential.
    pub migrator: SecretString,
    /// Which user each password belongs to: the primary logins (`<p>_login`, `<p>_migrator`)
    /// unless a rotation with alternating users moved a credential to a twin.
    pub users: LoginUsers,
}

impl LoginPasswords {
    /// The passwords of `<p>_login` and `<p>_migrator`.
    pub fn new(app: impl Into<SecretString>, migrator: impl Into<SecretString>) -> Self {
        Self {
            app: app.into(),
            migrator: migrator.into(),
            users: LoginUsers::default(),
        }
    }
}

impl std::fmt::Debug for LoginPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginPasswords")
            .field("app", &"[redacted]")
            .field("migrator", &"[redacted]")
            .field("users", &self.users)
            .finish()
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
    plan_with(
        client,
        project,
        settings,
        PasswordResets::default(),
        LoginUsers::default(),
    )
    .await
}

/// [`plan`] with the given password resets and credential holders: what a rotation shows.
pub(crate) async fn plan_with(
    client: &Client,
    project: &ProjectName,
    settings: &ProjectSettings,
    resets: PasswordResets,
    users: LoginUsers,
) -> Result<Plan, ProvisionError> {
    let state = read(client, project).await?;
    Ok(plan::compute(&state, project, settings, resets, users))
}

/// The limits `project`'s logins have on the instance now, or `None` if its login does not
/// exist (the project is not provisioned): what a rotation keeps.
pub(crate) async fn current_settings(
    client: &Client,
    project: &ProjectName,
) -> Result<Option<ProjectSettings>, ProvisionError> {
    let state = read(client, project).await?;
    let roles = project.roles();
    let Some(login) = state.role(&roles.login) else {
        return Ok(None);
    };
    Ok(Some(ProjectSettings::of_roles(
        Some(login),
        state.role(&roles.migrator),
    )))
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
    apply_with_platform(client, project, settings, passwords, resets, None).await
}

/// [`apply`], then converging the project's platform access to `platform` (the access and the
/// extension allowlist) in the same transaction: one transaction for all of provisioning.
/// `None` is [`apply`]. The returned plan's [`platform`](Plan::platform) part is what platform
/// access changed.
///
/// ```no_run
/// # async fn run(mut client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::platform::Access;
/// use cotenant::provision::{self, LoginPasswords, PasswordResets, ProjectSettings};
///
/// let access = Access::default().with_auth(true);
/// let passwords = LoginPasswords::new("app-password", "migrator-password");
/// provision::apply_with_platform(
///     &mut client,
///     &"reli".parse()?,
///     &ProjectSettings::default(),
///     &passwords,
///     PasswordResets::default(),
///     Some((&access, &[])),
/// )
/// .await?;
/// # Ok(()) }
/// ```
pub async fn apply_with_platform(
    client: &mut Client,
    project: &ProjectName,
    settings: &ProjectSettings,
    passwords: &LoginPasswords,
    resets: PasswordResets,
    platform: Option<(&Access, &[String])>,
) -> Result<Plan, ProvisionError> {
    apply_with_api(client, project, settings, passwords, resets, platform, None).await
}

/// [`apply_with_platform`], then converging the project's Data API roles to `api` in the same
/// transaction (after platform access: the API roles get its `auth` and `extensions`). `None`
/// leaves API roles alone. The returned plan's [`api`](Plan::api) part is what that changed.
///
/// ```no_run
/// # async fn run(mut client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::api::Api;
/// use cotenant::platform::Access;
/// use cotenant::provision::{self, LoginPasswords, PasswordResets, ProjectSettings};
///
/// let access = Access::default().with_auth(true);
/// let passwords = LoginPasswords::new("app-password", "migrator-password");
/// provision::apply_with_api(
///     &mut client,
///     &"reli".parse()?,
///     &ProjectSettings::default(),
///     &passwords,
///     PasswordResets::default(),
///     Some((&access, &[])),
///     Some(&Api::enabled()),
/// )
/// .await?;
/// # Ok(()) }
/// ```
pub async fn apply_with_api(
    client: &mut Client,
    project: &ProjectName,
    settings: &ProjectSettings,
    passwords: &LoginPasswords,
    resets: PasswordResets,
    platform: Option<(&Access, &[String])>,
    api: Option<&Api>,
) -> Result<Plan, ProvisionError> {
    let failed = |source| ProvisionError::Apply {
        project: project.clone(),
        source,
    };
    // SCRAM verifiers take 4096 PBKDF2 rounds each: computed on blocking threads while the
    // catalog is read, so they cost no latency. Only the verifier reaches the server.
    let steward = steward::for_project(project);
    let app_verifier = scram_verifier(&passwords.app);
    let migrator_verifier = scram_verifier(&passwords.migrator);
    let tx = client.transaction().await.map_err(failed)?;
    lock(&tx, LockKey::provision(project))
        .await
        .map_err(failed)?;
    lock(&tx, LockKey::sub_steward(project))
        .await
        .map_err(failed)?;
    let read = |tx| ProjectState::read(tx, project, &steward);
    let mut state = read(&tx).await?;
    let users = passwords.users;
    let mut plan = plan::compute(&state, project, settings, resets, users);
    if plan.needs_instance_lock_first() {
        lock(&tx, LockKey::instance()).await.map_err(failed)?;
        state = read(&tx).await?;
        plan = plan::compute(&state, project, settings, resets, users);
    }
    if !plan.is_empty() {
        run(
            &tx,
            project,
            settings,
            &state,
            &plan,
            users,
            app_verifier,
            migrator_verifier,
        )
        .await?;
    }
    if let Some((access, allowlist)) = platform {
        let platform = crate::platform::apply_in(&tx, project, access, allowlist).await?;
        plan = plan.with_platform(platform);
    }
    if let Some(api) = api {
        let access = platform.map(|(a, _)| a.clone()).unwrap_or_default();
        let api = crate::api::apply_in(&tx, project, api, &access).await?;
        plan = plan.with_api(api);
    }
    if plan.is_empty() {
        tx.rollback().await.map_err(failed)?;
    } else {
        tx.commit().await.map_err(failed)?;
    }
    Ok(plan)
}

/// Runs provisioning's non-empty `plan` in `tx` and checks that nothing is left to do.
#[allow(clippy::too_many_arguments)]
async fn run(
    tx: &Transaction<'_>,
    project: &ProjectName,
    settings: &ProjectSettings,
    state: &ProjectState,
    plan: &Plan,
    users: LoginUsers,
    app_verifier: impl Future<Output = String>,
    migrator_verifier: impl Future<Output = String>,
) -> Result<(), ProvisionError> {
    let failed = |source| ProvisionError::Apply {
        project: project.clone(),
        source,
    };
    let steward = steward::for_project(project);
    let mut batch = String::new();
    if state.has_grant_options() {
        // A server-wide createrole_self_grant would make the steward inherit every project's
        // roles it creates: this transaction creates roles with ADMIN for the steward only.
        batch.push_str("SET LOCAL createrole_self_grant = '';\n");
    }
    let (app, migrator) = (app_verifier.await, migrator_verifier.await);
    let verifier = |login: Login| match login {
        Login::App => app.clone(),
        Login::Migrator => migrator.clone(),
    };
    batch.push_str(&plan.project_sql(verifier));
    if plan.has_instance_steps() {
        batch.push_str(&lock_sql(LockKey::instance()));
        batch.push_str(&plan.instance_sql());
    }
    // One round trip: a multi-statement query runs in the transaction, and its first error
    // aborts it.
    tx.batch_execute(&batch).await.map_err(failed)?;
    let after = ProjectState::read(tx, project, &steward).await?;
    let left = plan::compute(&after, project, settings, PasswordResets::default(), users);
    if !left.is_empty() {
        return Err(ProvisionError::NotConverged {
            project: project.clone(),
            left: left.steps().map(|s| s.why().to_owned()).collect(),
        });
    }
    Ok(())
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

/// Takes `key`'s transaction-level advisory lock, waiting for it.
async fn lock(tx: &Transaction<'_>, key: LockKey) -> Result<(), tokio_postgres::Error> {
    tx.batch_execute(&lock_sql(key)).await
}

/// The statement taking `key`'s lock: a simple query, one round trip.
fn lock_sql(key: LockKey) -> String {
    format!("SELECT pg_advisory_xact_lock({});\n", key.as_i64())
}

async fn read(
    client: &impl tokio_postgres::GenericClient,
    project: &ProjectName,
) -> Result<ProjectState, ProvisionError> {
    ProjectState::read(client, project, &steward::for_project(project)).await
}
