//! `cotenant deprovision <project>`: drop the project from every environment, prod first.

use cotenant::ProjectName;
use cotenant::provision::DropObjects;

use super::output::{emit, emit_json, plans_json, statements};
use super::{Failure, open, stopped};
use crate::Global;

/// `cotenant deprovision <project> [--force <project>]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The project to drop: its schema, its four roles and its login secrets.
    project: ProjectName,

    /// Drop the schema even though it holds tables or other objects, with all their data.
    /// Confirm by typing the project's name again.
    #[arg(long, value_name = "PROJECT")]
    force: Option<String>,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let cotenant = open(global).await?;
    let drop_objects = match args.force {
        Some(typed) => DropObjects::Confirmed(typed),
        None => DropObjects::Refuse,
    };
    // Prod first, so that staging never lacks what prod has; the first failure stops the run.
    let order: Vec<&str> = cotenant
        .environments()
        .iter()
        .rev()
        .map(|e| e.name())
        .collect();
    let plans = cotenant
        .deprovision(&args.project, &drop_objects)
        .await
        .map_err(|error| stopped(error, "was deprovisioned", &order))?;
    if global.json {
        return emit_json(&plans_json(&plans));
    }
    let project = &args.project;
    let mut out = String::new();
    for (environment, plan) in &plans {
        if plan.is_empty() {
            out.push_str(&format!(
                "{environment}: project `{project}` is not there, nothing to drop\n"
            ));
        } else {
            out.push_str(&format!(
                "{environment}: dropped project `{project}` ({} statement(s)) and deleted its login secrets\n",
                plan.len()
            ));
            out.push_str(&statements(plan));
        }
    }
    emit(&out)
}
