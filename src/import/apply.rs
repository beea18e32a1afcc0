//! Importing: the source read in one snapshot (relocation's analysis first), then one
//! transaction on the target that creates the source's schema in `public`, streams the rows,
//! brings the users, and relocates everything into the project before it commits.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt, pin_mut};
use tokio_postgres::{Client, GenericClient, Transaction};

use super::dump::{self, Dump};
use super::plan::{ImportPlan, TableCopy, UsersPlan};
use super::{Import, ImportError, Source, UserCollision};
use crate::ProjectName;
use crate::ident::quote_ident;
use crate::lock::LockKey;
use crate::platform::AUTH_OWNER;
use crate::relocate::{self, Relocated, RelocationPlan, Selection};

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    plan: ImportPlan,
    relocated: Option<Relocated>,
    rows: Vec<(String, u64)>,
    users: u64,
    identities: u64,
    took: Duration,
}

impl Imported {
    /// The plan it applied; [empty](ImportPlan::is_empty) when an earlier import had done it.
    pub fn plan(&self) -> &ImportPlan {
        &self.plan
    }

    /// The relocation of the imported objects into the project, inside the import's
    /// transaction.
    pub fn relocated(&self) -> Option<&Relocated> {
        self.relocated.as_ref()
    }

    /// The rows copied, per table, as the source sent them and the target counted them.
    pub fn rows(&self) -> &[(String, u64)] {
        &self.rows
    }

    /// The users inserted into the shared `auth.users` (not counting those already there or
    /// mapped).
    pub fn users(&self) -> u64 {
        self.users
    }

    /// The identities inserted into `auth.identities`.
    pub fn identities(&self) -> u64 {
        self.identities
    }

    /// How long the target's transaction took, COMMIT included.
    pub fn took(&self) -> Duration {
        self.took
    }
}

/// Reads the source (relocation's dependency analysis, then its schema, tables and users in one
/// snapshot) and the target, and returns what importing would do, changing nothing on either.
///
/// `target` is the admin connection to the shared instance, not inside a transaction.
///
/// ```no_run
/// # async fn run(target: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use cotenant::import::{self, Import, Source};
/// use cotenant::relocate::{Relocation, Selection};
///
/// let source = Source::from_dsn("postgres://postgres:secret@old-crm.example/postgres")?;
/// let plan = import::plan(&source, &target, &"crm".parse()?, &Import::new(Relocation::new(Selection::All))).await?;
/// print!("{plan}{}", plan.to_sql());
/// # Ok(()) }
/// ```
pub async fn plan(
    source: &Source,
    target: &Client,
    project: &ProjectName,
    import: &Import,
) -> Result<ImportPlan, ImportError> {
    let read = SourceRead::read(source, project, import).await?;
    let plan = read.state.plan_against(target, project, import).await;
    read.close().await;
    plan
}

/// Imports `public` of `source` (a project's own old instance) into `project` on the instance
/// of `target`, in one transaction, the source only read.
///
/// First relocation's dependency analysis runs on the source: a finding no choice of `import`
/// handles stops here, before the target is touched ([`ImportError::Blocked`]). Then, in one
/// REPEATABLE READ snapshot of the source: pg_dump of `public`'s schema and the tables' rows.
/// On the target, in one transaction under the project's lock: the names the import needs
/// must be free ([`ImportError::Clash`]) and the users must not collide
/// ([`ImportError::UserCollisions`], or a users map); then the schema is created in `public`
/// (invisible to other sessions until commit), the rows streamed with COPY, sequences set,
/// users inserted into the shared `auth.users` with its triggers disabled (they are not
/// signups), constraints, indexes, triggers and policies created, and everything relocated
/// into `<p>` as `relocate` does — owned by `<p>_owner`, granted to `<p>_app`, a signup
/// trigger turned into the project's signup hook. Any failure rolls everything back; running
/// it again after a success does nothing.
///
/// The connection's session settings are those pg_dump's script sets (`search_path`, …)
/// afterwards: give it a connection of its own.
pub async fn import(
    source: &Source,
    target: &mut Client,
    project: &ProjectName,
    import: &Import,
) -> Result<Imported, ImportError> {
    let read = SourceRead::read(source, project, import).await?;
    // The source's findings stop the import before the target is touched.
    if read.state.findings.is_blocked() {
        let error = blocked(project, &read.state.findings);
        read.close().await;
        return Err(error);
    }
    let result = apply(&read, target, project, import).await;
    read.close().await;
    result
}

