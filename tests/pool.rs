//! Scoped pools on real servers (the version in `COTENANT_TEST_PG`) with real Secrets Manager
//! (moto): where their connections land and what they reach, refusing a login whose role default
//! is gone, and picking up a rotated password.
#![cfg(all(feature = "sqlx", feature = "deadpool"))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use cotenant::pool::{PoolError, PoolOptions};
use cotenant::provision::ProjectSettings;
use cotenant::secret::{AwsSecretsManager, CachedSource, DbSecret, Login, SecretSource, Stage};
use cotenant::{Cotenant, Environment, ProjectName};
use cotenant_testkit::{MotoServer, Pair};
use secrecy::ExposeSecret;
use sqlx::{Connection, Executor, Row};

const WHERE_AM_I: &str = "SELECT current_user::text, session_user::text, current_schema()::text";

/// Provisions `name` everywhere with the default settings; see [`common::provisioned`].
async fn provisioned(cotenant: &Cotenant, name: &str) -> ProjectName {
    common::provisioned(cotenant, name, &ProjectSettings::default()).await
}

/// `(current_user, session_user, current_schema)` of a sqlx connection.
async fn sqlx_landing(
    conn: &mut sqlx::PgConnection,
) -> Result<(String, String, String), sqlx::Error> {
    let row = conn.fetch_one(WHERE_AM_I).await?;
    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
}

/// `(current_user, session_user, current_schema)` of a tokio-postgres connection.
async fn pg_landing(client: &tokio_postgres::Client) -> (String, String, String) {
    let row = client.query_one(WHERE_AM_I, &[]).await.unwrap();
    (row.get(0), row.get(1), row.get(2))
}

fn expected(p: &ProjectName) -> (String, String, String) {
    let roles = p.roles();
    (roles.app, roles.login, p.to_string())
}

fn sqlstate(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
}

