//! One running `pgbouncer` process in a private directory, guarded by a watchdog like the servers
//! are: whatever happens — drop, panic, process exit — the process stops and the directory goes.

use std::fs::{self, File};
use std::io::Write;
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use crate::TestkitError;
use crate::local::OsUser;
use crate::watchdog::Watchdog;

/// How long PgBouncer may take to listen: it is up within a few milliseconds.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(5);

/// A private directory (mode 0700, owned by the OS user PgBouncer runs as), possibly with a
/// `pgbouncer` running on files inside it.
///
/// Layout: `<dir>/pgbouncer.ini`, `<dir>/userlist.txt`, `<dir>/pgbouncer.log` (its stderr), and
/// its unix socket.
#[derive(Debug)]
pub(crate) struct PgBouncer {
    dir: PathBuf,
    child: Option<Child>,
    watchdog: Watchdog,
}

impl PgBouncer {
    /// Creates the directory under `user`'s temp base, guarded by a watchdog from the start.
    pub(crate) fn create(user: &OsUser) -> Result<PgBouncer, TestkitError> {
        let dir = tempfile::Builder::new()
            .prefix("cotenant-pgbouncer-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(user.temp_base())
            .map_err(TestkitError::io("creating the pooler's directory"))?;
        user.chown(dir.path()).map_err(TestkitError::io(
            "handing the pooler's directory to its OS user",
        ))?;
        // SIGTERM: PgBouncer's immediate shutdown.
        let watchdog = Watchdog::stop_and_remove(dir.path(), "TERM")
            .map_err(TestkitError::io("starting the pooler's watchdog"))?;
        Ok(PgBouncer {
            dir: dir.keep(),
            child: None,
            watchdog,
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn log_file(&self) -> PathBuf {
        self.dir.join("pgbouncer.log")
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Writes `name` in the directory, readable by `user` alone.
    pub(crate) fn write(
        &self,
        user: &OsUser,
        name: &str,
        text: &SecretString,
    ) -> Result<(), TestkitError> {
        let path = self.dir.join(name);
        let context = format!("writing {}", path.display());
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut file| file.write_all(text.expose_secret().as_bytes()))
            .and_then(|()| user.chown(&path))
            .map_err(TestkitError::io(context))
    }

    /// Runs `program` on `pgbouncer.ini` as `user` and waits until it accepts TCP connections on
    /// `port`.
    pub(crate) fn start(
        &mut self,
        program: &Path,
        user: &OsUser,
        port: u16,
    ) -> Result<(), TestkitError> {
        let log =
            File::create(self.log_file()).map_err(TestkitError::io("creating the pooler's log"))?;
        let log_err = log
            .try_clone()
            .map_err(TestkitError::io("creating the pooler's log"))?;
        let child = user
            .command(program)
            .arg(self.dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Out of the terminal's process group, as the servers: the watchdog ends it.
            .process_group(0)
            .spawn()
            .map_err(TestkitError::io(format!("starting {}", program.display())))?;
        let pid = child.id();
        self.child = Some(child);
        self.watchdog
            .watch(&pid.to_string())
            .map_err(TestkitError::io("telling the pooler's watchdog the pid"))?;
        self.wait_ready(port)
    }

    fn wait_ready(&mut self, port: u16) -> Result<(), TestkitError> {
        let started = Instant::now();
        let address = (Ipv4Addr::LOCALHOST, port).into();
        loop {
            let exited = match self.child.as_mut() {
                Some(child) => child
                    .try_wait()
                    .map_err(TestkitError::io("waiting for pgbouncer"))?,
                None => None,
            };
            if let Some(status) = exited {
                // Reaped: its pid is no longer ours to signal.
                let _ = self.watchdog.watch("");
                self.child = None;
                return Err(TestkitError::PoolerExited {
                    status,
                    log: self.log_tail(),
                });
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(TestkitError::PoolerUnavailable(format!(
                    "pgbouncer did not listen within {READY_TIMEOUT:?}; its log ends with:\n{}",
                    self.log_tail()
                )));
            }
            thread::sleep(POLL);
        }
    }

    /// The last lines of PgBouncer's log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PgBouncer {
    /// Has the watchdog stop PgBouncer (SIGTERM) and remove the directory, reaping the process
    /// meanwhile, and waits for both.
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if !matches!(child.try_wait(), Ok(None)) {
                // Reaped already: its pid is not ours to signal.
                let _ = self.watchdog.watch("");
            }
            self.watchdog.fire();
            let _ = child.wait();
        }
        if let Err(error) = self.watchdog.finish() {
            tracing::warn!(target: "cotenant_testkit", %error, "waiting for the pooler's watchdog failed");
        }
        if self.dir.exists() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
