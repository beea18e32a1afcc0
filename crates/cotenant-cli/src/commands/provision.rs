//! `cotenant provision <project>`: bring the project to the role model on every environment,
//! staging first.

use cotenant::ProjectName;

use super::limits::LimitArgs;
use super::output::{emit, emit_json, plans_json, statements};
use super::{Failure, open_declared, stopped};
use crate::Global;

/// `cotenant provision <project> [--dry-run]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The project: the name of its schema and the prefix of its roles.
    project: ProjectName,

    /// Print the plans and apply nothing (as `cotenant plan`).
    #[arg(long)]
    dry_run: bool,

    #[command(flatten)]
    limits: LimitArgs,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let (cotenant, declarations) = open_declared(global).await?;
    let (settings, notes) = args.limits.settings(&args.project, &declarations);
    for note in notes {
        eprintln!("{note}");
    }
    let order: Vec<&str> = cotenant.environments().iter().map(|e| e.name()).collect();
    let plans = if args.dry_run {
        cotenant
            .plan(&args.project, &settings)
            .await
            .map_err(Failure::operation)?
    } else {
        // Environment by environment in promotion order; the first failure stops the run.
        cotenant
            .provision(&args.project, &settings)
            .await
            .map_err(|error| stopped(error, "was provisioned", &order))?
    };
    if global.json {
        return emit_json(&plans_json(&plans));
    }
    let project = &args.project;
    let mut out = String::new();
    if args.dry_run {
        out.push_str("dry run: nothing is applied\n");
    }
    for (environment, plan) in &plans {
        let line = match (plan.is_empty(), args.dry_run) {
            (true, _) => {
                format!("{environment}: project `{project}` is up to date, nothing to do\n")
            }
            (false, true) => format!(
                "{environment}: would apply {} statement(s) to project `{project}`\n",
                plan.len()
            ),
            (false, false) => format!(
                "{environment}: applied {} statement(s) to project `{project}`\n",
                plan.len()
            ),
        };
        out.push_str(&line);
        out.push_str(&statements(plan));
    }
    emit(&out)
}
