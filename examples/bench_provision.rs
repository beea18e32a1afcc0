//! Provisioning latency and scaling, on a local PostgreSQL 15 and 17.
//!
//! ```text
//! cargo run --release --example bench_provision -- [--projects 1000] [--versions 15,17] [--scale-only]
//! ```
//!
//! For each version, on fresh local instances started by the test kit:
//! 1. cotenant: `provision::apply` for N projects in a row over one admin connection, secret
//!    store excluded (passwords given directly): p50/p99, total, first 100 vs last 100, and
//!    p50/p99 per slice of 1,000 projects (of N/10 below 10,000). `--scale-only` stops there
//!    (issue 15's 10,000 projects on one instance).
//! 2. cotenant with the secret store: `Environment::provision` against a local Secrets Manager
//!    (moto) for 50 projects: p50/p99 (creates both secrets, then provisions).
//! 3. Baselines in the same run: ADR-006-style SQL (schema, NOLOGIN app role, grants, default
//!    privileges) batched in one session, and the same with one `psql` process per project.
//! 4. The trap cotenant's stewards avoid: the four-role model created directly by the admin
//!    (owner granted to the admin), whose per-project cost grows with the admin's memberships.
//! 5. The server's floor under any provisioning of two logins: `CREATE ROLE … PASSWORD` with a
//!    SCRAM verifier against the same statement without a password. The server checks every
//!    password set that way against the empty string, which for a verifier means running its
//!    4096 PBKDF2 rounds (PostgreSQL's `plain_crypt_verify`).

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cotenant::ProjectName;
use cotenant::provision::{self, LoginPasswords, PasswordResets, ProjectSettings};
use cotenant_testkit::{Cluster, MotoServer, Pair, PgVersion};
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::{Client, NoTls};

struct Args {
    projects: usize,
    versions: Vec<PgVersion>,
    scale_only: bool,
}

fn args() -> Args {
    let mut args = Args {
        projects: 1000,
        versions: vec![PgVersion::V15, PgVersion::V17],
        scale_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--projects" => {
                args.projects = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--projects N")
            }
            "--versions" => args.versions = common::versions(&it.next().expect("--versions 15,17")),
            "--scale-only" => args.scale_only = true,
            other => {
                panic!("unknown argument {other}: use --projects N --versions 15,17 [--scale-only]")
            }
        }
    }
    args
}

async fn admin(cluster: &Cluster) -> Client {
    let (client, connection) = cluster
        .admin_config()
        .connect(NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(connection);
    client
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Stats {
    p50: f64,
    p99: f64,
    total: f64,
    first100: f64,
    last100: f64,
}

fn stats(times: &[Duration]) -> Stats {
    let mut sorted: Vec<f64> = times.iter().map(|d| ms(*d)).collect();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p).round() as usize];
    let mean = |s: &[Duration]| s.iter().map(|d| ms(*d)).sum::<f64>() / s.len() as f64;
    let k = times.len().min(100);
    Stats {
        p50: pct(0.50),
        p99: pct(0.99),
        total: times.iter().map(|d| ms(*d)).sum(),
        first100: mean(&times[..k]),
        last100: mean(&times[times.len() - k..]),
    }
}

fn report(label: &str, s: &Stats) {
    println!(
        "  {label:<44} p50 {:>7.2} ms  p99 {:>7.2} ms  total {:>8.2} s  first100 {:>7.2} ms  last100 {:>7.2} ms  last/first {:>5.2}",
        s.p50,
        s.p99,
        s.total / 1000.0,
        s.first100,
        s.last100,
        s.last100 / s.first100
    );
}

fn name(prefix: &str, i: usize) -> ProjectName {
    format!("{prefix}{i:05}").parse().expect("valid name")
}

/// p50 and p99 of each slice of `times` in order: of 1,000 projects from 10,000 on, of a tenth
/// below.
fn report_slices(times: &[Duration]) {
    let size = if times.len() >= 10_000 {
        1000
    } else {
        times.len().div_ceil(10).max(1)
    };
    for (i, slice) in times.chunks(size).enumerate() {
        let s = stats(slice);
        println!(
            "    projects {:>5}–{:<5} p50 {:>7.2} ms  p99 {:>7.2} ms  mean {:>7.2} ms",
            i * size + 1,
            i * size + slice.len(),
            s.p50,
            s.p99,
            s.total / slice.len() as f64
        );
    }
}

