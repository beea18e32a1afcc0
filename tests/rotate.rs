//! Credential rotation on real servers (the version in `COTENANT_TEST_PG`) with real Secrets
//! Manager (moto): alternating users and single user, what the old password can still do
//! afterwards, resuming an interrupted rotation, refusals, and zero failed queries through both
//! pool types while rotations run.
#![cfg(all(feature = "sqlx", feature = "deadpool"))]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use cotenant::pool::PoolOptions;
use cotenant::provision::{DropObjects, ProjectSettings};
use cotenant::rotate::{RotateError, Strategy};
use cotenant::secret::{DbSecret, Login, SecretSource, Stage};
use cotenant::{Environment, ProjectName};
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

/// How many rotation twins `p` has on `env`.
async fn twins(env: &str, p: &ProjectName) -> i64 {
    superuser(cluster(env))
        .await
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname = ANY($1)",
            &[&p.roles().clones().to_vec()],
        )
        .await
        .unwrap()
        .get(0)
}

async fn secret(env: &Environment, p: &ProjectName, login: Login, stage: Stage) -> DbSecret {
    let id = env.secret_id(p, login);
    env.secrets().invalidate(&id);
    env.secrets().get(&id, stage).await.unwrap()
}

/// Logs in with `secret` on `env`'s cluster: the SQLSTATE of a refusal, or where it landed.
async fn try_login(env: &str, secret: &DbSecret) -> Result<(String, String), SqlState> {
    let c = cluster(env);
    let mut config = tokio_postgres::Config::new();
    config
        .host(c.host())
        .port(c.port())
        .dbname(c.database())
        .user(&secret.username)
        .password(secret.password.expose_secret());
    match config.connect(NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            let row = client
                .query_one("SELECT current_user::text, current_schema()::text", &[])
                .await
                .unwrap();
            Ok((row.get(0), row.get(1)))
        }
        Err(e) => Err(e.code().cloned().expect("a refusal with a SQLSTATE")),
    }
}

