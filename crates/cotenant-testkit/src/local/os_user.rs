//! The OS user PostgreSQL runs as.
//!
//! initdb and postgres refuse to run as root. When the tests run as root (containers, CI), the
//! server runs as `postgres` (or `nobody`) through std's `CommandExt::uid/gid`, and every directory
//! it writes is chowned to that user and placed where that user can reach it (/dev/shm or /tmp; not
//! root's 0700 home, nor a `$TMPDIR` inside it).

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::TestkitError;

/// Who runs PostgreSQL: ourselves, or an unprivileged user when we are root.
#[derive(Clone, Debug)]
pub(crate) struct OsUser {
    uid: u32,
    gid: u32,
    /// Whether `uid`/`gid` differ from ours, so that commands and files must be switched to them.
    switched: bool,
}

impl OsUser {
    /// The user for this process, looked up once.
    pub(crate) fn get() -> Result<&'static OsUser, TestkitError> {
        static USER: OnceLock<Option<OsUser>> = OnceLock::new();
        USER.get_or_init(OsUser::lookup)
            .as_ref()
            .ok_or(TestkitError::NoUnprivilegedUser)
    }

    /// `None` when we are root and no unprivileged user exists.
    fn lookup() -> Option<OsUser> {
        // Without /proc we are not on Linux as this crate knows it: assume not root, and initdb's
        // own refusal to run as root explains the rest.
        let euid = effective_uid().unwrap_or(u32::MAX);
        if euid != 0 {
            return Some(OsUser {
                uid: euid,
                // Our own gid is never needed: nothing is switched or chowned.
                gid: 0,
                switched: false,
            });
        }
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        ["postgres", "nobody"]
            .into_iter()
            .find_map(|name| passwd_entry(&passwd, name))
            .map(|(uid, gid)| OsUser {
                uid,
                gid,
                switched: true,
            })
    }

    /// The uid PostgreSQL's files belong to.
    pub(crate) fn uid(&self) -> u32 {
        self.uid
    }

    /// A command for `program` that runs as this user, from `/` (our working directory may be out
    /// of its reach, and initdb fails when it cannot read it).
    pub(crate) fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut command = Command::new(program.as_ref());
        command.current_dir("/");
        if self.switched {
            // std also drops root's supplementary groups when it switches the uid.
            command.uid(self.uid).gid(self.gid);
        }
        command
    }

    /// Hands `path` to this user.
    pub(crate) fn chown(&self, path: &Path) -> io::Result<()> {
        if self.switched {
            std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))?;
        }
        Ok(())
    }

    /// Where this user's server directories go: see [`tmpdir`](super::tmpdir); failing a roomy
    /// tmpfs, /tmp when switched (reachable by anyone), else `$TMPDIR`.
    pub(crate) fn temp_base(&self) -> PathBuf {
        super::tmpdir::base(|| {
            if self.switched {
                PathBuf::from("/tmp")
            } else {
                std::env::temp_dir()
            }
        })
    }
}

/// Whether this process runs as root (effective uid 0).
pub(crate) fn running_as_root() -> bool {
    effective_uid().is_ok_and(|uid| uid == 0)
}

/// The effective uid, from `Uid:  real  effective  saved  fs` (std has no safe geteuid).
fn effective_uid() -> io::Result<u32> {
    let status = fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| io::Error::other("no effective uid in /proc/self/status"))
}

/// `name`'s uid and primary gid from /etc/passwd's `name:x:uid:gid:...` lines.
fn passwd_entry(passwd: &str, name: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let uid = fields.nth(1)?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

#[cfg(test)]
mod tests {
    use super::passwd_entry;

    #[test]
    fn reads_uid_and_gid_from_passwd_lines() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(passwd_entry(passwd, "postgres"), Some((101, 104)));
        assert_eq!(passwd_entry(passwd, "nobody"), None);
    }
}
