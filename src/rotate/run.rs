//! One rotation on one environment: stage, set, test, promote.

use std::fmt;

use rand::distr::{Alphanumeric, SampleString};
use secrecy::SecretString;
use tokio_postgres::Client;
use tracing::Instrument;

use super::{RotateError, Strategy};
use crate::lock::LockKey;
use crate::provision::{
    self, LoginPasswords, LoginUser, LoginUsers, PasswordResets, Plan, ProjectSettings,
};
use crate::secret::{DbSecret, Login, SecretError, Stage};
use crate::{Cotenant, Environment, ProjectName};

/// The length of generated passwords: alphanumeric, ~190 bits.
const PASSWORD_LEN: usize = 32;

/// A finished rotation of one login on one environment.
#[derive(Debug, Clone)]
pub struct Rotation {
    environment: String,
    project: ProjectName,
    login: Login,
    strategy: Strategy,
    from_user: String,
    to_user: String,
    resumed: bool,
    plan: Plan,
}

impl Rotation {
    /// The environment.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The project.
    pub fn project(&self) -> &ProjectName {
        &self.project
    }

    /// The login whose credential was rotated.
    pub fn login(&self) -> Login {
        self.login
    }

    /// The strategy used.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The user the credential named before.
    pub fn from_user(&self) -> &str {
        &self.from_user
    }

    /// The user the credential names now (the same as before for a single-user rotation).
    pub fn to_user(&self) -> &str {
        &self.to_user
    }

    /// Whether an interrupted rotation's pending version was finished rather than a new one made.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// What was changed on the server, in one transaction.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} credential of `{}` rotated ({}): `{}` -> `{}`{}",
            self.environment,
            self.login,
            self.project,
            self.strategy,
            self.from_user,
            self.to_user,
            if self.resumed {
                " (an interrupted rotation finished)"
            } else {
                ""
            }
        )
    }
}

impl Environment {
    /// What rotating `project`'s `login` with `strategy` would change on the server, changing
    /// nothing: the password appears as a psql variable.
    pub async fn plan_rotation(
        &self,
        project: &ProjectName,
        login: Login,
        strategy: Strategy,
    ) -> Result<Plan, RotateError> {
        let routed = self
            .routed_for(project)
            .await
            .map_err(|source| RotateError::Admin {
                environment: self.name().to_owned(),
                project: project.clone(),
                source: Box::new(source),
            })?;
        let rotating = Rotating::new(&routed, project, login, strategy);
        let client = rotating.admin().await?;
        let settings = rotating.settings(&client).await?;
        let mut users = LoginUsers::default();
        for login in Login::ALL {
            users = users.with(login, rotating.current_secret(login).await?.1);
        }
        let target = rotating.target(users.get(login));
        provision::plan_with(
            &client,
            project,
            &settings,
            resets(login),
            users.with(login, target),
        )
        .await
        .map_err(|source| rotating.provision_error(source))
    }

    /// Rotates the credential of `project`'s `login` here (see the [module docs](crate::rotate)):
    /// a new password staged `AWSPENDING`, set on the server in one transaction, tested by
    /// logging in with it, then promoted to `AWSCURRENT`.
    ///
    /// ```no_run
    /// # async fn run(prod: cotenant::Environment) -> Result<(), Box<dyn std::error::Error>> {
    /// use cotenant::{rotate::Strategy, secret::Login};
    ///
    /// let rotation = prod.rotate(&"reli".parse()?, Login::App, Strategy::AlternatingUsers).await?;
    /// assert_ne!(rotation.from_user(), rotation.to_user());
    /// # Ok(()) }
    /// ```
    pub async fn rotate(
        &self,
        project: &ProjectName,
        login: Login,
        strategy: Strategy,
    ) -> Result<Rotation, RotateError> {
        let span = tracing::info_span!(
            target: "cotenant::rotate",
            "rotate",
            environment = self.name(),
            project = %project,
            login = %login,
            strategy = %strategy,
        );
        let routed =
            self.routed_for_change(project)
                .await
                .map_err(|source| RotateError::Admin {
                    environment: self.name().to_owned(),
                    project: project.clone(),
                    source: Box::new(source),
                })?;
        Rotating::new(&routed, project, login, strategy)
            .run()
            .instrument(span)
            .await
    }
}