/// `(role settings, connection limit)` of `role`, read as the superuser.
async fn role_shape(env: &str, role: &str) -> (Vec<String>, i32) {
    let su = superuser(cluster(env)).await;
    let row = su
        .query_one(
            "SELECT coalesce((SELECT array_agg(x ORDER BY x) FROM unnest(s.setconfig) x), '{}'),
                    r.rolconnlimit
             FROM pg_roles r LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = 0
             WHERE r.rolname = $1",
            &[&role],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn alternating_users_move_the_credential_to_a_twin_and_back() {
    let cotenant = deployment().await;
    let mut settings = ProjectSettings::default();
    settings.login.connection_limit = 7;
    settings.login.statement_timeout = Some(Duration::from_secs(12));
    let p = provisioned(&cotenant, "rot_alt", &settings).await;
    let other = provisioned(&cotenant, "rot_alt_other", &ProjectSettings::default()).await;
    let roles = p.roles();
    let first: Vec<DbSecret> = {
        let mut v = Vec::new();
        for env in both() {
            v.push(
                secret(
                    cotenant.environment(env).unwrap(),
                    &p,
                    Login::App,
                    Stage::Current,
                )
                .await,
            );
        }
        v
    };

    let rotations = cotenant
        .rotate(&p, &[Login::App], Strategy::AlternatingUsers)
        .await
        .unwrap();
    assert_eq!(
        rotations
            .iter()
            .map(|r| r.environment())
            .collect::<Vec<_>>(),
        ["staging", "prod"],
        "staging first"
    );
    for (i, env) in both().into_iter().enumerate() {
        let environment = cotenant.environment(env).unwrap();
        let rotation = &rotations[i];
        assert_eq!(rotation.from_user(), roles.login);
        assert_eq!(rotation.to_user(), roles.login_clone);
        assert!(!rotation.resumed());
        // The twin mirrors the login: limits, role defaults, membership, CONNECT.
        assert_eq!(
            role_shape(env, &roles.login_clone).await,
            role_shape(env, &roles.login).await
        );
        assert_eq!(role_shape(env, &roles.login_clone).await.1, 7);
        assert_invariants(cluster(env), &p).await;
        // The new credential names the twin and lands where the login does.
        let current = secret(environment, &p, Login::App, Stage::Current).await;
        assert_eq!(current.username, roles.login_clone);
        assert_eq!(
            try_login(env, &current).await,
            Ok((roles.app.clone(), p.to_string()))
        );
        let twin = environment.connect_login(&p, Login::App).await.unwrap();
        assert_allowed(&twin, "the twin", "SELECT count(*) FROM t").await;
        assert_denied(&twin, "the twin", &format!("SELECT * FROM {other}.t")).await;
        assert_denied(
            &twin,
            "the twin",
            &format!("SET ROLE {}", other.roles().app),
        )
        .await;
        // The old password still works until the next rotation: nothing holding it breaks.
        assert_eq!(
            secret(environment, &p, Login::App, Stage::Previous)
                .await
                .username,
            roles.login
        );
        assert_eq!(
            try_login(env, &first[i]).await,
            Ok((roles.app.clone(), p.to_string()))
        );
    }
    // Provisioning keeps the twin as it is, and the environments still agree.
    for (_, plan) in cotenant.provision(&p, &settings).await.unwrap() {
        assert!(plan.is_empty(), "{plan}");
    }

    // The second rotation goes back to the login with a new password: the first one is dead.
    let rotations = cotenant
        .rotate(&p, &[Login::App], Strategy::AlternatingUsers)
        .await
        .unwrap();
    for (i, env) in both().into_iter().enumerate() {
        let environment = cotenant.environment(env).unwrap();
        assert_eq!(rotations[i].to_user(), roles.login);
        assert_eq!(
            try_login(env, &first[i]).await,
            Err(SqlState::INVALID_PASSWORD),
            "the first password stops working at the second rotation"
        );
        let previous = secret(environment, &p, Login::App, Stage::Previous).await;
        assert_eq!(previous.username, roles.login_clone);
        assert!(
            try_login(env, &previous).await.is_ok(),
            "the twin keeps its password"
        );
        let current = secret(environment, &p, Login::App, Stage::Current).await;
        assert_eq!(
            try_login(env, &current).await,
            Ok((roles.app.clone(), p.to_string()))
        );
    }

    // Deprovisioning drops the twin with the rest.
    cotenant
        .deprovision(&p, &DropObjects::Confirmed(p.to_string()))
        .await
        .unwrap();
    for env in both() {
        let su = superuser(cluster(env)).await;
        let left: i64 = su
            .query_one(
                "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'rot\\_alt\\_%' AND rolname NOT LIKE 'rot\\_alt\\_other%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "{env}: no role of the project is left");
    }
}

#[tokio::test]
async fn single_user_rotation_replaces_the_password_at_once() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "rot_single", &ProjectSettings::default()).await;
    let env = cotenant.environment("prod").unwrap();
    let before = secret(env, &p, Login::Migrator, Stage::Current).await;
    let rotation = env
        .rotate(&p, Login::Migrator, Strategy::SingleUser)
        .await
        .unwrap();
    assert_eq!(rotation.from_user(), rotation.to_user());
    assert_eq!(rotation.to_user(), p.roles().migrator);
    assert!(
        rotation
            .plan()
            .steps()
            .any(|s| s.sets_password() == Some(Login::Migrator))
    );
    assert_eq!(
        try_login("prod", &before).await,
        Err(SqlState::INVALID_PASSWORD)
    );
    let after = secret(env, &p, Login::Migrator, Stage::Current).await;
    assert_ne!(
        after.password.expose_secret(),
        before.password.expose_secret()
    );
    assert_eq!(
        try_login("prod", &after).await,
        Ok((p.roles().owner, p.to_string()))
    );
    // No twin was made, and the other login and the other environment were not touched.
    assert_eq!(twins("prod", &p).await, 0);
    let staging = cotenant.environment("staging").unwrap();
    assert!(
        try_login(
            "staging",
            &secret(staging, &p, Login::Migrator, Stage::Current).await
        )
        .await
        .is_ok()
    );
    assert!(
        try_login("prod", &secret(env, &p, Login::App, Stage::Current).await)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_interrupted_rotation_is_finished_by_running_it_again() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "rot_resume", &ProjectSettings::default()).await;
    let env = cotenant.environment("staging").unwrap();
    let id = env.secret_id(&p, Login::App);
    let current = secret(env, &p, Login::App, Stage::Current).await;

    // Interrupted after the new password was staged and set, before it was promoted.
    let staged = current.with_password(SecretString::from("staged-before-the-crash-0123456789"));
    env.secrets()
        .put(&id, &staged, Stage::Pending)
        .await
        .unwrap();
    superuser(cluster("staging"))
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} PASSWORD 'staged-before-the-crash-0123456789'",
            p.roles().login
        ))
        .await
        .unwrap();
    let rotation = env
        .rotate(&p, Login::App, Strategy::SingleUser)
        .await
        .unwrap();
    assert!(
        rotation.resumed(),
        "the pending version is finished, not replaced"
    );
    let now = secret(env, &p, Login::App, Stage::Current).await;
    assert_eq!(
        now.password.expose_secret(),
        "staged-before-the-crash-0123456789"
    );
    assert!(try_login("staging", &now).await.is_ok());
    assert!(
        matches!(
            env.secrets().get(&id, Stage::Pending).await,
            Err(cotenant::secret::SecretError::StageNotFound { .. })
        ),
        "nothing is left pending"
    );

    // A pending version for the other strategy's user is not reused.
    let stale = current.with_password(SecretString::from("for-the-primary-user-0123456789"));
    env.secrets()
        .put(&id, &stale, Stage::Pending)
        .await
        .unwrap();
    let rotation = env
        .rotate(&p, Login::App, Strategy::AlternatingUsers)
        .await
        .unwrap();
    assert!(!rotation.resumed());
    let now = secret(env, &p, Login::App, Stage::Current).await;
    assert_eq!(now.username, p.roles().login_clone);
    assert_ne!(
        now.password.expose_secret(),
        "for-the-primary-user-0123456789"
    );
    assert!(try_login("staging", &now).await.is_ok());
}

