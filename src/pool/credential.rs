//! Where a pool's password comes from, how it is checked against the environment, and how it is
//! read again after the server refused it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tracing::Instrument;

use crate::secret::{DbSecret, Login, SecretError, Stage};
use crate::{Environment, ProjectName};

use super::{PoolError, SecretField, TARGET};

/// The SQLSTATE of a refused password: `invalid_password`.
pub(crate) const AUTH_FAILED: &str = "28P01";

/// The SQLSTATE of a login that may not log in (`invalid_authorization_specification`: "role
/// … is not permitted to log in"): what a move's fence answers while the project's logins are
/// NOLOGIN. The secret then names, or will soon name, the instance the project moves to.
pub(crate) const NOT_PERMITTED: &str = "28000";

/// What PgBouncer answers when *it* refuses a client's password (it checks it against the secret
/// its `auth_query` read from the server, before any server connection is involved): SQLSTATE
/// `08P01` (`protocol_violation`, its code for every login failure) with one of these messages,
/// for SCRAM and for plain/md5 clients. Seen with PgBouncer 1.18 in tests/pooler.rs.
const POOLER_REFUSED: &[&str] = &[
    "SASL authentication failed",
    "password authentication failed",
];

/// Whether an error with this SQLSTATE and message is a refused login to read the secret again
/// for: the server's `28P01` (a rotated password) or `28000` (a fenced login: the project is
/// moving, and its secret will name the target), or a transaction pooler's own refusal.
pub(crate) fn refused(code: &str, message: &str) -> bool {
    code == AUTH_FAILED
        || code == NOT_PERMITTED
        || (code == "08P01" && POOLER_REFUSED.contains(&message))
}

/// How many times a refused connection is retried with what the store has then: the first
/// right away, the others after 50, 100 and 200 ms.
const ROUNDS: u32 = 4;
const FIRST_DELAY: Duration = Duration::from_millis(50);

/// After a refresh gave up on a credential, how long further refusals of that credential fail at
/// once instead of refreshing again: a password that is simply wrong must not turn every new
/// connection into 350 ms of backoff and eight store reads.
const HOLD_AFTER_GIVING_UP: Duration = Duration::from_secs(2);

/// The credential of one login of one project on one environment.
#[derive(Debug, Clone)]
pub(crate) struct Credential {
    environment: Environment,
    project: ProjectName,
    login: Login,
    id: String,
    /// When a refresh last gave up, and on which credential; shared by clones.
    gave_up: Arc<Mutex<Option<GaveUp>>>,
}

/// When a refresh gave up, and the credential it gave up on.
type GaveUp = (Instant, Arc<DbSecret>);

impl Credential {
    pub(crate) fn new(environment: &Environment, project: &ProjectName, login: Login) -> Self {
        Credential {
            environment: environment.clone(),
            project: project.clone(),
            login,
            id: environment.secret_id(project, login),
            gave_up: Arc::default(),
        }
    }

    fn gave_up(&self) -> std::sync::MutexGuard<'_, Option<GaveUp>> {
        self.gave_up
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn environment(&self) -> &Environment {
        &self.environment
    }

    pub(crate) fn project(&self) -> &ProjectName {
        &self.project
    }

    pub(crate) fn login(&self) -> Login {
        self.login
    }

    /// The current version, possibly from a cache in front of the store, checked against the
    /// login and the environment.
    pub(crate) async fn read(&self) -> Result<DbSecret, PoolError> {
        let secret = self
            .environment
            .secrets()
            .get(&self.id, Stage::Current)
            .await
            .map_err(|source| self.secret_error(source))?;
        self.verify(&secret)?;
        Ok(secret)
    }

