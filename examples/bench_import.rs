//! Import of a project's own instance against the manual route, same run, PG 15 and 17.
//!
//! ```text
//! cargo run --release --example bench_import -- [--rows 1000000] [--repeat 3] [--versions 15,17]
//! ```
//!
//! For each version, two fresh local instances started by the test kit (the flavour
//! `COTENANT_TEST_FLAVOR` names; data on the test kit's tmpfs, fsync off — as the tests run): the
//! source holds an app in `public` — `bench_orgs` (100 rows) and `bench_events` with `--rows`
//! rows (bigserial key, ~90 bytes a row, a foreign key to `bench_orgs`, an index), `VACUUM
//! ANALYZE`d — and the target is the shared instance. Alternating, `--repeat` times each, into
//! a fresh provisioned project every time:
//! 1. `cotenant import`: `import::import` end to end (relocation's analysis on the source,
//!    pg_dump of the schema, COPY of the rows, the post-data, relocation, commit — one
//!    transaction on the target).
//! 2. The manual route: `pg_dump -n public --no-owner --no-privileges | psql` into the target's
//!    public (autocommit, as an operator runs it; pg_dump of the source's version), then
//!    `relocate::relocate` of everything into the project.
//!
//! Both routes end with the same result in the project's schema; the ratio is (1) / (2).

mod common;

use common::{connect, provisioned, versions};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cotenant::config::TlsMode;
use cotenant::import::{self, Import, Source};
use cotenant::relocate::{self, Relocation, Selection};
use cotenant::secret::DbSecret;
use cotenant_testkit::{Cluster, PgVersion};
use secrecy::ExposeSecret;

struct Args {
    rows: u64,
    repeat: usize,
    versions: Vec<PgVersion>,
}

fn args() -> Args {
    let mut args = Args {
        rows: 1_000_000,
        repeat: 3,
        versions: vec![PgVersion::V15, PgVersion::V17],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match arg.as_str() {
            "--rows" => args.rows = value("--rows").parse().expect("--rows N"),
            "--repeat" => args.repeat = value("--repeat").parse().expect("--repeat N"),
            "--versions" => args.versions = versions(&value("--versions")),
            other => panic!("unknown argument {other}: use --rows N --repeat N --versions 15,17"),
        }
    }
    args
}