async fn apply(
    read: &SourceRead,
    target: &mut Client,
    project: &ProjectName,
    import: &Import,
) -> Result<Imported, ImportError> {
    let started = Instant::now();
    let fail = |step: &str| {
        let step = step.to_owned();
        move |source| ImportError::Apply {
            project: project.clone(),
            step: step.clone(),
            source,
        }
    };
    let tx = target
        .transaction()
        .await
        .map_err(fail("opening the transaction"))?;
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock({})",
        LockKey::provision(project).as_i64()
    ))
    .await
    .map_err(fail("taking the project's lock"))?;
    let plan = read.state.plan_against(&tx, project, import).await?;
    if plan.is_empty() {
        return Ok(Imported {
            plan,
            relocated: None,
            rows: Vec::new(),
            users: 0,
            identities: 0,
            took: started.elapsed(),
        });
    }
    refuse_blocked(&plan)?;

    tx.batch_execute(&read.state.dump.pre_data)
        .await
        .map_err(fail(
            "creating the source's schema in public (pg_dump's pre-data)",
        ))?;
    let mut rows = Vec::new();
    for table in &plan.tables {
        let name = format!("public.{}", quote_ident(&table.name));
        let columns = table.column_list();
        let copied = stream(
            &read.client,
            &format!("COPY {name} ({columns}) TO STDOUT"),
            &tx,
            &format!("COPY {name} ({columns}) FROM STDIN"),
            project,
            &format!("copying the rows of {name}"),
        )
        .await?;
        rows.push((table.name.clone(), copied));
    }
    for (name, value, called) in &plan.sequences {
        tx.query(
            "SELECT pg_catalog.setval($1::text::regclass, $2, $3)",
            &[&format!("public.{}", quote_ident(name)), value, called],
        )
        .await
        .map_err(fail(&format!("setting sequence public.{name}")))?;
    }
    let (mut users, mut identities) = (0, 0);
    if let Some(users_plan) = &plan.users {
        (users, identities) = import_users(read, &tx, project, users_plan).await?;
    }
    tx.batch_execute(&read.state.dump.post_data)
        .await
        .map_err(fail(
            "creating constraints, indexes, triggers and policies (pg_dump's post-data)",
        ))?;
    for (name, definition) in &plan.signup_triggers {
        tx.batch_execute(definition).await.map_err(fail(&format!(
            "recreating the source's signup trigger `{name}` on auth.users"
        )))?;
    }
    let relocation = import
        .get_relocation()
        .clone()
        .with_selection(Selection::Objects(plan.objects.clone()));
    let relocated = relocate::relocate_in(&tx, project, &relocation)
        .await
        .map_err(|source| ImportError::Relocate {
            project: project.clone(),
            source: Box::new(source),
        })?;
    tx.commit().await.map_err(fail("committing"))?;
    Ok(Imported {
        plan,
        relocated: Some(relocated),
        rows,
        users,
        identities,
        took: started.elapsed(),
    })
}

fn refuse_blocked(plan: &ImportPlan) -> Result<(), ImportError> {
    if plan.findings.is_blocked() {
        return Err(blocked(&plan.project, &plan.findings));
    }
    if !plan.clashes.is_empty() {
        return Err(ImportError::Clash {
            project: plan.project.clone(),
            clashes: plan.clashes.clone(),
        });
    }
    if let Some(users) = plan.users.as_ref().filter(|u| !u.collisions.is_empty()) {
        return Err(ImportError::UserCollisions {
            project: plan.project.clone(),
            collisions: users.collisions.clone(),
        });
    }
    Ok(())
}

fn blocked(project: &ProjectName, findings: &RelocationPlan) -> ImportError {
    ImportError::Blocked {
        project: project.clone(),
        blockers: findings
            .blockers()
            .iter()
            .filter(|b| !b.is_resolved())
            .cloned()
            .collect(),
    }
}

