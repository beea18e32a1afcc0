//! What [`usage`](super::usage) found, per project.

use std::fmt;

use serde::Serialize;
use tokio_postgres::Row;

/// The usage of every project asked for on one instance.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UsageReport {
    /// Per project, by name.
    pub projects: Vec<ProjectUsage>,
    /// Why top statements are missing, when they are (pg_stat_statements not installed, not
    /// usable, not preloaded); `None` when they were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statements: Option<String>,
}

/// One project's usage now.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ProjectUsage {
    /// The project.
    pub project: String,
    /// The size of its schema: every table (with its indexes and TOAST), materialized view
    /// and sequence, in bytes.
    pub schema_bytes: i64,
    /// The sessions of `<p>_login` (and its rotation twin).
    pub app: Connections,
    /// The sessions of `<p>_migrator` (and its rotation twin).
    pub migrator: Connections,
    /// Sessions whose state and query the admin may not see (it lacks pg_read_all_stats).
    pub hidden_sessions: i64,
    /// Its session that has been running its current query (or been idle in a transaction)
    /// the longest, if any.
    pub longest: Option<LongestQuery>,
    /// Its statements with the most total execution time, most first.
    pub top_statements: Vec<TopStatement>,
}

/// Sessions of one login against its limit.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Connections {
    /// Open now.
    pub connections: i64,
    /// The login's connection limit; `None` when the login does not exist, -1 for none.
    pub limit: Option<i32>,
}

/// A project's longest-running query now.
#[derive(Debug, Clone, Serialize)]
pub struct LongestQuery {
    /// The login whose session it is.
    pub role: String,
    /// `active`, `idle in transaction`, …
    pub state: String,
    /// How long it has run, in seconds.
    pub seconds: f64,
    /// Its text, truncated to 200 characters.
    pub query: String,
}

/// One statement as pg_stat_statements aggregates it.
#[derive(Debug, Clone, Serialize)]
pub struct TopStatement {
    /// The project role it ran as (a login's sessions run as `<p>_app`).
    pub role: String,
    /// How often it ran.
    pub calls: i64,
    /// Its total execution time, in milliseconds.
    pub total_ms: f64,
    /// Its mean execution time, in milliseconds.
    pub mean_ms: f64,
    /// Rows it returned or changed, in total.
    pub rows: i64,
    /// Its normalized text, truncated to 200 characters.
    pub query: String,
}

pub(super) fn project_usage(row: &Row) -> ProjectUsage {
    let longest = row
        .get::<_, Option<String>>("longest_role")
        .map(|role| LongestQuery {
            role,
            state: row.get("longest_state"),
            seconds: row.get("longest_seconds"),
            query: row.get("longest_query"),
        });
    ProjectUsage {
        project: row.get("project"),
        schema_bytes: row.get("schema_bytes"),
        app: Connections {
            connections: row.get("app_connections"),
            limit: row.get("app_connection_limit"),
        },
        migrator: Connections {
            connections: row.get("migrator_connections"),
            limit: row.get("migrator_connection_limit"),
        },
        hidden_sessions: row.get("hidden_sessions"),
        longest,
        top_statements: Vec::new(),
    }
}

pub(super) fn top_statement(row: &Row) -> TopStatement {
    TopStatement {
        role: row.get("role"),
        calls: row.get("calls"),
        total_ms: row.get("total_ms"),
        mean_ms: row.get("mean_ms"),
        rows: row.get("rows"),
        query: row.get("query"),
    }
}

impl fmt::Display for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit {
            Some(limit) if limit >= 0 => write!(f, "{}/{limit}", self.connections),
            _ => write!(f, "{}", self.connections),
        }
    }
}

impl fmt::Display for UsageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.projects {
            write!(
                f,
                "  {}: schema {}, connections app {} migrator {}",
                p.project,
                bytes(p.schema_bytes),
                p.app,
                p.migrator
            )?;
            if p.hidden_sessions > 0 {
                write!(f, " ({} hidden)", p.hidden_sessions)?;
            }
            writeln!(f)?;
            if let Some(q) = &p.longest {
                writeln!(
                    f,
                    "    longest: {:.1} s {} as {}: {}",
                    q.seconds,
                    q.state,
                    q.role,
                    one_line(&q.query)
                )?;
            }
            for s in &p.top_statements {
                writeln!(
                    f,
                    "    {:.1} ms total, {} call(s), {:.2} ms mean, as {}: {}",
                    s.total_ms,
                    s.calls,
                    s.mean_ms,
                    s.role,
                    one_line(&s.query)
                )?;
            }
        }
        if let Some(why) = &self.statements {
            writeln!(f, "  (no top statements: {why})")?;
        }
        Ok(())
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Bytes as people read them: `8.0 kB`, `1.2 MB`.
fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(8192), "8.0 kB");
        assert_eq!(bytes(5 * 1024 * 1024 + 1024 * 300), "5.3 MB");
    }

    #[test]
    fn connections_show_their_limit() {
        let c = Connections {
            connections: 3,
            limit: Some(20),
        };
        assert_eq!(c.to_string(), "3/20");
        let unlimited = Connections {
            connections: 3,
            limit: Some(-1),
        };
        assert_eq!(unlimited.to_string(), "3");
    }
}