#[tokio::test]
async fn concurrent_rotations_of_one_project_take_turns() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "rot_race", &ProjectSettings::default()).await;
    let env = cotenant.environment("prod").unwrap();
    let (a, b, c) = tokio::join!(
        env.rotate(&p, Login::App, Strategy::AlternatingUsers),
        env.rotate(&p, Login::App, Strategy::AlternatingUsers),
        env.rotate(&p, Login::App, Strategy::SingleUser),
    );
    for result in [a, b, c] {
        result.unwrap();
    }
    let current = secret(env, &p, Login::App, Stage::Current).await;
    assert_eq!(
        try_login("prod", &current).await,
        Ok((p.roles().app, p.to_string()))
    );
    let previous = secret(env, &p, Login::App, Stage::Previous).await;
    assert!(try_login("prod", &previous).await.is_ok() || previous.username == current.username);
    assert_invariants(cluster("prod"), &p).await;
}

#[tokio::test]
async fn a_rotation_that_cannot_be_done_says_why_and_changes_nothing() {
    let cotenant = deployment().await;
    let env = cotenant.environment("staging").unwrap();

    let missing = project("rot_never_provisioned");
    let err = env
        .rotate(&missing, Login::App, Strategy::AlternatingUsers)
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::NotProvisioned { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("cotenant provision rot_never_provisioned"),
        "{err}"
    );

    // A secret naming another project's login is refused before anything changes.
    let p = provisioned(&cotenant, "rot_wrong", &ProjectSettings::default()).await;
    let id = env.secret_id(&p, Login::App);
    let right = secret(env, &p, Login::App, Stage::Current).await;
    let mut wrong = right.clone();
    wrong.username = "somebody_login".to_owned();
    env.secrets()
        .put(&id, &wrong, Stage::Current)
        .await
        .unwrap();
    let err = env
        .rotate(&p, Login::App, Strategy::AlternatingUsers)
        .await
        .unwrap_err();
    match &err {
        RotateError::SecretMismatch { field, found, .. } => {
            assert_eq!(*field, "username");
            assert_eq!(found, "somebody_login");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains(right.password.expose_secret()));
    assert_eq!(twins("staging", &p).await, 0, "no twin was created");
    assert_eq!(
        secret(env, &p, Login::App, Stage::Current).await.username,
        "somebody_login"
    );

    // The dry run shows the statements with the password as a psql variable.
    env.secrets()
        .put(&id, &right, Stage::Current)
        .await
        .unwrap();
    let plan = env
        .plan_rotation(&p, Login::App, Strategy::AlternatingUsers)
        .await
        .unwrap();
    let sql = plan.to_sql();
    assert!(
        sql.contains("CREATE ROLE \"rot_wrong_login_clone\" LOGIN"),
        "{sql}"
    );
    assert!(sql.contains(":'rot_wrong_login_clone_password'"), "{sql}");
    assert!(!sql.contains(right.password.expose_secret()));
    assert_eq!(twins("staging", &p).await, 0, "the dry run changes nothing");
}

/// What the load runs: the backend's pid shows how many connections served it.
const QUERY: &str = "SELECT pg_backend_pid(), count(*) FROM t";

/// Workers query through both pool types, closing some connections so that new ones keep being
/// opened, while the app login is rotated with both strategies: no query may fail.
#[tokio::test]
async fn rotations_under_load_fail_no_query_through_either_pool() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "rot_load", &ProjectSettings::default()).await;
    let env = cotenant.environment("prod").unwrap().clone();
    let options = PoolOptions::new().max_size(4);
    let deadpool = env.deadpool_pool(&p, &options).await.unwrap();
    let sqlx = env.sqlx_pool(&p, &options).await.unwrap();
    let load = Arc::new(Load::default());
    let mut workers = Vec::new();
    for worker in 0..3u64 {
        let (pool, load) = (deadpool.clone(), load.clone());
        workers.push(tokio::spawn(async move {
            let mut i = worker;
            while load.running() {
                i += 1;
                let served = match pool.get().await {
                    Ok(client) => {
                        let served = client.query_one(QUERY, &[]).await.map(|row| row.get(0));
                        if i % 4 == 0 {
                            // Closed instead of returned: the pool must open a new one.
                            drop(deadpool_postgres::Object::take(client));
                        }
                        served.map_err(|e| format!("deadpool query: {e}"))
                    }
                    Err(e) => Err(format!("deadpool get: {e}")),
                };
                load.record(0, served);
            }
        }));
    }
    for worker in 0..3u64 {
        let (pool, env, p, load) = (sqlx.clone(), env.clone(), p.clone(), load.clone());
        workers.push(tokio::spawn(async move {
            let mut i = worker;
            while load.running() {
                i += 1;
                let served = match env.sqlx_acquire(&p, &pool).await {
                    Ok(mut conn) => {
                        let served = sqlx::query_as::<_, (i32, i64)>(QUERY)
                            .fetch_one(&mut *conn)
                            .await
                            .map(|(pid, _)| pid);
                        if i % 4 == 0 {
                            conn.close_on_drop();
                        }
                        served.map_err(|e| format!("sqlx query: {e}"))
                    }
                    Err(e) => Err(format!("sqlx acquire: {e}")),
                };
                load.record(1, served);
            }
        }));
    }
    let pause = || tokio::time::sleep(Duration::from_millis(400));
    pause().await;
    let original = secret(&env, &p, Login::App, Stage::Current).await;
    for strategy in [
        Strategy::AlternatingUsers,
        Strategy::AlternatingUsers,
        Strategy::SingleUser,
        Strategy::SingleUser,
    ] {
        let before = secret(&env, &p, Login::App, Stage::Current).await;
        env.rotate(&p, Login::App, strategy).await.unwrap();
        if strategy == Strategy::SingleUser {
            assert_eq!(
                try_login("prod", &before).await,
                Err(SqlState::INVALID_PASSWORD)
            );
        }
        pause().await;
    }
    assert_eq!(
        try_login("prod", &original).await,
        Err(SqlState::INVALID_PASSWORD)
    );
    load.stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let failures = load.failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed queries: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let backends = load.backends.lock().unwrap();
    for (i, kind) in ["deadpool", "sqlx"].iter().enumerate() {
        let served = load.served[i].load(Ordering::Relaxed);
        assert!(served > 100, "{kind} served only {served} queries");
        assert!(
            backends[i].len() > 20,
            "{kind} opened only {} connections",
            backends[i].len()
        );
    }
}

