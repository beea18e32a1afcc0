//! Environments: a configured instance, its admin credential and its projects' secrets, and
//! [`Cotenant`], which runs each operation over all environments, staging first.

use std::sync::Arc;

use rand::distr::{Alphanumeric, SampleString};
use secrecy::SecretString;
use tokio_postgres::Client;

use crate::ProjectName;
use crate::api::{self, Api, ApiConfig, ApiError, ApiPlan};
use crate::audit;
use crate::config::{Config, ConfigError, EnvironmentConfig};
use crate::connect::{ConnectError, Endpoint};
use crate::placement::PlacementConfig;
use crate::platform::{self, Access, PlatformConfig, PlatformError, PlatformPlan};
use crate::provision::{
    self, DropObjects, LoginPasswords, LoginUser, LoginUsers, PasswordResets, Plan,
    ProjectSettings, ProvisionError,
};
use crate::secret::{DbSecret, Login, SecretError, SecretNaming, SecretSource};
use crate::usage;

mod routing;

/// The length of generated login passwords: 32 alphanumeric characters, about 190 bits.
const PASSWORD_LEN: usize = 32;

/// One configured environment (an instance shared by many projects) and the secret store
/// that holds its credentials.
#[derive(Debug, Clone)]
pub struct Environment {
    config: EnvironmentConfig,
    naming: SecretNaming,
    secrets: Arc<dyn SecretSource>,
    platform: Arc<PlatformConfig>,
    api: Arc<ApiConfig>,
    /// True once the instance it is seen on was chosen (by [`Environment::on`] or a route):
    /// routing leaves it there.
    pinned: bool,
    placement: Arc<PlacementConfig>,
}

impl Environment {
    /// An environment reached as `config` says, with credentials in `secrets`, named by `naming`.
    pub fn new(
        config: EnvironmentConfig,
        naming: SecretNaming,
        secrets: Arc<dyn SecretSource>,
    ) -> Self {
        Self {
            config,
            naming,
            secrets,
            platform: Arc::default(),
            api: Arc::default(),
            pinned: false,
            placement: Arc::default(),
        }
    }

    /// With `api` as the Data API roles that provisioning converges here (the configuration's
    /// `[projects.<p>.api]`; none by default).
    pub fn with_api(mut self, api: Arc<ApiConfig>) -> Self {
        self.api = api;
        self
    }

    /// The Data API declared for `project`.
    pub fn api_of(&self, project: &ProjectName) -> Api {
        self.api.api_of(project)
    }

    /// What converging `project`'s Data API roles here would change, changing nothing.
    pub async fn plan_api(&self, project: &ProjectName) -> Result<ApiPlan, ApiError> {
        let routed = self.routed_for(project).await?;
        let client = routed.connect_admin().await?;
        api::plan(
            &client,
            project,
            &self.api_of(project),
            &self.platform_access(project),
        )
        .await
    }

    /// With `platform` as the platform access that provisioning converges here (the
    /// configuration's `[platform]`; none by default).
    pub fn with_platform(mut self, platform: Arc<PlatformConfig>) -> Self {
        self.platform = platform;
        self
    }

    /// The platform access declared for this environment's projects.
    pub fn platform_config(&self) -> &PlatformConfig {
        &self.platform
    }

    /// The effective platform access of `project` here: the default merged with its override.
    pub fn platform_access(&self, project: &ProjectName) -> Access {
        self.platform.access_of(project)
    }

    /// The instance's extension allowlist.
    pub(crate) fn platform_allowlist(&self) -> &[String] {
        self.platform.allowed_extensions()
    }

    /// What converging `project`'s platform access here would change, changing nothing.
    pub async fn plan_platform(
        &self,
        project: &ProjectName,
    ) -> Result<PlatformPlan, PlatformError> {
        let routed = self.routed_for(project).await?;
        let client = routed.connect_admin().await?;
        let access = self.platform_access(project);
        platform::plan(
            &client,
            project,
            &access,
            self.platform.allowed_extensions(),
        )
        .await
    }

    /// Converges `project`'s platform access here in one transaction (without the rest of
    /// provisioning: the project must be provisioned).
    pub async fn apply_platform(
        &self,
        project: &ProjectName,
    ) -> Result<PlatformPlan, PlatformError> {
        let routed = self.routed_for_change(project).await?;
        let mut client = routed.connect_admin().await?;
        let access = self.platform_access(project);
        platform::apply(
            &mut client,
            project,
            &access,
            self.platform.allowed_extensions(),
        )
        .await
    }