impl Cotenant {
    /// Rotates each of `logins` of `project` on every environment in promotion order (staging
    /// first); the first failure stops the run.
    pub async fn rotate(
        &self,
        project: &ProjectName,
        logins: &[Login],
        strategy: Strategy,
    ) -> Result<Vec<Rotation>, RotateError> {
        let mut done = Vec::new();
        for environment in self.environments() {
            for login in logins {
                done.push(environment.rotate(project, *login, strategy).await?);
            }
        }
        Ok(done)
    }
}

fn resets(login: Login) -> PasswordResets {
    PasswordResets {
        app: login == Login::App,
        migrator: login == Login::Migrator,
    }
}

/// One rotation in progress.
struct Rotating<'a> {
    environment: &'a Environment,
    project: &'a ProjectName,
    login: Login,
    strategy: Strategy,
    id: String,
}

impl<'a> Rotating<'a> {
    fn new(
        environment: &'a Environment,
        project: &'a ProjectName,
        login: Login,
        strategy: Strategy,
    ) -> Self {
        Self {
            environment,
            project,
            login,
            strategy,
            id: environment.secret_id(project, login),
        }
    }

    fn env_name(&self) -> String {
        self.environment.name().to_owned()
    }

    async fn admin(&self) -> Result<Client, RotateError> {
        self.environment
            .connect_admin()
            .await
            .map_err(|source| RotateError::Admin {
                environment: self.env_name(),
                project: self.project.clone(),
                source: Box::new(source),
            })
    }

    fn provision_error(&self, source: provision::ProvisionError) -> RotateError {
        RotateError::Provision {
            environment: self.env_name(),
            project: self.project.clone(),
            source: Box::new(source),
        }
    }

    fn secret_error(&self, id: &str, source: SecretError) -> RotateError {
        match source {
            SecretError::NotFound { .. } => RotateError::NotProvisioned {
                environment: self.env_name(),
                project: self.project.clone(),
                login: self.login,
                what: format!("secret `{id}` does not exist"),
            },
            source => RotateError::Secret {
                environment: self.env_name(),
                id: id.to_owned(),
                source: Box::new(source),
            },
        }
    }

    /// The user rotated onto: the other one, or the same.
    fn target(&self, holder: LoginUser) -> LoginUser {
        match self.strategy {
            Strategy::AlternatingUsers => holder.other(),
            Strategy::SingleUser => holder,
        }
    }

    /// The current secret of `login`, checked to be for this project and this environment.
    async fn current_secret(&self, login: Login) -> Result<(DbSecret, LoginUser), RotateError> {
        let id = self.environment.secret_id(self.project, login);
        let secrets = self.environment.secrets();
        secrets.invalidate(&id);
        let secret = secrets
            .get_current(&id)
            .await
            .map_err(|e| self.secret_error(&id, e))?;
        let user = self.check(&id, login, &secret)?;
        Ok((secret, user))
    }

    fn check(&self, id: &str, login: Login, secret: &DbSecret) -> Result<LoginUser, RotateError> {
        let config = self.environment.config();
        let mismatch = |field, found: String, expected: String| RotateError::SecretMismatch {
            environment: self.env_name(),
            id: id.to_owned(),
            field,
            found,
            expected,
        };
        if secret.host != config.host {
            return Err(mismatch(
                "host",
                secret.host.clone(),
                format!("`{}`", config.host),
            ));
        }
        if secret.port != config.port {
            return Err(mismatch(
                "port",
                secret.port.to_string(),
                format!("`{}`", config.port),
            ));
        }
        if secret.dbname != config.database {
            return Err(mismatch(
                "dbname",
                secret.dbname.clone(),
                format!("`{}`", config.database),
            ));
        }
        LoginUser::of(self.project, login, &secret.username).ok_or_else(|| {
            mismatch(
                "username",
                secret.username.clone(),
                format!(
                    "`{}` or `{}`",
                    LoginUser::Primary.name(self.project, login),
                    LoginUser::Twin.name(self.project, login)
                ),
            )
        })
    }

    /// The limits the logins have now: a rotation keeps them.
    async fn settings(&self, client: &Client) -> Result<ProjectSettings, RotateError> {
        provision::current_settings(client, self.project)
            .await
            .map_err(|e| self.provision_error(e))?
            .ok_or_else(|| RotateError::NotProvisioned {
                environment: self.env_name(),
                project: self.project.clone(),
                login: self.login,
                what: format!("role `{}` does not exist", self.project.roles().login),
            })
    }

