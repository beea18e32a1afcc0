//! `cotenant repair <project> --dir <DIR>`: re-baseline the recorded checksums of migrations
//! whose files were changed after they ran, on purpose. Nothing is run.

use cotenant::ProjectName;
use cotenant::migrate::{Repaired, Runner};
use serde::Serialize;

use super::migration_files::FilesArgs;
use super::output::{emit, emit_json};
use super::{Failure, open_declared};
use crate::Global;

/// `cotenant repair <project> [--dir DIR]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The project whose history to re-baseline.
    project: ProjectName,

    #[command(flatten)]
    files: FilesArgs,
}

#[derive(Serialize)]
struct RepairJson<'a> {
    environment: &'a str,
    project: &'a str,
    repaired: &'a [Repaired],
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let (cotenant, declarations) = open_declared(global).await?;
    let runner = Runner::new(
        args.files
            .load(std::slice::from_ref(&args.project), &declarations)?,
    );
    let mut done = Vec::new();
    for env in cotenant.environments() {
        let repaired = env
            .repair_migrations(&args.project, &runner)
            .await
            .map_err(Failure::operation)?;
        done.push((env.name(), repaired));
    }
    if global.json {
        let json: Vec<_> = done
            .iter()
            .map(|(environment, repaired)| RepairJson {
                environment,
                project: args.project.as_str(),
                repaired,
            })
            .collect();
        return emit_json(&json);
    }
    let mut out = String::new();
    for (environment, repaired) in &done {
        if repaired.is_empty() {
            out.push_str(&format!(
                "{environment}: `{}`'s history matches the files, nothing to repair\n",
                args.project
            ));
        }
        for r in repaired {
            out.push_str(&format!(
                "{environment}: re-baselined `{}` of `{}`: {} -> {}\n",
                r.file,
                args.project,
                r.from.short(),
                r.to.short()
            ));
        }
    }
    emit(&out)
}
