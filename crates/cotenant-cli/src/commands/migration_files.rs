//! What the migration commands share: the `--dir` of numbered SQL files, the configuration
//! opened whole (so a run limited to prod is still gated by staging), and a progress line.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cotenant::config::Config;
use cotenant::declare::{Declarations, MigrationSource};
use cotenant::migrate::{Migrations, ProjectOutcome};
use cotenant::{Cotenant, ProjectName};

use super::Failure;
use crate::Global;

/// The migration files.
#[derive(Debug, clap::Args)]
pub(crate) struct FilesArgs {
    /// The directory of the project's numbered SQL files (`001_create_users.sql`, …). Default:
    /// the projects' declared `migrations` or `template` (`[projects.<p>]`), else `migrations`.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

impl FilesArgs {
    /// Loads and checks the files for `projects`: the `--dir` given, else the source every one
    /// of them declares, else `migrations`. Projects declaring different sources, a gap, a
    /// duplicate or a bad name are usage errors.
    pub(super) fn load(
        &self,
        projects: &[ProjectName],
        declarations: &Declarations,
    ) -> Result<Migrations, Failure> {
        if let Some(dir) = &self.dir {
            return Migrations::from_dir(dir).map_err(Failure::usage);
        }
        let declared: Vec<(&ProjectName, Option<&MigrationSource>)> = projects
            .iter()
            .map(|p| (p, declarations.get(p).and_then(|d| d.migrations.as_ref())))
            .collect();
        match declared.first() {
            Some((_, Some(source))) if declared.iter().all(|(_, s)| *s == Some(*source)) => {
                source.load().map_err(Failure::usage)
            }
            _ if declared.iter().all(|(_, s)| s.is_none()) => {
                Migrations::from_dir("migrations").map_err(Failure::usage)
            }
            _ => Err(Failure::usage(format!(
                "the projects declare different migrations ({}): run them separately, or give --dir",
                declared
                    .iter()
                    .map(|(p, s)| format!("`{p}`: {}", describe(*s)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

fn describe(source: Option<&MigrationSource>) -> String {
    match source {
        None => "none declared".to_owned(),
        Some(MigrationSource::Dir(dir)) => format!("directory {}", dir.display()),
        Some(MigrationSource::Template(name)) => format!("template {name}"),
        Some(other) => format!("{other:?}"),
    }
}

/// Every configured environment, the names of those `--env` selects (all by default) in
/// promotion order, and the declared projects. The staging gate of an environment comes from the
/// one before it in the whole configuration, so the configuration is not narrowed to the
/// selection.
pub(super) async fn open_whole(
    global: &Global,
) -> Result<(Cotenant, Vec<String>, Declarations), Failure> {
    let config = Config::load(&global.config).map_err(Failure::usage)?;
    let declarations = config.projects.clone();
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
    Ok((cotenant, names, declarations))
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
