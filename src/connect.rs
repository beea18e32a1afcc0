//! Opening connections to an environment: TLS by the configured mode, the password from a
//! secret, and errors that name where and as whom without ever showing the password.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use secrecy::ExposeSecret;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::TlsMode;
use crate::secret::DbSecret;

/// Where to connect: host, port and database of an environment, and how to secure it.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) database: String,
    pub(crate) tls: TlsMode,
    pub(crate) ca_file: Option<PathBuf>,
}

/// Connecting to an environment failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The credential to connect with could not be read.
    #[error("reading the credential for environment `{environment}`: {source}")]
    Secret {
        /// The environment.
        environment: String,
        /// What went wrong.
        #[source]
        source: crate::secret::SecretError,
    },
    /// The instance of the project to connect for could not be resolved (see
    /// [`placement`](crate::placement)): nothing was connected.
    #[error(transparent)]
    Placement(Box<crate::placement::PlacementError>),
    /// The `ca_file` of a `verify-full` environment could not be used.
    #[error("reading CA certificates from {}: {reason}; check `ca_file` in the config", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached or refused the connection.
    #[error("connecting to {host}:{port}/{database} as `{user}`: {source}")]
    Server {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The database.
        database: String,
        /// The role the connection was attempted as.
        user: String,
        /// The driver's error; carries the server's SQLSTATE when it refused.
        #[source]
        source: tokio_postgres::Error,
    },
}

impl ConnectError {
    /// The server's SQLSTATE, when the server refused the connection (e.g. `28P01` for a wrong
    /// password, `42501` for a missing CONNECT privilege).
    pub fn code(&self) -> Option<&tokio_postgres::error::SqlState> {
        match self {
            ConnectError::Server { source, .. } => source.code(),
            _ => None,
        }
    }
}

impl Endpoint {
    /// Connects as the user and password of `secret`; the connection is driven by a task on
    /// the current tokio runtime until the client is dropped.
    pub(crate) async fn connect(
        &self,
        secret: &DbSecret,
        application_name: &str,
    ) -> Result<Client, ConnectError> {
        let mut config = self.pg_config(&secret.username, application_name);
        config.password(secret.password.expose_secret());
        let fail = |source| ConnectError::Server {
            host: self.host.clone(),
            port: self.port,
            database: self.database.clone(),
            user: secret.username.clone(),
            source,
        };
        let client = match self.tls {
            TlsMode::Disable => {
                let (client, connection) = config.connect(NoTls).await.map_err(fail)?;
                tokio::spawn(drive(connection));
                client
            }
            TlsMode::Require | TlsMode::VerifyFull => {
                let tls = MakeRustlsConnect::new(self.rustls_config()?);
                let (client, connection) = config.connect(tls).await.map_err(fail)?;
                tokio::spawn(drive(connection));
                client
            }
        };
        Ok(client)
    }

    /// The connection settings without a password.
    pub(crate) fn pg_config(&self, user: &str, application_name: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .dbname(&self.database)
            .user(user)
            .application_name(application_name)
            .connect_timeout(std::time::Duration::from_secs(10))
            .ssl_mode(match self.tls {
                TlsMode::Disable => SslMode::Disable,
                TlsMode::Require | TlsMode::VerifyFull => SslMode::Require,
            });
        config
    }
}

async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio_postgres::tls::TlsStream + Unpin,
{
    if let Err(error) = connection.await {
        tracing::debug!(target: "cotenant::connect", %error, "connection closed with an error");
    }
}

impl Endpoint {
    /// The rustls configuration for the TLS mode: `verify-full` checks the chain against
    /// `ca_file` (or the bundled web roots) and the host name; `require` encrypts without
    /// checking who answers, as libpq's `sslmode=require` does.
    pub(crate) fn rustls_config(&self) -> Result<rustls::ClientConfig, ConnectError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions");
        Ok(match self.tls {
            TlsMode::VerifyFull => builder
                .with_root_certificates(self.root_certificates()?)
                .with_no_client_auth(),
            TlsMode::Require | TlsMode::Disable => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
                .with_no_client_auth(),
        })
    }

    fn root_certificates(&self) -> Result<rustls::RootCertStore, ConnectError> {
        let Some(path) = &self.ca_file else {
            return Ok(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            });
        };
        let fail = |reason: String| ConnectError::CaFile {
            path: path.clone(),
            reason,
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| fail(e.to_string()))? {
            let cert = cert.map_err(|e| fail(e.to_string()))?;
            roots.add(cert).map_err(|e| fail(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(fail("it holds no PEM certificate".to_owned()));
        }
        Ok(roots)
    }
}

/// Accepts any server certificate but still checks the handshake signatures: encryption
/// against passive listeners, no authentication of the server (`sslmode=require`).
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
