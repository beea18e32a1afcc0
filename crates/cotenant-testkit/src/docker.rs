//! The Docker backend: `postgres:<major>` containers started with testcontainers, set up with the
//! same SQL as local servers.
//!
//! Kept thin: no engine runs where this crate is developed, so this path is compiled, not tested.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};
use tokio_postgres::Config;

use crate::blocking::off_runtime;
use crate::settings::SETTINGS;
use crate::sql::{self, DATABASE, Passwords};
use crate::watchdog::Watchdog;
use crate::{Flavor, PgVersion, TestkitError};

/// How long the server in a started container may take to accept TCP connections: the image's
/// entrypoint first runs initdb with a temporary, socket-only server.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running container; dropping it removes the container.
#[derive(Debug)]
pub(crate) struct DockerServer {
    container: Option<Container<GenericImage>>,
    /// Removes the container with the docker CLI if we exit while it sits in a `static`.
    watchdog: Watchdog,
}

impl Drop for DockerServer {
    fn drop(&mut self) {
        if let Some(container) = self.container.take() {
            // testcontainers' sync drop blocks on its own runtime: not on the caller's.
            off_runtime(|| drop(container));
        }
        let _ = self.watchdog.watch("");
    }
}

/// A started container with its fresh passwords.
pub(crate) struct Started {
    pub(crate) server: DockerServer,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) passwords: Passwords,
}

/// Whether a Docker engine answers a ping at `DOCKER_HOST` (unix:// or tcp://) or, without it, at
/// /var/run/docker.sock. Other schemes are left to testcontainers to try.
pub(crate) fn engine_answers() -> bool {
    match std::env::var("DOCKER_HOST")
        .ok()
        .filter(|host| !host.is_empty())
    {
        None => ping_unix("/var/run/docker.sock"),
        Some(host) => match host.split_once("://") {
            Some(("unix", path)) => ping_unix(path),
            Some(("tcp", address)) => ping_tcp(address.trim_end_matches('/')),
            _ => true,
        },
    }
}

fn ping_unix(path: &str) -> bool {
    UnixStream::connect(path).is_ok_and(|stream| {
        let timeout = Some(Duration::from_secs(1));
        stream.set_read_timeout(timeout).is_ok()
            && stream.set_write_timeout(timeout).is_ok()
            && ping(stream)
    })
}

fn ping_tcp(address: &str) -> bool {
    let timeout = Duration::from_secs(1);
    let Some(address) = std::net::ToSocketAddrs::to_socket_addrs(address)
        .ok()
        .and_then(|mut addresses| addresses.next())
    else {
        return false;
    };
    TcpStream::connect_timeout(&address, timeout).is_ok_and(|stream| {
        stream.set_read_timeout(Some(timeout)).is_ok()
            && stream.set_write_timeout(Some(timeout)).is_ok()
            && ping(stream)
    })
}

/// The engine API's `GET /_ping` answers `OK` with status 200.
fn ping(mut stream: impl Read + Write) -> bool {
    let mut answer = [0; 32];
    stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .and_then(|()| stream.read(&mut answer))
        .is_ok_and(|read| String::from_utf8_lossy(&answer[..read]).contains(" 200 "))
}

/// Starts `postgres:<major>` with the flavour's bootstrap superuser as the image's superuser, then
/// runs the flavour's setup SQL and sets the logins' passwords over TCP.
pub(crate) fn start(version: PgVersion, flavor: Flavor) -> Result<Started, TestkitError> {
    let passwords = Passwords::random(flavor);
    let superuser_password = passwords.superuser();
    let mut watchdog = Watchdog::remove_container()
        .map_err(TestkitError::io("starting the container watchdog"))?;

    let mut command = vec!["postgres".to_owned()];
    for (name, value) in SETTINGS {
        command.extend(["-c".to_owned(), format!("{name}={value}")]);
    }
    let request = GenericImage::new("postgres", &*version.to_string())
        .with_exposed_port(5432.tcp())
        .with_wait_for(WaitFor::message_on_stderr(
            "database system is ready to accept connections",
        ))
        .with_env_var("POSTGRES_USER", flavor.superuser())
        .with_env_var("POSTGRES_PASSWORD", superuser_password.expose_secret())
        .with_env_var("POSTGRES_DB", DATABASE)
        .with_cmd(command);
    let container =
        off_runtime(|| request.start()).map_err(docker_error("starting a container"))?;
    watchdog
        .watch(container.id())
        .map_err(TestkitError::io("telling the watchdog the container"))?;
    let host = container
        .get_host()
        .map_err(docker_error("reading the container's host"))?
        .to_string();
    let port = container
        .get_host_port_ipv4(5432.tcp())
        .map_err(docker_error("reading the container's port"))?;
    let server = DockerServer {
        container: Some(container),
        watchdog,
    };

    let mut superuser = Config::new();
    superuser
        .host(&host)
        .port(port)
        .user(flavor.superuser())
        .password(superuser_password.expose_secret())
        .dbname(DATABASE)
        .connect_timeout(Duration::from_secs(5));
    wait_ready(&superuser)?;
    let setup = format!(
        "{}\n{}",
        flavor.setup_sql(),
        passwords.statements().expose_secret()
    );
    sql::execute(
        &superuser,
        &setup,
        &format!("running the {flavor} setup SQL in the container"),
    )?;
    Ok(Started {
        server,
        host,
        port,
        passwords,
    })
}

/// The image logs "ready" first for its temporary init server, which does not listen on TCP:
/// retry until the real one answers.
fn wait_ready(superuser: &Config) -> Result<(), TestkitError> {
    let started = Instant::now();
    loop {
        match sql::execute(superuser, "SELECT 1", "waiting for the container's server") {
            Ok(()) => return Ok(()),
            Err(error) if started.elapsed() > READY_TIMEOUT => return Err(error),
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn docker_error(context: &str) -> impl FnOnce(testcontainers::TestcontainersError) -> TestkitError {
    let context = context.to_owned();
    move |source| TestkitError::Docker {
        context,
        source: Box::new(source),
    }
}
