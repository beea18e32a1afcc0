//! Writing results to stdout: text for people, JSON for programs.

use std::io::{ErrorKind, Write};

use cotenant::provision::Plan;
use serde::Serialize;

use super::Failure;

/// Writes `text` to stdout. A closed pipe (`cotenant plan reli | head`) is not an error: the
/// reader has what it wanted.
pub(super) fn emit(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != ErrorKind::BrokenPipe => Err(Failure::operation(format!(
            "writing the output to stdout: {error}"
        ))),
        _ => Ok(()),
    }
}

/// Writes `value` to stdout as pretty-printed JSON.
pub(super) fn emit_json(value: &impl Serialize) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|error| Failure::operation(format!("encoding the output as JSON: {error}")))?;
    text.push('\n');
    emit(&text)
}

/// A plan on one environment, as `--json` shows it.
#[derive(Serialize)]
pub(super) struct PlanJson {
    environment: String,
    project: String,
    nothing_to_do: bool,
    statements: Vec<StatementJson>,
    /// The whole plan as one SQL script, as `plan --sql` prints it.
    script: String,
}

#[derive(Serialize)]
struct StatementJson {
    why: String,
    sql: String,
}

impl PlanJson {
    pub(super) fn new(environment: &str, plan: &Plan) -> Self {
        Self {
            environment: environment.to_owned(),
            project: plan.project().to_string(),
            nothing_to_do: plan.is_empty(),
            statements: plan
                .steps()
                .map(|step| StatementJson {
                    why: step.why().to_owned(),
                    sql: step.sql(),
                })
                .collect(),
            script: plan.to_sql(),
        }
    }
}

/// The plans as `--json` shows them.
pub(super) fn plans_json(plans: &[(String, Plan)]) -> Vec<PlanJson> {
    plans
        .iter()
        .map(|(environment, plan)| PlanJson::new(environment, plan))
        .collect()
}

/// The plan's statements, each under the reason it is needed, indented under a heading.
/// Passwords appear as psql variables, never as values.
pub(super) fn statements(plan: &Plan) -> String {
    let mut out = String::new();
    for step in plan.steps() {
        out.push_str(&format!("  - {}\n      {}\n", step.why(), step.sql()));
    }
    for notice in plan.platform().into_iter().flat_map(|p| p.notices()) {
        out.push_str(&format!("  note: {notice}\n"));
    }
    out
}
