//! The plan of a move: every step, which mechanism carries the rows and why, and for
//! fence-then-COPY how long the fence will last.

use std::fmt;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::catalog::{self, Privileges, Table};
use super::owner::{act_as_owner, qualified};
use super::{Instance, MoveOptions, Step, TransferError, Verification};
use crate::ProjectName;
use crate::ident::quote_ident;

/// How a move carries the rows from source to target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// A publication on the source and a subscription on the target copy the rows while the
    /// application keeps writing, then stream its changes; writes pause only from the fence to
    /// the flip.
    LogicalReplication,
    /// The source's logins are fenced, then every table is copied with COPY: writes pause for
    /// the whole copy.
    FenceThenCopy,
}

impl Mechanism {
    /// The name the state records: `logical-replication` or `fence-then-copy`.
    pub const fn name(self) -> &'static str {
        match self {
            Mechanism::LogicalReplication => "logical-replication",
            Mechanism::FenceThenCopy => "fence-then-copy",
        }
    }

    /// The mechanism named `name`.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        [Mechanism::LogicalReplication, Mechanism::FenceThenCopy]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One table the move carries, with the size the fence estimate is based on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedTable {
    /// The table's name in the project's schema.
    pub name: String,
    /// The planner's row estimate (`reltuples`), or the exact count of a table never analyzed.
    pub estimated_rows: i64,
    /// Its size on disk without indexes.
    pub bytes: i64,
}

/// What a move will do, computed from both catalogs without changing anything.
///
/// ```no_run
/// # async fn run(source: cotenant::transfer::Instance, target: cotenant::transfer::Instance)
/// #     -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::migrate::Migrations;
/// use cotenant::transfer::{self, MoveOptions};
///
/// let options = MoveOptions::new(Migrations::from_dir("migrations/reli")?);
/// let plan = transfer::plan(&source, &target, &"reli".parse()?, &options).await?;
/// print!("{plan}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransferPlan {
    /// The project.
    pub project: ProjectName,
    /// The source instance's name.
    pub source: String,
    /// The target instance's name.
    pub target: String,
    /// How the rows travel.
    pub mechanism: Mechanism,
    /// Why this mechanism: for fence-then-COPY, each privilege or property that rules out a
    /// subscription.
    pub reasons: Vec<String>,
    /// The tables carried, referenced tables first.
    pub tables: Vec<PlannedTable>,
    /// The sequences whose values are carried over.
    pub sequences: Vec<String>,
    /// For fence-then-COPY: the measured copy rate (rows per second) the estimate uses.
    pub copy_rate: Option<f64>,
    /// Where the copies are compared: in the fence, or (checksums) after the flip.
    pub verification: Verification,
    /// With [`Verification::ChecksumsInFence`]: the measured checksum rate (rows per second,
    /// both sides read at once) the estimate uses.
    pub checksum_rate: Option<f64>,
    /// How long the source's logins will be fenced: the fence deadline, plus for
    /// fence-then-COPY the estimated copy time, plus with checksums in the fence their
    /// estimated time, plus a second for the final catch-up, counts, sequences and the flip.
    pub estimated_fence: Duration,
    /// The steps still to run, with what each does.
    pub steps: Vec<(Step, String)>,
}

impl fmt::Display for TransferPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "move `{}` from `{}` to `{}` by {}",
            self.project, self.source, self.target, self.mechanism
        )?;
        for reason in &self.reasons {
            writeln!(f, "  because {reason}")?;
        }
        let rows: i64 = self.tables.iter().map(|t| t.estimated_rows).sum();
        let bytes: i64 = self.tables.iter().map(|t| t.bytes).sum();
        writeln!(
            f,
            "  {} table(s), ~{rows} row(s), {bytes} byte(s); {} sequence(s)",
            self.tables.len(),
            self.sequences.len()
        )?;
        if let Some(rate) = self.copy_rate {
            writeln!(f, "  measured copy rate: {rate:.0} rows/s")?;
        }
        if let Some(rate) = self.checksum_rate {
            writeln!(f, "  measured checksum rate: {rate:.0} rows/s")?;
        }
        writeln!(f, "  verification: {}", where_verified(self.verification))?;
        writeln!(
            f,
            "  writes refused for about {:.1} s (fence to unfence)",
            self.estimated_fence.as_secs_f64()
        )?;
        for (step, what) in &self.steps {
            writeln!(f, "  {step}: {what}")?;
        }
        Ok(())
    }
}

