//! What the pools' scope check costs each driver, outside a pool and inside sqlx's, on
//! PostgreSQL 15 and 17.
//!
//! ```text
//! cargo run --release --example bench_connect -- [--connects 150] [--versions 15,17]
//! ```
//!
//! For each version, on the prod instance of a fresh local pair with one provisioned project
//! (its app login's secret in a local moto): new connections as the project's login (role defaults applied at login, as in production), interleaved, each
//! closed after it is measured:
//! 1. tokio-postgres: connect; connect + the scope query (`query_typed`, as the deadpool pools
//!    run it);
//! 2. sqlx: connect; connect + the scope query (a simple query, as the sqlx pools run it);
//! 3. sqlx: connect + `SELECT 1`, then the scope query on the warmed backend;
//! 4. sqlx pools of the same login, a new connection per checkout (each taken out of its pool
//!    after it is measured): a plain `PgPool`, a plain one running the scope query in
//!    `after_connect`, and cotenant's `Environment::sqlx_pool`.
//!
//! Set against `bench_pool`'s connect ratios, it separates what the check costs on the server
//! and the wire from what the pool around it adds.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cotenant::pool::PoolOptions;
use cotenant::provision::ProjectSettings;
use cotenant::secret::{CachedSource, Login};
use cotenant::{Environment, ProjectName};
use cotenant_testkit::{MotoServer, Pair, PgVersion};
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgSslMode};
use sqlx::{Connection, Executor};
use tokio_postgres::NoTls;

/// The query every new pooled connection runs (`cotenant::pool`'s scope check).
const SCOPE: &str = "SELECT current_user::text, session_user::text, current_schema()::text";

const LABELS: [&str; 6] = [
    "tokio-postgres: connect",
    "tokio-postgres: connect + scope query",
    "sqlx: connect",
    "sqlx: connect + scope query",
    "sqlx: connect + SELECT 1",
    "sqlx: then the scope query, warm backend",
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (mut connects, mut versions) = (150, vec![PgVersion::V15, PgVersion::V17]);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--connects" => connects = value.parse().expect("--connects N"),
            "--versions" => versions = common::versions(&value),
            other => panic!("unknown argument {other}: use --connects N --versions 15,17"),
        }
    }
    let moto = MotoServer::start().expect("moto (run scripts/setup.sh)");
    for version in versions {
        // One prod instance with one project, its app login's secret in a local moto.
        let pair = Pair::start(version).expect("a local pair");
        let secrets = Arc::new(CachedSource::new(
            Arc::new(moto.secrets_manager()),
            Duration::from_secs(300),
        ));
        // A prefix per version: the secrets of an earlier version's servers stay in moto.
        let cotenant = pair
            .cotenant(&format!("bench{version}"), secrets)
            .await
            .expect("admin secrets");
        let env = cotenant.environment("prod").expect("prod");
        let project: ProjectName = "bench_connect".parse().expect("a valid name");
        let mut settings = ProjectSettings::default();
        settings.login.connection_limit = 40;
        env.provision(&project, &settings)
            .await
            .expect("provisioning");
        let secret = env
            .login_secret(&project, Login::App)
            .await
            .expect("the secret");
        let (host, port, database) = (pair.prod.host(), pair.prod.port(), pair.prod.database());
        let mut pg = tokio_postgres::Config::new();
        pg.host(host)
            .port(port)
            .dbname(database)
            .user(&secret.username)
            .password(secret.password.expose_secret());
        let sqlx_options = PgConnectOptions::new_without_pgpass()
            .host(host)
            .port(port)
            .database(database)
            .username(&secret.username)
            .password(secret.password.expose_secret())
            .ssl_mode(PgSslMode::Disable);

        let mut times: [Vec<Duration>; 6] = Default::default();
        for _ in 0..connects {
            for (k, check) in [(0, false), (1, true)] {
                let started = Instant::now();
                let (client, connection) = pg.connect(NoTls).await.expect("tokio-postgres");
                let driver = tokio::spawn(connection);
                if check {
                    client.query_typed(SCOPE, &[]).await.expect("scope query");
                }
                times[k].push(started.elapsed());
                drop(client);
                let _ = driver.await;
            }
            for (k, check) in [(2, false), (3, true)] {
                let started = Instant::now();
                let mut conn = PgConnection::connect_with(&sqlx_options)
                    .await
                    .expect("sqlx");
                if check {
                    conn.fetch_one(SCOPE).await.expect("scope query");
                }
                times[k].push(started.elapsed());
                conn.close().await.expect("closing");
            }
            let started = Instant::now();
            let mut conn = PgConnection::connect_with(&sqlx_options)
                .await
                .expect("sqlx");
            conn.fetch_one("SELECT 1").await.expect("SELECT 1");
            times[4].push(started.elapsed());
            let started = Instant::now();
            conn.fetch_one(SCOPE).await.expect("scope query");
            times[5].push(started.elapsed());
            conn.close().await.expect("closing");
        }
        let p50: Vec<f64> = times
            .iter_mut()
            .map(|t| {
                t.sort();
                t[t.len() / 2].as_secs_f64() * 1000.0
            })
            .collect();
        println!("PostgreSQL {version}, {connects} connections each (p50):");
        for (label, ms) in LABELS.iter().zip(&p50) {
            println!("  {label:<42} {ms:6.2} ms");
        }
        println!(
            "  with the check / without: tokio-postgres {:.2}, sqlx {:.2}",
            p50[1] / p50[0],
            p50[3] / p50[2]
        );
        sqlx_pools(env, &project, sqlx_options, connects).await;
    }
}

/// Part 4: checkout of a new connection through three sqlx pools of one login.
async fn sqlx_pools(
    env: &Environment,
    project: &ProjectName,
    options: PgConnectOptions,
    connects: usize,
) {
    let plain = PgPoolOptions::new()
        .max_connections(8)
        .connect_lazy_with(options.clone());
    let hooked = PgPoolOptions::new()
        .max_connections(8)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.fetch_one(SCOPE).await?;
                Ok(())
            })
        })
        .connect_lazy_with(options);
    let scoped = env
        .sqlx_pool(project, &PoolOptions::new().max_size(8))
        .await
        .expect("cotenant's pool");
    let pools = [
        ("sqlx pool, plain", plain),
        ("sqlx pool, scope query in after_connect", hooked),
        ("sqlx pool, cotenant's", scoped),
    ];
    let mut times: [Vec<Duration>; 3] = Default::default();
    for _ in 0..connects {
        for (k, (_, pool)) in pools.iter().enumerate() {
            let started = Instant::now();
            let conn = pool.acquire().await.expect("a connection");
            times[k].push(started.elapsed());
            let _ = conn.detach().close().await;
        }
    }
    let mut p50 = [0.0; 3];
    for (k, (label, _)) in pools.iter().enumerate() {
        times[k].sort();
        p50[k] = times[k][times[k].len() / 2].as_secs_f64() * 1000.0;
        println!("  {label:<42} {:6.2} ms", p50[k]);
    }
    println!(
        "  / plain: scope query in after_connect {:.2}, cotenant's {:.2}",
        p50[1] / p50[0],
        p50[2] / p50[0]
    );
}
