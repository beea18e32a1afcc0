//! `cotenant platform <project>`: converge what the project may use of the shared Supabase
//! schemas (auth, extensions, Realtime, signup hooks), staging first.

use cotenant::ProjectName;

use super::output::{emit, emit_json};
use super::{Failure, open};
use crate::Global;

/// `cotenant platform <project> [--dry-run] [--sql]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The project: the name of its schema and the prefix of its roles.
    project: ProjectName,

    /// Print the plans and apply nothing.
    #[arg(long)]
    dry_run: bool,

    /// With --dry-run: print each plan as one SQL script to review.
    #[arg(long, requires = "dry_run")]
    sql: bool,
}

#[derive(serde::Serialize)]
struct PlanJson {
    environment: String,
    project: String,
    nothing_to_do: bool,
    statements: Vec<StatementJson>,
    notices: Vec<String>,
    script: String,
}

#[derive(serde::Serialize)]
struct StatementJson {
    why: String,
    sql: String,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let cotenant = open(global).await?;
    let plans = if args.dry_run {
        cotenant.plan_platform(&args.project).await
    } else {
        cotenant.apply_platform(&args.project).await
    }
    .map_err(Failure::operation)?;
    if global.json {
        let plans: Vec<PlanJson> = plans
            .iter()
            .map(|(environment, plan)| PlanJson {
                environment: environment.clone(),
                project: plan.project().to_string(),
                nothing_to_do: plan.is_empty(),
                statements: plan
                    .steps()
                    .map(|s| StatementJson {
                        why: s.why().to_owned(),
                        sql: s.sql(),
                    })
                    .collect(),
                notices: plan.notices().to_vec(),
                script: plan.to_sql(),
            })
            .collect();
        return emit_json(&plans);
    }
    let mut out = String::new();
    if args.dry_run {
        out.push_str("dry run: nothing is applied\n");
    }
    for (environment, plan) in &plans {
        if args.sql {
            out.push_str(&format!(
                "-- environment `{environment}`\n{}",
                plan.to_sql()
            ));
        } else {
            let verb = if args.dry_run {
                "would apply"
            } else {
                "applied"
            };
            if plan.is_empty() {
                out.push_str(&format!(
                    "{environment}: platform access of `{}` is up to date\n",
                    args.project
                ));
            } else {
                out.push_str(&format!(
                    "{environment}: {verb} {} statement(s) to the platform access of `{}`\n",
                    plan.len(),
                    args.project
                ));
            }
            for step in plan.steps() {
                out.push_str(&format!("  - {}\n      {}\n", step.why(), step.sql()));
            }
            for notice in plan.notices() {
                out.push_str(&format!("  note: {notice}\n"));
            }
        }
    }
    emit(&out)
}
