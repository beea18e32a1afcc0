//! Relocating: plan, then one transaction under the project's advisory lock, with a short lock
//! timeout retried with backoff, verified before commit.

use std::time::{Duration, Instant};

use futures_util::future::{join, join3, join4};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Transaction};

use super::catalog::{Catalog, Kind};
use super::closure::close;
use super::error::LockHolder;
use super::plan::{RelocationPlan, Stage};
use super::statements;
use super::verify::{self, Verified};
use super::{RelocateError, Relocation};
use crate::ProjectName;
use crate::lock::LockKey;
use crate::provision::{Actor, steward_of};

/// What a relocation did: the plan it applied and what verification established.
#[derive(Debug, Clone)]
pub struct Relocated {
    plan: RelocationPlan,
    verified: Verified,
    attempts: u32,
    exclusive_for: Duration,
}

impl Relocated {
    /// The applied plan; empty when nothing was left to move.
    pub fn plan(&self) -> &RelocationPlan {
        &self.plan
    }

    /// What verification established before commit.
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// How many attempts it took (more than one when locks were busy).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// How long the committed attempt held the relations' exclusive locks, from `LOCK TABLE`
    /// to the end of `COMMIT`, as this client measured it: how long the tables were closed to
    /// other sessions. Zero when nothing moved.
    pub fn exclusive_for(&self) -> Duration {
        self.exclusive_for
    }
}

/// With only pg_catalog on the search path, `pg_get_functiondef` and type names name every
/// object with its schema: a definition that `--functions rewrite` restates after the move must
/// not lean on the admin's search path (which has public, where the objects no longer are).
/// Every statement of a relocation names its objects with their schema already.
const QUALIFY_NAMES: &str = "SET LOCAL search_path = pg_catalog";

/// Reads the catalog and returns what relocating would do, with the dependency report,
/// changing nothing.
///
/// The read runs in a read-only transaction of its own with `search_path = pg_catalog`, as
/// [`relocate`] reads it, so that routine definitions name every type and relation with its
/// schema: `client` must not be inside a transaction.
///
/// ```no_run
/// # async fn run(client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::relocate::{self, Relocation, Selection};
///
/// let selection = Selection::Prefix { prefix: "reli_".into(), strip: true };
/// let plan = relocate::plan(&client, &"reli".parse()?, &Relocation::new(selection)).await?;
/// print!("{plan}{}", plan.to_sql());
/// # Ok(()) }
/// ```
pub async fn plan(
    client: &Client,
    project: &ProjectName,
    relocation: &Relocation,
) -> Result<RelocationPlan, RelocateError> {
    compute(&read_catalog(client, project).await?, project, relocation)
}

/// The catalog as `client` sees it, read in a read-only transaction of its own.
async fn read_catalog(client: &Client, project: &ProjectName) -> Result<Catalog, RelocateError> {
    let begin = format!("BEGIN READ ONLY; {QUALIFY_NAMES}");
    client
        .batch_execute(&begin)
        .await
        .map_err(|source| RelocateError::Catalog {
            project: project.clone(),
            source,
        })?;
    let catalog = Catalog::read(client, project, &steward_of(project)).await;
    let ended = client.batch_execute("ROLLBACK").await;
    let catalog = catalog?;
    ended.map_err(|source| RelocateError::Catalog {
        project: project.clone(),
        source,
    })?;
    Ok(catalog)
}

