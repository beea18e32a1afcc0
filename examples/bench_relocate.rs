//! Relocation time against table size, and against copying the rows.
//!
//! ```text
//! cargo run --release --example bench_relocate -- [--rows 5000000] [--small 1000] [--repeat 7] [--versions 15,17]
//! ```
//!
//! For each version, on a fresh local instance started by the test kit (data directory on the
//! test kit's tmpfs, fsync off — as the tests run):
//! 1. Two legacy tables in `public`, owned by the admin and granted to anon and friends as hosted
//!    instances do: `big_events` with `--rows` rows (bigserial key, ~90 bytes a row) and
//!    `small_events` with `--small` rows; loaded, then `VACUUM ANALYZE`d so that autovacuum does
//!    not hold the first move back.
//! 2. `relocate::relocate` of each into its provisioned project, `--repeat` times, alternating
//!    the two tables, moved back by the superuser in between: end-to-end time of the call, and how long it held the tables'
//!    exclusive locks; with `Verification::Metadata` (what is independent of size), then once
//!    each with row counts and with checksums, to show what those cost.
//! 3. The bare statement for reference: `ALTER TABLE … SET SCHEMA` of the big table, rolled back.
//! 4. The copying baselines on the same big table: `CREATE TABLE … (LIKE … INCLUDING ALL)` +
//!    `INSERT … SELECT`, and `pg_dump -t | psql` into another database of the same server (on 17,
//!    whose pg_dump is not installed, the same data path with `COPY … TO STDOUT | COPY … FROM
//!    STDIN` through psql, then the primary key).

mod common;

use common::{connect, ms, provisioned};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cotenant::ProjectName;
use cotenant::relocate::{self, Relocation, Selection, Verification};
use cotenant_testkit::{Cluster, PgVersion};
use tokio_postgres::Client;

struct Args {
    rows: u64,
    small: u64,
    repeat: usize,
    versions: Vec<PgVersion>,
}

fn args() -> Args {
    let mut args = Args {
        rows: 5_000_000,
        small: 1_000,
        repeat: 7,
        versions: vec![PgVersion::V15, PgVersion::V17],
    };
    let mut it = std::env::args().skip(1);
    let number = |value: Option<String>, flag: &str| -> u64 {
        value
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{flag} N"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--rows" => args.rows = number(it.next(), "--rows"),
            "--small" => args.small = number(it.next(), "--small"),
            "--repeat" => args.repeat = number(it.next(), "--repeat") as usize,
            "--versions" => args.versions = common::versions(&it.next().expect("--versions 15,17")),
            other => panic!(
                "unknown argument {other}: use --rows N --small N --repeat N --versions 15,17"
            ),
        }
    }
    args
}

/// Minimum and median: on a shared machine the minimum is the cost, the median what to expect.
#[derive(Clone, Copy)]
struct Sample {
    min: Duration,
    median: Duration,
}

impl Sample {
    fn of(times: &mut [Duration]) -> Self {
        times.sort();
        Sample {
            min: times[0],
            median: times[times.len() / 2],
        }
    }

    fn show(self) -> String {
        format!("{:.1} / {:.1} ms", ms(self.min), ms(self.median))
    }
}

fn median(times: &mut [Duration]) -> Duration {
    Sample::of(times).median
}

