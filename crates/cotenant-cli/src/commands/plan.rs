//! `cotenant plan <project>`: what provisioning would change, as a summary or as SQL.

use cotenant::ProjectName;

use super::limits::LimitArgs;
use super::output::{emit, emit_json, plans_json};
use super::{Failure, open_declared};
use crate::Global;

/// `cotenant plan <project> [--sql]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The project: the name of its schema and the prefix of its roles.
    project: ProjectName,

    /// Print the plan as one SQL script (a transaction, passwords as psql variables) to review
    /// or keep beside numbered migrations. A script is for one server: with several
    /// environments configured, pick one with --env.
    #[arg(long)]
    sql: bool,

    #[command(flatten)]
    limits: LimitArgs,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let (cotenant, declarations) = open_declared(global).await?;
    // Each environment seen on the project's instance: `--sql` names that server.
    let cotenant = cotenant
        .route(&args.project)
        .await
        .map_err(Failure::operation)?;
    let environments = cotenant.environments();
    if args.sql && environments.len() > 1 {
        let names: Vec<&str> = environments.iter().map(|e| e.name()).collect();
        return Err(Failure::usage(format!(
            "--sql writes a script for one server, and {} environments are selected ({}): add --env <name>",
            names.len(),
            names.join(", ")
        )));
    }
    let (settings, notes) = args.limits.settings(&args.project, &declarations);
    for note in notes {
        eprintln!("{note}");
    }
    let plans = cotenant
        .plan(&args.project, &settings)
        .await
        .map_err(Failure::operation)?;
    if global.json {
        return emit_json(&plans_json(&plans));
    }
    let mut out = String::new();
    for (env, (name, plan)) in environments.iter().zip(&plans) {
        if args.sql {
            let config = env.config();
            out.push_str(&format!(
                "-- environment `{name}`: {}:{}/{}\n{}",
                config.host,
                config.port,
                config.database,
                plan.to_sql()
            ));
        } else {
            out.push_str(&format!("{name}: {}\n", plan.to_string().trim_end()));
        }
    }
    emit(&out)
}
