//! The cached template data directory every local server copies.
//!
//! initdb plus the setup SQL cost ~1 s per server; copying a finished data directory and starting
//! it costs a fraction. So each (version, flavour, binaries, recipe) gets one template, built once per
//! machine into a scratch directory and renamed into place: a rename is atomic, so a template that
//! exists is complete, and processes racing to build it just keep the first.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::os_user::OsUser;
use super::postmaster::Listen;
use super::server::LocalServer;
use crate::binaries::Binaries;
use crate::settings::SETTINGS;
use crate::sql;
use crate::{Flavor, TestkitError};

/// Bump when the way templates are built changes in a way the hashed inputs do not show.
const RECIPE_VERSION: &str = "2";

/// initdb's options besides the data directory and the bootstrap superuser (the flavour's: never
/// `postgres`, a name kept for the non-superuser admin). 1 MB WAL segments instead of 16 keep each
/// copy small.
const INITDB_ARGS: &[&str] = &[
    "--encoding=UTF8",
    "--locale=C",
    "--no-sync",
    "--no-instructions",
    "--wal-segsize=1",
];

/// Client authentication, see the file for why the socket is trusted.
const PG_HBA: &str = include_str!("pg_hba.conf");

/// The socket-only server that runs the setup SQL needs a port number only to name its socket,
/// which sits in a private directory: any number does.
const SETUP_PORT: u16 = 5432;

/// Returns the template data directory for `bins` and `flavor`, building it first if needed.
pub(crate) fn ensure(
    bins: &Binaries,
    user: &OsUser,
    flavor: Flavor,
) -> Result<PathBuf, TestkitError> {
    // Servers of a pair start in parallel: one builds, the other waits and copies.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _building = BUILDING.lock().unwrap_or_else(PoisonError::into_inner);

    let setup = flavor.setup_sql();
    let name = format!(
        "cotenant-testkit-template-{}-{flavor}-{:016x}",
        bins.version(),
        recipe_hash(bins, user, flavor, &setup)
    );
    let path = user.temp_base().join(&name);
    if is_built(&path, user)? {
        return Ok(path);
    }
    build(bins, user, flavor, &setup, &name, &path)?;
    Ok(path)
}

fn is_built(path: &Path, user: &OsUser) -> Result<bool, TestkitError> {
    match fs::metadata(path) {
        // A shared /tmp: a directory of that name made by someone else is not ours to start.
        Ok(metadata) if metadata.uid() != user.uid() => Err(TestkitError::Io {
            context: format!("checking the template {}", path.display()),
            source: std::io::Error::other(format!(
                "owned by uid {}, expected {}: remove it",
                metadata.uid(),
                user.uid()
            )),
        }),
        Ok(_) => Ok(true),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(false),
        Err(error) => Err(TestkitError::io(format!(
            "checking the template {}",
            path.display()
        ))(error)),
    }
}

fn build(
    bins: &Binaries,
    user: &OsUser,
    flavor: Flavor,
    setup: &str,
    name: &str,
    path: &Path,
) -> Result<(), TestkitError> {
    let started = std::time::Instant::now();
    bins.check_version()?;
    let mut scratch = LocalServer::create(user, &format!("{name}.build-"))?;
    let data = scratch.data_dir().to_owned();

    let mut initdb = user.command(bins.initdb());
    initdb
        .arg("-D")
        .arg(&data)
        .arg(format!("--username={}", flavor.superuser()))
        .args(INITDB_ARGS);
    super::run(initdb, "running initdb")?;
    // Appending and truncating keep the files' owner: the server's OS user.
    append(&data.join("postgresql.conf"), &server_conf())?;
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(data.join("pg_hba.conf"))
        .and_then(|mut file| file.write_all(PG_HBA.as_bytes()))
        .map_err(TestkitError::io("writing pg_hba.conf"))?;

    scratch.start(bins, user, SETUP_PORT, Listen::SocketOnly)?;
    sql::execute(
        &scratch.socket_config(flavor.superuser()),
        setup,
        &format!("running the {flavor} setup SQL"),
    )?;
    scratch.stop()?;

    match fs::rename(&data, path) {
        Ok(()) => {}
        // Another test process built it first: theirs is as good as ours, which goes with scratch.
        Err(_) if path.join("PG_VERSION").is_file() => {}
        Err(error) => {
            return Err(TestkitError::io(format!(
                "moving the template into {}",
                path.display()
            ))(error));
        }
    }
    tracing::info!(
        target: "cotenant_testkit",
        template = %path.display(),
        elapsed = ?started.elapsed(),
        "built a PostgreSQL {} {flavor} template",
        bins.version()
    );
    Ok(())
}

/// What the testkit appends to initdb's postgresql.conf.
fn server_conf() -> String {
    let mut conf = String::from("\n# Added by cotenant-testkit.\nlisten_addresses = '127.0.0.1'\n");
    for (name, value) in SETTINGS {
        conf.push_str(&format!("{name} = '{value}'\n"));
    }
    conf
}

fn append(file: &Path, text: &str) -> Result<(), TestkitError> {
    OpenOptions::new()
        .append(true)
        .open(file)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(TestkitError::io(format!("writing {}", file.display())))
}

/// FNV-1a over everything a template is made of: stable across builds and toolchains (std's
/// hashers promise neither), so a changed recipe gets a new template and an unchanged one is reused.
fn recipe_hash(bins: &Binaries, user: &OsUser, flavor: Flavor, setup: &str) -> u64 {
    let uid = user.uid().to_string();
    let dir = bins.dir().to_string_lossy();
    let parts = [
        RECIPE_VERSION,
        &INITDB_ARGS.join(" "),
        flavor.superuser(),
        &server_conf(),
        PG_HBA,
        setup,
        &dir,
        &uid,
    ];
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        // A separator that cannot occur in text, so that moving bytes between parts changes the hash.
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}
