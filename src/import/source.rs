//! The project's own instance an import reads: where it is, as whom, how to reach it — with
//! the password kept out of every log, error and `Debug`.

use std::str::FromStr;

use secrecy::ExposeSecret;
use tokio_postgres::Client;
use tokio_postgres::config::{Host, SslMode};

use super::ImportError;
use crate::config::TlsMode;
use crate::connect::Endpoint;
use crate::secret::DbSecret;

/// The source of an import: a PostgreSQL database (the project's old instance) read with a
/// role that may read its `public` (and, on Supabase, `auth.users`). Read-only access is enough.
///
/// ```
/// use cotenant::import::Source;
///
/// let source = Source::from_dsn("postgres://postgres:hunter2@old-db.example:5432/postgres?sslmode=require")?;
/// assert_eq!(source.to_string(), "old-db.example:5432/postgres as `postgres`");
/// assert!(!format!("{source:?}").contains("hunter2"));
/// # Ok::<(), cotenant::import::ImportError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Source {
    secret: DbSecret,
    tls: TlsMode,
}

impl Source {
    /// The database of a database secret (AWS's JSON: host, port, username, password, dbname),
    /// reached over TLS with the certificate checked.
    pub fn new(secret: DbSecret) -> Self {
        Source {
            secret,
            tls: TlsMode::VerifyFull,
        }
    }

    /// Parses a libpq connection string (`postgres://user:password@host:port/db?sslmode=…` or
    /// `host=… user=… …`). Without `sslmode`, or with `prefer`, TLS is required
    /// (the certificate unchecked); `sslmode=disable` turns it off.
    pub fn from_dsn(dsn: &str) -> Result<Self, ImportError> {
        let fail = |reason: String| ImportError::Source {
            from: "the connection string".to_owned(),
            reason,
        };
        let config = tokio_postgres::Config::from_str(dsn).map_err(|e| {
            fail(format!(
                "{e}; write `postgres://user:password@host:port/database`"
            ))
        })?;
        let host = match config.get_hosts() {
            [Host::Tcp(host)] => host.clone(),
            #[cfg(unix)]
            [Host::Unix(path)] => path.display().to_string(),
            [] => return Err(fail("it names no host".to_owned())),
            _ => return Err(fail("it names more than one host; name one".to_owned())),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config
            .get_user()
            .ok_or_else(|| fail("it names no user".to_owned()))?
            .to_owned();
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let dbname = config.get_dbname().unwrap_or("postgres").to_owned();
        let tls = match config.get_ssl_mode() {
            SslMode::Disable => TlsMode::Disable,
            _ => TlsMode::Require,
        };
        Ok(Source {
            secret: DbSecret::new(host, port, user, password, dbname),
            tls,
        })
    }

    /// How to secure the connection (default for a secret: `verify-full`).
    pub fn tls(mut self, tls: TlsMode) -> Self {
        self.tls = tls;
        self
    }

    /// The credential.
    pub fn secret(&self) -> &DbSecret {
        &self.secret
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint {
            host: self.secret.host.clone(),
            port: self.secret.port,
            database: self.secret.dbname.clone(),
            tls: self.tls,
            ca_file: None,
        }
    }

    /// Connects, with the application name `cotenant import`.
    pub(crate) async fn connect(&self) -> Result<Client, ImportError> {
        self.endpoint()
            .connect(&self.secret, "cotenant import")
            .await
            .map_err(ImportError::SourceConnect)
    }

    /// The environment pg_dump and pg_restore connect with: libpq's variables, the password in
    /// `PGPASSWORD` (never on a command line, which other users of the machine can read).
    pub(crate) fn libpq_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PGHOST", self.secret.host.clone()),
            ("PGPORT", self.secret.port.to_string()),
            ("PGUSER", self.secret.username.clone()),
            ("PGDATABASE", self.secret.dbname.clone()),
            (
                "PGPASSWORD",
                self.secret.password.expose_secret().to_owned(),
            ),
            (
                "PGSSLMODE",
                match self.tls {
                    TlsMode::Disable => "disable",
                    TlsMode::Require => "require",
                    TlsMode::VerifyFull => "verify-full",
                }
                .to_owned(),
            ),
            ("PGAPPNAME", "cotenant import (pg_dump)".to_owned()),
            ("PGCONNECT_TIMEOUT", "10".to_owned()),
        ]
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}/{} as `{}`",
            self.secret.host, self.secret.port, self.secret.dbname, self.secret.username
        )
    }
}
