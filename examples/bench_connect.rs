//! What the pools' scope check costs each driver, outside any pool, on PostgreSQL 15 and 17.
//!
//! ```text
//! cargo run --release --example bench_connect -- [--connects 150] [--versions 15,17]
//! ```
//!
//! For each version, on a fresh local instance with one provisioned project: new connections as
//! the project's login (role defaults applied at login, as in production), interleaved, each
//! closed after it is measured:
//! 1. tokio-postgres: connect; connect + the scope query (`query_typed`, as the deadpool pools
//!    run it);
//! 2. sqlx: connect; connect + the scope query (a simple query, as the sqlx pools run it);
//! 3. sqlx: connect + `SELECT 1`, then the scope query on the warmed backend.
//!
//! Set against `bench_pool`'s connect ratios, it separates what the check costs on the server
//! and the wire from what the pool around it adds.

use std::time::{Duration, Instant};

use cotenant::ProjectName;
use cotenant::provision::{self, LoginPasswords, PasswordResets, ProjectSettings};
use cotenant_testkit::{Cluster, PgVersion};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{Connection, Executor};
use tokio_postgres::NoTls;

/// The query every new pooled connection runs (`cotenant::pool`'s scope check).
const SCOPE: &str = "SELECT current_user::text, session_user::text, current_schema()::text";
const PASSWORD: &str = "bench-connect-password";

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
            "--versions" => {
                versions = value
                    .split(',')
                    .map(|v| {
                        v.parse()
                            .unwrap_or_else(|error| panic!("--versions: {error}"))
                    })
                    .collect()
            }
            other => panic!("unknown argument {other}: use --connects N --versions 15,17"),
        }
    }
    for version in versions {
        let cluster = Cluster::start(version).expect("a local instance");
        let project: ProjectName = "bench_connect".parse().expect("a valid name");
        let (mut admin, connection) = cluster.admin_config().connect(NoTls).await.unwrap();
        tokio::spawn(connection);
        let passwords = LoginPasswords::new(PASSWORD, "bench-connect-migrator-password");
        provision::apply(
            &mut admin,
            &project,
            &ProjectSettings::default(),
            &passwords,
            PasswordResets::default(),
        )
        .await
        .expect("provisioning");
        let login = project.roles().login;
        let mut pg = tokio_postgres::Config::new();
        pg.host(cluster.host())
            .port(cluster.port())
            .dbname(cluster.database())
            .user(&login)
            .password(PASSWORD);
        let sqlx_options = PgConnectOptions::new_without_pgpass()
            .host(cluster.host())
            .port(cluster.port())
            .database(cluster.database())
            .username(&login)
            .password(PASSWORD)
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
    }
}