/// Streams `COPY … TO STDOUT` on the source into `COPY … FROM STDIN` on the target, in text
/// format (the same across major versions, for every type: binary COPY names element types by
/// OID, which differ between instances). Checks that the target took every row the source sent:
/// in text format a row ends with the only unescaped newline.
async fn stream(
    source: &Client,
    out_sql: &str,
    tx: &Transaction<'_>,
    in_sql: &str,
    project: &ProjectName,
    step: &str,
) -> Result<u64, ImportError> {
    let read_fail = |source| ImportError::SourceRead {
        project: project.clone(),
        step: step.to_owned(),
        source,
    };
    let write_fail = |source| ImportError::Apply {
        project: project.clone(),
        step: step.to_owned(),
        source,
    };
    let out = source.copy_out(out_sql).await.map_err(read_fail)?;
    let sink = tx.copy_in(in_sql).await.map_err(write_fail)?;
    pin_mut!(out, sink);
    let mut sent = 0u64;
    while let Some(chunk) = out.next().await {
        let chunk = chunk.map_err(read_fail)?;
        sent += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        // `feed`, not `send`: the server sends one message per row, and flushing each would
        // make every row a write of its own; the sink flushes as its buffer fills.
        sink.feed(chunk).await.map_err(write_fail)?;
    }
    let written = sink.finish().await.map_err(write_fail)?;
    if written != sent {
        return Err(ImportError::Verification {
            project: project.clone(),
            mismatches: vec![format!(
                "{step}: the source sent {sent} row(s), the target took {written}"
            )],
        });
    }
    Ok(written)
}

