//! The SQL the testkit runs on its servers, and the one place that runs it.

use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::{Client, Config, NoTls};

use crate::blocking::block_on;
use crate::{Flavor, TestkitError};

/// The non-superuser admin cotenant connects as, in every flavour.
pub(crate) const ADMIN: &str = "postgres";
/// The database every server has, owned by [`ADMIN`].
pub(crate) const DATABASE: &str = "postgres";

/// A fresh random password: alphanumeric, so it survives any quoting and URL.
fn random_password() -> SecretString {
    let password: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    SecretString::from(password)
}

/// One server's passwords: the superuser's, the admin's and those of the flavour's other logins,
/// each random. Copies of a template share its roles; they must not share passwords.
pub(crate) struct Passwords {
    flavor: Flavor,
    roles: Vec<(&'static str, SecretString)>,
}

impl Passwords {
    /// Fresh passwords for every login of `flavor`.
    pub(crate) fn random(flavor: Flavor) -> Passwords {
        let roles = [flavor.superuser(), ADMIN]
            .into_iter()
            .chain(flavor.logins().iter().copied())
            .map(|role| (role, random_password()))
            .collect();
        Passwords { flavor, roles }
    }

    pub(crate) fn flavor(&self) -> Flavor {
        self.flavor
    }

    pub(crate) fn superuser(&self) -> &SecretString {
        &self.roles[0].1
    }

    pub(crate) fn admin(&self) -> &SecretString {
        &self.roles[1].1
    }

    /// The logins besides the superuser and the admin, with their passwords.
    pub(crate) fn logins(&self) -> impl Iterator<Item = (&'static str, &SecretString)> {
        self.roles[2..]
            .iter()
            .map(|(role, password)| (*role, password))
    }

    /// `ALTER ROLE` statements giving every login its password.
    pub(crate) fn statements(&self) -> SecretString {
        let mut statements = String::new();
        for (role, password) in &self.roles {
            statements.push_str(&format!(
                "ALTER ROLE {role} PASSWORD {};\n",
                quote_literal(password.expose_secret())
            ));
        }
        SecretString::from(statements)
    }
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

/// Whether the server has the roles of hosted Supabase: its API roles and GoTrue's login.
pub(crate) fn has_supabase_roles(config: &Config) -> Result<bool, TestkitError> {
    block_on(async {
        let client = connect(config).await?;
        let row = client
            .query_one(
                "SELECT count(*) = 2 FROM pg_roles WHERE rolname IN ('authenticator', 'supabase_auth_admin')",
                &[],
            )
            .await?;
        Ok::<_, tokio_postgres::Error>(row.get::<_, bool>(0))
    })
    .map_err(TestkitError::sql("looking for the Supabase roles"))
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
