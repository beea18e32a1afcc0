//! What the migration commands share: the `--dir` of numbered SQL files, the configuration
//! opened whole (so a run limited to prod is still gated by staging), and a progress line.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cotenant::Cotenant;
use cotenant::config::Config;
use cotenant::migrate::{Migrations, ProjectOutcome};

use super::Failure;
use crate::Global;

/// The migration files.
#[derive(Debug, clap::Args)]
pub(crate) struct FilesArgs {
    /// The directory of the project's numbered SQL files (`001_create_users.sql`, …).
    #[arg(long, value_name = "DIR", default_value = "migrations")]
    dir: PathBuf,
}

impl FilesArgs {
    /// Loads and checks the files; a gap, a duplicate or a bad name is a usage error.
    pub(super) fn load(&self) -> Result<Migrations, Failure> {
        Migrations::from_dir(&self.dir).map_err(Failure::usage)
    }
}

/// Every configured environment, and the names of those `--env` selects (all by default) in
/// promotion order. The staging gate of an environment comes from the one before it in the
/// whole configuration, so the configuration is not narrowed to the selection.
pub(super) async fn open_whole(global: &Global) -> Result<(Cotenant, Vec<String>), Failure> {
    let config = Config::load(&global.config).map_err(Failure::usage)?;
    let cotenant = Cotenant::open(config).await.map_err(Failure::usage)?;
    let selected = if global.environments.is_empty() {
        cotenant.clone()
    } else {
        cotenant
            .select(&global.environments)
            .map_err(Failure::usage)?
    };
    let names = selected
        .environments()
        .iter()
        .map(|e| e.name().to_owned())
        .collect();
    Ok((cotenant, names))
}

/// A hook that rewrites `<environment>: <done>/<total> projects` on stderr when it is a
/// terminal (and prints nothing otherwise, so logs and pipes stay clean).
pub(super) fn progress(
    environment: &str,
    total: usize,
) -> Option<impl Fn(&ProjectOutcome) + Send + Sync + 'static> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let done = Arc::new(AtomicUsize::new(0));
    let environment = environment.to_owned();
    Some(move |_: &ProjectOutcome| {
        let done = done.fetch_add(1, Ordering::Relaxed) + 1;
        let mut stderr = std::io::stderr().lock();
        let end = if done == total { "\n" } else { "" };
        let _ = write!(stderr, "\r{environment}: {done}/{total} projects{end}");
        let _ = stderr.flush();
    })
}
