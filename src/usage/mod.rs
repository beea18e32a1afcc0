//! `usage`: what each project uses of an instance now — the size of its schema, its
//! connections against its limits, its longest-running query and, where pg_stat_statements is
//! installed (hosted Supabase has it), its top statements by total time. One catalog read per
//! environment for every project (`sql/usage/`).
//!
//! ```no_run
//! # async fn run(client: tokio_postgres::Client) -> Result<(), cotenant::usage::UsageError> {
//! let report = cotenant::usage::usage(&client, &[]).await?;
//! for project in &report.projects {
//!     println!("{}: {} bytes, {} connection(s)", project.project, project.schema_bytes, project.app.connections);
//! }
//! # Ok(()) }
//! ```

mod error;
mod report;

pub use error::UsageError;
pub use report::{Connections, LongestQuery, ProjectUsage, TopStatement, UsageReport};

use tokio_postgres::Client;
use tokio_postgres::types::Type;

use crate::ProjectName;
use crate::ident::quote_ident;

/// How many statements per project [`usage`] reports.
pub const TOP_STATEMENTS: i64 = 5;

const PROJECTS: &str = include_str!("../../sql/usage/projects.sql");
const STATEMENTS: &str = include_str!("../../sql/usage/statements.sql");
const STATEMENTS_VIEW: &str = "SELECT n.nspname::text AS schema,
    has_schema_privilege(n.oid, 'USAGE') AS usable
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'";

/// The usage of `projects` (every project when empty) on the instance `client` is connected
/// to, as the admin.
pub async fn usage(client: &Client, projects: &[ProjectName]) -> Result<UsageReport, UsageError> {
    let names: Option<Vec<&str>> =
        (!projects.is_empty()).then(|| projects.iter().map(ProjectName::as_str).collect());
    let (rows, view) = futures_util::future::try_join(
        async {
            client
                .query_typed(PROJECTS, &[(&names, Type::TEXT_ARRAY)])
                .await
                .map_err(|source| UsageError::Catalog {
                    what: "project usage",
                    source,
                })
        },
        async {
            client
                .query_typed(STATEMENTS_VIEW, &[])
                .await
                .map_err(|source| UsageError::Catalog {
                    what: "where pg_stat_statements is",
                    source,
                })
        },
    )
    .await?;
    let mut report = UsageReport {
        projects: rows.iter().map(report::project_usage).collect(),
        statements: None,
    };
    let Some(view) = view.first() else {
        report.statements = Some("pg_stat_statements is not installed in this database".to_owned());
        return Ok(report);
    };
    let schema: String = view.get("schema");
    if !view.get::<_, bool>("usable") {
        report.statements = Some(format!(
            "pg_stat_statements is in schema `{schema}`, which the admin may not use"
        ));
        return Ok(report);
    }
    let sql = STATEMENTS.replace(
        "{pg_stat_statements}",
        &format!("{}.pg_stat_statements", quote_ident(&schema)),
    );
    match client
        .query_typed(
            &sql,
            &[(&names, Type::TEXT_ARRAY), (&TOP_STATEMENTS, Type::INT8)],
        )
        .await
    {
        Ok(rows) => {
            for row in &rows {
                let project: String = row.get("project");
                if let Some(p) = report.projects.iter_mut().find(|p| p.project == project) {
                    p.top_statements.push(report::top_statement(row));
                }
            }
        }
        // Installed but not preloaded, say: reported, not fatal.
        Err(error) => {
            report.statements = Some(format!(
                "pg_stat_statements cannot be read: {}",
                error
                    .as_db_error()
                    .map_or_else(|| error.to_string(), |e| e.message().to_owned())
            ))
        }
    }
    Ok(report)
}