/// Moves the selected objects of `public`, with their dependencies, into `project`'s schema, in
/// one transaction, and verifies before it commits.
///
/// Takes the project's advisory lock (the one provisioning takes), reads the catalog and plans;
/// refuses with [`RelocateError::Blocked`] while a blocker is unresolved. Then, under a short
/// `lock_timeout`: locks the relations, notes their relfilenodes (and rows), moves them
/// (`ALTER … SET SCHEMA`: no row is copied), hands them to `<p>_owner`, grants `<p>_app` and
/// revokes everyone else, and checks the result — any difference rolls everything back. A lock
/// timeout rolls back and retries the whole transaction after a growing pause; after the last
/// attempt the error names the sessions holding the locks. Running it again moves nothing.
///
/// ```no_run
/// # async fn run(mut client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::relocate::{self, PolicyChoice, Relocation, Selection, Verification};
///
/// let relocation = Relocation::new(Selection::tables(["contacts", "deals"]))
///     .policies(PolicyChoice::ToApp)
///     .verification(Verification::Checksums);
/// let done = relocate::relocate(&mut client, &"crm".parse()?, &relocation).await?;
/// for table in done.verified().tables() {
///     println!("{}: {:?} rows", table.table(), table.rows());
/// }
/// # Ok(()) }
/// ```
pub async fn relocate(
    client: &mut Client,
    project: &ProjectName,
    relocation: &Relocation,
) -> Result<Relocated, RelocateError> {
    let mut attempt = 1;
    loop {
        match attempt_once(client, project, relocation).await {
            Ok(done) => {
                return Ok(Relocated {
                    attempts: attempt,
                    ..done
                });
            }
            Err(Failure::Lock { objects }) if attempt < relocation.get_attempts() => {
                let pause = backoff(attempt);
                tracing::info!(
                    target: "cotenant::relocate",
                    %project,
                    attempt,
                    ?pause,
                    "a lock was busy; rolled back, retrying"
                );
                drop(objects);
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            Err(Failure::Lock { objects }) => {
                let holders = match holders(client, &objects).await {
                    Ok(holders) => holders,
                    Err(error) => {
                        tracing::warn!(target: "cotenant::relocate", %error, "reading pg_locks");
                        Vec::new()
                    }
                };
                return Err(RelocateError::LockTimeout {
                    project: project.clone(),
                    attempts: attempt,
                    lock_timeout: relocation.get_lock_timeout(),
                    holders,
                });
            }
            Err(Failure::Error(error)) => return Err(error),
        }
    }
}

/// The plan for `catalog`, or why there can be none.
pub(crate) fn compute(
    catalog: &Catalog,
    project: &ProjectName,
    relocation: &Relocation,
) -> Result<RelocationPlan, RelocateError> {
    check_provisioned(catalog, project)?;
    let selection = relocation.get_selection();
    let seeds = selection.seeds(catalog, project)?;
    let closure = close(catalog, project, relocation, &seeds.objects);
    Ok(statements::build(
        catalog, project, relocation, seeds, closure,
    ))
}

fn check_provisioned(catalog: &Catalog, project: &ProjectName) -> Result<(), RelocateError> {
    let roles = project.roles();
    let missing = match &catalog.target_owner {
        None => format!("schema `{project}` does not exist"),
        Some(owner) if *owner != roles.owner => {
            format!(
                "schema `{project}` is owned by `{owner}`, not `{}`",
                roles.owner
            )
        }
        _ if !catalog.app_exists => format!("role `{}` does not exist", roles.app),
        _ if !catalog.admin_can_set_steward => format!(
            "the admin `{}` cannot act as steward `{}`",
            catalog.admin,
            steward_of(project)
        ),
        _ => return Ok(()),
    };
    Err(RelocateError::NotProvisioned {
        project: project.clone(),
        missing,
    })
}

/// Why one attempt ended without committing.
enum Failure {
    /// A lock was not granted within the timeout (or a deadlock was broken): retry.
    Lock {
        objects: (Vec<u32>, Vec<u32>),
    },
    Error(RelocateError),
}

impl From<RelocateError> for Failure {
    fn from(error: RelocateError) -> Self {
        Failure::Error(error)
    }
}

/// Reads `client`'s catalog and returns the dependency analysis of relocating there, without
/// requiring the project to be provisioned: what [`plan`] finds on an instance where `project`
/// does not exist yet — a project's own old instance that [`import`](crate::import) reads. The
/// plan's moves and blockers are what `relocate` would list for the same objects; its statements
/// are not meant to run there. Reads in a read-only transaction of its own, as [`plan`] does.
pub async fn analyse(
    client: &Client,
    project: &ProjectName,
    relocation: &Relocation,
) -> Result<RelocationPlan, RelocateError> {
    let catalog = read_catalog(client, project).await?;
    let seeds = relocation.get_selection().seeds(&catalog, project)?;
    let closure = close(&catalog, project, relocation, &seeds.objects);
    Ok(statements::build(
        &catalog, project, relocation, seeds, closure,
    ))
}

/// Relocates inside `tx`, a transaction the caller opened and commits: one attempt, no retry.
/// [`import`](crate::import) creates the objects in `public` and moves them on in the same
/// transaction. `search_path` is left pinned to `pg_catalog`. A lock timeout is reported as
/// [`RelocateError::LockTimeout`] after this one attempt.
pub(crate) async fn relocate_in(
    tx: &Transaction<'_>,
    project: &ProjectName,
    relocation: &Relocation,
) -> Result<Relocated, RelocateError> {
    attempt_in(tx, project, relocation)
        .await
        .map_err(|failure| match failure {
            Failure::Lock { .. } => RelocateError::LockTimeout {
                project: project.clone(),
                attempts: 1,
                lock_timeout: relocation.get_lock_timeout(),
                holders: Vec::new(),
            },
            Failure::Error(error) => error,
        })
}

async fn attempt_once(
    client: &mut Client,
    project: &ProjectName,
    relocation: &Relocation,
) -> Result<Relocated, Failure> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| apply_error(project, "opening the transaction", "BEGIN", e))?;
    let started = Instant::now();
    let done = attempt_in(&tx, project, relocation).await?;
    if done.plan.is_empty() {
        return Ok(done);
    }
    let before_locking = started.elapsed().saturating_sub(done.exclusive_for);
    tx.commit().await.map_err(|e| match e.code() {
        Some(code)
            if *code == SqlState::LOCK_NOT_AVAILABLE
                || *code == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            Failure::Lock {
                objects: Default::default(),
            }
        }
        _ => Failure::Error(apply_error(project, "committing", "COMMIT", e)),
    })?;
    Ok(Relocated {
        exclusive_for: started.elapsed().saturating_sub(before_locking),
        ..done
    })
}