async fn bench_cotenant(cluster: &Cluster, n: usize) -> Stats {
    let mut client = admin(cluster).await;
    let settings = ProjectSettings::default();
    let passwords = LoginPasswords::new(
        SecretString::from("bench-app-password"),
        SecretString::from("bench-migrator-password"),
    );
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let p = name("cot", i);
        let started = Instant::now();
        let plan = provision::apply(
            &mut client,
            &p,
            &settings,
            &passwords,
            PasswordResets::default(),
        )
        .await
        .expect("provision");
        times.push(started.elapsed());
        assert!(!plan.is_empty());
    }
    // Convergence check on a sample: a second run plans nothing.
    for i in [0, n / 2, n - 1] {
        let plan = provision::plan(&client, &name("cot", i), &settings)
            .await
            .unwrap();
        assert!(plan.is_empty(), "project {i} did not converge:\n{plan}");
    }
    report_slices(&times);
    stats(&times)
}

async fn bench_with_secrets(pair: &Pair, moto: &MotoServer, n: usize) -> Stats {
    let cotenant = pair
        .cotenant("bench", Arc::new(moto.secrets_manager()))
        .await
        .expect("admin secrets");
    let env = cotenant.environment("prod").unwrap();
    let settings = ProjectSettings::default();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let p = name("sec", i);
        let started = Instant::now();
        env.provision(&p, &settings)
            .await
            .expect("provision with secrets");
        times.push(started.elapsed());
    }
    stats(&times)
}

/// ADR-006's per-project SQL: schema, NOLOGIN app role, grants, default privileges.
fn adr006_sql(p: &str) -> String {
    format!(
        "CREATE SCHEMA {p};
         CREATE ROLE {p}_app NOLOGIN;
         GRANT USAGE ON SCHEMA {p} TO {p}_app;
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {p} TO {p}_app;
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {p} TO {p}_app;
         ALTER DEFAULT PRIVILEGES IN SCHEMA {p} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {p}_app;
         ALTER DEFAULT PRIVILEGES IN SCHEMA {p} GRANT USAGE, SELECT ON SEQUENCES TO {p}_app;"
    )
}

async fn bench_adr006_batched(cluster: &Cluster, n: usize) -> Stats {
    let client = admin(cluster).await;
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let sql = format!("BEGIN; {} COMMIT;", adr006_sql(&format!("adr{i:05}")));
        let started = Instant::now();
        client.batch_execute(&sql).await.expect("ADR-006 SQL");
        times.push(started.elapsed());
    }
    stats(&times)
}

fn bench_adr006_psql(cluster: &Cluster, n: usize) -> Stats {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let sql = format!("BEGIN; {} COMMIT;", adr006_sql(&format!("psq{i:05}")));
        let started = Instant::now();
        let status = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", cluster.host()])
            .args([
                "-p",
                &cluster.port().to_string(),
                "-U",
                cluster.admin_user(),
                "-d",
                cluster.database(),
            ])
            .args(["-c", &sql])
            .env("PGPASSWORD", cluster.admin_password().expose_secret())
            .stdout(Stdio::null())
            .status()
            .expect("psql");
        times.push(started.elapsed());
        assert!(status.success());
    }
    stats(&times)
}