/// Chooses the mechanism from both admins' privileges and the tables; the reasons say what rules
/// logical replication out (or, when it is chosen, why it can be used).
pub(crate) fn choose(
    source: &Privileges,
    target: &Privileges,
    tables: &[Table],
    allowed: bool,
) -> (Mechanism, Vec<String>) {
    let mut against = Vec::new();
    if !allowed {
        against.push("logical replication was turned off for this move".to_owned());
    }
    if target.major < 16 && !target.superuser {
        against.push(format!(
            "a subscription on PostgreSQL {} needs a superuser, and the target's admin `{}` is not one",
            target.major, target.admin
        ));
    }
    if target.major >= 16 && !target.superuser && !target.create_subscription {
        against.push(format!(
            "the target's admin `{}` lacks `pg_create_subscription` (PostgreSQL {} needs it for CREATE SUBSCRIPTION)",
            target.admin, target.major
        ));
    }
    if !target.superuser && !target.create_on_database {
        against.push(format!(
            "the target's admin `{}` lacks CREATE on the database",
            target.admin
        ));
    }
    if !source.superuser && !source.replication {
        against.push(format!(
            "the source's admin `{}` lacks REPLICATION, which the subscription's connection needs, and a CREATEROLE admin cannot grant it",
            source.admin
        ));
    }
    if source.wal_level != "logical" {
        against.push(format!(
            "the source runs with wal_level = {}, not logical",
            source.wal_level
        ));
    }
    if source.free_slots < 1 {
        against.push("the source has no free replication slot (max_replication_slots)".to_owned());
    }
    let unreadable: Vec<&str> = tables
        .iter()
        .filter(|t| {
            !source.superuser && (!t.admin_can_read || (t.row_security && !source.bypass_rls))
        })
        .map(|t| t.name.as_str())
        .collect();
    if !unreadable.is_empty() {
        against.push(format!(
            "the subscription's initial copy reads as the source's admin, which cannot read every row of {}",
            unreadable.join(", ")
        ));
    }
    let no_identity: Vec<&str> = tables
        .iter()
        .filter(|t| !t.has_replica_identity)
        .map(|t| t.name.as_str())
        .collect();
    if !no_identity.is_empty() {
        against.push(format!(
            "table(s) {} have no primary key or replica identity: publishing them would make the source refuse their UPDATEs and DELETEs",
            no_identity.join(", ")
        ));
    }
    if against.is_empty() {
        (
            Mechanism::LogicalReplication,
            vec![format!(
                "the target's admin `{}` may create subscriptions and the source's admin `{}` has REPLICATION",
                target.admin, source.admin
            )],
        )
    } else {
        (Mechanism::FenceThenCopy, against)
    }
}

/// Which verification runs where, in words.
fn where_verified(verification: Verification) -> &'static str {
    match verification {
        Verification::ChecksumsAfterFlip => {
            "counts and sequences in the fence; checksums after the flip, in snapshots of both copies taken before the target serves (--finish waits for them to match)"
        }
        Verification::ChecksumsInFence => "counts, checksums and sequences in the fence",
        Verification::Counts => "counts and sequences in the fence; no checksums",
    }
}