/// One attempt inside `tx`, everything but the commit. `exclusive_for` is measured up to the
/// end of verification.
async fn attempt_in(
    tx: &Transaction<'_>,
    project: &ProjectName,
    relocation: &Relocation,
) -> Result<Relocated, Failure> {
    // Waiting for the project's lock queues only other cotenant runs for the project, so the
    // lock timeout starts after it. JIT is off for the transaction: its catalog reads are small,
    // and compiling a plan (which a big catalog's estimates could call for) costs more than
    // running it. The catalog read is pipelined behind: it runs once the lock is taken.
    let lock = format!(
        "SELECT pg_advisory_xact_lock({}); SET LOCAL lock_timeout = '{}ms'; SET LOCAL jit = off; {QUALIFY_NAMES}",
        LockKey::provision(project).as_i64(),
        relocation.get_lock_timeout().as_millis()
    );
    let steward = steward_of(project);
    let (locked, catalog, reads) = join3(
        tx.batch_execute(&lock),
        Catalog::read(tx, project, &steward),
        verify::prepare(tx),
    )
    .await;
    locked.map_err(|e| apply_error(project, "taking the project's lock", &lock, e))?;
    let catalog = catalog?;
    let reads = reads.map_err(|e| {
        apply_error(
            project,
            "verifying",
            "preparing the reads of verification",
            e,
        )
    })?;
    let plan = compute(&catalog, project, relocation)?;
    if plan.is_blocked() {
        return Err(RelocateError::Blocked {
            project: project.clone(),
            blockers: plan
                .blockers()
                .iter()
                .filter(|b| !b.is_resolved())
                .cloned()
                .collect(),
        }
        .into());
    }
    if plan.is_empty() {
        return Ok(Relocated {
            plan,
            verified: Verified::default(),
            attempts: 1,
            exclusive_for: Duration::ZERO,
        });
    }
    // A signup hook's type and grants must exist before the hook is created.
    if plan.makes_signup_hook() {
        converge_platform(tx, project, relocation, Some(&plan)).await?;
    }
    let checks = plan.checks();
    let objects = (
        checks.relations.clone(),
        checks
            .types
            .iter()
            .chain(&checks.functions)
            .copied()
            .collect(),
    );
    let classify = |step: &str, statement: &str, error: tokio_postgres::Error| match error.code() {
        Some(code)
            if *code == SqlState::LOCK_NOT_AVAILABLE
                || *code == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            Failure::Lock {
                objects: objects.clone(),
            }
        }
        _ => Failure::Error(apply_error(project, step, statement, error)),
    };
    // Every stage's statements and the verification reads between them go out pipelined: one
    // round trip while the exclusive locks are held, whatever the plan's size, then COMMIT. The
    // server runs them in order, so each read sees what the stages before it did; after a
    // failure the rest fail too, and the first failure in that order is the one reported.
    // The relfilenodes are read twice: planned once.
    let generic = "SET LOCAL plan_cache_mode = force_generic_plan";
    let level = relocation.get_verification();
    let locking = Instant::now();
    let (prepare, relocate, finish) = join3(
        join4(
            tx.batch_execute(generic),
            run(tx, &plan, Stage::Prepare),
            verify::filenodes(tx, &reads, checks),
            verify::sample(tx, checks, level, false),
        ),
        join(
            run(tx, &plan, Stage::Relocate),
            verify::sample(tx, checks, level, true),
        ),
        join3(
            run(tx, &plan, Stage::Finish),
            verify::filenodes(tx, &reads, checks),
            verify::final_state(tx, &reads, &plan),
        ),
    )
    .await;
    let (generic_set, prepared, files_before, rows_before) = prepare;
    generic_set.map_err(|e| classify("verifying", generic, e))?;
    let (relocated, rows_after) = relocate;
    let (finished, files_after, problems) = finish;
    prepared.map_err(|(step, sql, e)| classify(&step, &sql, e))?;
    let verifying = |e| {
        classify(
            "verifying",
            "reading relfilenodes and rows before the move",
            e,
        )
    };
    let (files_before, rows_before) = (
        files_before.map_err(verifying)?,
        rows_before.map_err(verifying)?,
    );
    relocated.map_err(|(step, sql, e)| classify(&step, &sql, e))?;
    let rows_after =
        rows_after.map_err(|e| classify("verifying", "reading rows after the move", e))?;
    finished.map_err(|(step, sql, e)| classify(&step, &sql, e))?;
    let verifying = |e| classify("verifying", "reading the moved objects' state", e);
    let (files_after, problems) = (
        files_after.map_err(verifying)?,
        problems.map_err(verifying)?,
    );
    let verified = verify::compare(
        checks,
        level,
        (&rows_before, &files_before),
        (&rows_after, &files_after),
        problems,
    )
    .map_err(|mismatches| RelocateError::Verification {
        project: project.clone(),
        mismatches,
    })?;
    // Now the hook exists: the dispatcher is rewritten to call it.
    if plan.makes_signup_hook() {
        converge_platform(tx, project, relocation, None).await?;
    }
    Ok(Relocated {
        plan,
        verified,
        attempts: 1,
        exclusive_for: locking.elapsed(),
    })
}

