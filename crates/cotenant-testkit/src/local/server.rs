//! A server's private directory (data directory, unix socket, log) and its lifetime: whatever
//! happens — drop, panic, process exit — the postmaster stops and the directory goes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio_postgres::Config;

use super::os_user::OsUser;
use super::postmaster::{Listen, Postmaster};
use crate::TestkitError;
use crate::binaries::Binaries;
use crate::sql::DATABASE;
use crate::watchdog::Watchdog;

/// A private directory, possibly with a postmaster running on `data/` inside it.
///
/// Layout: `<dir>/data` (the data directory), `<dir>/.s.PGSQL.<port>` (the socket),
/// `<dir>/postgres.log`.
#[derive(Debug)]
pub(crate) struct LocalServer {
    dir: PathBuf,
    data: PathBuf,
    postmaster: Option<Postmaster>,
    port: u16,
    watchdog: Watchdog,
}

impl LocalServer {
    /// Creates the directory (mode 0700, owned by `user`) under `user`'s temp base, with a watchdog
    /// already guarding it: from here on, nothing can leak it.
    pub(crate) fn create(user: &OsUser, prefix: &str) -> Result<LocalServer, TestkitError> {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(user.temp_base())
            .map_err(TestkitError::io("creating a server directory"))?;
        user.chown(dir.path()).map_err(TestkitError::io(
            "handing the server directory to its OS user",
        ))?;
        // SIGQUIT: PostgreSQL's immediate shutdown.
        let watchdog = Watchdog::stop_and_remove(dir.path(), "QUIT")
            .map_err(TestkitError::io("starting the watchdog"))?;
        // The watchdog owns removal now.
        let dir = dir.keep();
        Ok(LocalServer {
            data: dir.join("data"),
            dir,
            postmaster: None,
            port: 0,
            watchdog,
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.data
    }

    pub(crate) fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.postmaster.as_ref().map(Postmaster::pid)
    }

    /// Starts the postmaster on `port` and waits until it accepts connections.
    pub(crate) fn start(
        &mut self,
        bins: &Binaries,
        user: &OsUser,
        port: u16,
        listen: Listen,
    ) -> Result<(), TestkitError> {
        let watchdog = &mut self.watchdog;
        let started = Postmaster::start(bins, user, &self.data, &self.dir, port, listen, |pid| {
            watchdog.watch(&pid.to_string())
        });
        if started.is_err() {
            // The failed postmaster has been reaped: its pid may be reused by now.
            let _ = self.watchdog.watch("");
        }
        self.postmaster = Some(started?);
        self.port = port;
        Ok(())
    }

    /// Shuts the postmaster down cleanly, leaving the data directory ready to copy.
    pub(crate) fn stop(&mut self) -> Result<(), TestkitError> {
        if let Some(postmaster) = self.postmaster.take() {
            postmaster.stop()?;
            self.watchdog
                .watch("")
                .map_err(TestkitError::io("telling the watchdog the server stopped"))?;
        }
        Ok(())
    }

    /// The superuser over the unix socket, where pg_hba.conf trusts local connections.
    pub(crate) fn socket_config(&self, user: &str) -> Config {
        let mut config = Config::new();
        config
            .host_path(&self.dir)
            .port(self.port)
            .user(user)
            .dbname(DATABASE);
        config
    }
}

impl Drop for LocalServer {
    /// Has the watchdog stop the postmaster (SIGQUIT) and remove the directory, reaping the
    /// postmaster meanwhile, and waits for both: on return no process and no file is left.
    fn drop(&mut self) {
        if let Some(postmaster) = self.postmaster.as_mut() {
            if postmaster.has_exited() {
                // Reaped already (it crashed or was killed): its pid is not ours to signal.
                let _ = self.watchdog.watch("");
            }
            self.watchdog.fire();
            if let Err(error) = postmaster.wait() {
                tracing::warn!(target: "cotenant_testkit", %error, "waiting for postgres failed");
            }
        }
        if let Err(error) = self.watchdog.finish() {
            tracing::warn!(target: "cotenant_testkit", %error, "waiting for the watchdog failed");
        }
        // The watchdog should have removed it; if it could not, try once more from here.
        if self.dir.exists()
            && let Err(error) = fs::remove_dir_all(&self.dir)
        {
            tracing::warn!(
                target: "cotenant_testkit",
                dir = %self.dir.display(),
                %error,
                "removing a server directory failed"
            );
        }
    }
}
