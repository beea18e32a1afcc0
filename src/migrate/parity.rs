//! Parity: fingerprint a project's schema on two environments and diff them.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;
use tokio_postgres::Client;

use super::{MigrateError, Summary};
use crate::ProjectName;

/// Reads the fingerprint of `project`'s schema: sorted lines, one per fact — tables, columns
/// (type, default, nullability), constraints, indexes, sequences, types, functions (definition
/// and settings), views, triggers, rules, row-level security and policies, grants on everything,
/// the owner's default privileges, and the migration history's summary. Lines name objects,
/// never OIDs, so the same schema on two instances gives the same lines.
///
/// Reads only catalogs (see `sql/migrate/fingerprint.sql`): the admin connection will do. It
/// runs in a transaction of its own with `search_path = pg_catalog`, so names come out the same
/// whatever the session's settings, and without JIT.
///
/// ```no_run
/// # async fn run(mut admin: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// for line in cotenant::migrate::fingerprint(&mut admin, &"reli".parse()?).await? {
///     println!("{line}");
/// }
/// # Ok(()) }
/// ```
pub async fn fingerprint(
    admin: &mut Client,
    project: &ProjectName,
) -> Result<Vec<String>, MigrateError> {
    let failed = |error| MigrateError::Catalog {
        project: project.clone(),
        error,
    };
    let tx = admin.transaction().await.map_err(failed)?;
    // JIT would compile this one-off query (its cost estimate grows with the catalog) for far
    // longer than it runs.
    tx.batch_execute("SET LOCAL search_path = pg_catalog; SET LOCAL jit = off")
        .await
        .map_err(failed)?;
    let rows = tx
        .query(
            include_str!("../../sql/migrate/fingerprint.sql"),
            &[&project.as_str()],
        )
        .await
        .map_err(failed)?;
    tx.rollback().await.map_err(failed)?;
    let mut lines: Vec<String> = rows
        .iter()
        .map(|row| {
            let line: String = row.get(0);
            match line.strip_prefix("migrations ") {
                Some(comment) => describe_summary(comment),
                None => line,
            }
        })
        .collect();
    // Sorted here, byte-wise: two instances may collate text differently.
    lines.sort_unstable();
    Ok(lines)
}

fn describe_summary(comment: &str) -> String {
    match Summary::parse(Some(comment)) {
        Some(s) => format!(
            "migrations applied through {:03} (history {})",
            s.version,
            s.history.short()
        ),
        None => "migrations: summary missing or unreadable".to_owned(),
    }
}

/// Which side of a comparison a line is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Only on the first environment (`-`).
    Left,
    /// Only on the second (`+`).
    Right,
}

/// A fact found on one side only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Difference {
    /// Where it is.
    pub side: Side,
    /// The fact.
    pub line: String,
}

/// The comparison of one project's fingerprints on two environments.
///
/// Printed as a diff: `-` lines only on the first environment, `+` lines only on the second,
/// in fingerprint order so the two versions of a changed fact sit together.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ParityReport {
    /// The project.
    pub project: String,
    /// The first environment (`-`), e.g. staging.
    pub left: String,
    /// The second environment (`+`), e.g. prod.
    pub right: String,
    /// How many facts the first environment has.
    pub facts: usize,
    /// What differs.
    pub differences: Vec<Difference>,
}

impl ParityReport {
    /// Compares two sorted fingerprints (as [`fingerprint`] returns them).
    pub fn compare(
        project: &ProjectName,
        (left, left_lines): (&str, &[String]),
        (right, right_lines): (&str, &[String]),
    ) -> Self {
        let mut differences = Vec::new();
        let (mut l, mut r) = (left_lines.iter().peekable(), right_lines.iter().peekable());
        loop {
            let (side, line) = match (l.peek(), r.peek()) {
                (None, None) => break,
                (Some(a), Some(b)) => match a.cmp(b) {
                    Ordering::Equal => {
                        l.next();
                        r.next();
                        continue;
                    }
                    Ordering::Less => (Side::Left, l.next()),
                    Ordering::Greater => (Side::Right, r.next()),
                },
                (Some(_), None) => (Side::Left, l.next()),
                (None, Some(_)) => (Side::Right, r.next()),
            };
            differences.push(Difference {
                side,
                line: line.expect("peeked").clone(),
            });
        }
        Self {
            project: project.to_string(),
            left: left.to_owned(),
            right: right.to_owned(),
            facts: left_lines.len(),
            differences,
        }
    }

    /// True when both schemas are the same.
    pub fn is_equal(&self) -> bool {
        self.differences.is_empty()
    }
}

impl fmt::Display for ParityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_equal() {
            return writeln!(
                f,
                "`{}`: `{}` and `{}` match ({} facts)",
                self.project, self.left, self.right, self.facts
            );
        }
        writeln!(
            f,
            "`{}`: `{}` and `{}` differ in {} fact(s) (- only on `{}`, + only on `{}`):",
            self.project,
            self.left,
            self.right,
            self.differences.len(),
            self.left,
            self.right
        )?;
        for d in &self.differences {
            let mark = match d.side {
                Side::Left => '-',
                Side::Right => '+',
            };
            writeln!(f, "{mark} {}", d.line)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_diff_keeps_both_versions_of_a_changed_fact_together() {
        let p: ProjectName = "p".parse().unwrap();
        let staging = lines(&["column t.a #1 integer", "column t.b #2 text", "index i"]);
        let prod = lines(&["column t.a #1 integer", "column t.b #2 varchar", "policy x"]);
        let report = ParityReport::compare(&p, ("staging", &staging), ("prod", &prod));
        let text = report.to_string();
        assert!(!report.is_equal());
        assert!(
            text.contains("- column t.b #2 text\n+ column t.b #2 varchar\n- index i\n+ policy x\n"),
            "{text}"
        );
        let same = ParityReport::compare(&p, ("staging", &staging), ("prod", &staging));
        assert!(same.is_equal(), "{same}");
        assert!(same.to_string().contains("match (3 facts)"));
    }
}