/// Converges the platform access that came with `relocation` inside its transaction. Platform
/// statements are written for the admin's own search path, which the relocation pinned.
/// `before` the move, the Realtime tables that `plan` is about to move in are left out: they
/// are not in the project's schema yet (and keep their publication membership as they move).
async fn converge_platform(
    tx: &Transaction<'_>,
    project: &ProjectName,
    relocation: &Relocation,
    before: Option<&RelocationPlan>,
) -> Result<(), Failure> {
    let Some((access, allowlist)) = relocation.get_platform() else {
        return Ok(());
    };
    let mut access = access.clone();
    if let Some(plan) = before {
        let moving: Vec<&String> = plan
            .checks()
            .expected
            .iter()
            .filter(|(id, _)| id.kind == Kind::Relation)
            .map(|(_, name)| name)
            .collect();
        access.realtime.retain(|table| !moving.contains(&table));
    }
    tx.batch_execute("RESET search_path").await.map_err(|e| {
        apply_error(
            project,
            "converging platform access",
            "RESET search_path",
            e,
        )
    })?;
    crate::platform::apply_in(tx, project, &access, allowlist)
        .await
        .map_err(|source| RelocateError::Platform {
            project: project.clone(),
            source: Box::new(source),
        })?;
    tx.batch_execute(QUALIFY_NAMES)
        .await
        .map_err(|e| apply_error(project, "converging platform access", QUALIFY_NAMES, e))?;
    Ok(())
}

