//! Verification inside the relocation's transaction, before commit: the same relations with the
//! same files (no row was copied), optionally the same rows, and every object where it belongs
//! with no grant left to anyone outside the project. Any difference rolls everything back.

use std::collections::BTreeMap;

use futures_util::future::try_join;
use tokio_postgres::types::Type;
use tokio_postgres::{Statement, Transaction};

use super::body::mentions;
use super::catalog::{Kind, ObjectId};
use super::plan::{Checks, RelocationPlan};

/// How much relocation checks before it commits. Every level checks that each moved relation
/// (and its indexes and TOAST table) kept its relfilenode — the same files, so the same rows:
/// nothing was rewritten — and that every moved object ended up in the project's schema, owned
/// by `<p>_owner`, with no privilege left to a role outside the project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verification {
    /// Only the catalog: the time does not depend on the tables' sizes.
    Metadata,
    /// Also counts each moved table's rows before and after the move: one scan of each table
    /// each time, while the move's exclusive locks are held. The admin counts as the tables'
    /// owner, so row-level security does not filter the counts unless a table has FORCE ROW
    /// LEVEL SECURITY — then both counts see the same policies.
    #[default]
    RowCounts,
    /// Also a checksum of each moved table's rows before and after: the count and the sums of
    /// two differently seeded 64-bit hashes of each row's text (`hashtextextended`). A sum does
    /// not depend on row order, so no sort and no memory beyond one row (unlike
    /// `md5(string_agg(… ORDER BY …))`, which sorts the table and builds one string of it); it
    /// reads and hashes every row twice, under the exclusive locks (`--verify-data`). It finds
    /// accidental changes, not deliberate collisions.
    Checksums,
}

/// What verification established for one relocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    level: Verification,
    tables: Vec<TableCheck>,
    files: usize,
}

impl Verified {
    /// The level that was verified.
    pub fn level(&self) -> Verification {
        self.level
    }

    /// Each moved relation with rows, as found before and after the move.
    pub fn tables(&self) -> &[TableCheck] {
        &self.tables
    }

    /// How many relations (tables, partitions, indexes, sequences, TOAST) kept their
    /// relfilenode.
    pub fn files(&self) -> usize {
        self.files
    }
}

/// A moved relation with rows: the same before and after the move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    table: String,
    rows: Option<i64>,
    checksum: Option<String>,
}

impl TableCheck {
    /// The relation where it is now, `<p>.<name>`.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Its row count, when counted.
    pub fn rows(&self) -> Option<i64> {
        self.rows
    }

    /// Its checksum, with [`Verification::Checksums`].
    pub fn checksum(&self) -> Option<&str> {
        self.checksum.as_deref()
    }
}

/// Rows (and checksums) of the counted relations, in the order of [`Checks::counted`].
pub(crate) type Samples = Vec<(i64, Option<String>)>;

/// Counts (and checksums) every counted relation by its name `before` or `after` the move, in
/// one query.
pub(crate) async fn sample(
    tx: &Transaction<'_>,
    checks: &Checks,
    level: Verification,
    after: bool,
) -> Result<Samples, tokio_postgres::Error> {
    if level == Verification::Metadata || checks.counted.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<String> = checks
        .counted
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = if after { &c.after } else { &c.before };
            if level == Verification::Checksums {
                // Two differently seeded 64-bit hashes of each row's text, summed (PostgreSQL
                // sums int8 in 128 bits): order-independent, one pass, constant memory — and
                // about 3x cheaper than md5 through hex and numeric.
                format!(
                    "SELECT {i}, count(*)::int8, coalesce(sum(hashtextextended(t, 0)), 0) || ':' || coalesce(sum(hashtextextended(t, 1)), 0) FROM (SELECT (x.*)::text AS t FROM {name} AS x) AS s"
                )
            } else {
                format!("SELECT {i}, count(*)::int8, NULL::text FROM {name}")
            }
        })
        .collect();
    let rows = tx.query_typed(&parts.join(" UNION ALL "), &[]).await?;
    let mut samples = vec![(0, None); checks.counted.len()];
    for row in rows {
        let i: i32 = row.get(0);
        samples[i as usize] = (row.get(1), row.get(2));
    }
    Ok(samples)
}

/// The catalog reads of verification, prepared before the exclusive locks are taken: parsed
/// then rather than while the locks are held, and the relfilenodes' read, made twice, planned
/// once (under `plan_cache_mode = force_generic_plan`, which apply sets for the locked part).
pub(crate) struct Reads {
    filenodes: Statement,
    moved: Statement,
}

/// Prepares the catalog reads of verification.
pub(crate) async fn prepare(tx: &Transaction<'_>) -> Result<Reads, tokio_postgres::Error> {
    let (filenodes, moved) = try_join(
        tx.prepare_typed(
            include_str!("../../sql/relocate/filenodes.sql"),
            &[Type::OID_ARRAY],
        ),
        tx.prepare_typed(
            include_str!("../../sql/relocate/moved.sql"),
            &[
                Type::OID_ARRAY,
                Type::OID_ARRAY,
                Type::OID_ARRAY,
                Type::TEXT,
                Type::TEXT_ARRAY,
            ],
        ),
    )
    .await?;
    Ok(Reads { filenodes, moved })
}

/// The relfilenodes of the moved relations, their indexes and TOAST tables, by OID.
pub(crate) async fn filenodes(
    tx: &Transaction<'_>,
    reads: &Reads,
    checks: &Checks,
) -> Result<BTreeMap<u32, (String, u32)>, tokio_postgres::Error> {
    let rows = tx.query(&reads.filenodes, &[&checks.relations]).await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, u32>(0), (r.get(1), r.get(2))))
        .collect())
}