/// What the load's workers did, per pool type (0 deadpool, 1 sqlx).
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    served: [AtomicU64; 2],
    /// The server processes that answered: proof that new connections were opened throughout.
    backends: std::sync::Mutex<[HashSet<i32>; 2]>,
    failures: std::sync::Mutex<Vec<String>>,
}

impl Load {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    /// One query's outcome: the backend's pid, or why it failed.
    fn record(&self, kind: usize, outcome: Result<i32, String>) {
        match outcome {
            Ok(pid) => {
                self.served[kind].fetch_add(1, Ordering::Relaxed);
                self.backends.lock().unwrap()[kind].insert(pid);
            }
            Err(failure) => self.failures.lock().unwrap().push(failure),
        }
    }
}

/// A deadpool pool reads the credential for each new connection: after an alternating-users
/// rotation its new connections log in as the twin, while the ones already open keep working.
#[tokio::test]
async fn new_pool_connections_follow_the_rotated_credential() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "rot_follow", &ProjectSettings::default()).await;
    let env = cotenant.environment("staging").unwrap();
    let pool = env.deadpool_pool(&p, &PoolOptions::new()).await.unwrap();
    let old = pool.get().await.unwrap();
    assert_eq!(session_user(&old).await, p.roles().login);
    env.rotate(&p, Login::App, Strategy::AlternatingUsers)
        .await
        .unwrap();
    let new = pool.get().await.unwrap();
    assert_eq!(
        session_user(&new).await,
        p.roles().login_clone,
        "a new connection uses the new credential"
    );
    assert_eq!(
        session_user(&old).await,
        p.roles().login,
        "an open connection keeps working"
    );
}

async fn session_user(client: &tokio_postgres::Client) -> String {
    client
        .query_one("SELECT session_user::text FROM t LIMIT 1", &[])
        .await
        .unwrap()
        .get(0)
}
