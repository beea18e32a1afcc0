//! A project's migration history: the table in its schema (the source of truth), and the
//! summary the runner keeps beside it in the catalog for cheap instance-wide reads.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use super::source::history_checksums;
use super::{Checksum, MigrateError};
use crate::ProjectName;
use crate::ident::{quote_ident, quote_literal};

/// The history table's name, in the project's schema.
pub const HISTORY_TABLE: &str = "cotenant_migrations";

/// One applied migration, as the project's history table records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryRow {
    /// The version.
    pub version: u32,
    /// The file name it was applied from.
    pub name: String,
    /// The file's checksum when it was applied (or re-baselined by repair).
    pub checksum: Checksum,
    /// False for a no-transaction file.
    pub transactional: bool,
    /// When it was applied.
    pub applied_at: SystemTime,
    /// How long it ran.
    pub duration: Duration,
    /// The login that ran it, or the runner's label.
    pub applied_by: String,
    /// When `repair` last re-baselined its checksum.
    pub repaired_at: Option<SystemTime>,
}

/// What the catalog says about a project's history without reading it: the last applied
/// version and the history checksum of everything applied up to it (see
/// [`Migrations::history_checksum`](super::Migrations::history_checksum)).
///
/// The runner writes it as the comment on the history table, as the owner and in the same
/// transaction as each history row, so the two never disagree after a commit.
///
/// # Visibility
/// Catalog comments are readable by every role on the instance, like schema and table names
/// (a known shared surface of one database; see security.md): other projects can see how many
/// migrations a project has applied and a digest of their checksums, never their SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The last applied version (0: none).
    pub version: u32,
    /// The history checksum of versions 1..=`version`.
    pub history: Checksum,
}

/// The comment's JSON: a format number first, so a later format can be told apart.
#[derive(Serialize, Deserialize)]
struct Comment {
    cotenant_migrations: u32,
    #[serde(flatten)]
    summary: Summary,
}

const COMMENT_FORMAT: u32 = 1;

impl Summary {
    /// The summary of `rows`, which must be the whole history in version order.
    pub(crate) fn of(rows: &[HistoryRow]) -> Self {
        let history = history_checksums(rows.iter().map(|r| (r.version, r.checksum)));
        Summary {
            version: rows.last().map_or(0, |r| r.version),
            history: *history.last().expect("the empty history is always there"),
        }
    }

    /// Reads a history table's comment; `None` when it is missing or not cotenant's.
    pub(crate) fn parse(comment: Option<&str>) -> Option<Self> {
        let comment: Comment = serde_json::from_str(comment?).ok()?;
        (comment.cotenant_migrations == COMMENT_FORMAT).then_some(comment.summary)
    }

    fn to_comment(self) -> String {
        serde_json::to_string(&Comment {
            cotenant_migrations: COMMENT_FORMAT,
            summary: self,
        })
        .expect("a summary serializes")
    }
}

/// Reads the history of `project` over a connection that may read its schema (its migrator;
/// the admin may not). An empty history when the table does not exist yet.
///
/// ```no_run
/// # async fn run(migrator: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// for row in cotenant::migrate::history(&migrator, &"reli".parse()?).await? {
///     println!("{} {} by {}", row.name, row.checksum.short(), row.applied_by);
/// }
/// # Ok(()) }
/// ```
pub async fn history(
    client: &Client,
    project: &ProjectName,
) -> Result<Vec<HistoryRow>, MigrateError> {
    let table = Table::new(project);
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table.qualified])
        .await
        .map_err(|source| table.failed("reading the migration history", source))?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    table.read(client).await
}

/// The history table of one project, and the statements cotenant runs on it.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) project: ProjectName,
    /// `"<p>"."cotenant_migrations"`.
    pub(crate) qualified: String,
}

impl Table {
    pub(crate) fn new(project: &ProjectName) -> Self {
        Self {
            project: project.clone(),
            qualified: format!(
                "{}.{}",
                quote_ident(project.as_str()),
                quote_ident(HISTORY_TABLE)
            ),
        }
    }

    pub(crate) fn failed(&self, doing: &'static str, error: tokio_postgres::Error) -> MigrateError {
        MigrateError::Bookkeeping {
            project: self.project.clone(),
            doing,
            error,
        }
    }

    /// `sql/migrate/history_table.sql` for this project.
    pub(crate) fn create_sql(&self) -> String {
        include_str!("../../sql/migrate/history_table.sql")
            .replace("{schema}", &quote_ident(self.project.as_str()))
            .replace("{app}", &quote_ident(&self.project.roles().app))
    }