#[tokio::test]
async fn both_pools_land_as_the_app_role_in_the_project_schema_and_reach_only_it() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_own").await;
    let other = provisioned(&cotenant, "pool_other").await;
    for env in both() {
        let environment = cotenant.environment(env).unwrap();

        let pool = environment
            .sqlx_pool(&p, &PoolOptions::new())
            .await
            .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(
            sqlx_landing(&mut conn).await.unwrap(),
            expected(&p),
            "{env}"
        );
        let app_name: String = sqlx::query_scalar("SELECT current_setting('application_name')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(app_name, "pool_own");
        let v: String = sqlx::query_scalar("SELECT v FROM t")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(v, "seed");
        sqlx::query("INSERT INTO t (v) VALUES ($1)")
            .bind("from sqlx")
            .execute(&mut *conn)
            .await
            .unwrap();
        let denied = sqlx::query(&format!("SELECT * FROM {other}.t"))
            .fetch_all(&mut *conn)
            .await
            .unwrap_err();
        assert_eq!(
            sqlstate(&denied).as_deref(),
            Some("42501"),
            "{env}: {denied}"
        );

        let pool = environment
            .deadpool_pool(&p, &PoolOptions::new().application_name("pool-own-api"))
            .await
            .unwrap();
        let client = pool.get().await.unwrap();
        assert_eq!(pg_landing(&client).await, expected(&p), "{env}");
        let row = client
            .query_one("SELECT current_setting('application_name')", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "pool-own-api");
        let n: i64 = client
            .query_one("SELECT count(*) FROM t", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 2, "{env}: the seed row and the one sqlx inserted");
        assert_denied(
            &client,
            &format!("{p} on {env}"),
            &format!("SELECT * FROM {other}.t"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_login_without_its_role_default_is_refused_until_provisioned_again() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_nodefault").await;
    let env = cotenant.environment("staging").unwrap();
    let options = PoolOptions::new()
        .max_size(3)
        .acquire_timeout(Duration::from_secs(2));
    let sqlx_pool = env.sqlx_pool(&p, &options).await.unwrap();
    let deadpool = env.deadpool_pool(&p, &options).await.unwrap();
    // Connections opened while all is well: role defaults apply at login only.
    let mut held_sqlx = sqlx_pool.acquire().await.unwrap();
    let held_deadpool = deadpool.get().await.unwrap();

    superuser(cluster("staging"))
        .await
        .batch_execute(&format!("ALTER ROLE {}_login RESET role", p))
        .await
        .unwrap();

    // New pools: refused at once, naming what the connection turned out to be.
    let refused = |err: PoolError| match err {
        PoolError::WrongScope {
            ref environment,
            ref project,
            login,
            ref session_user,
            ref current_user,
            ref current_schema,
        } => {
            assert_eq!(environment, "staging");
            assert_eq!(project, &p);
            assert_eq!(login, Login::App);
            assert_eq!(session_user, "pool_nodefault_login");
            assert_eq!(current_user, "pool_nodefault_login");
            // The search path still names the schema, but the login itself has no USAGE on it.
            assert_eq!(current_schema, &None);
            let text = err.to_string();
            assert!(
                text.contains("runs as `pool_nodefault_login`")
                    && text.contains("provision the project again"),
                "{text}"
            );
        }
        other => panic!("expected WrongScope, got {other:?}"),
    };
    refused(env.sqlx_pool(&p, &options).await.unwrap_err());
    refused(env.deadpool_pool(&p, &options).await.unwrap_err());

    // Existing pools: a new connection is never handed out.
    match deadpool.get().await.unwrap_err() {
        deadpool_postgres::PoolError::PostCreateHook(deadpool_postgres::HookError::Message(m)) => {
            assert!(m.contains("runs as `pool_nodefault_login`"), "{m}");
        }
        other => panic!("expected the post_create hook to refuse, got {other:?}"),
    }
    let err = sqlx_pool.acquire().await.unwrap_err();
    assert!(matches!(err, sqlx::Error::PoolTimedOut), "{err:?}");
    // The connections opened before are still the app role.
    assert_eq!(sqlx_landing(&mut held_sqlx).await.unwrap(), expected(&p));
    assert_eq!(pg_landing(&held_deadpool).await, expected(&p));

    // Provisioning again restores the default; new connections pass again.
    let applied = env
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    assert!(!applied.is_empty(), "the role default must be planned back");
    let mut conn = sqlx_pool.acquire().await.unwrap();
    assert_eq!(sqlx_landing(&mut conn).await.unwrap(), expected(&p));
    let client = deadpool.get().await.unwrap();
    assert_eq!(pg_landing(&client).await, expected(&p));
    env.sqlx_pool(&p, &options).await.unwrap();
    env.deadpool_pool(&p, &options).await.unwrap();
}

/// A fresh password, different on every call.
fn fresh_password() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("Rotated{}x{nanos}", N.fetch_add(1, Ordering::SeqCst))
}

/// Rotates `p`'s app login on prod behind the cache's back, the way another process would: a new
/// current version straight into Secrets Manager, then the new password on the server.
async fn rotate(store: &dyn SecretSource, env: &Environment, p: &ProjectName) -> (String, String) {
    let id = env.secret_id(p, Login::App);
    let old = store.get_current(&id).await.unwrap();
    let password = fresh_password();
    store
        .put(&id, &old.with_password(password.clone()), Stage::Current)
        .await
        .unwrap();
    superuser(cluster("prod"))
        .await
        .batch_execute(&format!("ALTER ROLE {}_login PASSWORD '{password}'", p))
        .await
        .unwrap();
    (old.password.expose_secret().to_owned(), password)
}

type HourLongCache = Arc<CachedSource<Arc<AwsSecretsManager>>>;

/// A deployment reading Secrets Manager (moto) behind a cache that would serve a password for an
/// hour, with `name` provisioned in it: a change made in the store behind the cache's back is
/// seen only by refreshing.
async fn behind_an_hour_long_cache(
    name: &str,
) -> (Arc<AwsSecretsManager>, HourLongCache, Cotenant, ProjectName) {
    let moto = Arc::new(MotoServer::shared().secrets_manager());
    let cached = Arc::new(CachedSource::new(moto.clone(), Duration::from_secs(3600)));
    let cotenant = Pair::shared()
        .cotenant("test", cached.clone())
        .await
        .unwrap();
    let p = provisioned(&cotenant, name).await;
    (moto, cached, cotenant, p)
}

#[tokio::test]
async fn a_rotated_password_is_read_again_and_retried() {
    let (moto, cached, cotenant, p) = behind_an_hour_long_cache("pool_rotated").await;
    let env = cotenant.environment("prod").unwrap();
    let id = env.secret_id(&p, Login::App);
    let options = PoolOptions::new().max_size(4);

    // sqlx: a plain acquire keeps the old password; sqlx_acquire refreshes it for the pool.
    let sqlx_pool = env.sqlx_pool(&p, &options).await.unwrap();
    let _held = sqlx_pool.acquire().await.unwrap();
    let (old, new) = rotate(moto.as_ref(), env, &p).await;
    let cached_password = cached.get_current(&id).await.unwrap().password;
    assert_eq!(cached_password.expose_secret(), old, "the cache is stale");
    let err = sqlx_pool.acquire().await.unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("28P01"), "{err}");
    let mut conn = env.sqlx_acquire(&p, &sqlx_pool).await.unwrap();
    assert_eq!(sqlx_landing(&mut conn).await.unwrap(), expected(&p));
    let mut conn = sqlx_pool.acquire().await.unwrap();
    assert_eq!(sqlx_landing(&mut conn).await.unwrap(), expected(&p));
    let cached_password = cached.get_current(&id).await.unwrap().password;
    assert_eq!(
        cached_password.expose_secret(),
        new,
        "the cache was refreshed"
    );

    // deadpool: the pool refreshes by itself when a new connection is refused.
    let deadpool = env.deadpool_pool(&p, &options).await.unwrap();
    let _held = deadpool.get().await.unwrap();
    let (old, _) = rotate(moto.as_ref(), env, &p).await;
    assert_eq!(
        cached
            .get_current(&id)
            .await
            .unwrap()
            .password
            .expose_secret(),
        old
    );
    let client = deadpool.get().await.unwrap();
    assert_eq!(pg_landing(&client).await, expected(&p));

    // The constructors refresh a stale credential too.
    rotate(moto.as_ref(), env, &p).await;
    let pool = env.sqlx_pool(&p, &options).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(sqlx_landing(&mut conn).await.unwrap(), expected(&p));
    rotate(moto.as_ref(), env, &p).await;
    let pool = env.deadpool_pool(&p, &options).await.unwrap();
    assert_eq!(pg_landing(&pool.get().await.unwrap()).await, expected(&p));
}

#[tokio::test]
async fn a_password_the_server_refuses_fails_with_28p01_and_is_never_shown() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_refused").await;
    let env = cotenant.environment("prod").unwrap();
    let in_store = env.login_secret(&p, Login::App).await.unwrap().password;
    superuser(cluster("prod"))
        .await
        .batch_execute(&format!(
            "ALTER ROLE {}_login PASSWORD 'only-the-server-knows'",
            p
        ))
        .await
        .unwrap();
    let errors = [
        env.sqlx_pool(&p, &PoolOptions::new()).await.unwrap_err(),
        env.deadpool_pool(&p, &PoolOptions::new())
            .await
            .unwrap_err(),
    ];
    for err in errors {
        assert_eq!(err.code(), Some("28P01"), "{err}");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("pool_refused_login"), "{shown}");
        assert!(!shown.contains(in_store.expose_secret()), "{shown}");
        assert!(!shown.contains("only-the-server-knows"), "{shown}");
    }
    // Provisioning sets the secret's password again; the pools work.
    env.provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    env.sqlx_pool(&p, &PoolOptions::new()).await.unwrap();
    env.deadpool_pool(&p, &PoolOptions::new()).await.unwrap();
}

