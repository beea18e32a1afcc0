//! The row-level security check: every table of a project has RLS enabled.

use std::fmt;

use serde::Serialize;
use tokio_postgres::Client;

use super::MigrateError;
use crate::ProjectName;

/// Row-level security of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TableRls {
    /// The table.
    pub table: String,
    /// `ALTER TABLE … ENABLE ROW LEVEL SECURITY`.
    pub enabled: bool,
    /// `FORCE ROW LEVEL SECURITY`: the owner is subject to it too.
    pub forced: bool,
    /// How many policies the table has (with RLS enabled and none, `<p>_app` sees no row).
    pub policies: i64,
}

/// Row-level security across a project's tables.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RlsReport {
    /// The project.
    pub project: String,
    /// Every table (plain and partitioned), by name.
    pub tables: Vec<TableRls>,
}

impl RlsReport {
    /// The tables without row-level security.
    pub fn without_rls(&self) -> impl Iterator<Item = &TableRls> {
        self.tables.iter().filter(|t| !t.enabled)
    }

    /// True when every table has row-level security enabled.
    pub fn all_enabled(&self) -> bool {
        self.without_rls().next().is_none()
    }
}

impl fmt::Display for RlsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let missing: Vec<&str> = self.without_rls().map(|t| t.table.as_str()).collect();
        if missing.is_empty() {
            write!(
                f,
                "`{}`: row-level security is enabled on all {} table(s)",
                self.project,
                self.tables.len()
            )
        } else {
            write!(
                f,
                "`{}`: {} of {} table(s) lack row-level security: {}",
                self.project,
                missing.len(),
                self.tables.len(),
                missing.join(", ")
            )
        }
    }
}

/// Reads the row-level security of every table in `project`'s schema, from the catalog (any
/// connection will do, the admin's included).
///
/// ```no_run
/// # async fn run(admin: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let report = cotenant::migrate::rls_report(&admin, &"reli".parse()?).await?;
/// if !report.all_enabled() {
///     eprintln!("{report}");
/// }
/// # Ok(()) }
/// ```
pub async fn rls_report(client: &Client, project: &ProjectName) -> Result<RlsReport, MigrateError> {
    let rows = client
        .query(
            include_str!("../../sql/migrate/rls.sql"),
            &[&project.as_str()],
        )
        .await
        .map_err(|error| MigrateError::Catalog {
            project: project.clone(),
            error,
        })?;
    Ok(RlsReport {
        project: project.to_string(),
        tables: rows
            .iter()
            .map(|row| TableRls {
                table: row.get(0),
                enabled: row.get(1),
                forced: row.get(2),
                policies: row.get(3),
            })
            .collect(),
    })
}
