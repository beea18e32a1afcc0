//! What the benchmarks share: `mod common;` in an example (a directory, so Cargo does not
//! take it for an example of its own).
// Each example compiles this module alone and uses part of it; some compile their measurement
// only with features (`sqlx`, `deadpool`).
#![allow(dead_code)]

use std::time::Duration;

use cotenant::ProjectName;
use cotenant::provision::{self, LoginPasswords, PasswordResets, ProjectSettings};
use cotenant_testkit::PgVersion;
use secrecy::SecretString;
use tokio_postgres::{Client, Config, NoTls};

/// A connection with `config`, its connection task spawned.
pub(crate) async fn connect(config: Config) -> Client {
    let (client, connection) = config.connect(NoTls).await.expect("a connection");
    tokio::spawn(connection);
    client
}

/// `d` in milliseconds.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The PostgreSQL versions of `--versions 15,17`.
pub(crate) fn versions(list: &str) -> Vec<PgVersion> {
    list.split(',')
        .map(|v| v.parse().unwrap_or_else(|e| panic!("--versions: {e}")))
        .collect()
}

/// `name` provisioned over `client` with the default settings and fixed bench passwords.
pub(crate) async fn provisioned(client: &mut Client, name: &str) -> ProjectName {
    let project: ProjectName = name.parse().unwrap();
    let passwords = LoginPasswords::new(
        SecretString::from("bench-app-password"),
        SecretString::from("bench-migrator-password"),
    );
    provision::apply(
        client,
        &project,
        &ProjectSettings::default(),
        &passwords,
        PasswordResets::default(),
    )
    .await
    .expect("provisioning");
    project
}
