//! The local backend: PostgreSQL binaries on this machine.
//!
//! Each server is a copy of a cached template data directory ([`template`]) started on a free
//! loopback port, in a private directory guarded by a watchdog ([`server`]), as an unprivileged OS
//! user when we are root ([`os_user`]).

mod os_user;
mod postmaster;
mod server;
mod template;
mod tmpdir;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use secrecy::ExposeSecret;

pub(crate) use os_user::{OsUser, running_as_root};
pub(crate) use server::LocalServer;

use self::postmaster::Listen;
use crate::binaries::Binaries;
use crate::sql::{self, Passwords};
use crate::{Flavor, PgVersion, TestkitError};

/// How often a server is restarted on another port when its port was taken meanwhile.
const PORT_ATTEMPTS: usize = 5;

/// A started local server with its fresh passwords.
pub(crate) struct Started {
    pub(crate) server: LocalServer,
    pub(crate) port: u16,
    pub(crate) passwords: Passwords,
}

/// Starts a server of `version` set up as `flavor`: copy the template, start it, give it its own
/// passwords.
pub(crate) fn start(version: PgVersion, flavor: Flavor) -> Result<Started, TestkitError> {
    let user = OsUser::get()?;
    let bins = Binaries::locate(version)?;
    let template = template::ensure(&bins, user, flavor)?;

    let mut server = LocalServer::create(user, "cotenant-pg-")?;
    copy_data_dir(&template, server.data_dir())?;
    let port = start_on_free_port(&mut server, &bins, user)?;

    // Copies share the template's roles; passwords must not be shared: set them per server,
    // over the trusted unix socket.
    let passwords = Passwords::random(flavor);
    sql::execute(
        &server.socket_config(flavor.superuser()),
        passwords.statements().expose_secret(),
        "setting the server's passwords",
    )?;
    Ok(Started {
        server,
        port,
        passwords,
    })
}

/// `cp -a`: keeps the owner (the server's OS user) and modes, and uses the file system's fastest
/// copy.
fn copy_data_dir(template: &Path, data: &Path) -> Result<(), TestkitError> {
    let mut cp = Command::new("cp");
    cp.arg("-a").arg("--").arg(template).arg(data);
    run(cp, "copying the template data directory")
}

/// Picks a free port and starts on it; when another process took the port between our check and
/// the postmaster's bind, tries another.
fn start_on_free_port(
    server: &mut LocalServer,
    bins: &Binaries,
    user: &OsUser,
) -> Result<u16, TestkitError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = free_port()?;
        match server.start(bins, user, port, Listen::Loopback) {
            Ok(()) => return Ok(port),
            Err(TestkitError::ServerExited { log, .. })
                if attempt < PORT_ATTEMPTS && log.contains("could not bind") =>
            {
                tracing::debug!(target: "cotenant_testkit", port, "port taken, trying another");
            }
            Err(error) => return Err(error),
        }
    }
}

/// A port nobody listens on right now: the OS picks it for a listener we close at once.
pub(crate) fn free_port() -> Result<u16, TestkitError> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(TestkitError::io("finding a free port"))
}

/// Runs `command` to completion; its output becomes the error when it fails.
fn run(mut command: Command, context: &str) -> Result<(), TestkitError> {
    let output = command.output().map_err(TestkitError::io(context))?;
    if output.status.success() {
        return Ok(());
    }
    let mut printed = String::from_utf8_lossy(&output.stderr).into_owned();
    printed.push_str(&String::from_utf8_lossy(&output.stdout));
    Err(TestkitError::Command {
        context: context.to_owned(),
        status: output.status,
        output: printed.trim().to_owned(),
    })
}
