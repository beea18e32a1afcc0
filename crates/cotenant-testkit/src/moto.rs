//! A real, local AWS Secrets Manager: moto's server on a free loopback port.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cotenant::secret::AwsSecretsManager;

/// The variable that names the `moto_server` program, instead of looking it up on `PATH`.
const PROGRAM_VAR: &str = "COTENANT_TEST_MOTO_SERVER";

/// How long moto may take to answer after it started (its first import takes a second or two).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why moto's server could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MotoError {
    /// No `moto_server` program was found.
    #[error(
        "moto_server not found on PATH: run scripts/setup.sh (it installs moto[server] with pip), or set {PROGRAM_VAR} to the program"
    )]
    NotInstalled,

    /// Starting the process (or its watchdog) failed.
    #[error("while starting {}: {source}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// What the system said.
        source: io::Error,
    },

    /// moto exited before it answered.
    #[error("moto_server exited during startup ({status}); its output ends with:\n{log}")]
    Exited {
        /// How it exited.
        status: ExitStatus,
        /// The end of its output.
        log: String,
    },

    /// moto did not answer HTTP in time.
    #[error(
        "moto_server at {endpoint} did not answer within {waited:?}; its output ends with:\n{log}"
    )]
    Timeout {
        /// Where it should have answered.
        endpoint: String,
        /// How long we waited.
        waited: Duration,
        /// The end of its output.
        log: String,
    },
}

/// moto's server (`moto_server -H 127.0.0.1 -p PORT`) speaking the Secrets Manager API on a free
/// loopback port.
///
/// The server is killed and reaped on drop. One kept in a `static` ([`MotoServer::shared`]) is
/// never dropped, so every server also gets a watchdog: a small `sh` process reading a pipe that
/// only this process holds; when this process ends, however it ends, the pipe closes and the
/// watchdog terminates the server.
///
/// Starting is synchronous, so a server can be shared by tests that each run their own tokio
/// runtime; build an [`AwsSecretsManager`] per runtime with
/// [`secrets_manager`](MotoServer::secrets_manager).
///
/// ```no_run
/// use cotenant::secret::{DbSecret, SecretSource};
/// use cotenant_testkit::MotoServer;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let moto = MotoServer::shared();
/// let store = moto.secrets_manager();
/// let secret = DbSecret::new("localhost", 5432, "reli_login", "s3cret", "postgres");
/// store.create("test/reli/app", &secret).await?;
/// assert_eq!(store.get_current("test/reli/app").await?, secret);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    watchdog: Option<Watchdog>,
    endpoint: String,
    log: File,
}

impl MotoServer {
    /// The region the clients of [`secrets_manager`](MotoServer::secrets_manager) use.
    pub const REGION: &'static str = "us-east-1";