/// Brings the source's users into the shared auth: through temporary tables of this session
/// (dropped at commit, reachable by no other session), inserted as the admin — which holds the
/// auth tables' privileges on hosted Supabase — with the target's triggers on auth.users
/// disabled by their owner `supabase_auth_admin` around the inserts, so that no project's
/// signup hook fires for users who did not sign up. Mapped users stay out, and the rows that
/// reference them are rewritten to the users they map to first.
async fn import_users(
    read: &SourceRead,
    tx: &Transaction<'_>,
    project: &ProjectName,
    users: &UsersPlan,
) -> Result<(u64, u64), ImportError> {
    let fail = |step: &str| {
        let step = step.to_owned();
        move |source| ImportError::Apply {
            project: project.clone(),
            step: step.clone(),
            source,
        }
    };
    let (sources, targets): (Vec<String>, Vec<String>) = users.mapped.iter().cloned().unzip();
    if !sources.is_empty() {
        for (table, column) in &users.references {
            let (table, column) = (quote_ident(table), quote_ident(column));
            tx.execute(
                &format!(
                    "UPDATE public.{table} AS t SET {column} = m.target::uuid
                     FROM unnest($1::text[], $2::text[]) AS m(source, target)
                     WHERE t.{column} = m.source::uuid"
                ),
                &[&sources, &targets],
            )
            .await
            .map_err(fail(&format!(
                "rewriting mapped users in public.{table}.{column}"
            )))?;
        }
    }
    let mut copied = Vec::new();
    for (table, columns) in [
        ("users", &users.user_columns),
        ("identities", &users.identity_columns),
    ] {
        if columns.is_empty() {
            copied.push(false);
            continue;
        }
        let list = columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let temp = format!(
            "pg_temp.{}",
            quote_ident(&format!("cotenant_import_{table}"))
        );
        tx.batch_execute(&format!(
            "CREATE TEMP TABLE {temp} ON COMMIT DROP AS SELECT {list} FROM auth.{table} WITH NO DATA"
        ))
        .await
        .map_err(fail(&format!("preparing the import of auth.{table}")))?;
        stream(
            &read.client,
            &format!("COPY (SELECT {list} FROM auth.{table}) TO STDOUT"),
            tx,
            &format!("COPY {temp} ({list}) FROM STDIN"),
            project,
            &format!("copying auth.{table}"),
        )
        .await?;
        copied.push(true);
    }
    let owner = quote_ident(AUTH_OWNER);
    let switch = |enable: bool| {
        let mut sql = format!("SET LOCAL ROLE {owner};");
        for trigger in &users.triggers {
            sql.push_str(&format!(
                " ALTER TABLE auth.users {} TRIGGER {};",
                if enable { "ENABLE" } else { "DISABLE" },
                quote_ident(trigger)
            ));
        }
        sql.push_str(" RESET ROLE;");
        sql
    };
    if !users.triggers.is_empty() {
        tx.batch_execute(&switch(false)).await.map_err(fail(
            "disabling the triggers on auth.users as supabase_auth_admin",
        ))?;
    }
    let list = |columns: &[String]| {
        columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let inserted_users = tx
        .execute(
            &format!(
                "INSERT INTO auth.users ({cols}) SELECT {cols} FROM pg_temp.cotenant_import_users
                 WHERE id::text <> ALL ($1::text[]) ON CONFLICT (id) DO NOTHING",
                cols = list(&users.user_columns)
            ),
            &[&sources],
        )
        .await
        .map_err(fail("inserting the source's users into auth.users"))?;
    let inserted_identities = if copied[1] {
        tx.execute(
            &format!(
                "INSERT INTO auth.identities ({cols}) SELECT {cols} FROM pg_temp.cotenant_import_identities
                 WHERE user_id::text <> ALL ($1::text[]) ON CONFLICT DO NOTHING",
                cols = list(&users.identity_columns)
            ),
            &[&sources],
        )
        .await
        .map_err(fail("inserting the source's identities into auth.identities"))?
    } else {
        0
    };
    if !users.triggers.is_empty() {
        tx.batch_execute(&switch(true))
            .await
            .map_err(fail("enabling the triggers on auth.users again"))?;
    }
    Ok((inserted_users, inserted_identities))
}

/// The source, read: the connection still inside its snapshot, and what was read in it.
struct SourceRead {
    client: Client,
    state: SourceState,
}

/// What the source holds, as of one snapshot.
struct SourceState {
    display: String,
    major: u32,
    pg_dump: String,
    findings: RelocationPlan,
    tables: Vec<TableCopy>,
    sequences: Vec<(String, i64, bool)>,
    names: Vec<(String, String)>,
    auth_columns: Vec<(String, String, String)>,
    users: Vec<(String, Option<String>)>,
    references: Vec<(String, String)>,
    signup_triggers: Vec<(String, String)>,
    dump: Dump,
}

impl SourceRead {
    async fn read(
        source: &Source,
        project: &ProjectName,
        import: &Import,
    ) -> Result<Self, ImportError> {
        let client = source.connect().await?;
        let read_fail = |step: &str| {
            let step = step.to_owned();
            move |source| ImportError::SourceRead {
                project: project.clone(),
                step: step.clone(),
                source,
            }
        };
        // Relocation's analysis, on the source's catalog: the same findings `relocate` lists.
        let findings = relocate::analyse(&client, project, import.get_relocation())
            .await
            .map_err(|source| ImportError::Relocate {
                project: project.clone(),
                source: Box::new(source),
            })?;
        let major: i32 = client
            .query_one(
                "SELECT current_setting('server_version_num')::int / 10000",
                &[],
            )
            .await
            .map_err(read_fail("reading the server version"))?
            .get(0);
        let major = major as u32;
        let pg_dump = match import.get_pg_dump() {
            Some(path) => path.clone(),
            None => dump::find_pg_dump(major)?,
        };
        client
            .batch_execute(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = pg_catalog",
            )
            .await
            .map_err(read_fail("opening the snapshot"))?;
        let snapshot: String = client
            .query_one("SELECT pg_export_snapshot()", &[])
            .await
            .map_err(read_fail("exporting the snapshot"))?
            .get(0);
        let dump_sql = dump::dump(&pg_dump, source, Some(snapshot), project);
        let reads = read_state(&client, project);
        let (dump_sql, reads) = futures_util::future::join(dump_sql, reads).await;
        let (tables, sequences, names, auth_columns, users, references, signup_triggers) = reads?;
        let state = SourceState {
            display: source.to_string(),
            major,
            pg_dump: pg_dump.display().to_string(),
            findings,
            tables,
            sequences,
            names,
            auth_columns,
            users,
            references,
            signup_triggers,
            dump: dump_sql?,
        };
        Ok(SourceRead { client, state })
    }

    async fn close(self) {
        if let Err(error) = self.client.batch_execute("ROLLBACK").await {
            tracing::debug!(target: "cotenant::import", %error, "ending the source's snapshot");
        }
    }
}

type StateParts = (
    Vec<TableCopy>,
    Vec<(String, i64, bool)>,
    Vec<(String, String)>,
    Vec<(String, String, String)>,
    Vec<(String, Option<String>)>,
    Vec<(String, String)>,
    Vec<(String, String)>,
);

async fn read_state(client: &Client, project: &ProjectName) -> Result<StateParts, ImportError> {
    let read_fail = |step: &'static str| {
        move |source| ImportError::SourceRead {
            project: project.clone(),
            step: step.to_owned(),
            source,
        }
    };
    let tables = client
        .query(include_str!("../../sql/import/tables.sql"), &[])
        .await
        .map_err(read_fail("listing public's tables"))?
        .iter()
        .map(|r| TableCopy {
            name: r.get(0),
            columns: r.get(1),
            estimate: r.get(2),
        })
        .collect();
    let mut sequences = Vec::new();
    for row in client
        .query(include_str!("../../sql/import/sequences.sql"), &[])
        .await
        .map_err(read_fail("listing public's sequences"))?
    {
        let name: String = row.get(0);
        let value = client
            .query_one(
                &format!(
                    "SELECT last_value, is_called FROM public.{}",
                    quote_ident(&name)
                ),
                &[],
            )
            .await
            .map_err(read_fail("reading a sequence"))?;
        sequences.push((name, value.get(0), value.get(1)));
    }
    let names = client
        .query(include_str!("../../sql/import/names.sql"), &[])
        .await
        .map_err(read_fail("listing public's objects"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let auth_columns: Vec<(String, String, String)> = client
        .query(include_str!("../../sql/import/auth_columns.sql"), &[])
        .await
        .map_err(read_fail("reading auth's columns"))?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let users = if auth_columns.iter().any(|(t, ..)| t == "users") {
        client
            .query(
                "SELECT id::text, email::text FROM auth.users ORDER BY id",
                &[],
            )
            .await
            .map_err(read_fail("reading auth.users"))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    } else {
        Vec::new()
    };
    let references = client
        .query(include_str!("../../sql/import/user_references.sql"), &[])
        .await
        .map_err(read_fail("reading the references to auth.users"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let signup_triggers = client
        .query(include_str!("../../sql/import/signup_triggers.sql"), &[])
        .await
        .map_err(read_fail("reading the triggers on auth.users"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok((
        tables,
        sequences,
        names,
        auth_columns,
        users,
        references,
        signup_triggers,
    ))
}

impl SourceState {
    /// The plan, with the target's side read through `target` (inside the import's transaction
    /// when applying).
    async fn plan_against(
        &self,
        target: &impl GenericClient,
        project: &ProjectName,
        import: &Import,
    ) -> Result<ImportPlan, ImportError> {
        let fail = |step: &'static str| {
            move |source| ImportError::Apply {
                project: project.clone(),
                step: step.to_owned(),
                source,
            }
        };
        let roles = project.roles();
        let facts = target
            .query_one(
                "SELECT current_database()::text,
                        (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1),
                        to_regrole(quote_ident($2)) IS NOT NULL",
                &[&project.as_str(), &roles.app],
            )
            .await
            .map_err(fail("reading the target"))?;
        let database: String = facts.get(0);
        let owner: Option<String> = facts.get(1);
        let missing = match owner {
            None => Some(format!("schema `{project}` does not exist")),
            Some(o) if o != roles.owner => Some(format!(
                "schema `{project}` is owned by `{o}`, not `{}`",
                roles.owner
            )),
            _ if !facts.get::<_, bool>(2) => Some(format!("role `{}` does not exist", roles.app)),
            _ => None,
        };
        if let Some(missing) = missing {
            return Err(ImportError::NotProvisioned {
                project: project.clone(),
                missing,
            });
        }
        let in_public: BTreeSet<(String, String)> = target
            .query(include_str!("../../sql/import/names.sql"), &[])
            .await
            .map_err(fail("listing the target's public"))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut clashes: Vec<String> = self
            .names
            .iter()
            .filter(|n| in_public.contains(*n))
            .map(|(kind, name)| format!("{kind} public.{name}"))
            .collect();
        let in_project: BTreeSet<String> = target
            .query(
                "SELECT relname::text FROM pg_class WHERE relnamespace = to_regnamespace(quote_ident($1))",
                &[&project.as_str()],
            )
            .await
            .map_err(fail("listing the project's schema"))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let present: Vec<&TableCopy> = self
            .tables
            .iter()
            .filter(|t| in_project.contains(&t.name))
            .collect();
        let already_imported = !self.tables.is_empty() && present.len() == self.tables.len();
        if !already_imported {
            clashes.extend(
                present
                    .iter()
                    .map(|t| format!("relation {project}.{}", t.name)),
            );
        }
        let trigger_names: Vec<String> = self
            .signup_triggers
            .iter()
            .map(|(n, _)| n.clone())
            .collect();
        clashes.extend(
            target
                .query(
                    "SELECT tgname::text FROM pg_trigger
                     WHERE tgrelid = to_regclass('auth.users') AND tgname = ANY ($1)",
                    &[&trigger_names],
                )
                .await
                .map_err(fail("reading the triggers on auth.users"))?
                .iter()
                .map(|r| format!("trigger {} on auth.users", r.get::<_, String>(0))),
        );
        let users = self.users_plan(target, project, import).await?;
        let mut objects: Vec<String> = self
            .names
            .iter()
            .map(|(kind, name)| match kind.as_str() {
                "routine" => name.split('(').next().unwrap_or(name).to_owned(),
                _ => name.clone(),
            })
            .collect();
        objects.dedup();
        Ok(ImportPlan {
            project: project.clone(),
            source: self.display.clone(),
            source_major: self.major,
            target_database: database,
            pg_dump: self.pg_dump.clone(),
            findings: self.findings.clone(),
            tables: self.tables.clone(),
            sequences: self.sequences.clone(),
            objects,
            clashes,
            already_imported,
            users,
            signup_triggers: self.signup_triggers.clone(),
            dump: self.dump.clone(),
        })
    }

    async fn users_plan(
        &self,
        target: &impl GenericClient,
        project: &ProjectName,
        import: &Import,
    ) -> Result<Option<UsersPlan>, ImportError> {
        if self.users.is_empty() {
            return Ok(None);
        }
        let fail = |step: &'static str| {
            move |source| ImportError::Apply {
                project: project.clone(),
                step: step.to_owned(),
                source,
            }
        };
        let theirs: BTreeSet<(String, String, String)> = target
            .query(include_str!("../../sql/import/auth_columns.sql"), &[])
            .await
            .map_err(fail("reading the shared auth's columns"))?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let common = |table: &str| -> Vec<String> {
            self.auth_columns
                .iter()
                .filter(|c| c.0 == table && theirs.contains(*c))
                .map(|c| c.1.clone())
                .collect()
        };
        let (user_columns, identity_columns) = (common("users"), common("identities"));
        if !user_columns.iter().any(|c| c == "id") {
            return Err(ImportError::Source {
                from: self.display.clone(),
                reason: format!(
                    "it has {} user(s) in auth.users, and the target has no auth.users with an `id` like it: import into a Supabase instance",
                    self.users.len()
                ),
            });
        }
        let map = import.get_users_map();
        let source_ids: BTreeSet<&str> = self.users.iter().map(|(id, _)| id.as_str()).collect();
        let mapped: Vec<(String, String)> = map
            .pairs()
            .map(|(s, t)| (s.to_owned(), t.to_owned()))
            .collect();
        if let Some((s, _)) = mapped
            .iter()
            .find(|(s, _)| !source_ids.contains(s.as_str()))
        {
            return Err(ImportError::UsersMap {
                path: None,
                reason: format!("it maps `{s}`, which is no user of the source"),
            });
        }
        let target_ids: Vec<String> = mapped.iter().map(|(_, t)| t.clone()).collect();
        let found: BTreeSet<String> = target
            .query(
                "SELECT id::text FROM auth.users WHERE id = ANY ($1::text[]::uuid[])",
                &[&target_ids],
            )
            .await
            .map_err(fail("reading the mapped users"))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if let Some(t) = target_ids.iter().find(|t| !found.contains(*t)) {
            return Err(ImportError::UsersMap {
                path: None,
                reason: format!("it maps to `{t}`, which is no user of the shared instance"),
            });
        }
        let unmapped: Vec<&(String, Option<String>)> = self
            .users
            .iter()
            .filter(|(id, _)| map.get(id).is_none())
            .collect();
        let ids: Vec<String> = unmapped.iter().map(|(id, _)| id.clone()).collect();
        let emails: Vec<Option<String>> = unmapped.iter().map(|(_, e)| e.clone()).collect();
        let collisions = target
            .query(
                include_str!("../../sql/import/user_collisions.sql"),
                &[&ids, &emails],
            )
            .await
            .map_err(fail("looking for user collisions"))?
            .iter()
            .map(|r| UserCollision {
                source_id: r.get(0),
                email: r.get(1),
                target_id: r.get(2),
                target_email: r.get(3),
            })
            .collect();
        let already: i64 = target
            .query_one(
                "SELECT count(*) FROM unnest($1::text[], $2::text[]) AS s(id, email)
                 JOIN auth.users u ON u.id = s.id::uuid AND lower(u.email) IS NOT DISTINCT FROM lower(s.email)",
                &[&ids, &emails],
            )
            .await
            .map_err(fail("counting the users already there"))?
            .get(0);
        let triggers = target
            .query(include_str!("../../sql/import/auth_triggers.sql"), &[])
            .await
            .map_err(fail("reading the triggers on auth.users"))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(Some(UsersPlan {
            users: self.users.clone(),
            user_columns,
            identity_columns,
            already: already as usize,
            mapped,
            collisions,
            references: self.references.clone(),
            triggers,
        }))
    }
}
