//! `cotenant import <project> --from <secret-id-or-dsn>`: consolidate a project's own old
//! instance (its data in `public`) into its schema on one environment, the source only read.

use std::path::PathBuf;

use cotenant::ProjectName;
use cotenant::import::{Import, ImportPlan, Imported, UsersMap};
use cotenant::relocate::{Relocation, Selection};
use serde::Serialize;

use super::output::{emit, emit_json};
use super::relocate::Choices;
use super::{Failure, open};
use crate::Global;

/// `cotenant import <project> --from <secret-id-or-dsn> [--env <env>] [--dry-run]
/// [--users-map FILE]` and a choice for each kind of blocker, as `relocate` takes them.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The project: provisioned already; its schema is where the objects go.
    project: ProjectName,

    /// The source: a connection string (`postgres://user:password@host:port/db`) or the id of
    /// a database secret in the environment's secret store. Read-only access is enough.
    #[arg(long, value_name = "SECRET-ID-OR-DSN")]
    from: String,

    /// Print the plan (findings on the source, tables, users, the SQL); change nothing.
    #[arg(long)]
    dry_run: bool,

    /// Merge colliding users: a file of source user id → target user id (TOML
    /// `"source" = "target"` or CSV `source_id,target_id`).
    #[arg(long, value_name = "FILE")]
    users_map: Option<PathBuf>,

    /// The pg_dump to use (default: the source's major version, found as documented).
    #[arg(long, value_name = "PATH")]
    pg_dump: Option<PathBuf>,

    /// What to do with each kind of blocker.
    #[command(flatten)]
    choices: Choices,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    // The environment seen on the project's instance: where it is provisioned, else where its
    // declaration or the placement rule puts it.
    let cotenant = open(global)
        .await?
        .route(&args.project)
        .await
        .map_err(Failure::operation)?;
    // An import fills one environment: the data of a project's old instance is prod's (or
    // staging's) own, never both.
    let env = match cotenant.environments() {
        [env] => env,
        many => {
            return Err(Failure::usage(format!(
                "an import goes into one environment, and {} are selected ({}): name one with --env",
                many.len(),
                many.iter().map(|e| e.name()).collect::<Vec<_>>().join(", ")
            )));
        }
    };
    let mut import = Import::new(args.choices.apply(Relocation::new(Selection::All)));
    if let Some(path) = &args.users_map {
        import = import.users_map(UsersMap::load(path).map_err(Failure::usage)?);
    }
    if let Some(path) = &args.pg_dump {
        import = import.pg_dump(path);
    }
    let source = env
        .import_source(&args.from)
        .await
        .map_err(Failure::usage)?;
    if args.dry_run {
        let plan = env
            .plan_import(&args.project, &source, &import)
            .await
            .map_err(|e| Failure::operation(crate::chain(&e)))?;
        if global.json {
            return emit_json(&PlanJson::new(env.name(), &plan, None));
        }
        emit(&format!(
            "dry run: nothing is changed\n{}: {plan}{}",
            env.name(),
            plan.to_sql()
        ))?;
        return if plan.is_blocked() {
            Err(Failure::operation(format!(
                "importing into `{}` is blocked on `{}`: resolve each finding marked BLOCKS as it says (the relocate choices apply), or merge colliding users with --users-map",
                args.project,
                env.name()
            )))
        } else {
            Ok(())
        };
    }
    let done = env
        .import(&args.project, &source, &import)
        .await
        .map_err(|e| Failure::operation(crate::chain(&e)))?;
    if global.json {
        return emit_json(&PlanJson::new(env.name(), done.plan(), Some(&done)));
    }
    emit(&summary(env.name(), &args.project, &done))
}

fn summary(environment: &str, project: &ProjectName, done: &Imported) -> String {
    if done.plan().is_empty() {
        return format!("{environment}: already imported into `{project}`, nothing to do\n");
    }
    let mut out = format!(
        "{environment}: imported {} table(s) into `{project}` in {:.1} s, {} user(s) and {} identity(ies) into the shared auth\n",
        done.rows().len(),
        done.took().as_secs_f64(),
        done.users(),
        done.identities()
    );
    for (table, rows) in done.rows() {
        out.push_str(&format!("  {project}.{table}: {rows} row(s)\n"));
    }
    if let Some(relocated) = done.relocated() {
        out.push_str(&format!(
            "  relocated {} object(s) from public into `{project}` before commit\n",
            relocated.plan().moves().len()
        ));
    }
    out
}

/// A plan (and, once applied, what it did), as `--json` shows it.
#[derive(Serialize)]
struct PlanJson {
    environment: String,
    project: String,
    blocked: bool,
    already_imported: bool,
    tables: Vec<TableJson>,
    findings: Vec<String>,
    clashes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<UsersJson>,
    /// The whole import as one SQL script.
    script: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    imported: Option<ImportedJson>,
}

#[derive(Serialize)]
struct TableJson {
    name: String,
    estimated_rows: i64,
}

#[derive(Serialize)]
struct UsersJson {
    total: usize,
    already_there: usize,
    mapped: usize,
    collisions: Vec<String>,
}

#[derive(Serialize)]
struct ImportedJson {
    rows: Vec<(String, u64)>,
    users: u64,
    identities: u64,
    seconds: f64,
}

impl PlanJson {
    fn new(environment: &str, plan: &ImportPlan, done: Option<&Imported>) -> Self {
        Self {
            environment: environment.to_owned(),
            project: plan.project().to_string(),
            blocked: plan.is_blocked(),
            already_imported: plan.is_empty(),
            tables: plan
                .tables()
                .iter()
                .map(|t| TableJson {
                    name: t.name().to_owned(),
                    estimated_rows: t.estimate(),
                })
                .collect(),
            findings: plan
                .findings()
                .blockers()
                .iter()
                .filter(|b| !b.is_resolved())
                .map(ToString::to_string)
                .collect(),
            clashes: plan.clashes().to_vec(),
            users: plan.users().map(|u| UsersJson {
                total: u.total(),
                already_there: u.already_there(),
                mapped: u.mapped().len(),
                collisions: u.collisions().iter().map(ToString::to_string).collect(),
            }),
            script: plan.to_sql(),
            imported: done.map(|d| ImportedJson {
                rows: d.rows().to_vec(),
                users: d.users(),
                identities: d.identities(),
                seconds: d.took().as_secs_f64(),
            }),
        }
    }
}