/// Where the moved objects are after the whole plan, and who outside the project may use them.
pub(crate) async fn final_state(
    tx: &Transaction<'_>,
    reads: &Reads,
    plan: &RelocationPlan,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let checks = plan.checks();
    let project = plan.project();
    let roles = project.roles();
    let allowed = vec![roles.owner.clone(), roles.app.clone()];
    let rows = tx
        .query(
            &reads.moved,
            &[
                &checks.relations,
                &checks.types,
                &checks.functions,
                &project.as_str(),
                &allowed,
            ],
        )
        .await?;
    let mut problems = Vec::new();
    let mut seen = 0;
    for row in &rows {
        let kind = match row.get::<_, &str>(0) {
            "relation" => Kind::Relation,
            "type" => Kind::Type,
            _ => Kind::Function,
        };
        let id = ObjectId {
            kind,
            oid: row.get(1),
        };
        let (schema, name, owner): (String, String, String) = (row.get(2), row.get(3), row.get(4));
        let foreign: Vec<String> = row.get(5);
        let Some(expected) = checks.expected.get(&id) else {
            continue;
        };
        seen += 1;
        if schema != project.as_str() || name != *expected {
            problems.push(format!(
                "`{schema}.{name}` should be `{project}.{expected}`"
            ));
        }
        if owner != roles.owner {
            problems.push(format!(
                "`{schema}.{name}` is owned by `{owner}`, not `{}`",
                roles.owner
            ));
        }
        if !foreign.is_empty() {
            problems.push(format!(
                "`{schema}.{name}` still grants privileges to {}",
                foreign.join(", ")
            ));
        }
        if let Some(label) = checks
            .rewritten
            .get(&id.oid)
            .filter(|_| kind == Kind::Function)
        {
            let body: String = row.get::<_, Option<String>>(7).unwrap_or_default();
            let left: Vec<&str> = checks
                .moved_names
                .iter()
                .filter(|n| mentions(&body, n).qualified)
                .map(String::as_str)
                .collect();
            if !left.is_empty() {
                problems.push(format!(
                    "rewritten {label} still names {} in public",
                    left.join(", ")
                ));
            }
        }
    }
    if seen != checks.expected.len() {
        problems.push(format!(
            "{} of {} moved objects were found afterwards",
            seen,
            checks.expected.len()
        ));
    }
    if let Some(row) = rows.first() {
        let schema_foreign: Vec<String> = row.get(6);
        if !schema_foreign.is_empty() {
            problems.push(format!(
                "schema `{project}` still grants privileges to {}",
                schema_foreign.join(", ")
            ));
        }
    }
    Ok(problems)
}

/// Compares before and after; returns what verification established, or what differs.
pub(crate) fn compare(
    checks: &Checks,
    level: Verification,
    before: (&Samples, &BTreeMap<u32, (String, u32)>),
    after: (&Samples, &BTreeMap<u32, (String, u32)>),
    mut problems: Vec<String>,
) -> Result<Verified, Vec<String>> {
    let (rows_before, files_before) = before;
    let (rows_after, files_after) = after;
    for (oid, (name, node)) in files_before {
        match files_after.get(oid) {
            Some((_, later)) if later == node => {}
            Some((_, later)) => problems.push(format!(
                "`{name}` was rewritten: relfilenode {node} became {later}"
            )),
            None => problems.push(format!("`{name}` is gone")),
        }
    }
    let mut tables = Vec::new();
    for (i, counted) in checks.counted.iter().enumerate() {
        let (b, a) = (rows_before.get(i), rows_after.get(i));
        if b != a {
            let show = |s: Option<&(i64, Option<String>)>| {
                s.map_or_else(
                    || "nothing".to_owned(),
                    |(rows, sum)| match sum {
                        Some(sum) => format!("{rows} rows (checksum {sum})"),
                        None => format!("{rows} rows"),
                    },
                )
            };
            problems.push(format!(
                "`{}` had {} before the move and {} after",
                counted.label,
                show(b),
                show(a)
            ));
        }
        tables.push(TableCheck {
            table: counted.label.clone(),
            rows: a.map(|(rows, _)| *rows),
            checksum: a.and_then(|(_, sum)| sum.clone()),
        });
    }
    if problems.is_empty() {
        Ok(Verified {
            level,
            tables,
            files: files_after.len(),
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relocate::plan::Counted;

    fn checks() -> Checks {
        Checks {
            counted: vec![Counted {
                before: r#"public."t""#.into(),
                after: r#""p"."t""#.into(),
                label: "p.t".into(),
            }],
            ..Checks::default()
        }
    }

    #[test]
    fn same_files_and_rows_verify() {
        let files = BTreeMap::from([(1, ("t".to_owned(), 100)), (2, ("t_pkey".to_owned(), 200))]);
        let rows = vec![(10, Some("1:2".to_owned()))];
        let verified = compare(
            &checks(),
            Verification::Checksums,
            (&rows, &files),
            (&rows, &files),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(verified.files(), 2);
        assert_eq!(verified.tables()[0].rows(), Some(10));
        assert_eq!(verified.tables()[0].checksum(), Some("1:2"));
    }

    #[test]
    fn a_rewritten_or_shrunk_table_is_a_mismatch() {
        let before = BTreeMap::from([(1, ("t".to_owned(), 100))]);
        let after = BTreeMap::from([(1, ("t".to_owned(), 101))]);
        let problems = compare(
            &checks(),
            Verification::RowCounts,
            (&vec![(10, None)], &before),
            (&vec![(9, None)], &after),
            vec!["`p.t` still grants privileges to anon".to_owned()],
        )
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "`p.t` still grants privileges to anon",
                "`t` was rewritten: relfilenode 100 became 101",
                "`p.t` had 10 rows before the move and 9 rows after",
            ]
        );
    }
}