/// The shared pair's environments with `tls_lines` in place of `tls = "disable"`, secrets in the
/// shared moto server under the `test` prefix (where `deployment()` put them).
fn with_tls(tls_lines: &str) -> Cotenant {
    let mut toml = "[secrets]\nprefix = \"test\"\n".to_owned();
    for (name, cluster) in Pair::shared().environments() {
        toml.push_str(&format!(
            "[environments.{name}]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nadmin_secret = \"test/{name}/admin\"\n{tls_lines}\n",
            cluster.host(),
            cluster.port(),
            cluster.database(),
        ));
    }
    let config = cotenant::config::Config::from_toml_str(&toml).unwrap();
    Cotenant::with_secrets(&config, Arc::new(MotoServer::shared().secrets_manager()))
}

#[tokio::test]
async fn the_environments_tls_mode_applies_to_both_pools() {
    let p = provisioned(&deployment().await, "pool_tls").await;

    // The test servers speak no TLS: `require` must fail, not fall back to plain text.
    let required = with_tls("tls = \"require\"");
    let env = required.environment("staging").unwrap();
    for err in [
        env.sqlx_pool(&p, &PoolOptions::new()).await.unwrap_err(),
        env.deadpool_pool(&p, &PoolOptions::new())
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, PoolError::Sqlx { .. } | PoolError::Postgres { .. })
                && err.to_string().contains("TLS"),
            "{err:?}"
        );
    }

    // `verify-full` with a `ca_file` that holds no certificate is refused before connecting.
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("empty.pem");
    std::fs::write(&ca_file, "not a certificate\n").unwrap();
    let verified = with_tls(&format!(
        "tls = \"verify-full\"\nca_file = \"{}\"",
        ca_file.display()
    ));
    let env = verified.environment("staging").unwrap();
    for err in [
        env.sqlx_pool(&p, &PoolOptions::new()).await.unwrap_err(),
        env.deadpool_pool(&p, &PoolOptions::new())
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(&err, PoolError::Connect { source, .. }
                if matches!(**source, cotenant::connect::ConnectError::CaFile { .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains("empty.pem"), "{err}");
    }
}

#[tokio::test]
async fn migrator_pools_land_as_the_owner_and_are_sized_by_its_connection_limit() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_migr").await;
    let other = provisioned(&cotenant, "pool_migr_other").await;
    let owner = (p.roles().owner, p.roles().migrator, p.to_string());
    for env in both() {
        let environment = cotenant.environment(env).unwrap();
        let options = PoolOptions::new().login(Login::Migrator);

        let pool = environment.sqlx_pool(&p, &options).await.unwrap();
        // Unset, the size is min(10, the migrator's connection limit of 5).
        assert_eq!(pool.options().get_max_connections(), 5, "{env}");
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(sqlx_landing(&mut conn).await.unwrap(), owner, "{env}");
        conn.execute("CREATE TABLE from_sqlx (id int)")
            .await
            .unwrap();
        let denied = conn
            .execute(format!("SELECT * FROM {other}.t").as_str())
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&denied).as_deref(), Some("42501"), "{env}");
        drop(conn);
        pool.close().await;

        let pool = environment.deadpool_pool(&p, &options).await.unwrap();
        assert_eq!(pool.status().max_size, 5, "{env}");
        let client = pool.get().await.unwrap();
        assert_eq!(pg_landing(&client).await, owner, "{env}");
        assert_allowed(&client, env, "CREATE TABLE from_deadpool (id int)").await;
        assert_denied(&client, env, &format!("SELECT * FROM {other}.t")).await;

        // The app login still cannot change the schema.
        let app = environment
            .deadpool_pool(&p, &PoolOptions::new())
            .await
            .unwrap();
        assert_eq!(app.status().max_size, 10, "min(10, the app login's 20)");
        assert_denied(
            &app.get().await.unwrap(),
            env,
            "CREATE TABLE from_app (id int)",
        )
        .await;
    }
}