    /// The version labelled `stage`, checked; `None` when no version but the current one has
    /// the label.
    async fn read_stage(&self, stage: Stage) -> Result<Option<DbSecret>, PoolError> {
        if stage == Stage::Current {
            return self.read().await.map(Some);
        }
        let secret = match self.environment.secrets().get(&self.id, stage).await {
            Ok(secret) => secret,
            Err(SecretError::StageNotFound { .. }) => return Ok(None),
            Err(source) => return Err(self.secret_error(source)),
        };
        self.verify(&secret)?;
        Ok(Some(secret))
    }

    fn secret_error(&self, source: SecretError) -> PoolError {
        PoolError::Secret {
            environment: self.environment.name().to_owned(),
            project: self.project.clone(),
            source: Box::new(source),
        }
    }

    /// Refuses a secret that names another role than the login (or its rotation twin), or a
    /// server that is none of the environment's instances, or another database than that
    /// instance's. A secret naming *another* configured instance of the environment is accepted:
    /// after a move (`cotenant move`) the secret is where the project is, and the pool follows it.
    pub(crate) fn verify(&self, secret: &DbSecret) -> Result<(), PoolError> {
        let roles = self.project.roles();
        let (user, twin) = match self.login {
            Login::App => (roles.login, roles.login_clone),
            Login::Migrator => (roles.migrator, roles.migrator_clone),
        };
        let config = self.environment.config();
        let expected = |key: fn(&crate::config::InstanceConfig) -> String| {
            config
                .instances()
                .iter()
                .map(|i| format!("`{}`", key(i)))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        let mismatch = if secret.username != user && secret.username != twin {
            Some((
                SecretField::Username,
                secret.username.clone(),
                format!("`{user}` or `{twin}`"),
            ))
        } else {
            match config.instance_at(&secret.host, secret.port) {
                None if config
                    .instances()
                    .iter()
                    .any(|i| i.host.eq_ignore_ascii_case(&secret.host)) =>
                {
                    Some((
                        SecretField::Port,
                        secret.port.to_string(),
                        expected(|i| i.port.to_string()),
                    ))
                }
                None => Some((
                    SecretField::Host,
                    secret.host.clone(),
                    expected(|i| i.host.clone()),
                )),
                Some(instance) if secret.dbname != instance.database => Some((
                    SecretField::Dbname,
                    secret.dbname.clone(),
                    format!("`{}`", instance.database),
                )),
                Some(_) => None,
            }
        };
        match mismatch {
            None => Ok(()),
            Some((field, found, expected)) => {
                let error = PoolError::SecretMismatch {
                    environment: self.environment.name().to_owned(),
                    project: self.project.clone(),
                    login: self.login,
                    secret: self.id.clone(),
                    field,
                    found,
                    expected,
                };
                tracing::error!(target: TARGET, %error, "refusing a credential");
                Err(error)
            }
        }
    }

    /// After the server refused `refused` (with `error`): forgets any cached copy, reads the
    /// current version again and, if it is still the refused one, the pending one too (a
    /// single-user rotation sets the new password on the server before it promotes the version
    /// holding it), and tries what is new with `attempt`. Repeats with a short exponential
    /// backoff, at most [`ROUNDS`] times and not beyond `budget`.
    ///
    /// Returns the credential that worked with what `attempt` made of it; or the last refusal
    /// (or another error `attempt` met) with the credential it was met with; or what the store
    /// said. For [`HOLD_AFTER_GIVING_UP`] after giving up, a refusal of the credential it gave up
    /// on is returned at once.
    pub(crate) async fn retry_refused<T, E, F, Fut>(
        &self,
        refused: Arc<DbSecret>,
        error: E,
        budget: Duration,
        mut attempt: F,
    ) -> Result<(Arc<DbSecret>, T), Retry<E>>
    where
        E: Refusal,
        F: FnMut(Arc<DbSecret>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let span = tracing::info_span!(
            target: TARGET,
            "refresh",
            environment = self.environment.name(),
            project = %self.project,
            login = %self.login,
            secret = %self.id,
            refused_user = %refused.username,
        );
        async move {
            if let Some((when, on)) = &*self.gave_up()
                && when.elapsed() < HOLD_AFTER_GIVING_UP
                && same_login(on, &refused)
            {
                tracing::debug!(
                    target: TARGET,
                    "the server refused the password again: it was read again moments ago"
                );
                return Err(Retry::Failed(refused, error));
            }
            tracing::info!(
                target: TARGET,
                "the server refused the password: reading the credential again"
            );
            let deadline = Instant::now() + budget;
            let mut delay = FIRST_DELAY;
            let mut last = (refused.clone(), error);
            let mut tried = vec![refused];
            for round in 1..=ROUNDS {
                if round > 1 {
                    if Instant::now() + delay > deadline {
                        break;
                    }
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                self.environment.secrets().invalidate(&self.id);
                for stage in [Stage::Current, Stage::Pending] {
                    let secret = match self.read_stage(stage).await {
                        Ok(Some(secret)) => secret,
                        Ok(None) => continue,
                        Err(store) => return Err(Retry::Store(store, last.1)),
                    };
                    if tried.iter().any(|t| same_login(t, &secret)) {
                        continue;
                    }
                    let secret = Arc::new(secret);
                    match attempt(secret.clone()).await {
                        Ok(made) => {
                            tracing::info!(
                                target: TARGET,
                                user = %secret.username,
                                stage = %stage,
                                round,
                                "connected with the credential read again"
                            );
                            *self.gave_up() = None;
                            return Ok((secret, made));
                        }
                        Err(e) if e.is_refused_password() => {
                            tried.push(secret.clone());
                            last = (secret, e);
                        }
                        Err(e) => return Err(Retry::Failed(secret, e)),
                    }
                }
            }
            tracing::warn!(
                target: TARGET,
                user = %last.0.username,
                "the server still refuses the password: giving up"
            );
            *self.gave_up() = Some((Instant::now(), last.0.clone()));
            Err(Retry::Failed(last.0, last.1))
        }
        .instrument(span)
        .await
    }
}

/// How long refreshing a refused credential may take in all: a quarter of the acquire timeout.
pub(crate) fn refresh_budget(acquire_timeout: Duration) -> Duration {
    acquire_timeout / 4
}

/// Why [`Credential::retry_refused`] found no working credential.
#[derive(Debug)]
pub(crate) enum Retry<E> {
    /// The store could not be read, or held a secret that does not match; with the last
    /// refusal.
    Store(PoolError, E),
    /// The last attempt failed, with this credential.
    Failed(Arc<DbSecret>, E),
}

/// Whether a driver's error is the server refusing the password (`28P01`).
pub(crate) trait Refusal {
    fn is_refused_password(&self) -> bool;
}

#[cfg(feature = "deadpool")]
impl Refusal for tokio_postgres::Error {
    fn is_refused_password(&self) -> bool {
        self.as_db_error()
            .is_some_and(|e| refused(e.code().code(), e.message()))
    }
}

#[cfg(feature = "sqlx")]
impl Refusal for sqlx::Error {
    fn is_refused_password(&self) -> bool {
        self.as_database_error()
            .is_some_and(|e| e.code().is_some_and(|code| refused(&code, e.message())))
    }
}

impl Refusal for PoolError {
    fn is_refused_password(&self) -> bool {
        self.is_password_refused()
    }
}

/// The same user with the same password on the same server: a secret whose host or port changed
/// (a move) is a new credential, even with the same password.
pub(crate) fn same_login(a: &DbSecret, b: &DbSecret) -> bool {
    a.username == b.username
        && a.password.expose_secret() == b.password.expose_secret()
        && a.port == b.port
        && a.host.eq_ignore_ascii_case(&b.host)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::config::Config;
    use crate::secret::{FileSecrets, SecretSource};

    fn environment(dir: &std::path::Path) -> Environment {
        let toml = format!(
            "[secrets]\nstore = \"file\"\npath = \"{}\"\n[environments.prod]\nhost = \"db.example\"\nport = 5432\ndatabase = \"postgres\"\nadmin_secret = \"admin\"\n",
            dir.join("secrets.json").display()
        );
        let config = Config::from_toml_str(&toml).unwrap();
        let store: Arc<dyn SecretSource> = Arc::new(FileSecrets::new(dir.join("secrets.json")));
        crate::Cotenant::with_secrets(&config, store)
            .environment("prod")
            .unwrap()
            .clone()
    }

    fn reli() -> ProjectName {
        "reli".parse().unwrap()
    }

    #[test]
    fn a_secret_must_name_the_login_or_its_twin_on_the_environments_server() {
        let dir = tempfile::tempdir().unwrap();
        let env = environment(dir.path());
        let app = Credential::new(&env, &reli(), Login::App);
        let migrator = Credential::new(&env, &reli(), Login::Migrator);
        let good = DbSecret::new("DB.example", 5432, "reli_login", "pw", "postgres");
        app.verify(&good).unwrap();
        app.verify(&DbSecret {
            username: "reli_login_clone".to_owned(),
            ..good.clone()
        })
        .unwrap();
        migrator
            .verify(&DbSecret {
                username: "reli_migrator_clone".to_owned(),
                ..good.clone()
            })
            .unwrap();
        for (secret, field, found) in [
            (
                DbSecret {
                    username: "other_login".to_owned(),
                    ..good.clone()
                },
                SecretField::Username,
                "other_login",
            ),
            (
                DbSecret {
                    host: "staging.example".to_owned(),
                    ..good.clone()
                },
                SecretField::Host,
                "staging.example",
            ),
            (
                DbSecret {
                    port: 6543,
                    ..good.clone()
                },
                SecretField::Port,
                "6543",
            ),
            (
                DbSecret {
                    dbname: "other".to_owned(),
                    ..good.clone()
                },
                SecretField::Dbname,
                "other",
            ),
        ] {
            let err = app.verify(&secret).unwrap_err();
            match &err {
                PoolError::SecretMismatch {
                    field: f, found: x, ..
                } => assert_eq!((*f, x.as_str()), (field, found)),
                other => panic!("{other:?}"),
            }
            assert!(!err.to_string().contains("pw"), "{err}");
        }
        let err = migrator.verify(&good).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the secret `cotenant/prod/reli/migrator` of project `reli`'s migrator login on \
             environment `prod` has username `reli_login`, expected `reli_migrator` or \
             `reli_migrator_clone`; nothing was connected with it: correct the secret in the \
             store (a secret copied from another project or environment?) or the environment's \
             address in the configuration"
        );
    }

    #[test]
    fn a_secret_may_name_any_instance_of_the_environment_and_no_other_server() {
        let dir = tempfile::tempdir().unwrap();
        let toml = format!(
            "[secrets]\nstore = \"file\"\npath = \"{}\"\n\
             [environments.prod.instances.a]\nhost = \"db-a.example\"\nadmin_secret = \"a\"\n\
             [environments.prod.instances.b]\nhost = \"db-b.example\"\nport = 6000\ndatabase = \"shared\"\nadmin_secret = \"b\"\n",
            dir.path().join("secrets.json").display()
        );
        let config = Config::from_toml_str(&toml).unwrap();
        let store: Arc<dyn SecretSource> =
            Arc::new(FileSecrets::new(dir.path().join("secrets.json")));
        let cotenant = crate::Cotenant::with_secrets(&config, store);
        // Built for `a` (as a pool is, where the project was), it accepts `b` (where it moved).
        let on_a = cotenant.environments()[0].on("a").unwrap();
        let app = Credential::new(&on_a, &reli(), Login::App);
        app.verify(&DbSecret::new(
            "db-a.example",
            5432,
            "reli_login",
            "pw",
            "postgres",
        ))
        .unwrap();
        let moved = DbSecret::new("DB-B.example", 6000, "reli_login", "pw", "shared");
        app.verify(&moved).unwrap();
        for (secret, field) in [
            (
                DbSecret::new("db-c.example", 5432, "reli_login", "pw", "postgres"),
                SecretField::Host,
            ),
            (
                DbSecret {
                    port: 5432,
                    ..moved.clone()
                },
                SecretField::Port,
            ),
            (
                DbSecret {
                    dbname: "postgres".to_owned(),
                    ..moved.clone()
                },
                SecretField::Dbname,
            ),
        ] {
            match app.verify(&secret).unwrap_err() {
                PoolError::SecretMismatch { field: f, .. } => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_fenced_login_is_a_refusal_to_read_the_secret_again_for() {
        assert!(refused(
            "28P01",
            "password authentication failed for user \"x\""
        ));
        assert!(refused(
            "28000",
            "role \"reli_login\" is not permitted to log in"
        ));
        assert!(refused("08P01", "SASL authentication failed"));
        assert!(!refused("08P01", "something else"));
        assert!(!refused("42501", "permission denied"));
    }

    /// A refused error for the retry loop.
    #[derive(Debug, PartialEq)]
    enum Fake {
        Refused,
        Down,
    }

    impl Refusal for Fake {
        fn is_refused_password(&self) -> bool {
            *self == Fake::Refused
        }
    }

    #[tokio::test]
    async fn a_refused_current_version_falls_back_to_the_pending_one() {
        let dir = tempfile::tempdir().unwrap();
        let env = environment(dir.path());
        let app = Credential::new(&env, &reli(), Login::App);
        let id = env.secret_id(&reli(), Login::App);
        let old = DbSecret::new("db.example", 5432, "reli_login", "old", "postgres");
        env.secrets().put(&id, &old, Stage::Current).await.unwrap();
        env.secrets()
            .put(&id, &old.with_password("new"), Stage::Pending)
            .await
            .unwrap();
        let attempts = Mutex::new(Vec::new());
        let (worked, made) = app
            .retry_refused(
                Arc::new(old.clone()),
                Fake::Refused,
                Duration::from_secs(1),
                |s| {
                    let password = s.password.expose_secret().to_owned();
                    attempts.lock().unwrap().push(password.clone());
                    async move {
                        if password == "new" {
                            Ok(7)
                        } else {
                            Err(Fake::Refused)
                        }
                    }
                },
            )
            .await
            .unwrap();
        assert_eq!((worked.password.expose_secret(), made), ("new", 7));
        // The current version was the refused one: not tried again.
        assert_eq!(*attempts.lock().unwrap(), ["new"]);

        // Nothing new in the store: a few rounds, then the last refusal.
        let started = Instant::now();
        let attempts = Mutex::new(0);
        let err = app
            .retry_refused(
                Arc::new(old.with_password("new")),
                Fake::Refused,
                Duration::from_secs(5),
                |_| {
                    *attempts.lock().unwrap() += 1;
                    async { Err::<(), _>(Fake::Refused) }
                },
            )
            .await
            .unwrap_err();
        // Only `old` was new to it (`new` is pending and was refused), tried once.
        assert_eq!(*attempts.lock().unwrap(), 1);
        assert!(matches!(err, Retry::Failed(_, Fake::Refused)), "{err:?}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(350) && waited < Duration::from_secs(2),
            "{waited:?}"
        );

        // Refused again right away with the credential it gave up on: no new refresh.
        let started = Instant::now();
        let err = app
            .retry_refused(
                Arc::new(old.clone()),
                Fake::Refused,
                Duration::from_secs(5),
                |_| async { panic!("no attempt while holding off") as Result<(), Fake> },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Retry::Failed(_, Fake::Refused)), "{err:?}");
        assert!(started.elapsed() < Duration::from_millis(50));

        // Another failure ends it at once.
        let err = app
            .retry_refused(
                Arc::new(old.with_password("stale")),
                Fake::Refused,
                Duration::from_secs(5),
                |_| async { Err::<(), _>(Fake::Down) },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Retry::Failed(_, Fake::Down)), "{err:?}");
    }
}
