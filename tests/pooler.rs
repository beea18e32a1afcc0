//! Scoped pools through a real transaction-mode pooler (the test kit's PgBouncer in front of each
//! server of the shared pair, on the version in `COTENANT_TEST_PG`): they land scoped and refuse a
//! login that does not, run statements in the forms a transaction pooler keeps, follow a rotated
//! password while serving, and a pooled server connection never serves two projects — seen from
//! the server (`pg_backend_pid()`, `pg_stat_activity`) and from PgBouncer (`SHOW SERVERS`).
//!
//! Where PgBouncer is not installed every test here says it is skipped and why.
#![cfg(all(feature = "sqlx", feature = "deadpool"))]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use cotenant::config::Config;
use cotenant::pool::{PoolError, PoolOptions};
use cotenant::provision::ProjectSettings;
use cotenant::secret::{CachedSource, Login, SecretSource, Stage};
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{MotoServer, Pair, Pooler, TestkitError};
use secrecy::ExposeSecret;
use sqlx::{Executor, Row};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

const WHERE_AM_I: &str = "SELECT current_user::text, session_user::text, current_schema()::text";

/// The shared pair's pooler in front of `env`'s server, or `None` — saying so — where PgBouncer
/// is not installed.
fn pooler(env: &str) -> Option<&'static Pooler> {
    match cluster(env).pooler() {
        Ok(pooler) => Some(pooler),
        Err(error @ TestkitError::PoolerNotFound { .. }) => {
            eprintln!("skipped: this test needs PgBouncer: {error}");
            None
        }
        Err(error) => panic!("starting PgBouncer in front of {env}: {error}"),
    }
}

/// The shared pair as a deployment whose environments name their PgBouncer as `pooler`, secrets
/// read from moto through `secrets` (the `test` prefix, where `deployment()` writes them);
/// `None` where PgBouncer is not installed.
fn through_poolers(secrets: Arc<dyn SecretSource>) -> Option<Cotenant> {
    let mut toml = "[secrets]\nprefix = \"test\"\n".to_owned();
    for (name, cluster) in Pair::shared().environments() {
        let pooler = pooler(name)?;
        toml.push_str(&format!(
            "[environments.{name}]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\n\
             admin_secret = \"test/{name}/admin\"\ntls = \"disable\"\n\
             pooler = {{ host = \"{}\", port = {} }}\n",
            cluster.host(),
            cluster.port(),
            cluster.database(),
            pooler.host(),
            pooler.port(),
        ));
    }
    let config = Config::from_toml_str(&toml).unwrap();
    Some(Cotenant::with_secrets(&config, secrets))
}

fn moto() -> Arc<dyn SecretSource> {
    Arc::new(MotoServer::shared().secrets_manager())
}

/// Provisions `name` (directly, as the admin) with a table `t` holding one row.
async fn provisioned(name: &str) -> ProjectName {
    common::provisioned(&deployment().await, name, &ProjectSettings::default()).await
}

fn expected(p: &ProjectName) -> (String, String, String) {
    let roles = p.roles();
    (roles.app, roles.login, p.to_string())
}

async fn pg_landing(client: &Client) -> (String, String, String) {
    let row = &client.query_typed(WHERE_AM_I, &[]).await.unwrap()[0];
    (row.get(0), row.get(1), row.get(2))
}

async fn sqlx_landing(conn: &mut sqlx::PgConnection) -> (String, String, String) {
    let row = conn.fetch_one(WHERE_AM_I).await.unwrap();
    (row.get(0), row.get(1), row.get(2))
}

fn sqlstate(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
}