#[tokio::test]
async fn a_pool_larger_than_the_logins_connection_limit_is_refused() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_limit").await;
    let env = cotenant.environment("staging").unwrap();
    for (login, limit) in [(Login::App, 20), (Login::Migrator, 5)] {
        let options = PoolOptions::new().login(login).max_size(limit + 1);
        for err in [
            env.sqlx_pool(&p, &options).await.unwrap_err(),
            env.deadpool_pool(&p, &options).await.unwrap_err(),
        ] {
            match &err {
                PoolError::ExceedsConnectionLimit {
                    max_size,
                    connection_limit,
                    user,
                    ..
                } => {
                    assert_eq!((*max_size, *connection_limit), (limit + 1, limit));
                    let roles = p.roles();
                    let expected = match login {
                        Login::App => roles.login,
                        Login::Migrator => roles.migrator,
                    };
                    assert_eq!(user, &expected);
                }
                other => panic!("expected ExceedsConnectionLimit, got {other:?}"),
            }
            let text = err.to_string();
            assert!(
                text.contains(&format!("set max_size to at most {limit}")),
                "{text}"
            );
        }
        // At the limit is fine.
        let options = PoolOptions::new().login(login).max_size(limit);
        env.sqlx_pool(&p, &options).await.unwrap().close().await;
        env.deadpool_pool(&p, &options).await.unwrap();
    }
}

