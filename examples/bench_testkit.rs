//! How long the test kit takes to start a prod + staging pair, on PostgreSQL 15 and 17.
//!
//! ```text
//! cargo run --release --example bench_testkit -- [--pairs 10] [--versions 15,17]
//! ```
//!
//! For each version: `Pair::start` (two servers in parallel: a copy of the cached template data
//! directory each, started on a free loopback port, set up like a hosted instance) and the first
//! admin query on both, then dropping the pair (servers stopped, directories removed), `--pairs`
//! times. The first start of a version on a machine also builds its template (`initdb` and the
//! hosted-like setup, once); run it twice to see only warm starts. Target (issue 2): well under
//! 3 s per pair.

mod common;

use std::time::{Duration, Instant};

use cotenant_testkit::{Cluster, Pair, PgVersion};
use tokio_postgres::NoTls;

async fn first_query(cluster: &Cluster) {
    let (client, connection) = cluster
        .admin_config()
        .connect(NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(connection);
    client.simple_query("SELECT 1").await.expect("SELECT 1");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut pairs = 10;
    let mut versions = vec![PgVersion::V15, PgVersion::V17];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pairs" => pairs = args.next().and_then(|n| n.parse().ok()).expect("--pairs N"),
            "--versions" => versions = common::versions(&args.next().expect("--versions 15,17")),
            other => panic!("unknown argument {other}: use --pairs N --versions 15,17"),
        }
    }
    for version in versions {
        let (mut start, mut stop) = (Vec::new(), Vec::new());
        for _ in 0..pairs {
            let started = Instant::now();
            let pair = Pair::start(version).expect("a local pair");
            first_query(&pair.prod).await;
            first_query(&pair.staging).await;
            start.push(ms(started.elapsed()));
            let stopping = Instant::now();
            drop(pair);
            stop.push(ms(stopping.elapsed()));
        }
        let first = start[0];
        start.sort_by(f64::total_cmp);
        stop.sort_by(f64::total_cmp);
        println!(
            "PostgreSQL {version}: start + first query on both, {pairs} pairs: first {first:.0} ms, \
             p50 {:.0} ms, max {:.0} ms; drop p50 {:.0} ms",
            start[start.len() / 2],
            start[start.len() - 1],
            stop[stop.len() / 2],
        );
    }
}
