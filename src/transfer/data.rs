//! Rows and sequences: copying them with COPY, reading their counts and checksums.

use futures_util::{SinkExt, StreamExt};
use tokio_postgres::{Client, Transaction};

use super::catalog::Table;
use super::owner::{STABLE_TEXT, act_as_owner, end_acting, qualified};
use crate::ProjectName;
use crate::ident::quote_ident;

/// One table's (or sequence's) count and checksum on one instance.
pub(crate) type Digest = (String, String);

fn column_list(table: &Table) -> String {
    let columns: Vec<String> = table.columns.iter().map(|c| quote_ident(c)).collect();
    columns.join(", ")
}

/// Copies every table from `source` (fenced: nothing changes there) into `target`, as each
/// side's owner: in one transaction on the target, which first empties the tables, so a copy
/// interrupted or run again starts over. Binary COPY, referenced tables first, the foreign keys
/// between the project's tables and their plain indexes set aside meanwhile (see [`SetAside`]).
pub(crate) async fn copy_tables(
    source: &mut Client,
    target: &mut Client,
    project: &ProjectName,
    (source_major, target_major): (i32, i32),
    tables: &[Table],
) -> Result<u64, tokio_postgres::Error> {
    // Repeatable read: one snapshot for every table. Not READ ONLY: acting as the owner is a
    // GRANT, rolled back with the transaction.
    let src = source.transaction().await?;
    src.batch_execute(&format!(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;\n{}",
        act_as_owner(project, source_major)
    ))
    .await?;
    let tgt = target.transaction().await?;
    tgt.batch_execute(&act_as_owner(project, target_major))
        .await?;
    if !tables.is_empty() {
        let all: Vec<String> = tables.iter().map(|t| qualified(project, &t.name)).collect();
        tgt.batch_execute(&format!("TRUNCATE {}", all.join(", ")))
            .await?;
    }
    let set_aside = SetAside::drop(&tgt, project).await?;
    let mut bytes = 0u64;
    for table in tables {
        bytes += copy_table(&src, &tgt, project, table).await?;
    }
    set_aside.restore(&tgt).await?;
    tgt.batch_execute(&end_acting(project)).await?;
    tgt.commit().await?;
    src.rollback().await?;
    Ok(bytes)
}

/// The foreign keys between the project's own tables and their plain indexes on the target,
/// dropped for the copy and made again after it, each once over all the rows
/// (`sql/transfer/set_aside.sql` says which and why): inside the copy's transaction, so a
/// failure or a kill leaves them as they were.
struct SetAside {
    /// The statements that make them again, in the order to run them.
    restore: Vec<String>,
}

impl SetAside {
    async fn drop(
        tgt: &Transaction<'_>,
        project: &ProjectName,
    ) -> Result<Self, tokio_postgres::Error> {
        let rows = tgt
            .query(
                include_str!("../../sql/transfer/set_aside.sql"),
                &[&project.as_str()],
            )
            .await?;
        let drops: String = rows
            .iter()
            .map(|r| format!("{};\n", r.get::<_, String>(0)))
            .collect();
        if !drops.is_empty() {
            tgt.batch_execute(&drops).await?;
        }
        let mut restore: Vec<(i32, String)> = rows.iter().map(|r| (r.get(2), r.get(1))).collect();
        restore.sort_by_key(|(order, _)| *order);
        Ok(Self {
            restore: restore.into_iter().map(|(_, sql)| sql).collect(),
        })
    }

    async fn restore(self, tgt: &Transaction<'_>) -> Result<(), tokio_postgres::Error> {
        if !self.restore.is_empty() {
            tgt.batch_execute(&self.restore.join(";\n")).await?;
        }
        Ok(())
    }
}

async fn copy_table(
    src: &Transaction<'_>,
    tgt: &Transaction<'_>,
    project: &ProjectName,
    table: &Table,
) -> Result<u64, tokio_postgres::Error> {
    let name = qualified(project, &table.name);
    let columns = column_list(table);
    let out = src
        .copy_out(&format!(
            "COPY {name} ({columns}) TO STDOUT (FORMAT binary)"
        ))
        .await?;
    let sink = tgt
        .copy_in(&format!(
            "COPY {name} ({columns}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    futures_util::pin_mut!(out);
    futures_util::pin_mut!(sink);
    let mut bytes = 0u64;
    while let Some(chunk) = out.next().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        sink.feed(chunk).await?;
    }
    sink.as_mut().finish().await?;
    Ok(bytes)
}

/// Empties the project's tables on the target (as its owner): before a subscription's initial
/// copy, so a subscription created again after a kill does not meet rows of the first one.
pub(crate) async fn truncate(
    client: &mut Client,
    project: &ProjectName,
    major: i32,
    tables: &[Table],
) -> Result<(), tokio_postgres::Error> {
    if tables.is_empty() {
        return Ok(());
    }
    let all: Vec<String> = tables.iter().map(|t| qualified(project, &t.name)).collect();
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "{}TRUNCATE {};\n{}",
        act_as_owner(project, major),
        all.join(", "),
        end_acting(project)
    ))
    .await?;
    tx.commit().await
}