#[tokio::test]
async fn a_secret_for_another_login_or_server_is_refused_before_connecting() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_mismatch").await;
    let other = provisioned(&cotenant, "pool_mismatch_other").await;
    let env = cotenant.environment("prod").unwrap();
    let store = env.secrets().clone();
    let id = env.secret_id(&p, Login::App);
    let own = store.get_current(&id).await.unwrap();
    // A working credential, of another project: connecting with it would land as `other`'s app.
    let others = store
        .get_current(&env.secret_id(&other, Login::App))
        .await
        .unwrap();
    let staging = cotenant.environment("staging").unwrap().config().clone();
    let cases = [
        ("username", others.clone(), "pool_mismatch_other_login"),
        (
            "port",
            DbSecret {
                port: staging.port,
                ..own.clone()
            },
            &staging.port.to_string() as &str,
        ),
        (
            "host",
            DbSecret {
                host: "db.elsewhere.example".to_owned(),
                ..own.clone()
            },
            "db.elsewhere.example",
        ),
        (
            "dbname",
            DbSecret {
                dbname: "other_db".to_owned(),
                ..own.clone()
            },
            "other_db",
        ),
    ];
    for (field, secret, found) in cases {
        store.put(&id, &secret, Stage::Current).await.unwrap();
        for err in [
            env.sqlx_pool(&p, &PoolOptions::new()).await.unwrap_err(),
            env.deadpool_pool(&p, &PoolOptions::new())
                .await
                .unwrap_err(),
        ] {
            match &err {
                PoolError::SecretMismatch {
                    field: f,
                    found: x,
                    secret,
                    ..
                } => {
                    assert_eq!((f.key(), x.as_str()), (field, found));
                    assert_eq!(secret, &id);
                }
                other => panic!("{field}: expected SecretMismatch, got {other:?}"),
            }
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(others.password.expose_secret()), "{shown}");
            assert!(!shown.contains(own.password.expose_secret()), "{shown}");
        }
    }
    store.put(&id, &own, Stage::Current).await.unwrap();
    env.sqlx_pool(&p, &PoolOptions::new())
        .await
        .unwrap()
        .close()
        .await;
    env.deadpool_pool(&p, &PoolOptions::new()).await.unwrap();
}

/// Everything `cotenant::pool` logs (with its spans) from the first call on, from every test in
/// this process. A process-wide subscriber rather than a scoped one: tracing caches whether a
/// callsite is enabled across threads, and a span first met by another test's thread while a
/// scoped subscriber was being installed could stay disabled for it.
fn captured_logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
    #[derive(Clone)]
    struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Buffer(Arc::default());
        let logs = buffer.0.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("cotenant::pool=debug")
            .with_ansi(false)
            .with_writer(move || buffer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
        tracing::callsite::rebuild_interest_cache();
        logs
    })
    .clone()
}

/// Halfway through a single-user rotation of `p`'s `login` on prod: the new password is staged
/// as AWSPENDING and set on the server, the current version still has the old one.
async fn rotate_halfway(
    store: &dyn SecretSource,
    env: &Environment,
    p: &ProjectName,
    login: Login,
) -> (cotenant::secret::VersionId, String) {
    let id = env.secret_id(p, login);
    let old = store.get_current(&id).await.unwrap();
    let password = fresh_password();
    let version = store
        .put(&id, &old.with_password(password.clone()), Stage::Pending)
        .await
        .unwrap();
    superuser(cluster("prod"))
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} PASSWORD '{password}'",
            old.username
        ))
        .await
        .unwrap();
    (version, password)
}

