//! Existing servers named by environment variables: tests run against them instead of starting
//! their own (a CI service container, a hosted staging project).

use tokio_postgres::Config;

use crate::error::describe;
use crate::{Cluster, Pair, PgVersion, TestkitError, env};

/// The pair named by `COTENANT_TEST_PROD_URL` and `COTENANT_TEST_STAGING_URL`, when both are set.
pub(crate) fn pair_from_env(version: PgVersion) -> Result<Option<Pair>, TestkitError> {
    match (
        env::var(env::TEST_PROD_URL),
        env::var(env::TEST_STAGING_URL),
    ) {
        (None, None) => Ok(None),
        (Some(prod), Some(staging)) => Ok(Some(Pair {
            prod: cluster(
                version,
                env::TEST_PROD_URL,
                &prod,
                env::TEST_PROD_SUPERUSER_URL,
            )?,
            staging: cluster(
                version,
                env::TEST_STAGING_URL,
                &staging,
                env::TEST_STAGING_SUPERUSER_URL,
            )?,
        })),
        (Some(_), None) => Err(half_set(env::TEST_STAGING_URL, env::TEST_PROD_URL)),
        (None, Some(_)) => Err(half_set(env::TEST_PROD_URL, env::TEST_STAGING_URL)),
    }
}

fn cluster(
    version: PgVersion,
    var: &'static str,
    url: &str,
    superuser_var: &'static str,
) -> Result<Cluster, TestkitError> {
    let admin = parse(var, url)?;
    let superuser = env::var(superuser_var)
        .map(|url| parse(superuser_var, &url))
        .transpose()?;
    Cluster::external(version, admin, superuser)
}

/// The URL as connection settings; the error never repeats the URL, which holds a password.
fn parse(var: &'static str, url: &str) -> Result<Config, TestkitError> {
    url.parse().map_err(|error| TestkitError::InvalidEnv {
        var,
        reason: describe(&error),
    })
}

fn half_set(unset: &'static str, set: &str) -> TestkitError {
    TestkitError::InvalidEnv {
        var: unset,
        reason: format!("unset while {set} is set: set both or neither"),
    }
}