/// Runs one stage's statements, switching roles as they need. They are sent pipelined — one
/// round trip for the stage — and the first failure is reported with its statement.
async fn run(
    tx: &Transaction<'_>,
    plan: &RelocationPlan,
    stage: Stage,
) -> Result<(), (String, String, tokio_postgres::Error)> {
    let mut statements: Vec<(String, String)> = Vec::new();
    let mut current = Actor::Admin;
    for step in plan.stage(stage) {
        if step.actor() != current {
            statements.push((step.why().to_owned(), plan.switch_to(step.actor())));
            current = step.actor();
        }
        statements.push((step.why().to_owned(), step.sql()));
    }
    if current != Actor::Admin {
        statements.push(("returning to the admin".to_owned(), "RESET ROLE".to_owned()));
    }
    let results =
        futures_util::future::join_all(statements.iter().map(|(_, sql)| tx.batch_execute(sql)))
            .await;
    for ((why, sql), result) in statements.into_iter().zip(results) {
        if let Err(error) = result {
            return Err((why, sql, error));
        }
    }
    Ok(())
}

fn apply_error(
    project: &ProjectName,
    step: &str,
    statement: &str,
    source: tokio_postgres::Error,
) -> RelocateError {
    RelocateError::Apply {
        project: project.clone(),
        step: step.to_owned(),
        statement: statement.to_owned(),
        source,
    }
}

/// The pause before attempt `attempt + 1`: 250 ms doubling to at most 4 s, with up to 50%
/// added at random so that runs retrying together do not collide again.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(250) * 2u32.pow(attempt.saturating_sub(1).min(4));
    base.mul_f64(1.0 + rand::random::<f64>() / 2.0)
}

/// The sessions holding locks on the objects of the last attempt's plan.
async fn holders(
    client: &Client,
    (relations, objects): &(Vec<u32>, Vec<u32>),
) -> Result<Vec<LockHolder>, tokio_postgres::Error> {
    let rows = client
        .query_typed(
            include_str!("../../sql/relocate/lock_holders.sql"),
            &[(relations, Type::OID_ARRAY), (objects, Type::OID_ARRAY)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| LockHolder {
            pid: r.get(0),
            user: r.get(1),
            application_name: r.get(2),
            state: r.get(3),
            transaction_age_secs: r.get(4),
            mode: r.get(5),
            object: r.get(6),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let first = backoff(1);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(375));
        let late = backoff(20);
        assert!(late >= Duration::from_secs(4) && late <= Duration::from_secs(6));
    }
}