    /// The environment's name, e.g. `staging`.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// How the environment is reached.
    pub fn config(&self) -> &EnvironmentConfig {
        &self.config
    }

    /// The secret store.
    pub fn secrets(&self) -> &Arc<dyn SecretSource> {
        &self.secrets
    }

    pub(crate) fn endpoint(&self) -> Endpoint {
        Endpoint {
            host: self.config.host.clone(),
            port: self.config.port,
            database: self.config.database.clone(),
            tls: self.config.tls,
            ca_file: self.config.ca_file.clone(),
        }
    }

    /// Connects as the admin, with the password from the environment's admin secret.
    pub async fn connect_admin(&self) -> Result<Client, ConnectError> {
        let secret = self
            .secrets
            .get_current(&self.config.admin_secret)
            .await
            .map_err(|source| ConnectError::Secret {
                environment: self.name().to_owned(),
                source,
            })?;
        self.endpoint().connect(&secret, "cotenant").await
    }

    /// Connects as one of `project`'s logins with the password from its secret.
    pub async fn connect_login(
        &self,
        project: &ProjectName,
        login: Login,
    ) -> Result<Client, ConnectError> {
        if !self.is_routed() {
            return Box::pin(
                self.routed_for(project)
                    .await?
                    .connect_login(project, login),
            )
            .await;
        }
        let secret =
            self.login_secret(project, login)
                .await
                .map_err(|source| ConnectError::Secret {
                    environment: self.name().to_owned(),
                    source,
                })?;
        self.endpoint().connect(&secret, project.as_str()).await
    }

    /// The id of the secret of `project`'s `login` on this environment.
    pub fn secret_id(&self, project: &ProjectName, login: Login) -> String {
        self.naming.secret_id(self.name(), project.as_str(), login)
    }

    /// The current credential of `project`'s `login`.
    pub async fn login_secret(
        &self,
        project: &ProjectName,
        login: Login,
    ) -> Result<DbSecret, SecretError> {
        self.secrets
            .get_current(&self.secret_id(project, login))
            .await
    }

    /// What provisioning `project` here would change, changing nothing.
    pub async fn plan(
        &self,
        project: &ProjectName,
        settings: &ProjectSettings,
    ) -> Result<Plan, ProvisionError> {
        if !self.is_routed() {
            return Box::pin(self.routed_for(project).await?.plan(project, settings)).await;
        }
        let client = self.connect_admin().await?;
        let plan = provision::plan(&client, project, settings).await?;
        let access = self.platform_access(project);
        let platform = platform::plan(
            &client,
            project,
            &access,
            self.platform.allowed_extensions(),
        )
        .await?;
        let api = api::plan(&client, project, &self.api_of(project), &access).await?;
        Ok(plan.with_platform(platform).with_api(api))
    }

    /// Provisions `project` here: its logins' secrets are created if missing (existing ones
    /// are kept), then the plan is applied in one transaction. A login whose secret's password
    /// no longer authenticates gets that password again. Returns the applied plan.
    pub async fn provision(
        &self,
        project: &ProjectName,
        settings: &ProjectSettings,
    ) -> Result<Plan, ProvisionError> {
        if !self.is_routed() {
            return Box::pin(
                self.routed_for_change(project)
                    .await?
                    .provision(project, settings),
            )
            .await;
        }
        let (app, app_user) = self.ensure_secret(project, Login::App).await?;
        let (migrator, migrator_user) = self.ensure_secret(project, Login::Migrator).await?;
        let passwords = LoginPasswords {
            app,
            migrator,
            users: LoginUsers {
                app: app_user,
                migrator: migrator_user,
            },
        };
        let mut client = self.connect_admin().await?;
        let before = provision::plan(&client, project, settings).await?;
        let created = before.sets_passwords();
        let mut resets = PasswordResets::default();
        for login in Login::ALL {
            if !created.contains(&login) && self.password_is_stale(project, login).await {
                match login {
                    Login::App => resets.app = true,
                    Login::Migrator => resets.migrator = true,
                }
            }
        }
        let access = self.platform_access(project);
        provision::apply_with_api(
            &mut client,
            project,
            settings,
            &passwords,
            resets,
            Some((&access, self.platform.allowed_extensions())),
            Some(&self.api_of(project)),
        )
        .await
    }