/// A legacy table as a one-shot copy leaves it in public: owned by the admin, granted to the
/// API roles by the hosted default privileges, vacuumed and analyzed.
async fn load(admin: &Client, table: &str, rows: u64) {
    let started = Instant::now();
    admin
        .batch_execute(&format!(
            "CREATE TABLE public.{table} (
                 id bigserial PRIMARY KEY,
                 org_id int NOT NULL,
                 kind text NOT NULL,
                 payload text NOT NULL,
                 created_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO public.{table} (org_id, kind, payload, created_at)
                 SELECT i % 97, (ARRAY['call', 'email', 'meeting'])[1 + i % 3],
                        md5(i::text) || '-' || (i::int8 * 7919)::text, timestamptz '2025-01-01' + i * interval '1 second'
                 FROM generate_series(1, {rows}) i;"
        ))
        .await
        .expect("loading");
    // On its own: a multi-statement query is one transaction, which VACUUM refuses.
    admin
        .batch_execute(&format!("VACUUM ANALYZE public.{table}"))
        .await
        .expect("vacuuming");
    let size: String = admin
        .query_one(
            &format!("SELECT pg_size_pretty(pg_total_relation_size('public.{table}'))"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    println!(
        "  loaded public.{table}: {rows} rows, {size}, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Puts the table back the way it was, as the superuser: in public, owned by the admin, granted
/// to the API roles.
async fn move_back(su: &Client, project: &ProjectName, table: &str) {
    su.batch_execute(&format!(
        "ALTER TABLE \"{project}\".{table} SET SCHEMA public;
         ALTER TABLE public.{table} OWNER TO postgres;
         REVOKE ALL ON public.{table} FROM \"{project}_app\";
         REVOKE ALL ON SEQUENCE public.{table}_id_seq FROM \"{project}_app\";
         GRANT ALL ON public.{table} TO anon, authenticated, service_role;
         GRANT ALL ON SEQUENCE public.{table}_id_seq TO anon, authenticated, service_role;"
    ))
    .await
    .expect("moving back");
}

/// Relocates `table` into `project` once and moves it back: (end to end, exclusive-lock window).
async fn relocate_once(
    admin: &mut Client,
    su: &Client,
    project: &ProjectName,
    table: &str,
    verification: Verification,
) -> (Duration, Duration) {
    let relocation = Relocation::new(Selection::tables([table])).verification(verification);
    let started = Instant::now();
    let done = relocate::relocate(admin, project, &relocation)
        .await
        .expect("relocating");
    let total = started.elapsed();
    assert_eq!(done.attempts(), 1, "a lock was busy: the timing is off");
    move_back(su, project, table).await;
    (total, done.exclusive_for())
}

/// Relocates each of two tables `times` times, alternating which goes first so that a change in
/// the machine's load (2 cores shared) or the catalog's growth weighs on both alike: for each,
/// end to end and the exclusive-lock window.
async fn bench_relocations(
    admin: &mut Client,
    su: &Client,
    tables: [(&ProjectName, &str); 2],
    times: usize,
) -> [(Sample, Sample); 2] {
    let mut samples: [(Vec<Duration>, Vec<Duration>); 2] = Default::default();
    for i in 0..times {
        for k in [i % 2, 1 - i % 2] {
            let (project, table) = tables[k];
            let (total, locked) =
                relocate_once(admin, su, project, table, Verification::Metadata).await;
            samples[k].0.push(total);
            samples[k].1.push(locked);
        }
    }
    samples.map(|(mut total, mut locked)| (Sample::of(&mut total), Sample::of(&mut locked)))
}

/// The dependency analysis alone: `relocate::plan`, the dry run.
async fn bench_analysis(
    admin: &Client,
    project: &ProjectName,
    table: &str,
    times: usize,
) -> Sample {
    let relocation = Relocation::new(Selection::tables([table]));
    let mut samples = Vec::new();
    for _ in 0..times {
        let started = Instant::now();
        let plan = relocate::plan(admin, project, &relocation)
            .await
            .expect("planning");
        samples.push(started.elapsed());
        assert!(!plan.is_empty());
    }
    Sample::of(&mut samples)
}

/// `ALTER TABLE … SET SCHEMA` alone, as the superuser, rolled back: the statement's own cost.
async fn bare_set_schema(su: &Client, table: &str, times: usize) -> Duration {
    su.batch_execute("CREATE SCHEMA IF NOT EXISTS bench_bare")
        .await
        .unwrap();
    let mut samples = Vec::new();
    for _ in 0..times {
        su.batch_execute("BEGIN").await.unwrap();
        let started = Instant::now();
        su.batch_execute(&format!("ALTER TABLE public.{table} SET SCHEMA bench_bare"))
            .await
            .unwrap();
        samples.push(started.elapsed());
        su.batch_execute("ROLLBACK").await.unwrap();
    }
    median(&mut samples)
}

async fn insert_select(su: &Client, table: &str) -> Duration {
    let started = Instant::now();
    su.batch_execute(&format!(
        "CREATE TABLE public.{table}_copy (LIKE public.{table} INCLUDING ALL);
         INSERT INTO public.{table}_copy SELECT * FROM public.{table};"
    ))
    .await
    .expect("INSERT … SELECT");
    let elapsed = started.elapsed();
    su.batch_execute(&format!("DROP TABLE public.{table}_copy"))
        .await
        .unwrap();
    elapsed
}

/// `pg_dump -t public.<table> | psql` into a fresh database of the same server; on a server
/// newer than the installed pg_dump, the same data path through `COPY` and psql.
async fn dump_restore(cluster: &Cluster, su: &Client, table: &str) -> (Duration, &'static str) {
    su.batch_execute("DROP DATABASE IF EXISTS bench_restore")
        .await
        .unwrap();
    su.batch_execute("CREATE DATABASE bench_restore")
        .await
        .unwrap();
    let config = cluster.superuser_config();
    let password = String::from_utf8(config.get_password().expect("a password").to_vec()).unwrap();
    let user = config.get_user().expect("a user").to_owned();
    let connection = |db: &str| {
        format!(
            "-h {} -p {} -U {user} -d {db}",
            cluster.host(),
            cluster.port()
        )
    };
    let dump_works = Command::new("pg_dump")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|v| v.contains(&format!(" {}.", cluster.version().major())));
    let (pipeline, how) = if dump_works {
        (
            format!(
                "pg_dump {} -t public.{table} | psql -X -q -v ON_ERROR_STOP=1 {} > /dev/null",
                connection("postgres"),
                connection("bench_restore")
            ),
            "pg_dump -t | psql",
        )
    } else {
        (
            format!(
                "psql -X -q -v ON_ERROR_STOP=1 {dst} -c 'CREATE TABLE public.{table} (id bigint NOT NULL, org_id int NOT NULL, kind text NOT NULL, payload text NOT NULL, created_at timestamptz NOT NULL)' && \
                 psql -X -q {src} -c 'COPY public.{table} TO STDOUT' | psql -X -q -v ON_ERROR_STOP=1 {dst} -c 'COPY public.{table} FROM STDIN' && \
                 psql -X -q -v ON_ERROR_STOP=1 {dst} -c 'ALTER TABLE public.{table} ADD PRIMARY KEY (id)'",
                src = connection("postgres"),
                dst = connection("bench_restore")
            ),
            "COPY | psql (pg_dump of this version not installed)",
        )
    };
    let started = Instant::now();
    let status = Command::new("bash")
        .args(["-o", "pipefail", "-c", &pipeline])
        .env("PGPASSWORD", password)
        .stdout(Stdio::null())
        .status()
        .expect("running the dump pipeline");
    let elapsed = started.elapsed();
    assert!(status.success(), "{pipeline} failed");
    su.batch_execute("DROP DATABASE bench_restore")
        .await
        .unwrap();
    (elapsed, how)
}

async fn bench_version(version: PgVersion, args: &Args) {
    println!("\n== PostgreSQL {version}");
    let cluster = Cluster::start(version).expect("a local instance");
    let mut admin = connect(cluster.admin_config()).await;
    let su = connect(cluster.superuser_config()).await;
    let big = provisioned(&mut admin, "big").await;
    let small = provisioned(&mut admin, "small").await;
    load(&admin, "big_events", args.rows).await;
    load(&admin, "small_events", args.small).await;

    let n = args.repeat;
    let [(small_total, small_locked), (big_total, big_locked)] = bench_relocations(
        &mut admin,
        &su,
        [(&small, "small_events"), (&big, "big_events")],
        n,
    )
    .await;
    let (counts_total, counts_locked) =
        relocate_once(&mut admin, &su, &big, "big_events", Verification::RowCounts).await;
    let (sums_total, sums_locked) =
        relocate_once(&mut admin, &su, &big, "big_events", Verification::Checksums).await;
    let analysis = bench_analysis(&admin, &big, "big_events", n).await;
    let bare = bare_set_schema(&su, "big_events", n).await;
    let copy = insert_select(&su, "big_events").await;
    let (dump, dump_how) = dump_restore(&cluster, &su, "big_events").await;
    let faster = copy.min(dump);

    println!("  (min / median of {n})");
    println!(
        "  relocate {} rows, metadata verification: {} end to end, locks held {}",
        args.small,
        small_total.show(),
        small_locked.show()
    );
    println!(
        "  relocate {} rows, metadata verification: {} end to end, locks held {}",
        args.rows,
        big_total.show(),
        big_locked.show()
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "  big / small: {:.2}× ({:.2}× median) end to end; {:.2}× ({:.2}× median) locks held",
        ratio(big_total.min, small_total.min),
        ratio(big_total.median, small_total.median),
        ratio(big_locked.min, small_locked.min),
        ratio(big_locked.median, small_locked.median)
    );
    println!(
        "  of which the dependency analysis (relocate::plan, the dry run): {}",
        analysis.show()
    );
    println!(
        "  relocate {} rows with row counts: {:.0} ms (locks held {:.0} ms); with checksums: {:.1} s (locks held {:.1} s)",
        args.rows,
        ms(counts_total),
        ms(counts_locked),
        sums_total.as_secs_f64(),
        sums_locked.as_secs_f64()
    );
    println!(
        "  bare ALTER TABLE … SET SCHEMA, rolled back: {:.2} ms median",
        ms(bare)
    );
    println!(
        "  copying {} rows: INSERT … SELECT {:.1} s; {dump_how} {:.1} s",
        args.rows,
        copy.as_secs_f64(),
        dump.as_secs_f64()
    );
    println!(
        "  faster copy / relocate: {:.0}× ({:.0}× median) end to end; {:.0}× ({:.0}× median) locks held",
        ratio(faster, big_total.min),
        ratio(faster, big_total.median),
        ratio(faster, big_locked.min),
        ratio(faster, big_locked.median)
    );
}

#[tokio::main]
async fn main() {
    let args = args();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "bench_relocate: {} vs {} rows, {} repeats; load average at start: {}",
        args.rows,
        args.small,
        args.repeat,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    for version in &args.versions {
        bench_version(*version, &args).await;
    }
}
