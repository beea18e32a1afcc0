//! One running `postgres` process, started directly (no pg_ctl) so that we hold it as our child:
//! we know its pid at once, see it exit, and reap it.

use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::os_user::OsUser;
use crate::TestkitError;
use crate::binaries::Binaries;

/// How long a server may take to accept connections: generous, as test runs load the machine.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often readiness is checked: a server is ready within 100–300 ms.
const POLL: Duration = Duration::from_millis(5);

/// Where a server listens.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Listen {
    /// The unix socket only (the template's setup run): nothing can reach it over TCP.
    SocketOnly,
    /// Also TCP on 127.0.0.1 (postgresql.conf's listen_addresses).
    Loopback,
}

/// A running postmaster.
#[derive(Debug)]
pub(crate) struct Postmaster {
    child: Child,
    data: PathBuf,
    log: PathBuf,
}

impl Postmaster {
    /// Starts postgres on `data` with its socket (and log, `postgres.log`) in `socket_dir`, and
    /// waits until it accepts connections.
    ///
    /// `on_spawn` sees the pid before the wait: the caller hands it to its watchdog at once. On
    /// error no process is left: the postmaster has exited or been stopped, and reaped.
    pub(crate) fn start(
        bins: &Binaries,
        user: &OsUser,
        data: &Path,
        socket_dir: &Path,
        port: u16,
        listen: Listen,
        on_spawn: impl FnOnce(u32) -> std::io::Result<()>,
    ) -> Result<Postmaster, TestkitError> {
        let log = socket_dir.join("postgres.log");
        let log_file = File::create(&log).map_err(TestkitError::io("creating the server log"))?;
        let log_err = log_file
            .try_clone()
            .map_err(TestkitError::io("creating the server log"))?;
        let mut command = user.command(bins.postgres());
        command
            .arg("-D")
            .arg(data)
            .arg("-k")
            .arg(socket_dir)
            .arg("-p")
            .arg(port.to_string());
        if let Listen::SocketOnly = listen {
            // `-h ''`: no TCP listener at all.
            command.arg("-h").arg("");
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            // Out of the terminal's process group: a Ctrl-C reaches the test process, whose exit
            // then has the watchdog stop the server, rather than half-stopping it directly.
            .process_group(0)
            .spawn()
            .map_err(TestkitError::io(format!(
                "starting {}",
                bins.postgres().display()
            )))?;
        let mut postmaster = Postmaster {
            child,
            data: data.to_owned(),
            log,
        };
        if let Err(error) = on_spawn(postmaster.pid()) {
            postmaster.abort();
            return Err(TestkitError::io("telling the watchdog the pid")(error));
        }
        postmaster.wait_ready()?;
        Ok(postmaster)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited (and so been reaped).
    pub(crate) fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Clean ("fast") shutdown: SIGINT, then wait. Copies of the data directory then start without
    /// crash recovery.
    pub(crate) fn stop(mut self) -> Result<(), TestkitError> {
        signal(self.pid(), "INT").map_err(TestkitError::io("stopping postgres"))?;
        let status = self.wait().map_err(TestkitError::io("stopping postgres"))?;
        if status.success() {
            Ok(())
        } else {
            Err(TestkitError::ServerExited {
                status,
                log: self.log_tail(),
            })
        }
    }

    /// Waits for the process to exit and reaps it.
    pub(crate) fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait()
    }

    /// The last lines of the server log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Immediate shutdown, reaped here: the caller's cleanup finds no process.
    fn abort(&mut self) {
        if signal(self.pid(), "QUIT").is_err() {
            // No shell to signal with: SIGKILL still ends it; its backends follow on their own.
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// Polls postmaster.pid, whose 8th line reads `ready` once connections are accepted.
    fn wait_ready(&mut self) -> Result<(), TestkitError> {
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .map_err(TestkitError::io("waiting for postgres"))?
            {
                return Err(TestkitError::ServerExited {
                    status,
                    log: self.log_tail(),
                });
            }
            let pid_file = fs::read_to_string(self.data.join("postmaster.pid")).unwrap_or_default();
            if pid_file.lines().nth(7).map(str::trim) == Some("ready") {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                self.abort();
                return Err(TestkitError::StartTimeout {
                    waited: READY_TIMEOUT,
                    log: self.log_tail(),
                });
            }
            thread::sleep(POLL);
        }
    }
}

/// Sends `signal` (a name: QUIT, INT) with the shell's `kill` builtin: std has no safe kill(2) but
/// SIGKILL, and /usr/bin/kill is missing from slim images.
fn signal(pid: u32, signal: &str) -> std::io::Result<()> {
    let status = Command::new("sh")
        .args(["-c", r#"kill -s "$1" "$2""#, "kill"])
        .arg(signal)
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "kill -s {signal} {pid}: {status}"
        )))
    }
}
