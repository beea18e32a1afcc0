//! `cotenant apply`: converge every declared project on every environment, staging first. One
//! diff first (projects to create, settings drifted, grants missing or extra, projects found but
//! not declared), then the projects that need work, each in its own transaction. After each
//! environment converged, the audit runs as the final check: its errors (after the allow lists)
//! stop the run before the next environment, with exit 1; its warnings are printed. `--dry-run`
//! changes nothing and does not audit (`cotenant audit` is the read-only check).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cotenant::ProjectName;
use cotenant::audit::{AuditCheck, AuditReport};
use cotenant::declare::{
    self, ApplyOptions, ApplyReport, EnvironmentPlan, FleetPlan, ProjectPlan, ProjectResult,
};
use serde::Serialize;

use super::output::{emit, emit_json};
use super::{Failure, open_with_config};
use crate::Global;

/// `cotenant apply [--dry-run] [--concurrency N] [--prune <PROJECT>]…`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print the diff and apply nothing (nor audit: run `cotenant audit` for that).
    #[arg(long)]
    dry_run: bool,

    /// How many projects to provision at once on an environment: each holds one connection.
    #[arg(long, value_name = "N", default_value_t = 4)]
    concurrency: usize,

    /// Drop this undeclared project — its schema, everything in it and its roles and secrets —
    /// from every environment, prod first, after the declared ones converged. Naming it is the
    /// confirmation (as `deprovision --force <project>`); repeat for several.
    #[arg(long, value_name = "PROJECT")]
    prune: Vec<ProjectName>,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let (config, cotenant) = open_with_config(global).await?;
    let declarations = &config.projects;
    if declarations.is_empty() {
        return Err(Failure::usage(format!(
            "{} declares no project: add [projects.<name>] tables (or `projects = \"projects.toml\"`) first",
            global.config.display()
        )));
    }
    let plan = declare::plan(&cotenant, declarations)
        .await
        .map_err(Failure::operation)?;
    if args.dry_run {
        if global.json {
            return emit_json(&FleetJson::new(&plan, None));
        }
        let mut out = String::from("dry run: nothing is applied\n");
        out.push_str(&plan.to_string());
        return emit(&out);
    }
    if !global.json {
        emit(&plan.to_string())?;
    }
    let mut options = ApplyOptions::default()
        .concurrency(args.concurrency)
        .dangerous_prune(args.prune.clone());
    if !global.json {
        options = with_progress(options, &plan);
    }
    let audits: Arc<Mutex<Vec<AuditJson>>> = Arc::default();
    let check = AuditCheck::new(&config).on_report({
        let audits = audits.clone();
        move |environment, report| {
            audits
                .lock()
                .expect("the audits lock is never poisoned")
                .push(AuditJson {
                    environment: environment.to_owned(),
                    report: report.clone(),
                });
        }
    });
    options = options.final_check(Arc::new(check));
    let result = declare::apply(&cotenant, declarations, &options).await;
    let audits = std::mem::take(&mut *audits.lock().expect("the audits lock is never poisoned"));
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            // The final check failed (or the run could not start): what the audit found is
            // the reason, so it is shown whole.
            if global.json {
                emit_json(&FailedJson {
                    error: crate::chain(&error),
                    audit: audits,
                })?;
            } else {
                emit(&audit_text(&audits))?;
            }
            return Err(Failure::operation(error));
        }
    };
    if global.json {
        let mut json = FleetJson::new(&plan, Some(&report));
        json.audit = Some(audits);
        emit_json(&json)?;
    } else {
        emit(&(summary(&report) + &audit_text(&audits)))?;
    }
    if report.is_success() {
        return Ok(());
    }
    let failed: usize = report.environments.iter().map(|e| e.failed()).sum();
    let mut message = format!("{failed} project(s) failed to converge");
    if !report.not_run.is_empty() {
        message.push_str(&format!(
            "; not touched: {}",
            report
                .not_run
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if report.pruned.iter().any(|(_, r)| r.is_err()) {
        message.push_str("; pruning failed");
    }
    Err(Failure::operation(message))
}

/// Progress on stderr: a counter rewritten in place on a terminal, one line per project
/// otherwise (logs and CI keep every result).
fn with_progress(options: ApplyOptions, plan: &FleetPlan) -> ApplyOptions {
    let tty = std::io::stderr().is_terminal();
    let totals: Vec<(String, usize)> = plan
        .environments()
        .iter()
        .map(|e| (e.environment().to_owned(), e.to_do().count()))
        .collect();
    let done = Arc::new(AtomicUsize::new(0));
    let current = Arc::new(std::sync::Mutex::new(String::new()));
    options.on_progress(move |environment, result| {
        let mut stderr = std::io::stderr().lock();
        if !tty {
            let _ = writeln!(stderr, "{environment}: {}", result_line(result));
            return;
        }
        let mut current = current.lock().expect("the progress lock is never poisoned");
        if *current != environment {
            *current = environment.to_owned();
            done.store(0, Ordering::Relaxed);
        }
        let done = done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = totals
            .iter()
            .find(|(name, _)| name == environment)
            .map_or(done, |(_, total)| *total);
        let end = if done >= total { "\n" } else { "" };
        let _ = write!(stderr, "\r{environment}: {done}/{total} projects{end}");
        let _ = stderr.flush();
    })
}

fn result_line(result: &ProjectResult) -> String {
    match &result.outcome {
        Ok(plan) => format!("{}: applied {} statement(s)", result.project, plan.len()),
        Err(error) => format!("{}: failed: {}", result.project, crate::chain(error)),
    }
}

fn summary(report: &ApplyReport) -> String {
    let mut out = String::new();
    for env in &report.environments {
        let name = env.plan.environment();
        let applied = env.results.len() - env.failed();
        out.push_str(&format!(
            "{name}: {applied} project(s) converged, {} failed, {} already up to date\n",
            env.failed(),
            env.plan.projects().len() - env.results.len()
        ));
        for result in &env.results {
            out.push_str(&format!("  {}\n", result_line(result)));
        }
    }
    for name in &report.not_run {
        out.push_str(&format!(
            "{name}: not touched: an environment before it failed\n"
        ));
    }
    for (project, result) in &report.pruned {
        match result {
            Ok(plans) => out.push_str(&format!(
                "pruned `{project}` from {}\n",
                plans
                    .iter()
                    .map(|(env, _)| format!("`{env}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Err(error) => out.push_str(&format!(
                "pruning `{project}` failed: {}\n",
                crate::chain(error)
            )),
        }
    }
    out
}

/// Each audited environment's findings: its errors stopped the run, its warnings did not.
fn audit_text(audits: &[AuditJson]) -> String {
    audits
        .iter()
        .map(|a| format!("{}: final check (audit):\n{}", a.environment, a.report))
        .collect()
}

/// The final check's report on one environment.
#[derive(Serialize)]
struct AuditJson {
    environment: String,
    report: AuditReport,
}

/// `--json` when the run stopped: why, and what the audit found.
#[derive(Serialize)]
struct FailedJson {
    error: String,
    audit: Vec<AuditJson>,
}

/// `--json`: the diff, and with a run, what it did and what the final check found.
#[derive(Serialize)]
struct FleetJson {
    dry_run: bool,
    environments: Vec<EnvironmentJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audit: Option<Vec<AuditJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_run: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pruned: Option<Vec<PrunedJson>>,
}

#[derive(Serialize)]
struct EnvironmentJson {
    environment: String,
    projects: Vec<ProjectJson>,
    undeclared: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    results: Option<Vec<ResultJson>>,
}

#[derive(Serialize)]
struct ProjectJson {
    project: String,
    exists: bool,
    nothing_to_do: bool,
    drift: Vec<DriftJson>,
    statements: Vec<StatementJson>,
}

#[derive(Serialize)]
struct DriftJson {
    role: String,
    setting: String,
    declared: String,
    found: String,
}

#[derive(Serialize)]
struct StatementJson {
    why: String,
    sql: String,
}

#[derive(Serialize)]
struct ResultJson {
    project: String,
    ok: bool,
    statements: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct PrunedJson {
    project: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl FleetJson {
    fn new(plan: &FleetPlan, report: Option<&ApplyReport>) -> Self {
        let environments = plan
            .environments()
            .iter()
            .map(|env| {
                let results = report.map(|r| {
                    r.environments
                        .iter()
                        .find(|e| e.plan.environment() == env.environment())
                        .map(|e| e.results.iter().map(ResultJson::new).collect())
                        .unwrap_or_default()
                });
                EnvironmentJson::new(env, results)
            })
            .collect();
        Self {
            dry_run: report.is_none(),
            environments,
            audit: None,
            not_run: report.map(|r| r.not_run.clone()),
            pruned: report.map(|r| {
                r.pruned
                    .iter()
                    .map(|(project, result)| PrunedJson {
                        project: project.to_string(),
                        ok: result.is_ok(),
                        error: result.as_ref().err().map(|e| crate::chain(e)),
                    })
                    .collect()
            }),
        }
    }
}

impl EnvironmentJson {
    fn new(env: &EnvironmentPlan, results: Option<Vec<ResultJson>>) -> Self {
        Self {
            environment: env.environment().to_owned(),
            projects: env.projects().iter().map(ProjectJson::new).collect(),
            undeclared: env.undeclared().to_vec(),
            results,
        }
    }
}

impl ProjectJson {
    fn new(p: &ProjectPlan) -> Self {
        Self {
            project: p.project().to_string(),
            exists: p.exists(),
            nothing_to_do: p.is_empty(),
            drift: p
                .drift()
                .iter()
                .map(|d| DriftJson {
                    role: d.role.clone(),
                    setting: d.setting.to_owned(),
                    declared: d.declared.clone(),
                    found: d.found.clone(),
                })
                .collect(),
            statements: p
                .plan()
                .steps()
                .map(|s| StatementJson {
                    why: s.why().to_owned(),
                    sql: s.sql(),
                })
                .collect(),
        }
    }
}

impl ResultJson {
    fn new(result: &ProjectResult) -> Self {
        Self {
            project: result.project.to_string(),
            ok: result.outcome.is_ok(),
            statements: result.outcome.as_ref().map_or(0, |p| p.len()),
            error: result.outcome.as_ref().err().map(|e| crate::chain(e)),
        }
    }
}