async fn load(cluster: &Cluster, rows: u64) {
    let admin = connect(cluster.admin_config()).await;
    let started = Instant::now();
    admin
        .batch_execute(&format!(
            "CREATE TABLE public.bench_orgs (id serial PRIMARY KEY, name text NOT NULL);
             INSERT INTO public.bench_orgs (name) SELECT 'org ' || g FROM generate_series(1, 100) g;
             CREATE TABLE public.bench_events (
                 id bigserial PRIMARY KEY,
                 org_id int NOT NULL REFERENCES public.bench_orgs,
                 kind text NOT NULL,
                 payload text NOT NULL,
                 created_at timestamptz NOT NULL DEFAULT now()
             );
             INSERT INTO public.bench_events (org_id, kind, payload)
               SELECT 1 + g % 100, (ARRAY['call', 'email', 'meeting'])[1 + g % 3], md5(g::text) || md5((g * 7)::text)
               FROM generate_series(1, {rows}) g;
             CREATE INDEX bench_events_org ON public.bench_events (org_id);"
        ))
        .await
        .expect("loading the source");
    admin
        .batch_execute("VACUUM ANALYZE public.bench_orgs, public.bench_events")
        .await
        .expect("vacuuming the source");
    let size: String = admin
        .query_one(
            "SELECT pg_size_pretty(pg_total_relation_size('public.bench_events'))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    println!(
        "  source: public.bench_events {rows} rows, {size} with its indexes, loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn libpq(cluster: &Cluster) -> Vec<(&'static str, String)> {
    vec![
        ("PGHOST", cluster.host().to_owned()),
        ("PGPORT", cluster.port().to_string()),
        ("PGUSER", cluster.admin_user().to_owned()),
        (
            "PGPASSWORD",
            cluster.admin_password().expose_secret().to_owned(),
        ),
        ("PGDATABASE", cluster.database().to_owned()),
    ]
}

/// pg_dump of the source's public piped into psql on the target, as the admin on both.
fn dump_into_public(pg_dump: &std::path::Path, source: &Cluster, target: &Cluster) -> Duration {
    let psql = pg_dump.with_file_name("psql");
    let psql = if psql.exists() { psql } else { "psql".into() };
    let started = Instant::now();
    let mut dump = Command::new(pg_dump)
        .args(["--schema=public", "--no-owner", "--no-privileges"])
        .envs(libpq(source))
        .stdout(Stdio::piped())
        .spawn()
        .expect("pg_dump starts");
    // Without ON_ERROR_STOP, as an operator pipes it: `CREATE SCHEMA public` fails (the target
    // has one) and the rest goes on.
    let restore = Command::new(&psql)
        .args(["-X", "-q"])
        .envs(libpq(target))
        .stdin(dump.stdout.take().unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("psql runs");
    assert!(dump.wait().unwrap().success() && restore.success());
    started.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::main]
async fn main() {
    let args = args();
    for version in &args.versions {
        println!("PostgreSQL {version}:");
        let source = Cluster::start(*version).expect("a source instance");
        let target = Cluster::start(*version).expect("a target instance");
        load(&source, args.rows).await;
        let from = Source::new(DbSecret::new(
            source.host(),
            source.port(),
            source.admin_user(),
            source.admin_password().expose_secret().to_owned(),
            source.database(),
        ))
        .tls(TlsMode::Disable);
        let major: u32 = version.to_string().parse().expect("a major version");
        let pg_dump = import::find_pg_dump(major).expect("pg_dump of the source's version");
        let mut admin = connect(target.admin_config()).await;
        let (mut imports, mut manual, mut dumps, mut relocations) =
            (vec![], vec![], vec![], vec![]);
        for round in 0..args.repeat {
            let p = provisioned(&mut admin, &format!("bimp{round}")).await;
            let started = Instant::now();
            let done = import::import(
                &from,
                &mut admin,
                &p,
                &Import::new(Relocation::new(Selection::All)).pg_dump(&pg_dump),
            )
            .await
            .expect("importing");
            imports.push(started.elapsed());
            assert_eq!(
                done.rows().iter().map(|(_, n)| n).sum::<u64>(),
                args.rows + 100
            );
            // The import's session keeps pg_dump's settings: a fresh admin for the next step.
            admin = connect(target.admin_config()).await;

            let p = provisioned(&mut admin, &format!("bman{round}")).await;
            let started = Instant::now();
            let dumped = dump_into_public(&pg_dump, &source, &target);
            let moving = Instant::now();
            relocate::relocate(&mut admin, &p, &Relocation::new(Selection::All))
                .await
                .expect("relocating");
            relocations.push(moving.elapsed());
            dumps.push(dumped);
            manual.push(started.elapsed());
            println!(
                "  round {round}: import {:.2} s; pg_dump | psql {:.2} s + relocate {:.2} s = {:.2} s",
                imports[round].as_secs_f64(),
                dumped.as_secs_f64(),
                relocations[round].as_secs_f64(),
                manual[round].as_secs_f64()
            );
        }
        let (i, m) = (median(imports), median(manual));
        println!(
            "  median: import {:.2} s, pg_dump | psql + relocate {:.2} s (dump {:.2} s, relocate {:.2} s): ratio {:.2}",
            i.as_secs_f64(),
            m.as_secs_f64(),
            median(dumps).as_secs_f64(),
            median(relocations).as_secs_f64(),
            i.as_secs_f64() / m.as_secs_f64()
        );
    }
}
