//! What the benchmarks share.
// Some benchmarks compile their measurement only with features (`sqlx`, `deadpool`).
#![allow(dead_code)]

use cotenant_testkit::PgVersion;

/// The PostgreSQL versions of `--versions 15,17`.
pub(crate) fn versions(list: &str) -> Vec<PgVersion> {
    list.split(',')
        .map(|v| v.parse().unwrap_or_else(|e| panic!("--versions: {e}")))
        .collect()
}