async fn connect(config: tokio_postgres::Config) -> Client {
    let (client, connection) = config.connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Every row of `sql` (simple protocol, as PgBouncer's console speaks) as column name → value.
async fn rows(client: &Client, sql: &str) -> Vec<BTreeMap<String, String>> {
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(
                row.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.name().to_owned(), row.get(i).unwrap_or("").to_owned()))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// The users PgBouncer keeps pools for.
async fn pooled_users(pooler: &Pooler) -> BTreeSet<String> {
    let console = connect(pooler.console_config()).await;
    rows(&console, "SHOW POOLS")
        .await
        .into_iter()
        .map(|row| row["user"].clone())
        .collect()
}

#[tokio::test]
async fn through_pgbouncer_both_pools_land_scoped_and_run_parameters_and_transactions() {
    let Some(pooled) = through_poolers(moto()) else {
        return;
    };
    let p = provisioned("pooler_own").await;
    let other = provisioned("pooler_other").await;
    for env in both() {
        let environment = pooled.environment(env).unwrap();

        // deadpool: statements with parameters as `query_typed` (one round trip, the unnamed
        // statement), a transaction with `prepare` inside it.
        let pool = environment
            .deadpool_pool(&p, &PoolOptions::new())
            .await
            .unwrap();
        let mut client = pool.get().await.unwrap();
        assert_eq!(pg_landing(&client).await, expected(&p), "{env}");
        client
            .query_typed(
                "INSERT INTO t (v) VALUES ($1)",
                &[(&"through pgbouncer", Type::TEXT)],
            )
            .await
            .unwrap();
        let found = client
            .query_typed(
                "SELECT count(*) FROM t WHERE v = $1",
                &[(&"through pgbouncer", Type::TEXT)],
            )
            .await
            .unwrap();
        assert_eq!(found[0].get::<_, i64>(0), 1, "{env}");
        // A named statement is closed when dropped: drop it before the transaction ends, so that
        // the Close reaches the server connection it lives on.
        let tx = client.transaction().await.unwrap();
        let insert = tx.prepare("INSERT INTO t (v) VALUES ($1)").await.unwrap();
        tx.execute(&insert, &[&"rolled back"]).await.unwrap();
        drop(insert);
        tx.rollback().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let insert = tx.prepare("INSERT INTO t (v) VALUES ($1)").await.unwrap();
        tx.execute(&insert, &[&"committed"]).await.unwrap();
        drop(insert);
        tx.commit().await.unwrap();
        let rows = client
            .simple_query("SELECT v FROM t ORDER BY id")
            .await
            .unwrap();
        let values: Vec<&str> = rows
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(0),
                _ => None,
            })
            .collect();
        assert_eq!(values, ["seed", "through pgbouncer", "committed"], "{env}");
        assert_denied(&client, env, &format!("SELECT * FROM {other}.t")).await;
        drop(client);

        // sqlx: parameters inside a transaction with `persistent(false)`, plain text outside.
        let pool = environment
            .sqlx_pool(&p, &PoolOptions::new())
            .await
            .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(sqlx_landing(&mut conn).await, expected(&p), "{env}");
        drop(conn);
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO t (v) VALUES ($1)")
            .bind("from sqlx")
            .persistent(false)
            .execute(&mut *tx)
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t WHERE v = $1")
            .bind("from sqlx")
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(n, 1, "{env}: the transaction sees its own row");
        tx.commit().await.unwrap();
        let n: i64 = sqlx::raw_sql("SELECT count(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 4, "{env}");
        let denied = sqlx::raw_sql(&format!("SELECT * FROM {other}.t"))
            .fetch_all(&pool)
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&denied).as_deref(), Some("42501"), "{env}");
        pool.close().await;

        // They went through PgBouncer: it keeps a pool for the project's login.
        let users = pooled_users(pooler(env).unwrap()).await;
        assert!(users.contains(&p.roles().login), "{env}: {users:?}");
    }
}

#[tokio::test]
async fn through_pgbouncer_a_login_that_lands_outside_its_scope_is_refused() {
    let Some(pooled) = through_poolers(moto()) else {
        return;
    };
    let p = provisioned("pooler_noscope").await;
    let env = pooled.environment("staging").unwrap();
    let login = p.roles().login;
    // Before any pooled connection: the pooler's first server connection for the login logs
    // in without the role default, and lands as the login itself.
    superuser(cluster("staging"))
        .await
        .batch_execute(&format!("ALTER ROLE {login} RESET role"))
        .await
        .unwrap();
    let options = PoolOptions::new().acquire_timeout(Duration::from_secs(5));
    for err in [
        env.sqlx_pool(&p, &options).await.unwrap_err(),
        env.deadpool_pool(&p, &options).await.unwrap_err(),
    ] {
        match &err {
            PoolError::WrongScope {
                session_user,
                current_user,
                ..
            } => {
                assert_eq!((session_user, current_user), (&login, &login), "{err}");
            }
            other => panic!("expected WrongScope, got {other:?}"),
        }
    }

    // Provisioning restores the default for new server sessions; PgBouncer's server connections
    // opened without it keep their session until the pooler reconnects them.
    env.provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    let err = env.deadpool_pool(&p, &options).await.unwrap_err();
    assert!(matches!(err, PoolError::WrongScope { .. }), "{err:?}");
    let console = connect(pooler("staging").unwrap().console_config()).await;
    console.simple_query("RECONNECT").await.unwrap();
    let pool = env.deadpool_pool(&p, &options).await.unwrap();
    assert_eq!(pg_landing(&pool.get().await.unwrap()).await, expected(&p));
    let pool = env.sqlx_pool(&p, &options).await.unwrap();
    assert_eq!(
        sqlx_landing(&mut pool.acquire().await.unwrap()).await,
        expected(&p)
    );
    pool.close().await;
}

