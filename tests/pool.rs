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
use cotenant::secret::{CachedSource, Login, SecretSource, Stage};
use cotenant::{Cotenant, Environment, ProjectName};
use cotenant_testkit::{MotoServer, Pair};
use secrecy::ExposeSecret;
use sqlx::{Executor, Row};

const WHERE_AM_I: &str = "SELECT current_user::text, session_user::text, current_schema()::text";

/// Provisions `name` everywhere and gives it a table `t` with one row, as its migrator.
async fn provisioned(cotenant: &Cotenant, name: &str) -> ProjectName {
    let p = project(name);
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    for env in both() {
        login(cotenant, env, &p, Login::Migrator)
            .await
            .batch_execute(
                "CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) VALUES ('seed')",
            )
            .await
            .unwrap();
    }
    p
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

#[tokio::test]
async fn a_rotated_password_is_read_again_and_retried() {
    // Secrets Manager behind a cache that would serve the old password for an hour.
    let moto = Arc::new(MotoServer::shared().secrets_manager());
    let cached = Arc::new(CachedSource::new(moto.clone(), Duration::from_secs(3600)));
    let cotenant = Pair::shared()
        .cotenant("test", cached.clone())
        .await
        .unwrap();
    let p = provisioned(&cotenant, "pool_rotated").await;
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