    pub(crate) async fn read(&self, client: &Client) -> Result<Vec<HistoryRow>, MigrateError> {
        let rows = client
            .query(
                &format!(
                    "SELECT version, name, checksum, transactional, applied_at, duration_ms, applied_by, repaired_at
                     FROM {} ORDER BY version",
                    self.qualified
                ),
                &[],
            )
            .await
            .map_err(|source| self.failed("reading the migration history", source))?;
        rows.iter()
            .map(|row| {
                let version: i32 = row.get(0);
                let checksum: String = row.get(2);
                let duration_ms: i64 = row.get(5);
                Ok(HistoryRow {
                    version: version.unsigned_abs(),
                    name: row.get(1),
                    // The table's CHECK constraint keeps checksums 64 hex digits.
                    checksum: checksum.parse().map_err(|_| MigrateError::HistoryCorrupt {
                        project: self.project.clone(),
                        reason: format!("version {version} has checksum `{checksum}`"),
                    })?,
                    transactional: row.get(3),
                    applied_at: row.get(4),
                    duration: Duration::from_millis(duration_ms.unsigned_abs()),
                    applied_by: row.get(6),
                    repaired_at: row.get(7),
                })
            })
            .collect()
    }

    /// Inserts the history row only if the transaction is still `txid`: a migration that
    /// ended cotenant's transaction (COMMIT in the file) leaves the row unwritten. Returns
    /// whether it was written.
    pub(crate) async fn insert(
        &self,
        client: &Client,
        row: &NewRow<'_>,
        txid: i64,
    ) -> Result<bool, MigrateError> {
        let written = client
            .execute(
                &format!(
                    "INSERT INTO {} (version, name, checksum, transactional, duration_ms, applied_by)
                     SELECT $1, $2, $3, $4, $5, coalesce($6::text, session_user::text)
                     WHERE txid_current() = $7",
                    self.qualified
                ),
                &[
                    &i32::try_from(row.version).unwrap_or(i32::MAX),
                    &row.name,
                    &row.checksum.to_string(),
                    &row.transactional,
                    &i64::try_from(row.duration.as_millis()).unwrap_or(i64::MAX),
                    &row.applied_by,
                    &txid,
                ],
            )
            .await
            .map_err(|source| self.failed("recording the migration in the history", source))?;
        Ok(written == 1)
    }

    /// Re-baselines one row's checksum (repair).
    pub(crate) async fn rebaseline(
        &self,
        client: &Client,
        version: u32,
        name: &str,
        checksum: Checksum,
    ) -> Result<(), MigrateError> {
        client
            .execute(
                &format!(
                    "UPDATE {} SET name = $2, checksum = $3, repaired_at = now() WHERE version = $1",
                    self.qualified
                ),
                &[
                    &i32::try_from(version).unwrap_or(i32::MAX),
                    &name,
                    &checksum.to_string(),
                ],
            )
            .await
            .map_err(|source| self.failed("re-baselining the history", source))?;
        Ok(())
    }

    /// Writes `summary` as the table's comment.
    pub(crate) async fn write_summary(
        &self,
        client: &Client,
        summary: Summary,
    ) -> Result<(), MigrateError> {
        client
            .batch_execute(&format!(
                "COMMENT ON TABLE {} IS {}",
                self.qualified,
                quote_literal(&summary.to_comment())
            ))
            .await
            .map_err(|source| self.failed("writing the migration summary", source))
    }
}

/// A history row about to be written.
pub(crate) struct NewRow<'a> {
    pub(crate) version: u32,
    pub(crate) name: &'a str,
    pub(crate) checksum: Checksum,
    pub(crate) transactional: bool,
    pub(crate) duration: Duration,
    pub(crate) applied_by: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_round_trips_through_its_comment() {
        let summary = Summary {
            version: 3,
            history: Checksum::of_sql("x"),
        };
        let comment = summary.to_comment();
        assert!(
            comment.starts_with(r#"{"cotenant_migrations":1,"version":3,"history":""#),
            "{comment}"
        );
        assert_eq!(Summary::parse(Some(&comment)), Some(summary));
        assert_eq!(Summary::parse(Some("a comment of the project's own")), None);
        assert_eq!(Summary::parse(None), None);
        assert_eq!(
            Summary::parse(Some(&comment.replace(":1,", ":2,"))),
            None,
            "a later format is not misread"
        );
    }
}