#[tokio::test]
async fn mid_rotation_the_pending_version_is_used_when_the_current_one_is_refused() {
    let (moto, _, cotenant, p) = behind_an_hour_long_cache("pool_pending").await;
    let env = cotenant.environment("prod").unwrap();
    let id = env.secret_id(&p, Login::App);
    let options = PoolOptions::new().max_size(4);
    let sqlx_pool = env.sqlx_pool(&p, &options).await.unwrap();
    let refreshed_by_hand = env.sqlx_pool(&p, &options).await.unwrap();
    let deadpool = env.deadpool_pool(&p, &options).await.unwrap();
    let old = moto.get_current(&id).await.unwrap();

    let logs = captured_logs();
    let (version, new) = rotate_halfway(moto.as_ref(), env, &p, Login::App).await;

    // deadpool: the next new connection is refused, the current version is the refused one, the
    // pending one logs in.
    let client = deadpool.get().await.unwrap();
    assert_eq!(pg_landing(&client).await, expected(&p));

    // sqlx: a plain acquire is refused; sqlx_acquire finds the pending version and gives it to
    // the pool, so plain acquires work again.
    let err = sqlx_pool.acquire().await.unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("28P01"), "{err}");
    let mut conn = env.sqlx_acquire(&p, &sqlx_pool).await.unwrap();
    assert_eq!(sqlx_landing(&mut conn).await.unwrap(), expected(&p));
    let mut conn2 = sqlx_pool.acquire().await.unwrap();
    assert_eq!(sqlx_landing(&mut conn2).await.unwrap(), expected(&p));
    // Or refresh_sqlx_pool after a query failed with 28P01.
    let err = refreshed_by_hand.acquire().await.unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("28P01"), "{err}");
    env.refresh_sqlx_pool(&p, &refreshed_by_hand).await.unwrap();
    let mut conn3 = refreshed_by_hand.acquire().await.unwrap();
    assert_eq!(sqlx_landing(&mut conn3).await.unwrap(), expected(&p));
    drop(conn3);
    refreshed_by_hand.close().await;

    // The constructors do the same.
    env.sqlx_pool(&p, &options).await.unwrap().close().await;
    env.deadpool_pool(&p, &options).await.unwrap();

    // Nothing was promoted: the current version still has the old password.
    let current = moto.get_current(&id).await.unwrap();
    assert_eq!(
        current.password.expose_secret(),
        old.password.expose_secret()
    );
    // What was logged names where and who, never a password.
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    for needle in [
        "refresh{environment=\"prod\" project=pool_pending login=app",
        "connect{environment=\"prod\" project=pool_pending user=pool_pending_login}",
        "stage=AWSPENDING",
    ] {
        assert!(logs.contains(needle), "`{needle}` not in:\n{logs}");
    }
    assert!(!logs.contains(&new), "{logs}");
    assert!(!logs.contains(old.password.expose_secret()), "{logs}");

    // Promoted: new pools and new connections keep working.
    moto.promote(&id, &version).await.unwrap();
    drop((client, conn, conn2));
    env.sqlx_pool(&p, &options).await.unwrap().close().await;
    let pool = env.deadpool_pool(&p, &options).await.unwrap();
    assert_eq!(pg_landing(&pool.get().await.unwrap()).await, expected(&p));
}

#[tokio::test]
async fn a_pending_version_written_a_moment_after_the_refusal_is_found_by_the_backoff() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_backoff").await;
    let env = cotenant.environment("prod").unwrap();
    let id = env.secret_id(&p, Login::App);
    let options = PoolOptions::new().max_size(2);
    let sqlx_pool = env.sqlx_pool(&p, &options).await.unwrap();
    let deadpool = env.deadpool_pool(&p, &options).await.unwrap();

    for pool_type in ["deadpool", "sqlx"] {
        // A rotation done in the wrong order: the server's password changes first, the store
        // learns it 60 ms later (the retry rounds start after 0, 50, 150 and 350 ms).
        let old = env.secrets().get_current(&id).await.unwrap();
        let password = fresh_password();
        superuser(cluster("prod"))
            .await
            .batch_execute(&format!("ALTER ROLE {}_login PASSWORD '{password}'", p))
            .await
            .unwrap();
        let store = env.secrets().clone();
        let (id2, next) = (id.clone(), old.with_password(password));
        let late = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(60)).await;
            store.put(&id2, &next, Stage::Current).await.unwrap();
        });
        let started = std::time::Instant::now();
        let landing = match pool_type {
            "deadpool" => pg_landing(&deadpool.get().await.unwrap()).await,
            _ => sqlx_landing(&mut env.sqlx_acquire(&p, &sqlx_pool).await.unwrap())
                .await
                .unwrap(),
        };
        assert_eq!(landing, expected(&p), "{pool_type}");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(60) && took < Duration::from_secs(3),
            "{pool_type}: {took:?}"
        );
        late.await.unwrap();
    }
}