    async fn run(self) -> Result<Rotation, RotateError> {
        let mut client = self.admin().await?;
        let lock = LockKey::rotate(self.project).as_i64();
        let locked = |source| RotateError::Lock {
            environment: self.env_name(),
            project: self.project.clone(),
            source,
        };
        client
            .execute("SELECT pg_advisory_lock($1)", &[&lock])
            .await
            .map_err(locked)?;
        let result = self.locked(&mut client).await;
        // Also released when the connection closes, e.g. if this task is dropped.
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&lock])
            .await
            .map_err(locked)?;
        result
    }

    async fn locked(&self, client: &mut Client) -> Result<Rotation, RotateError> {
        let secrets = self.environment.secrets();
        let settings = self.settings(client).await?;
        let (current, holder) = self.current_secret(self.login).await?;
        let other = match self.login {
            Login::App => Login::Migrator,
            Login::Migrator => Login::App,
        };
        let (other_secret, other_user) = self.current_secret(other).await?;
        let target = self.target(holder);
        let target_name = target.name(self.project, self.login);

        // An interrupted rotation left its new password pending: finish with it, so the server
        // and the store never hold two different new passwords.
        let (pending, resumed) = match secrets.get(&self.id, Stage::Pending).await {
            Ok(pending)
                if pending.username == target_name
                    && self.check(&self.id, self.login, &pending).is_ok() =>
            {
                (pending, true)
            }
            Ok(_) | Err(SecretError::StageNotFound { .. }) => {
                let password = Alphanumeric.sample_string(&mut rand::rng(), PASSWORD_LEN);
                let mut pending = current.with_password(SecretString::from(password));
                pending.username = target_name.clone();
                (pending, false)
            }
            Err(e) => return Err(self.secret_error(&self.id, e)),
        };
        let version = secrets
            .put(&self.id, &pending, Stage::Pending)
            .await
            .map_err(|e| self.secret_error(&self.id, e))?;
        tracing::info!(target: "cotenant::rotate", user = %target_name, %version, resumed, "new credential staged AWSPENDING");

        let mut passwords = LoginPasswords::new(
            SecretString::from(String::new()),
            SecretString::from(String::new()),
        );
        let (mine, theirs) = match self.login {
            Login::App => (&mut passwords.app, &mut passwords.migrator),
            Login::Migrator => (&mut passwords.migrator, &mut passwords.app),
        };
        *mine = pending.password.clone();
        *theirs = other_secret.password.clone();
        passwords.users = LoginUsers::default()
            .with(self.login, target)
            .with(other, other_user);
        let plan = provision::apply(
            client,
            self.project,
            &settings,
            &passwords,
            resets(self.login),
        )
        .await
        .map_err(|e| self.provision_error(e))?;
        tracing::info!(target: "cotenant::rotate", user = %target_name, statements = plan.len(), "new password set on the server");

        self.test_login(&pending).await?;

        secrets
            .promote(&self.id, &version)
            .await
            .map_err(|e| self.secret_error(&self.id, e))?;
        secrets.invalidate(&self.id);
        tracing::info!(target: "cotenant::rotate", user = %target_name, %version, "new credential promoted to AWSCURRENT");
        Ok(Rotation {
            environment: self.env_name(),
            project: self.project.clone(),
            login: self.login,
            strategy: self.strategy,
            from_user: current.username,
            to_user: target_name,
            resumed,
            plan,
        })
    }

    /// Logs in with the new credential: it must land as the login's role in the project's schema.
    async fn test_login(&self, pending: &DbSecret) -> Result<(), RotateError> {
        let failed = |problem: String| RotateError::TestLogin {
            environment: self.env_name(),
            id: self.id.clone(),
            user: pending.username.clone(),
            problem,
        };
        let client = self
            .environment
            .endpoint()
            .connect(pending, self.project.as_str())
            .await
            .map_err(|e| failed(format!("logging in with it failed: {e}")))?;
        let row = client
            .query_one("SELECT current_user::text, current_schema()::text", &[])
            .await
            .map_err(|e| failed(format!("checking the session failed: {e}")))?;
        let (user, schema): (String, Option<String>) = (row.get(0), row.get(1));
        let roles = self.project.roles();
        let role = match self.login {
            Login::App => roles.app,
            Login::Migrator => roles.owner,
        };
        if user != role || schema.as_deref() != Some(self.project.as_str()) {
            return Err(failed(format!(
                "its session runs as `{user}` in schema {}, not as `{role}` in `{}`",
                schema.map_or("(none)".to_owned(), |s| format!("`{s}`")),
                self.project
            )));
        }
        Ok(())
    }
}
