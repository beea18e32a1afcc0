//! The SQL the testkit runs on its servers, and the one place that runs it.

use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::{Client, Config, NoTls};

use crate::TestkitError;
use crate::blocking::block_on;

/// Roles and privileges of a fresh hosted Supabase instance: run once per server (per template for
/// the local backend) as the bootstrap superuser.
pub(crate) const SETUP: &str = include_str!("setup.sql");

/// The bootstrap superuser, as on hosted Supabase.
pub(crate) const SUPERUSER: &str = "supabase_admin";
/// The non-superuser admin cotenant connects as.
pub(crate) const ADMIN: &str = "postgres";
/// The database every server has, owned by [`ADMIN`].
pub(crate) const DATABASE: &str = "postgres";

/// A fresh random password: alphanumeric, so it survives any quoting and URL.
pub(crate) fn random_password() -> SecretString {
    let password: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    SecretString::from(password)
}

/// `ALTER ROLE` statements giving the superuser and the admin their passwords.
pub(crate) fn set_passwords(superuser: &SecretString, admin: &SecretString) -> SecretString {
    SecretString::from(format!(
        "ALTER ROLE {SUPERUSER} PASSWORD {}; ALTER ROLE {ADMIN} PASSWORD {};",
        quote_literal(superuser.expose_secret()),
        quote_literal(admin.expose_secret()),
    ))
}

/// `text` as an SQL string literal (standard_conforming_strings is on since PostgreSQL 9.1).
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Connects with `config` and runs `statements` as one simple-query batch.
pub(crate) fn execute(
    config: &Config,
    statements: &str,
    context: &str,
) -> Result<(), TestkitError> {
    block_on(async {
        let client = connect(config).await?;
        client.batch_execute(statements).await
    })
    .map_err(TestkitError::sql(context))
}

/// The server's major version and full `server_version`.
pub(crate) fn server_version(config: &Config) -> Result<(u32, String), TestkitError> {
    block_on(async {
        let client = connect(config).await?;
        let row = client
            .query_one(
                "SELECT current_setting('server_version_num')::int / 10000, current_setting('server_version')",
                &[],
            )
            .await?;
        Ok::<_, tokio_postgres::Error>((row.get::<_, i32>(0).unsigned_abs(), row.get(1)))
    })
    .map_err(TestkitError::sql("reading the server version"))
}

/// A client whose connection runs on the current runtime until the client is dropped.
async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}