#[tokio::test]
async fn a_sqlx_pool_follows_an_alternating_users_rotation_without_help() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_twin").await;
    let env = cotenant.environment("prod").unwrap();
    let id = env.secret_id(&p, Login::App);
    let options = PoolOptions::new()
        .max_size(2)
        .credential_watch(Some(Duration::from_millis(100)));
    let sqlx_pool = env.sqlx_pool(&p, &options).await.unwrap();
    let deadpool = env.deadpool_pool(&p, &options).await.unwrap();

    // Alternating users, by hand: the twin gets a password, then the credential moves to it.
    let roles = p.roles();
    let twin_password = fresh_password();
    let su = superuser(cluster("prod")).await;
    su.batch_execute(&format!(
        "CREATE ROLE {twin} LOGIN NOINHERIT CONNECTION LIMIT 20 PASSWORD '{twin_password}' IN ROLE {app};
         ALTER ROLE {twin} SET role = '{app}';
         ALTER ROLE {twin} SET search_path = '{p}';",
        twin = roles.login_clone,
        app = roles.app,
    ))
    .await
    .unwrap();
    // Other tests provision concurrently and change the database's ACL too: PostgreSQL refuses
    // concurrent updates of one catalog row ("tuple concurrently updated"); try again.
    let grant = format!(
        "GRANT CONNECT ON DATABASE {} TO {}",
        cluster("prod").database(),
        roles.login_clone
    );
    for attempt in 1.. {
        match su.batch_execute(&grant).await {
            Ok(()) => break,
            Err(e)
                if attempt < 20
                    && e.code() == Some(&tokio_postgres::error::SqlState::INTERNAL_ERROR) =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("{grant}: {e}"),
        }
    }
    let old = env.secrets().get_current(&id).await.unwrap();
    let moved = DbSecret {
        username: roles.login_clone.clone(),
        ..old.with_password(twin_password)
    };
    env.secrets()
        .put(&id, &moved, Stage::Current)
        .await
        .unwrap();
    // The watcher reads it every 100 ms and gives it to the pool.
    let waiting = std::time::Instant::now();
    while sqlx_pool.connect_options().get_username() != roles.login_clone {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "the watcher did not move the pool to the twin"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The next rotation changes the password of the user that no longer holds the credential.
    superuser(cluster("prod"))
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} PASSWORD '{}'",
            roles.login,
            fresh_password()
        ))
        .await
        .unwrap();

    // A plain acquire on `&PgPool` opens its connection as the twin.
    let twin_landing = (roles.app.clone(), roles.login_clone.clone(), p.to_string());
    let mut conn = sqlx_pool.acquire().await.unwrap();
    assert_eq!(sqlx_landing(&mut conn).await.unwrap(), twin_landing);
    // deadpool's next connection is refused as the old user and refreshed to the twin.
    let client = deadpool.get().await.unwrap();
    assert_eq!(pg_landing(&client).await, twin_landing);
    drop(conn);
    sqlx_pool.close().await;
}

#[tokio::test]
async fn a_pooled_connection_that_lost_its_role_runs_as_the_login_which_reaches_nothing() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_reset").await;
    let other = provisioned(&cotenant, "pool_reset_other").await;
    let env = cotenant.environment("staging").unwrap();
    let roles = p.roles();
    // One connection per pool: the next checkout gets the connection the last one left.
    let options = PoolOptions::new().max_size(1);
    let login_landing = (roles.login.clone(), roles.login.clone());
    let own_table = format!("SELECT * FROM {p}.t");
    let other_table = format!("SELECT * FROM {other}.t");
    let become_other = format!("SET ROLE {}", other.roles().app);

    // deadpool: recycling does not reset the session (RecyclingMethod::Fast); the check ran on
    // the new connection only.
    let pool = env.deadpool_pool(&p, &options).await.unwrap();
    let client = pool.get().await.unwrap();
    // RESET ROLE, RESET ALL and DISCARD ALL go back to the login's role default: still the app
    // role. SET ROLE NONE leaves the login itself.
    for reset in ["RESET ROLE", "RESET ALL", "DISCARD ALL"] {
        client.batch_execute(reset).await.unwrap();
        assert_eq!(pg_landing(&client).await, expected(&p), "after {reset}");
    }
    client.batch_execute("SET ROLE NONE").await.unwrap();
    drop(client);
    let client = pool.get().await.unwrap();
    // The search path is the login's default, but without the app role the schema is unusable:
    // no current schema.
    let row = client
        .query_one(
            "SELECT current_user::text, session_user::text, current_schema()::text",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get(0), row.get(1), row.get::<_, Option<String>>(2)),
        (
            login_landing.0.clone(),
            login_landing.1.clone(),
            None::<String>
        )
    );
    for sql in [&own_table, &other_table, &become_other] {
        assert_denied(&client, "the login itself", sql).await;
    }

    // sqlx: the same.
    let pool = env.sqlx_pool(&p, &options).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for reset in ["RESET ROLE", "RESET ALL", "DISCARD ALL"] {
        conn.execute(reset).await.unwrap();
        assert_eq!(sqlx_landing(&mut conn).await.unwrap(), expected(&p));
    }
    conn.execute("SET ROLE NONE").await.unwrap();
    drop(conn);
    let mut conn = pool.acquire().await.unwrap();
    let row = conn
        .fetch_one("SELECT current_user::text, session_user::text")
        .await
        .unwrap();
    assert_eq!(
        (row.get::<String, _>(0), row.get::<String, _>(1)),
        login_landing
    );
    for sql in [&own_table, &other_table, &become_other] {
        let err = conn.execute(sql.as_str()).await.unwrap_err();
        assert_eq!(sqlstate(&err).as_deref(), Some("42501"), "`{sql}`: {err}");
    }
    drop(conn);
    pool.close().await;
}