/// The four-role model created directly by the admin, as a hand-written migration would:
/// the admin is granted every owner (to create the schema) and, on 16+, holds ADMIN on every
/// role it created.
async fn bench_naive_four_roles(cluster: &Cluster, n: usize, major: u32) -> Stats {
    let client = admin(cluster).await;
    let options = if major >= 16 {
        " WITH INHERIT FALSE, SET TRUE"
    } else {
        ""
    };
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let p = format!("nai{i:05}");
        let sql = format!(
            "BEGIN;
             CREATE ROLE {p}_owner NOLOGIN NOINHERIT;
             CREATE ROLE {p}_app NOLOGIN NOINHERIT;
             CREATE ROLE {p}_login LOGIN NOINHERIT CONNECTION LIMIT 20;
             CREATE ROLE {p}_migrator LOGIN NOINHERIT CONNECTION LIMIT 5;
             GRANT {p}_app TO {p}_login{options};
             GRANT {p}_owner TO {p}_migrator{options};
             GRANT {p}_owner TO postgres{options};
             ALTER ROLE {p}_login SET role = '{p}_app';
             ALTER ROLE {p}_login SET search_path = {p};
             ALTER ROLE {p}_migrator SET role = '{p}_owner';
             ALTER ROLE {p}_migrator SET search_path = {p};
             CREATE SCHEMA {p} AUTHORIZATION {p}_owner;
             SET LOCAL ROLE {p}_owner;
             GRANT USAGE ON SCHEMA {p} TO {p}_app;
             ALTER DEFAULT PRIVILEGES IN SCHEMA {p} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {p}_app;
             RESET ROLE;
             GRANT CONNECT ON DATABASE postgres TO {p}_login, {p}_migrator;
             COMMIT;"
        );
        let started = Instant::now();
        client
            .batch_execute(&sql)
            .await
            .expect("naive four-role SQL");
        times.push(started.elapsed());
    }
    stats(&times)
}

/// `CREATE ROLE … LOGIN` with a SCRAM verifier as the password, and without one, alternately in
/// one session; returns the time each took.
async fn bench_password_check(cluster: &Cluster, n: usize) -> (Stats, Stats) {
    let client = admin(cluster).await;
    let verifier = postgres_protocol::password::scram_sha_256(b"bench-password");
    let (mut with, mut without) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        for (times, name, clause) in [
            (&mut with, "with", format!(" PASSWORD '{verifier}'")),
            (&mut without, "without", String::new()),
        ] {
            let sql = format!("CREATE ROLE pwd{i:05}_{name} LOGIN NOINHERIT{clause}");
            let started = Instant::now();
            client.batch_execute(&sql).await.expect("CREATE ROLE");
            times.push(started.elapsed());
        }
    }
    (stats(&with), stats(&without))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = args();
    let moto = MotoServer::start().expect("moto (run scripts/setup.sh)");
    for version in &args.versions {
        println!("PostgreSQL {version}");
        // Each measurement on instances of its own, so none starts with another's roles.
        let cluster = Cluster::start(*version).expect("a local instance");
        let cot = bench_cotenant(&cluster, args.projects).await;
        report(
            &format!("cotenant, {} projects, no secret store", args.projects),
            &cot,
        );
        drop(cluster);
        if args.scale_only {
            continue;
        }

        let pair = Pair::start(*version).expect("a local pair");
        let sec = bench_with_secrets(&pair, &moto, 50).await;
        report("cotenant + secrets in moto, 50 projects", &sec);
        drop(pair);

        let cluster = Cluster::start(*version).expect("a local instance");
        let batched = bench_adr006_batched(&cluster, 200).await;
        report("ADR-006 SQL batched in one session, 200", &batched);
        let psql = bench_adr006_psql(&cluster, 50);
        report("ADR-006 SQL, one psql per project, 50", &psql);
        let (with, without) = bench_password_check(&cluster, 100).await;
        report("CREATE ROLE … LOGIN PASSWORD <verifier>, 100", &with);
        report("CREATE ROLE … LOGIN, no password, 100", &without);
        println!(
            "  the server's floor for two logins' passwords: 2 × ({:.2} − {:.2}) = {:.2} ms (p50)",
            with.p50,
            without.p50,
            2.0 * (with.p50 - without.p50)
        );
        drop(cluster);

        let cluster = Cluster::start(*version).expect("a local instance");
        let naive = bench_naive_four_roles(&cluster, args.projects.min(600), version.major()).await;
        report(
            &format!(
                "four roles by the admin (no stewards), {}",
                args.projects.min(600)
            ),
            &naive,
        );
        drop(cluster);

        println!(
            "  ratios: cotenant p50 / ADR-006 batched p50 = {:.2}; / psql per project p50 = {:.2}; cotenant last/first = {:.2} vs no-steward last/first = {:.2}",
            cot.p50 / batched.p50,
            cot.p50 / psql.p50,
            cot.last100 / cot.first100,
            naive.last100 / naive.first100
        );
    }
}