/// Row counts per table, as the owner (a read, rolled back).
pub(crate) async fn counts(
    client: &mut Client,
    project: &ProjectName,
    major: i32,
    tables: &[Table],
) -> Result<Vec<i64>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(&act_as_owner(project, major)).await?;
    let mut counts = Vec::with_capacity(tables.len());
    for table in tables {
        let sql = format!("SELECT count(*) FROM {}", qualified(project, &table.name));
        counts.push(tx.query_one(&sql, &[]).await?.get(0));
    }
    tx.rollback().await?;
    Ok(counts)
}

/// Per table its count and (with `checksums`) its [checksum](checksum_sql), and per sequence its
/// state: what verification in the fence compares. Read as the owner, rolled back.
pub(crate) async fn digests(
    client: &mut Client,
    project: &ProjectName,
    major: i32,
    tables: &[Table],
    sequences: &[String],
    checksums: bool,
) -> Result<Vec<Digest>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(&format!("{STABLE_TEXT}{}", act_as_owner(project, major)))
        .await?;
    let mut digests = Vec::with_capacity(tables.len() + sequences.len());
    for table in tables {
        let sql = if checksums {
            checksum_sql(project, table)
        } else {
            format!(
                "SELECT count(*)::text || ' row(s)' FROM {}",
                qualified(project, &table.name)
            )
        };
        digests.push((table.name.clone(), tx.query_one(&sql, &[]).await?.get(0)));
    }
    for sequence in sequences {
        let sql = format!(
            "SELECT 'last_value ' || last_value::text || ', is_called ' || is_called::text FROM {}",
            qualified(project, sequence)
        );
        digests.push((sequence.clone(), tx.query_one(&sql, &[]).await?.get(0)));
    }
    tx.rollback().await?;
    Ok(digests)
}

/// A table's count and an order-independent checksum of its rows' text (under settings that
/// make the text the same on every instance: [`STABLE_TEXT`]), as one text value.
fn checksum_sql(project: &ProjectName, table: &Table) -> String {
    format!(
        "SELECT count(*)::text || ' row(s), checksum ' || \
         coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM {} AS t",
        qualified(project, &table.name)
    )
}

/// A repeatable-read transaction on one instance, as the project's owner, whose snapshot was
/// fixed while the copy was frozen (the source fenced, the target not yet serving): the
/// checksums after the flip read both copies as they were at the flip, while the target already
/// serves new writes.
///
/// It holds the owner's loan (an uncommitted row of `pg_auth_members`) until it ends: another
/// transaction lending the same owner to the same steward waits for it. The move's own steps
/// that do (dropping the publication) come after the checksums; the project's other commands
/// are refused while it moves.
pub(crate) struct Snapshot {
    client: Client,
}

impl Snapshot {
    /// Opens the transaction on `client` (a connection of its own: it stays open while the
    /// move goes on on others) and fixes its snapshot.
    pub(crate) async fn take(
        client: Client,
        project: &ProjectName,
        major: i32,
    ) -> Result<Snapshot, tokio_postgres::Error> {
        // The first query fixes the snapshot of a repeatable-read transaction: `SELECT 1`, before
        // the loan (whose GRANT would do it too, less visibly).
        client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT 1;\n{STABLE_TEXT}{}",
                act_as_owner(project, major)
            ))
            .await?;
        Ok(Snapshot { client })
    }

    /// Each table's count and checksum in the snapshot; then the transaction (and the loan) is
    /// rolled back.
    pub(crate) async fn checksums(
        self,
        project: &ProjectName,
        tables: &[Table],
    ) -> Result<Vec<Digest>, tokio_postgres::Error> {
        let mut digests = Vec::with_capacity(tables.len());
        for table in tables {
            let sql = checksum_sql(project, table);
            let value: String = self.client.query_one(&sql, &[]).await?.get(0);
            digests.push((table.name.clone(), value));
        }
        self.client.batch_execute("ROLLBACK").await?;
        Ok(digests)
    }
}

/// Sets the target's sequences to the source's `last_value` and `is_called`, as the owner on
/// both sides.
pub(crate) async fn sync_sequences(
    source: &mut Client,
    target: &mut Client,
    project: &ProjectName,
    (source_major, target_major): (i32, i32),
    sequences: &[String],
) -> Result<(), tokio_postgres::Error> {
    if sequences.is_empty() {
        return Ok(());
    }
    let src = source.transaction().await?;
    src.batch_execute(&act_as_owner(project, source_major))
        .await?;
    let mut values = Vec::with_capacity(sequences.len());
    for sequence in sequences {
        let row = src
            .query_one(
                &format!(
                    "SELECT last_value, is_called FROM {}",
                    qualified(project, sequence)
                ),
                &[],
            )
            .await?;
        values.push((row.get::<_, i64>(0), row.get::<_, bool>(1)));
    }
    src.rollback().await?;
    let tgt = target.transaction().await?;
    tgt.batch_execute(&act_as_owner(project, target_major))
        .await?;
    for (sequence, (value, called)) in sequences.iter().zip(values) {
        tgt.execute(
            "SELECT setval($1::text::regclass, $2, $3)",
            &[&qualified(project, sequence), &value, &called],
        )
        .await?;
    }
    tgt.batch_execute(&end_acting(project)).await?;
    tgt.commit().await
}