#[tokio::test]
async fn a_transaction_pooler_address_replaces_the_servers_and_lifts_the_size_bound() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_pooler").await;
    let env = cotenant.environment("staging").unwrap();
    let server = cluster("staging");
    // Nothing listens there: the error names the pooler's address, so that is where it went.
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = nowhere.local_addr().unwrap().port();
    drop(nowhere);
    let options = PoolOptions::new()
        .transaction_pooler("127.0.0.1", port)
        .acquire_timeout(Duration::from_secs(5));
    for err in [
        env.sqlx_pool(&p, &options).await.unwrap_err(),
        env.deadpool_pool(&p, &options).await.unwrap_err(),
    ] {
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}/")),
            "{err}"
        );
    }
    // A "pooler" that is the server itself: 50 client connections are more than the login's
    // 20, which only bounds the pooler's own connections.
    let options = PoolOptions::new()
        .transaction_pooler(server.host(), server.port())
        .max_size(50);
    let pool = env.sqlx_pool(&p, &options).await.unwrap();
    assert_eq!(pool.options().get_max_connections(), 50);
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(sqlx_landing(&mut conn).await.unwrap(), expected(&p));
    drop(conn);
    pool.close().await;
    let pool = env.deadpool_pool(&p, &options).await.unwrap();
    assert_eq!(pool.status().max_size, 50);
    assert_eq!(pg_landing(&pool.get().await.unwrap()).await, expected(&p));
}

/// What the module docs say about prepared statements through a transaction-mode pooler,
/// checked against the drivers cotenant links.
#[tokio::test]
async fn what_each_driver_leaves_prepared_on_the_server() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pool_stmts").await;
    let env = cotenant.environment("staging").unwrap();
    let pool = env.sqlx_pool(&p, &PoolOptions::new()).await.unwrap();
    const PREPARED: &str = "SELECT count(*) FROM pg_prepared_statements";

    // sqlx with its statement cache turned off still names every statement it prepares, and
    // never closes them: one more per execution.
    let options = (*pool.connect_options())
        .clone()
        .statement_cache_capacity(0);
    let mut conn = sqlx::PgConnection::connect_with(&options).await.unwrap();
    for i in 0..3 {
        sqlx::query("SELECT v FROM t WHERE id = $1")
            .bind(i)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
    }
    let named: i64 = sqlx::query_scalar(PREPARED)
        .persistent(false)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(named, 3, "capacity 0: a new named statement per execution");
    // `.persistent(false)` uses the unnamed statement.
    for i in 0..3 {
        sqlx::query("SELECT v FROM t WHERE id = $1")
            .bind(i)
            .persistent(false)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
    }
    let named: i64 = sqlx::query_scalar(PREPARED)
        .persistent(false)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(named, 3, "persistent(false) adds none");
    sqlx::Connection::close(conn).await.unwrap();
    pool.close().await;

    // tokio-postgres: `query_typed` and `simple_query` prepare nothing named; `prepare` (what
    // `query(&str)` does first) does, until the statement is dropped.
    let pool = env.deadpool_pool(&p, &PoolOptions::new()).await.unwrap();
    let client = pool.get().await.unwrap();
    let count = || async { client.query_typed(PREPARED, &[]).await.unwrap()[0].get::<_, i64>(0) };
    client
        .query_typed(
            "SELECT v FROM t WHERE id = $1",
            &[(&1_i32, tokio_postgres::types::Type::INT4)],
        )
        .await
        .unwrap();
    client.simple_query("SELECT v FROM t").await.unwrap();
    assert_eq!(count().await, 0);
    let statement = client
        .prepare("SELECT v FROM t WHERE id = $1")
        .await
        .unwrap();
    assert_eq!(count().await, 1);
    client.query(&statement, &[&1_i32]).await.unwrap();
    drop(statement);
    // deadpool's statement cache keeps its statements for the connection's life.
    client
        .prepare_cached("SELECT v FROM t WHERE id = $1")
        .await
        .unwrap();
    assert!(count().await >= 1);
}