    /// The password of `login`'s secret and the user it names, after creating the secret with a
    /// new password for the primary user if it did not exist. Never overwrites: a secret created
    /// concurrently wins and is read back.
    async fn ensure_secret(
        &self,
        project: &ProjectName,
        login: Login,
    ) -> Result<(SecretString, LoginUser), ProvisionError> {
        let id = self.secret_id(project, login);
        let username = role_of(project, login);
        let secret = match self.secrets.get_current(&id).await {
            Ok(secret) => secret,
            Err(SecretError::NotFound { .. }) => {
                let password = Alphanumeric.sample_string(&mut rand::rng(), PASSWORD_LEN);
                let secret = DbSecret::new(
                    self.config.host.clone(),
                    self.config.port,
                    username.clone(),
                    SecretString::from(password),
                    self.config.database.clone(),
                );
                match self.secrets.create(&id, &secret).await {
                    Ok(_version) => secret,
                    Err(SecretError::AlreadyExists { .. }) => self.secrets.get_current(&id).await?,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(SecretError::StageNotFound { .. }) => self.read_concurrent_secret(&id).await?,
            Err(e) => return Err(e.into()),
        };
        match LoginUser::of(project, login, &secret.username) {
            Some(user) => Ok((secret.password, user)),
            None => Err(ProvisionError::SecretMismatch {
                id,
                found: secret.username,
                expected: username,
            }),
        }
    }

    /// Reads a secret another run just created. Secrets Manager is eventually consistent: the
    /// secret can exist a moment before its first version is labelled AWSCURRENT.
    async fn read_concurrent_secret(&self, id: &str) -> Result<DbSecret, SecretError> {
        let mut attempt = 1;
        loop {
            match self.secrets.get_current(id).await {
                Err(SecretError::StageNotFound { .. }) if attempt < 10 => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Whether `login` exists but its secret's password is refused by the server.
    async fn password_is_stale(&self, project: &ProjectName, login: Login) -> bool {
        match self.connect_login(project, login).await {
            Ok(_) => false,
            Err(e) => e.code() == Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD),
        }
    }

    /// Audits this environment for the projects of `scope` (see [`audit::audit`]): reads the
    /// catalog as the admin, changes nothing. Every instance is read, unless this value is seen
    /// on a chosen one ([`on`](Self::on)); the reports are merged.
    ///
    /// ```no_run
    /// # async fn run(env: &cotenant::Environment) -> Result<(), cotenant::audit::AuditError> {
    /// let report = env.audit(&cotenant::audit::Scope::all()).await?;
    /// println!("{}: {} error(s)", env.name(), report.errors());
    /// # Ok(()) }
    /// ```
    pub async fn audit(
        &self,
        scope: &audit::Scope,
    ) -> Result<audit::AuditReport, audit::AuditError> {
        let instances = self.instances_to_read();
        // Each named project is audited on the instance that has it (the first when none has it,
        // to report it missing once).
        let survey = self.survey_if(instances.len() > 1).await?;
        let mut merged: Option<audit::AuditReport> = None;
        for (i, on) in instances.iter().enumerate() {
            let client = on.connect_admin().await?;
            let scope = match &survey {
                None => scope.clone(),
                Some(survey) => scope.narrowed_to(|p| {
                    let found = survey.found(p);
                    found.contains(&on.instance()) || (found.is_empty() && i == 0)
                }),
            };
            let report = audit::audit(&client, &scope).await?;
            match &mut merged {
                None => merged = Some(report),
                Some(all) => {
                    all.projects.extend(report.projects);
                    all.findings.extend(report.findings);
                }
            }
        }
        let mut report = merged.expect("an environment has an instance");
        report.projects.sort();
        Ok(report)
    }

    /// What `projects` (every project when empty) use of this environment now (see
    /// [`usage::usage`]), on every instance unless this value is seen on a chosen one.
    pub async fn usage(
        &self,
        projects: &[ProjectName],
    ) -> Result<usage::UsageReport, usage::UsageError> {
        let instances = self.instances_to_read();
        let survey = self
            .survey_if(instances.len() > 1 && !projects.is_empty())
            .await?;
        let mut merged: Option<usage::UsageReport> = None;
        for on in &instances {
            let client = on.connect_admin().await?;
            let here: Vec<ProjectName> = match &survey {
                None => projects.to_vec(),
                Some(survey) => projects
                    .iter()
                    .filter(|p| survey.found(p).contains(&on.instance()))
                    .cloned()
                    .collect(),
            };
            if survey.is_some() && here.is_empty() {
                continue;
            }
            let report = usage::usage(&client, &here).await?;
            match &mut merged {
                None => merged = Some(report),
                Some(all) => {
                    all.projects.extend(report.projects);
                    all.statements = all.statements.take().or(report.statements);
                }
            }
        }
        Ok(merged.unwrap_or_else(|| usage::UsageReport {
            projects: Vec::new(),
            statements: None,
        }))
    }

    /// Drops `project` here (see [`provision::deprovision`]), then deletes its secrets.
    pub async fn deprovision(
        &self,
        project: &ProjectName,
        drop_objects: &DropObjects,
    ) -> Result<Plan, ProvisionError> {
        if !self.is_routed() {
            return Box::pin(
                self.routed_for_change(project)
                    .await?
                    .deprovision(project, drop_objects),
            )
            .await;
        }
        let mut client = self.connect_admin().await?;
        // Platform access first (its grants, its hook out of the dispatcher), in its own
        // transaction: interrupted after it, the project is still there without platform
        // access, and deprovisioning again finishes the job.
        let removed = platform::apply(&mut client, project, &Access::none(), &[]).await?;
        let plan = provision::deprovision(&mut client, project, drop_objects).await?;
        // The API roles last, in a transaction of their own: once the schema is gone, no policy
        // names them and nothing of the project's is granted to them.
        let api = api::apply(&mut client, project, &Api::none(), &Access::none()).await?;
        let plan = plan.with_platform(removed).with_api(api);
        for login in Login::ALL {
            self.secrets.delete(&self.secret_id(project, login)).await?;
        }
        Ok(plan)
    }
}

fn role_of(project: &ProjectName, login: Login) -> String {
    let roles = project.roles();
    match login {
        Login::App => roles.login,
        Login::Migrator => roles.migrator,
    }
}

/// Every configured environment, in promotion order: what the CLI and scripts drive.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::{Cotenant, config::Config, provision::ProjectSettings};
///
/// let cotenant = Cotenant::open(Config::load("cotenant.toml")?).await?;
/// let reli = "reli".parse()?;
/// for (environment, plan) in cotenant.provision(&reli, &ProjectSettings::default()).await? {
///     println!("{environment}: {} statement(s)", plan.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cotenant {
    environments: Vec<Environment>,
    /// Every configured environment, whatever [`Cotenant::select`] kept: placement decides on
    /// prod and mirrors it.
    fleet: Vec<Environment>,
    placement: Arc<PlacementConfig>,
}

impl Cotenant {
    /// Opens the configured secret store and the environments of `config`.
    pub async fn open(config: Config) -> Result<Self, SecretError> {
        let secrets = config.secrets.open().await?;
        Ok(Self::with_secrets(&config, secrets))
    }

    /// The environments of `config` with credentials in `secrets` instead of the configured
    /// store.
    pub fn with_secrets(config: &Config, secrets: Arc<dyn SecretSource>) -> Self {
        let environments: Vec<Environment> = config
            .environments()
            .iter()
            .map(|e| Environment::new(e.clone(), config.secrets.naming.clone(), secrets.clone()))
            .collect();
        Self {
            fleet: environments.clone(),
            environments,
            placement: Arc::default(),
        }
        .with_platform(config.platform.clone())
        .with_api(config.api.clone())
        .with_placement(config.placement.clone())
    }

    /// With `api` as the Data API roles provisioning converges on every environment.
    pub fn with_api(self, api: ApiConfig) -> Self {
        let api = Arc::new(api);
        self.map_environments(|e| e.with_api(api.clone()))
    }

    /// The Data API declared for `project`.
    pub fn api_of(&self, project: &ProjectName) -> Api {
        self.environments
            .first()
            .map(|e| e.api_of(project))
            .unwrap_or_default()
    }

    /// With `platform` as the platform access provisioning converges on every environment.
    pub fn with_platform(self, platform: PlatformConfig) -> Self {
        let platform = Arc::new(platform);
        self.map_environments(|e| e.with_platform(platform.clone()))
    }

    /// The effective platform access of `project`: the `[platform]` default merged with its
    /// `[projects.<p>.platform]` override.
    pub fn platform_access(&self, project: &ProjectName) -> Access {
        self.environments
            .first()
            .map(|e| e.platform_access(project))
            .unwrap_or_default()
    }

    /// What converging `project`'s platform access would change on every environment.
    pub async fn plan_platform(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<(String, PlatformPlan)>, PlatformError> {
        let mut plans = Vec::new();
        for env in &self.environments {
            plans.push((env.name().to_owned(), env.plan_platform(project).await?));
        }
        Ok(plans)
    }

    /// Converges `project`'s platform access on every environment in promotion order; the
    /// first failure stops the run.
    pub async fn apply_platform(
        &self,
        project: &ProjectName,
    ) -> Result<Vec<(String, PlatformPlan)>, PlatformError> {
        let mut plans = Vec::new();
        for env in &self.environments {
            plans.push((env.name().to_owned(), env.apply_platform(project).await?));
        }
        Ok(plans)
    }

    /// The environments, in promotion order (staging before prod).
    pub fn environments(&self) -> &[Environment] {
        &self.environments
    }

    /// The environment named `name`.
    pub fn environment(&self, name: &str) -> Result<&Environment, ConfigError> {
        self.environments
            .iter()
            .find(|e| e.name() == name)
            .ok_or_else(|| ConfigError::UnknownEnvironment {
                name: name.to_owned(),
                known: self
                    .environments
                    .iter()
                    .map(|e| e.name().to_owned())
                    .collect(),
            })
    }

    /// Only the environments named in `names`, still in promotion order whatever the order of
    /// `names`: what a command limited to some environments (`--env prod`) runs over. A name the
    /// configuration does not define is an error that lists the defined ones.
    ///
    /// ```no_run
    /// # fn run(cotenant: cotenant::Cotenant) -> Result<(), cotenant::config::ConfigError> {
    /// let prod_only = cotenant.select(&["prod"])?;
    /// assert_eq!(prod_only.environments().len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn select(&self, names: &[impl AsRef<str>]) -> Result<Cotenant, ConfigError> {
        for name in names {
            self.environment(name.as_ref())?;
        }
        let environments = self
            .environments
            .iter()
            .filter(|e| names.iter().any(|n| n.as_ref() == e.name()))
            .cloned()
            .collect();
        Ok(Self {
            environments,
            fleet: self.fleet.clone(),
            placement: self.placement.clone(),
        })
    }

    /// The plan for `project` on every environment, changing nothing.
    pub async fn plan(
        &self,
        project: &ProjectName,
        settings: &ProjectSettings,
    ) -> Result<Vec<(String, Plan)>, ProvisionError> {
        let routed = self.route(project).await?;
        let mut plans = Vec::new();
        for env in &routed.environments {
            let plan = env
                .plan(project, settings)
                .await
                .map_err(|e| e.in_environment(env.name()))?;
            plans.push((env.name().to_owned(), plan));
        }
        Ok(plans)
    }

    /// Provisions `project` on every environment in promotion order. An environment is
    /// touched only after the one before it succeeded, and afterwards every environment must
    /// report the same state for the project; the first failure stops the run.
    pub async fn provision(
        &self,
        project: &ProjectName,
        settings: &ProjectSettings,
    ) -> Result<Vec<(String, Plan)>, ProvisionError> {
        let routed = self.route_for_change(project).await?;
        let mut applied = Vec::new();
        let mut reference: Option<(&str, Vec<String>)> = None;
        for env in &routed.environments {
            let in_env = |e: ProvisionError| e.in_environment(env.name());
            let plan = env.provision(project, settings).await.map_err(in_env)?;
            let client = env.connect_admin().await.map_err(|e| in_env(e.into()))?;
            let summary = provision::summary(&client, project).await.map_err(in_env)?;
            match &reference {
                None => reference = Some((env.name(), summary)),
                Some((first, expected)) if *expected != summary => {
                    return Err(ProvisionError::EnvironmentsDiffer {
                        project: project.clone(),
                        first: (*first).to_owned(),
                        second: env.name().to_owned(),
                        differences: provision::differences(expected, &summary),
                    });
                }
                Some(_) => {}
            }
            applied.push((env.name().to_owned(), plan));
        }
        Ok(applied)
    }

    /// Deprovisions `project` on every environment, in reverse promotion order (prod first,
    /// so staging never lacks what prod has).
    pub async fn deprovision(
        &self,
        project: &ProjectName,
        drop_objects: &DropObjects,
    ) -> Result<Vec<(String, Plan)>, ProvisionError> {
        let routed = self.route_for_change(project).await?;
        let mut applied = Vec::new();
        for env in routed.environments.iter().rev() {
            let plan = env
                .deprovision(project, drop_objects)
                .await
                .map_err(|e| e.in_environment(env.name()))?;
            applied.push((env.name().to_owned(), plan));
        }
        Ok(applied)
    }
}