/// What each step does with `mechanism` and `verification`, from `from` on.
pub(crate) fn describe_steps(
    mechanism: Mechanism,
    verification: Verification,
    from: Option<Step>,
) -> Vec<(Step, String)> {
    let lr = mechanism == Mechanism::LogicalReplication;
    let after_flip = verification == Verification::ChecksumsAfterFlip;
    Step::ALL
        .into_iter()
        .filter(|s| from.is_none_or(|f| *s > f))
        .filter_map(|step| {
            let what = match step {
                Step::Started => "record the move on the source (schema cotenant_transfer)",
                Step::Provisioned => {
                    "provision the project on the target with the same settings and the current secrets' passwords"
                }
                Step::SchemaBuilt => {
                    "run the project's recorded migrations on the target, check parity with the source, fence the target's logins"
                }
                Step::Replicating if lr => {
                    "publish the project's tables on the source (as its owner) and subscribe to them on the target"
                }
                Step::CaughtUp if lr => "wait for the subscription's initial copy of every table",
                Step::Replicating | Step::CaughtUp => return None,
                Step::Fenced => {
                    "make the source's logins NOLOGIN, end their sessions after the fence deadline"
                }
                Step::Synced if lr => "wait until the target has every row the fenced source has",
                Step::Synced => "copy every table from the fenced source with COPY, in one transaction on the target",
                Step::SequencesSynced => "set the target's sequences to the source's values",
                Step::Verified if verification == Verification::ChecksumsInFence => {
                    "compare counts and checksums per table, and sequences (in the fence)"
                }
                Step::Verified => "compare counts per table, and sequences (in the fence)",
                Step::Flipped => "point the logins' secrets at the target's host and port",
                Step::Unfenced if after_flip => {
                    "fix a snapshot of each frozen copy (one repeatable-read transaction per side), then let the target's logins log in"
                }
                Step::Unfenced => "let the target's logins log in",
                Step::Checksummed if after_flip => {
                    "compare checksums per table in the two snapshots while the target serves; a difference keeps the source's copy (--finish refuses)"
                }
                Step::Checksummed => return None,
                Step::CleanedUp if lr => {
                    "drop the subscription, its slot and the publication; the source keeps its copy until --finish"
                }
                Step::CleanedUp => "nothing to drop; the source keeps its copy until --finish",
            };
            Some((step, what.to_owned()))
        })
        .collect()
}

/// Rows per second of a COPY of up to `SAMPLE_ROWS` rows from the largest table, read as the
/// owner in a transaction that is rolled back: the fence estimate's basis.
const SAMPLE_ROWS: i64 = 20_000;

pub(crate) async fn measure_copy_rate(
    source: &mut tokio_postgres::Client,
    project: &ProjectName,
    major: i32,
    tables: &[Table],
) -> Result<Option<f64>, tokio_postgres::Error> {
    let Some(largest) = tables.iter().max_by_key(|t| t.bytes) else {
        return Ok(None);
    };
    let tx = source.transaction().await?;
    tx.batch_execute(&act_as_owner(project, major)).await?;
    let columns: Vec<String> = largest.columns.iter().map(|c| quote_ident(c)).collect();
    let sql = format!(
        "COPY (SELECT {} FROM {} LIMIT {SAMPLE_ROWS}) TO STDOUT (FORMAT binary)",
        if columns.is_empty() {
            "*".to_owned()
        } else {
            columns.join(", ")
        },
        qualified(project, &largest.name)
    );
    let started = Instant::now();
    let stream = tx.copy_out(&sql).await?;
    futures_util::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        chunk?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rows: i64 = tx
        .query_one(
            &format!(
                "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {SAMPLE_ROWS}) s",
                qualified(project, &largest.name)
            ),
            &[],
        )
        .await?
        .get(0);
    tx.rollback().await?;
    if rows < 1000 {
        return Ok(None);
    }
    // Writing is slower than reading (index entries, WAL): the estimate counts both ends.
    #[allow(clippy::cast_precision_loss)]
    Ok(Some(rows as f64 / elapsed.max(1e-6) / 2.0))
}

/// Rows per second of the checksum of up to `SAMPLE_ROWS` rows of the largest table, read as
/// the owner and rolled back: the basis of the estimate with checksums in the fence.
pub(crate) async fn measure_checksum_rate(
    source: &mut tokio_postgres::Client,
    project: &ProjectName,
    major: i32,
    tables: &[Table],
) -> Result<Option<f64>, tokio_postgres::Error> {
    let Some(largest) = tables.iter().max_by_key(|t| t.bytes) else {
        return Ok(None);
    };
    let tx = source.transaction().await?;
    tx.batch_execute(&act_as_owner(project, major)).await?;
    let started = Instant::now();
    let row = tx
        .query_one(
            &format!(
                "SELECT count(*), sum(hashtextextended(t::text, 0)) \
                 FROM (SELECT * FROM {} LIMIT {SAMPLE_ROWS}) AS t",
                qualified(project, &largest.name)
            ),
            &[],
        )
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    tx.rollback().await?;
    let rows: i64 = row.get(0);
    if rows < 1000 {
        return Ok(None);
    }
    #[allow(clippy::cast_precision_loss)]
    Ok(Some(rows as f64 / elapsed.max(1e-6)))
}