/// What the module docs say about statements through a transaction pooler, against PgBouncer:
/// a named statement lives on the server connection it was prepared on, and the next round trip
/// may get another one — certainly while another client's transaction holds the first. The
/// named forms then fail with 26000; the safe forms work whichever server connection they get.
#[tokio::test]
async fn through_pgbouncer_named_statements_break_and_the_safe_forms_work() {
    let Some(pooled) = through_poolers(moto()) else {
        return;
    };
    let p = provisioned("pooler_stmts").await;
    let env = pooled.environment("prod").unwrap();
    const SELECT: &str = "SELECT v FROM t WHERE id = $1";
    // Where a statement ran: the backend's pid.
    const WHERE: &str = "SELECT pg_backend_pid() + $1";
    const ROUNDS: usize = 30;

    // deadpool (tokio-postgres): client A prepares a named statement, client B holds a
    // transaction. Until B's transaction happens to hold the server connection A's statement
    // runs on, A's statement may still work; then it fails.
    let pool = env
        .deadpool_pool(&p, &PoolOptions::new().max_size(2))
        .await
        .unwrap();
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    let statement = a.prepare(WHERE).await.unwrap();
    let mut failed = None;
    for _ in 0..ROUNDS {
        let ran_on = match a.query_one(&statement, &[&0_i32]).await {
            Ok(row) => row.get::<_, i32>(0),
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        let held = b
            .simple_query("BEGIN; SELECT pg_backend_pid()")
            .await
            .unwrap();
        let holds = held.iter().any(|m| {
            matches!(m, SimpleQueryMessage::Row(row) if row.get(0) == Some(ran_on.to_string().as_str()))
        });
        if holds {
            // A's statement is on B's server connection, which stays B's: A gets another.
            failed = a.query_one(&statement, &[&0_i32]).await.err();
            assert!(failed.is_some(), "A ran on B's server connection");
            break;
        }
        b.batch_execute("COMMIT").await.unwrap();
    }
    let err = failed.expect("the named statement never failed");
    assert_eq!(
        err.code(),
        Some(&SqlState::INVALID_SQL_STATEMENT_NAME),
        "{err}"
    );
    // The safe forms: the unnamed statement in one round trip, a transaction, the simple protocol.
    let rows = a
        .query_typed(SELECT, &[(&1_i32, Type::INT4)])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, String>(0), "seed");
    let mut a = a;
    let tx = a.transaction().await.unwrap();
    let inside = tx.prepare(SELECT).await.unwrap();
    assert_eq!(tx.query(&inside, &[&1_i32]).await.unwrap().len(), 1);
    drop(inside);
    tx.commit().await.unwrap();
    a.simple_query("SELECT v FROM t").await.unwrap();
    b.batch_execute("COMMIT").await.unwrap();
    drop((a, b));

    // sqlx: a persistent statement (its default), cached on the connection, fails the same way.
    let pool = env
        .sqlx_pool(&p, &PoolOptions::new().max_size(2))
        .await
        .unwrap();
    let mut a = pool.acquire().await.unwrap();
    let mut b = pool.acquire().await.unwrap();
    let mut failed = None;
    for _ in 0..ROUNDS {
        let ran_on: i32 = match sqlx::query_scalar(WHERE)
            .bind(0_i32)
            .fetch_one(&mut *a)
            .await
        {
            Ok(pid) => pid,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        b.execute("BEGIN").await.unwrap();
        let holder: i32 = b.fetch_one("SELECT pg_backend_pid()").await.unwrap().get(0);
        if holder == ran_on {
            failed = sqlx::query_scalar::<_, i32>(WHERE)
                .bind(0_i32)
                .fetch_one(&mut *a)
                .await
                .err();
            assert!(failed.is_some(), "A ran on B's server connection");
            break;
        }
        b.execute("COMMIT").await.unwrap();
    }
    let err = failed.expect("the persistent statement never failed");
    assert_eq!(sqlstate(&err).as_deref(), Some("26000"), "{err}");
    // Safe: `persistent(false)` inside a transaction, raw SQL anywhere.
    let mut tx = sqlx::Connection::begin(&mut *a).await.unwrap();
    let v: String = sqlx::query_scalar(SELECT)
        .bind(1_i32)
        .persistent(false)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(v, "seed");
    tx.commit().await.unwrap();
    sqlx::raw_sql("SELECT v FROM t")
        .fetch_all(&mut *a)
        .await
        .unwrap();
    b.execute("COMMIT").await.unwrap();
    drop((a, b));
    pool.close().await;
}

#[tokio::test]
async fn through_pgbouncer_a_rotated_password_is_followed_while_the_pools_keep_serving() {
    // Secrets read through a cache that would serve the old password for an hour: only a
    // refusal makes the pools read the store again.
    let store = Arc::new(MotoServer::shared().secrets_manager());
    let cached = Arc::new(CachedSource::new(store.clone(), Duration::from_secs(3600)));
    let Some(pooled) = through_poolers(cached.clone()) else {
        return;
    };
    let p = provisioned("pooler_rotated").await;
    let env = pooled.environment("prod").unwrap();
    let id = env.secret_id(&p, Login::App);
    let login = p.roles().login;
    let options = PoolOptions::new().max_size(4);
    let deadpool = env.deadpool_pool(&p, &options).await.unwrap();
    let sqlx_pool = env.sqlx_pool(&p, &options).await.unwrap();
    let held = deadpool.get().await.unwrap();
    let mut held_sqlx = sqlx_pool.acquire().await.unwrap();

    // Clients keep working through the rotation.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU32::new(0));
    let serving = {
        let (pool, stop, served) = (deadpool.clone(), stop.clone(), served.clone());
        tokio::spawn(async move {
            let client = pool.get().await.unwrap();
            while !stop.load(Ordering::SeqCst) {
                client
                    .query_typed(
                        "SELECT count(*) FROM t WHERE id > $1",
                        &[(&0_i32, Type::INT4)],
                    )
                    .await
                    .unwrap();
                served.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    // A single-user rotation done by another process: the new password in the store's current
    // version (behind the cache's back), then on the server.
    let old = store.get_current(&id).await.unwrap();
    let password = format!("Rotated{}", std::process::id());
    store
        .put(&id, &old.with_password(password.clone()), Stage::Current)
        .await
        .unwrap();
    superuser(cluster("prod"))
        .await
        .batch_execute(&format!("ALTER ROLE {login} PASSWORD '{password}'"))
        .await
        .unwrap();
    let cached_password = cached.get_current(&id).await.unwrap().password;
    assert_eq!(
        cached_password.expose_secret(),
        old.password.expose_secret()
    );

    // New client connections: PgBouncer reads the new secret from the server and refuses the old
    // password itself; the pools read the store again.
    let mut clients = Vec::new();
    for _ in 0..2 {
        let client = deadpool.get().await.unwrap();
        assert_eq!(pg_landing(&client).await, expected(&p));
        clients.push(client);
    }
    let err = sqlx_pool.acquire().await.unwrap_err();
    assert!(
        err.as_database_error()
            .is_some_and(|e| e.code().as_deref() == Some("08P01")),
        "PgBouncer's own refusal: {err}"
    );
    let mut conn = env.sqlx_acquire(&p, &sqlx_pool).await.unwrap();
    assert_eq!(sqlx_landing(&mut conn).await, expected(&p));
    drop(conn);
    stop.store(true, Ordering::SeqCst);
    serving.await.unwrap();
    assert!(served.load(Ordering::SeqCst) > 0);

    // The connections opened before the rotation still serve; when the server connections behind
    // them are gone, PgBouncer logs in again with what the new password's clients proved.
    let su = superuser(cluster("prod")).await;
    let before: Vec<i32> = su
        .query(
            "SELECT pid FROM pg_stat_activity WHERE usename = $1",
            &[&login],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(!before.is_empty());
    su.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
        &[&login],
    )
    .await
    .unwrap();
    // Until they are gone, and PgBouncer has seen its idle server connections close.
    for _ in 0..500 {
        let left: i64 = su
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)",
                &[&before],
            )
            .await
            .unwrap()
            .get(0);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let now: i32 = held
        .query_typed("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()[0]
        .get(0);
    assert!(!before.contains(&now), "a new server connection");
    assert_eq!(pg_landing(&held).await, expected(&p));
    assert_eq!(sqlx_landing(&mut held_sqlx).await, expected(&p));
    for client in &clients {
        assert_eq!(pg_landing(client).await, expected(&p));
    }
    drop(held_sqlx);
    sqlx_pool.close().await;
}

#[tokio::test]
async fn a_pooled_server_connection_never_serves_two_projects() {
    let Some(pooled) = through_poolers(moto()) else {
        return;
    };
    let a = provisioned("pooler_tenant_a").await;
    let b = provisioned("pooler_tenant_b").await;
    let env = pooled.environment("staging").unwrap();
    let pooler = pooler("staging").unwrap();
    // More clients per project than PgBouncer keeps server connections per login: clients of
    // one project must share server connections.
    let clients = usize::from(Pooler::DEFAULT_POOL_SIZE) + 4;
    let options = PoolOptions::new().max_size(clients);
    let deadpool = env.deadpool_pool(&a, &options).await.unwrap();
    let sqlx_pool = env.sqlx_pool(&b, &options).await.unwrap();
    const WHO: &str = "SELECT pg_backend_pid(), session_user::text, current_user::text";

    // (backend pid, session_user, current_user, client), from inside transactions.
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..clients {
        let pool = deadpool.clone();
        tasks.spawn(async move {
            let mut client = pool.get().await.unwrap();
            let mut seen = Vec::new();
            for _ in 0..30 {
                let tx = client.transaction().await.unwrap();
                let row = &tx.query_typed(WHO, &[]).await.unwrap()[0];
                tx.batch_execute("SELECT pg_sleep(0.002)").await.unwrap();
                seen.push((
                    row.get::<_, i32>(0),
                    row.get(1),
                    row.get(2),
                    format!("a{worker}"),
                ));
                tx.commit().await.unwrap();
            }
            seen
        });
        let pool = sqlx_pool.clone();
        tasks.spawn(async move {
            let mut conn = pool.acquire().await.unwrap();
            let mut seen = Vec::new();
            for _ in 0..30 {
                let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
                let row = tx.fetch_one(WHO).await.unwrap();
                tx.execute("SELECT pg_sleep(0.002)").await.unwrap();
                seen.push((
                    row.get::<i32, _>(0),
                    row.get(1),
                    row.get(2),
                    format!("b{worker}"),
                ));
                tx.commit().await.unwrap();
            }
            seen
        });
    }
    let mut by_pid: BTreeMap<i32, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut clients_by_pid: BTreeMap<i32, BTreeSet<String>> = BTreeMap::new();
    while let Some(seen) = tasks.join_next().await {
        for (pid, session_user, current_user, client) in seen.unwrap() {
            by_pid
                .entry(pid)
                .or_default()
                .insert((session_user, current_user));
            clients_by_pid.entry(pid).or_default().insert(client);
        }
    }

    // Every backend served one login, as its app role, whoever the client.
    let landing = |p: &ProjectName| (p.roles().login, p.roles().app);
    for (pid, logins) in &by_pid {
        assert_eq!(logins.len(), 1, "backend {pid} served {logins:?}");
        let only = logins.iter().next().unwrap();
        assert!(
            *only == landing(&a) || *only == landing(&b),
            "{pid}: {only:?}"
        );
        let clients = &clients_by_pid[pid];
        let project = if *only == landing(&a) { 'a' } else { 'b' };
        assert!(
            clients.iter().all(|c| c.starts_with(project)),
            "backend {pid} ({only:?}) served clients {clients:?}"
        );
    }
    // The pooler did pool: server connections were shared by clients of one project, and each
    // login stayed within PgBouncer's pool size.
    for (project, p) in [('a', &a), ('b', &b)] {
        let pids: Vec<_> = by_pid
            .iter()
            .filter(|(_, logins)| logins.contains(&landing(p)))
            .map(|(pid, _)| *pid)
            .collect();
        assert!(
            !pids.is_empty() && pids.len() <= usize::from(pooler.pool_size()),
            "{p}: {pids:?}"
        );
        assert!(
            pids.iter().any(|pid| clients_by_pid[pid].len() > 1),
            "{project}: no server connection was shared: {clients_by_pid:?}"
        );
    }

    // The server's view: each backend still open is the login's.
    let su = superuser(cluster("staging")).await;
    let pids: Vec<i32> = by_pid.keys().copied().collect();
    let activity = su
        .query(
            "SELECT pid, usename::text FROM pg_stat_activity WHERE pid = ANY($1)",
            &[&pids],
        )
        .await
        .unwrap();
    assert!(!activity.is_empty());
    for row in &activity {
        let (pid, user): (i32, String) = (row.get(0), row.get(1));
        assert_eq!(by_pid[&pid].iter().next().unwrap().0, user, "backend {pid}");
    }
    // PgBouncer's view: each of its server connections belongs to one user's pool.
    let console = connect(pooler.console_config()).await;
    let servers = rows(&console, "SHOW SERVERS").await;
    for server in servers {
        let Ok(pid) = server["remote_pid"].parse::<i32>() else {
            continue;
        };
        if let Some(logins) = by_pid.get(&pid) {
            assert_eq!(
                server["user"],
                logins.iter().next().unwrap().0,
                "{server:?}"
            );
        }
    }
    sqlx_pool.close().await;
}