    /// Starts a server of its own on a free port and waits until it answers.
    ///
    /// Fails with [`MotoError::NotInstalled`] when `moto_server` is neither named by
    /// `COTENANT_TEST_MOTO_SERVER` nor on `PATH`.
    pub fn start() -> Result<MotoServer, MotoError> {
        let program = find_program().ok_or(MotoError::NotInstalled)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_once(&program) {
                // Another process took the free port between our probe and moto's bind.
                Err(MotoError::Exited { log, .. })
                    if attempt < 3 && log.contains("Address already in use") =>
                {
                    continue;
                }
                result => return result,
            }
        }
    }

    /// A server started once per process and shared by every caller; terminated when the process
    /// exits.
    ///
    /// # Panics
    ///
    /// If the server cannot be started (see [`start`](MotoServer::start)); the message says why.
    /// Use [`try_shared`](MotoServer::try_shared) to handle that.
    pub fn shared() -> &'static MotoServer {
        match Self::try_shared() {
            Ok(server) => server,
            Err(error) => panic!("cannot start the shared moto server: {error}"),
        }
    }

    /// Like [`shared`](MotoServer::shared), returning the error (the same one on every call)
    /// instead of panicking.
    pub fn try_shared() -> Result<&'static MotoServer, &'static MotoError> {
        static SHARED: OnceLock<Result<MotoServer, MotoError>> = OnceLock::new();
        SHARED.get_or_init(MotoServer::start).as_ref()
    }

    /// The server's URL, `http://127.0.0.1:PORT`: what `AWS_ENDPOINT_URL` would be set to.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// A Secrets Manager client for this server, with dummy credentials in
    /// [`REGION`](MotoServer::REGION). Reads no environment variable. Build one per tokio runtime.
    pub fn secrets_manager(&self) -> AwsSecretsManager {
        AwsSecretsManager::for_endpoint(&self.endpoint, Self::REGION)
    }

    fn start_once(program: &Path) -> Result<MotoServer, MotoError> {
        let spawn_error = |source| MotoError::Spawn {
            program: program.to_path_buf(),
            source,
        };
        let port = free_port().map_err(spawn_error)?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let log = tempfile::tempfile().map_err(spawn_error)?;
        let mut watchdog = Watchdog::spawn().map_err(|source| MotoError::Spawn {
            program: PathBuf::from("sh"),
            source,
        })?;
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(spawn_error)?)
            .stderr(log.try_clone().map_err(spawn_error)?)
            // Out of the terminal's process group: the watchdog, not a Ctrl-C, ends it.
            .process_group(0)
            .spawn()
            .map_err(spawn_error)?;
        // From here on, dropping `server` kills moto.
        let watch = watchdog.watch(child.id());
        let mut server = MotoServer {
            child,
            watchdog: Some(watchdog),
            endpoint,
            log,
        };
        watch.map_err(spawn_error)?;
        server.wait_until_ready(port)?;
        tracing::debug!(target: "cotenant_testkit", endpoint = %server.endpoint, "moto server is up");
        Ok(server)
    }

    fn wait_until_ready(&mut self, port: u16) -> Result<(), MotoError> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(MotoError::Exited {
                    status,
                    log: self.log_tail(),
                });
            }
            if answers_http(port) {
                return Ok(());
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                return Err(MotoError::Timeout {
                    endpoint: self.endpoint.clone(),
                    waited: STARTUP_TIMEOUT,
                    log: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last 2 KiB of moto's output.
    fn log_tail(&mut self) -> String {
        let mut text = String::new();
        let _ = self.log.seek(SeekFrom::Start(0));
        let mut bytes = Vec::new();
        let _ = self.log.read_to_end(&mut bytes);
        let start = bytes.len().saturating_sub(2048);
        text.push_str(&String::from_utf8_lossy(&bytes[start..]));
        text
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // The watchdog first: it signals moto while moto is still our unreaped child, so its pid
        // cannot belong to another process yet.
        drop(self.watchdog.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `sh` process that terminates the pid it was told once its stdin (a pipe only we hold)
/// reaches EOF: when we drop it, or when this process ends in any way.
#[derive(Debug)]
struct Watchdog {
    child: Child,
    pipe: Option<ChildStdin>,
}

/// Reads the pid (the last line wins) until EOF, then terminates it. HUP and INT are ignored so a
/// Ctrl-C aimed at the test run cannot end the watchdog before it has done its job.
const WATCHDOG: &str = r#"
trap '' HUP INT
target=
while IFS= read -r line; do target=$line; done
if [ -n "$target" ]; then kill -TERM "$target" 2>/dev/null; fi
"#;

impl Watchdog {
    fn spawn() -> io::Result<Watchdog> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("cotenant-testkit-moto-watchdog")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let pipe = child.stdin.take();
        Ok(Watchdog { child, pipe })
    }

    fn watch(&mut self, pid: u32) -> io::Result<()> {
        let pipe = self.pipe.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        writeln!(pipe, "{pid}")?;
        pipe.flush()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.pipe = None;
        let _ = self.child.wait();
    }
}

fn find_program() -> Option<PathBuf> {
    if let Some(program) = std::env::var_os(PROGRAM_VAR).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(program));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("moto_server"))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Whether an HTTP server answers on the port.
fn answers_http(port: u16) -> bool {
    let probe = || -> io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(
            &(Ipv4Addr::LOCALHOST, port).into(),
            Duration::from_millis(500),
        )?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut head = [0u8; 8];
        stream.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1."))
    };
    probe().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_server_is_gone() {
        let server = MotoServer::start().unwrap();
        let port: u16 = server
            .endpoint_url()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let pid = server.child.id();
        assert!(answers_http(port));
        drop(server);
        assert!(!answers_http(port));
        // Reaped: no zombie left under our pid.
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn shared_is_one_server() {
        assert_eq!(
            MotoServer::shared().endpoint_url(),
            MotoServer::shared().endpoint_url()
        );
    }
}