/// How long writes are refused: the deadline, the copy at `copy_rate` rows/s (fence-then-COPY),
/// the checksums at `checksum_rate` rows/s (checksums in the fence), and a fixed second for the
/// final catch-up, counts, sequences and the flip.
pub(crate) fn fence_estimate(
    tables: &[Table],
    (copy_rate, checksum_rate): (Option<f64>, Option<f64>),
    options: &MoveOptions,
) -> Duration {
    let rows: i64 = tables.iter().map(|t| t.estimated_rows).sum();
    #[allow(clippy::cast_precision_loss)]
    let per = |rate: Option<f64>| rate.map_or(0.0, |r| rows as f64 / r);
    options.fence_deadline
        + Duration::from_secs_f64(per(copy_rate) + per(checksum_rate))
        + Duration::from_secs(1)
}

/// Reads both catalogs and returns the plan of moving `project` from `source` to `target`.
pub(crate) async fn compute(
    source: &Instance,
    target: &Instance,
    project: &ProjectName,
    options: &MoveOptions,
    recorded: Option<(Mechanism, Verification, Step)>,
) -> Result<TransferPlan, TransferError> {
    let sql = |instance: &Instance, doing| {
        let instance = instance.name().to_owned();
        let project = project.clone();
        move |source| TransferError::Sql {
            project,
            instance,
            doing,
            source,
        }
    };
    let mut src = source.environment().connect_admin().await?;
    let tgt = target.environment().connect_admin().await?;
    let source_privileges = catalog::privileges(&src)
        .await
        .map_err(sql(source, "reading the admin's privileges"))?;
    let target_privileges = catalog::privileges(&tgt)
        .await
        .map_err(sql(target, "reading the admin's privileges"))?;
    let mut tables = catalog::tables(&src, project)
        .await
        .map_err(sql(source, "reading the project's tables"))?;
    // A table never analyzed has no estimate: counted, so the fence estimate is not zero.
    let unknown: Vec<Table> = tables
        .iter()
        .filter(|t| t.estimated_rows < 0)
        .cloned()
        .collect();
    if !unknown.is_empty() {
        let counted = super::data::counts(&mut src, project, source_privileges.major, &unknown)
            .await
            .map_err(sql(source, "counting rows"))?;
        for (table, rows) in unknown.iter().zip(counted) {
            if let Some(t) = tables.iter_mut().find(|t| t.name == table.name) {
                t.estimated_rows = rows;
            }
        }
    }
    let sequences = catalog::sequences(&src, project)
        .await
        .map_err(sql(source, "reading the project's sequences"))?;
    let forced: Vec<String> = tables
        .iter()
        .filter(|t| t.force_row_security)
        .map(|t| t.name.clone())
        .collect();
    if !forced.is_empty() {
        return Err(TransferError::ForcedRowSecurity {
            project: project.clone(),
            tables: forced,
        });
    }
    let verification = recorded.map_or(options.verification, |(_, v, _)| v);
    let (mechanism, reasons) = match recorded {
        Some((mechanism, _, _)) => (
            mechanism,
            vec![format!("the move was started with {mechanism}")],
        ),
        None => choose(
            &source_privileges,
            &target_privileges,
            &tables,
            options.logical_replication,
        ),
    };
    let major = source_privileges.major;
    let copy_rate = match mechanism {
        Mechanism::FenceThenCopy => measure_copy_rate(&mut src, project, major, &tables)
            .await
            .map_err(sql(source, "measuring the copy rate"))?,
        Mechanism::LogicalReplication => None,
    };
    let checksum_rate = match verification {
        Verification::ChecksumsInFence => measure_checksum_rate(&mut src, project, major, &tables)
            .await
            .map_err(sql(source, "measuring the checksum rate"))?,
        _ => None,
    };
    let estimated_fence = fence_estimate(&tables, (copy_rate, checksum_rate), options);
    Ok(TransferPlan {
        project: project.clone(),
        source: source.name().to_owned(),
        target: target.name().to_owned(),
        mechanism,
        reasons,
        tables: tables
            .iter()
            .map(|t| PlannedTable {
                name: t.name.clone(),
                estimated_rows: t.estimated_rows,
                bytes: t.bytes,
            })
            .collect(),
        sequences,
        copy_rate,
        verification,
        checksum_rate,
        estimated_fence,
        steps: describe_steps(mechanism, verification, recorded.map(|(_, _, s)| s)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privileges(major: i32) -> Privileges {
        Privileges {
            major,
            admin: "postgres".to_owned(),
            superuser: false,
            replication: false,
            bypass_rls: false,
            create_subscription: false,
            create_on_database: true,
            wal_level: "logical".to_owned(),
            free_slots: 10,
        }
    }

    fn table() -> Table {
        Table {
            name: "notes".to_owned(),
            columns: vec!["id".to_owned()],
            references: vec![],
            row_security: true,
            force_row_security: false,
            has_replica_identity: true,
            admin_can_read: true,
            bytes: 8192,
            estimated_rows: 10,
        }
    }

    #[test]
    fn pg_15_without_a_superuser_falls_back_and_says_why() {
        let (mechanism, reasons) = choose(&privileges(15), &privileges(15), &[table()], true);
        assert_eq!(mechanism, Mechanism::FenceThenCopy);
        assert!(
            reasons.iter().any(|r| r.contains("needs a superuser")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("lacks REPLICATION")),
            "{reasons:?}"
        );
    }

    #[test]
    fn hosted_supabase_on_17_subscribes() {
        let mut supabase = privileges(17);
        supabase.replication = true;
        supabase.bypass_rls = true;
        supabase.create_subscription = true;
        let (mechanism, _) = choose(&supabase, &supabase, &[table()], true);
        assert_eq!(mechanism, Mechanism::LogicalReplication);
        let (mechanism, reasons) = choose(&supabase, &privileges(17), &[table()], true);
        assert_eq!(mechanism, Mechanism::FenceThenCopy);
        assert!(reasons.iter().any(|r| r.contains("pg_create_subscription")));
        let mut no_key = table();
        no_key.has_replica_identity = false;
        let (mechanism, reasons) = choose(&supabase, &supabase, &[no_key], true);
        assert_eq!(mechanism, Mechanism::FenceThenCopy);
        assert!(reasons.iter().any(|r| r.contains("replica identity")));
    }

    #[test]
    fn fallback_steps_skip_the_subscription() {
        let steps = describe_steps(Mechanism::FenceThenCopy, Verification::default(), None);
        assert!(!steps.iter().any(|(s, _)| *s == Step::Replicating));
        let steps = describe_steps(
            Mechanism::LogicalReplication,
            Verification::default(),
            Some(Step::Fenced),
        );
        assert_eq!(steps.first().map(|(s, _)| *s), Some(Step::Synced));
    }

    #[test]
    fn the_steps_say_where_the_checksums_run() {
        let what = |verification, step| {
            describe_steps(Mechanism::LogicalReplication, verification, None)
                .into_iter()
                .find(|(s, _)| *s == step)
                .map(|(_, what)| what)
        };
        let verified = what(Verification::ChecksumsAfterFlip, Step::Verified).unwrap();
        assert!(!verified.contains("checksums"), "{verified}");
        let after = what(Verification::ChecksumsAfterFlip, Step::Checksummed).unwrap();
        assert!(after.contains("while the target serves"), "{after}");
        assert!(
            what(Verification::ChecksumsAfterFlip, Step::Unfenced)
                .unwrap()
                .contains("snapshot")
        );
        let in_fence = what(Verification::ChecksumsInFence, Step::Verified).unwrap();
        assert!(in_fence.contains("checksums"), "{in_fence}");
        assert_eq!(
            what(Verification::ChecksumsInFence, Step::Checksummed),
            None
        );
        assert_eq!(what(Verification::Counts, Step::Checksummed), None);
    }

    #[test]
    fn checksums_in_the_fence_lengthen_the_estimate() {
        let mut big = table();
        big.estimated_rows = 1_000_000;
        let options =
            MoveOptions::new(crate::migrate::Migrations::from_migrations(Vec::new()).unwrap());
        let short = fence_estimate(std::slice::from_ref(&big), (None, None), &options);
        let long = fence_estimate(
            std::slice::from_ref(&big),
            (None, Some(200_000.0)),
            &options,
        );
        assert_eq!(long - short, Duration::from_secs(5));
    }
}
