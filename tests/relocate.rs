//! Relocation on real servers (the version in `COTENANT_TEST_PG`): a legacy CRM moved out of
//! public into its project, staging then prod, without a row copied or lost; interruption, lock
//! waits, idempotence; and every kind of blocker.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use cotenant::provision::{self, ProjectSettings};
use cotenant::relocate::{
    self, BlockerKind, ForeignKeyChoice, FunctionChoice, PolicyChoice, PublicationChoice,
    RelocateError, Relocation, SearchPathChoice, Selection, SharedChoice, Verification, ViewChoice,
};
use cotenant::secret::Login;
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Flavor, Pair, test_version};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

const LEGACY_CRM: &str = include_str!("fixtures/legacy_crm.sql");

/// Reads the application makes, unqualified; tables without row-level security.
const COUNTS: [&str; 5] = [
    "SELECT count(*) FROM organizations",
    "SELECT count(*) FROM email_sends WHERE opened_at IS NOT NULL",
    "SELECT count(*) FROM audit_log",
    "SELECT count(*) FROM open_deals WHERE org_id = 1",
    "SELECT count(*) FROM pipeline_summary",
];

/// How the legacy CRM's own choices read: its audit trigger is pinned to public, two policies
/// are for `authenticated` only, and notifications are streamed through a publication.
fn crm_relocation() -> Relocation {
    Relocation::new(Selection::All)
        .search_paths(SearchPathChoice::Repoint)
        .policies(PolicyChoice::ToApp)
        .publications(PublicationChoice::Keep)
        .verification(Verification::Checksums)
}

async fn provisioned(cotenant: &Cotenant, name: &str) -> ProjectName {
    let p = project(name);
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap_or_else(|e| panic!("provisioning {name}: {e}"));
    p
}

/// One relation as the superuser sees it, by OID: where it is, who owns it, its relfilenode,
/// and for relations with rows their count and an order-independent digest of their text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    schema: String,
    name: String,
    owner: String,
    filenode: Option<u32>,
    rows: Option<i64>,
    digest: Option<String>,
}

/// Every relation of `schema`, by OID.
async fn relations(su: &Client, schema: &str) -> BTreeMap<u32, Seen> {
    let mut seen = BTreeMap::new();
    for row in su
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text, pg_get_userbyid(c.relowner)::text,
                    pg_relation_filenode(c.oid), c.relkind IN ('r', 'm')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i')",
            &[&schema],
        )
        .await
        .unwrap()
    {
        let (schema, name): (String, String) = (row.get(1), row.get(2));
        let counted: bool = row.get(5);
        let (rows, digest) = if counted {
            // Not the library's checksum: md5 of every row's text in a fixed order.
            let r = su
                .query_one(
                    &format!(
                        "SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM \"{schema}\".\"{name}\" x"
                    ),
                    &[],
                )
                .await
                .unwrap();
            (Some(r.get(0)), Some(r.get(1)))
        } else {
            (None, None)
        };
        seen.insert(
            row.get(0),
            Seen {
                schema,
                name,
                owner: row.get(3),
                filenode: row.get(4),
                rows,
                digest,
            },
        );
    }
    seen
}

fn kinds(plan: &relocate::RelocationPlan) -> Vec<(BlockerKind, String)> {
    let mut kinds: Vec<(BlockerKind, String)> = plan
        .blockers()
        .iter()
        .map(|b| (b.kind(), b.object().to_owned()))
        .collect();
    kinds.sort();
    kinds
}

/// Privileges on objects of `schema` held by anyone but `<p>_owner` and `<p>_app`, and what
/// anon, authenticated and service_role may still do there.
async fn foreign_privileges(su: &Client, p: &ProjectName) -> Vec<String> {
    su.query(
        "WITH acl AS (
             SELECT c.relname::text AS name, a.grantee
             FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
             WHERE c.relnamespace = $1::text::regnamespace
             UNION ALL
             SELECT c.relname || '.' || att.attname, a.grantee
             FROM pg_class c JOIN pg_attribute att ON att.attrelid = c.oid, aclexplode(att.attacl) a
             WHERE c.relnamespace = $1::text::regnamespace AND att.attacl IS NOT NULL
             UNION ALL
             SELECT p.proname::text, a.grantee
             FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
             WHERE p.pronamespace = $1::text::regnamespace
             UNION ALL
             SELECT t.typname::text, a.grantee
             FROM pg_type t, aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a
             WHERE t.typnamespace = $1::text::regnamespace AND t.typelem = 0 AND t.typrelid = 0
         )
         SELECT name || ': ' || CASE grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(grantee)::text END
         FROM acl WHERE grantee = 0 OR pg_get_userbyid(grantee) NOT IN ($2, $3)
         UNION ALL
         SELECT c.relname || ': ' || r
         FROM pg_class c, unnest(ARRAY['anon', 'authenticated', 'service_role']) r
         WHERE c.relnamespace = $1::text::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
           AND has_table_privilege(r, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
         ORDER BY 1",
        &[&p.as_str(), &p.roles().owner, &p.roles().app],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test]
async fn a_legacy_crm_moves_into_its_schema_without_a_row_copied_or_lost() {
    // A pair of its own: `Selection::All` takes everything in public.
    let pair = Pair::start(test_version()).unwrap();
    if !is_supabase(&pair.prod, "the legacy CRM") {
        return;
    }
    let cotenant = deployment_on(&pair, "crm").await;
    let crm = provisioned(&cotenant, "crm").await;
    let neighbour = provisioned(&cotenant, "crm_neighbour").await;
    let mut before = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for (env, cluster) in pair.environments() {
        admin(cluster)
            .await
            .batch_execute(LEGACY_CRM)
            .await
            .unwrap();
        let su = superuser(cluster).await;
        before.insert(env, relations(&su, "public").await);
        // What the application reads today, to compare with what it reads afterwards.
        let mut expected = Vec::new();
        for sql in COUNTS {
            let n: i64 = su.query_one(sql, &[]).await.unwrap().get(0);
            expected.push((sql, n));
        }
        counts.insert(env, expected);
    }

    // The dry run reports what stands in the way, on both environments, and changes nothing.
    let dry = cotenant
        .plan_relocation(&crm, &Relocation::new(Selection::All))
        .await
        .unwrap();
    for (env, plan) in &dry {
        assert!(plan.is_blocked(), "{env}:\n{plan}");
        let mut expected = vec![
            (
                BlockerKind::SearchPath,
                "function public.audit_change()".to_owned(),
            ),
            (
                BlockerKind::Publication,
                "table public.notifications".to_owned(),
            ),
            (
                BlockerKind::Policy,
                "policy `contacts_org` on table public.contacts".to_owned(),
            ),
            (
                BlockerKind::Policy,
                "policy `deals_org` on table public.deals".to_owned(),
            ),
        ];
        expected.sort();
        assert_eq!(kinds(plan), expected, "{env}:\n{plan}");
        let text = plan.to_string();
        for expected in [
            "partition public.audit_log_2024 → crm.audit_log_2024 (partition of partitioned table public.audit_log)",
            "sequence public.quote_number_seq → crm.quote_number_seq",
            "enum type public.deal_status → crm.deal_status",
            "domain public.email_address → crm.email_address",
            "function public.deals_won(bigint) → crm.deals_won(bigint)",
            "view public.open_deals → crm.open_deals",
            "materialized view public.pipeline_summary → crm.pipeline_summary",
            "sequence public.contacts_id_seq → crm.contacts_id_seq (owned by table public.contacts: moves with it)",
        ] {
            assert!(
                text.contains(expected),
                "{env}: missing `{expected}` in:\n{text}"
            );
        }
        let err = cotenant
            .relocate(&crm, &Relocation::new(Selection::All))
            .await
            .unwrap_err();
        assert_eq!(err.blockers().len(), 4, "{err}");
    }
    for (env, cluster) in pair.environments() {
        assert_eq!(
            relations(&superuser(cluster).await, "public").await,
            before[env],
            "{env}: a refused relocation changes nothing"
        );
    }

    // With the choices made: staging, then prod.
    let done = cotenant.relocate(&crm, &crm_relocation()).await.unwrap();
    assert_eq!(
        done.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(),
        ["staging", "prod"]
    );
    for ((env, relocated), (_, cluster)) in done.iter().zip(pair.environments()) {
        let su = superuser(cluster).await;
        let after = relations(&su, "crm").await;
        assert!(
            relations(&su, "public").await.is_empty(),
            "{env}: public is empty"
        );
        // Every relation of public is in crm now, by OID: same file, same rows, same digest.
        for (oid, was) in &before[env.as_str()] {
            let now = after
                .get(oid)
                .unwrap_or_else(|| panic!("{env}: {} did not move", was.name));
            assert_eq!(
                (now.schema.as_str(), &now.name, &now.owner),
                ("crm", &was.name, &"crm_owner".to_owned()),
                "{env}"
            );
            assert_eq!(now.filenode, was.filenode, "{env}: {} rewritten", was.name);
            assert_eq!(
                (&now.rows, &now.digest),
                (&was.rows, &was.digest),
                "{env}: {} lost or changed rows",
                was.name
            );
        }
        let verified = relocated.verified();
        assert_eq!(verified.level(), Verification::Checksums);
        // 20 tables, the 3 partitions of audit_log and the materialized view.
        assert_eq!(verified.tables().len(), 24, "{env}: {verified:?}");
        let contacts = verified
            .tables()
            .iter()
            .find(|t| t.table() == "crm.contacts")
            .unwrap();
        assert_eq!(contacts.rows(), Some(2000));
        assert!(contacts.checksum().is_some());
        assert!(verified.files() > 60, "{env}: {}", verified.files());

        // Nobody outside the project holds anything on what moved.
        assert_eq!(
            foreign_privileges(&su, &crm).await,
            Vec::<String>::new(),
            "{env}"
        );
        // The publication still streams notifications, from its new schema.
        let published: i64 = su
            .query_one(
                "SELECT count(*) FROM pg_publication_tables
                 WHERE pubname = 'crm_realtime' AND schemaname = 'crm' AND tablename = 'notifications'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(published, 1, "{env}");
        // Provisioning finds nothing to change: relocation left no foreign grant behind.
        let plan = provision::plan(&admin(cluster).await, &crm, &ProjectSettings::default())
            .await
            .unwrap();
        assert!(plan.is_empty(), "{env}: provisioning still plans:\n{plan}");
        assert_invariants(cluster, &crm).await;
    }

    // The application, through its login, with unqualified names.
    for (env, cluster) in pair.environments() {
        let app = login(&cotenant, env, &crm, Login::App).await;
        for (sql, expected) in &counts[env] {
            let n: i64 = app.query_one(*sql, &[]).await.unwrap().get(0);
            assert_eq!(n, *expected, "{env}: {sql}");
        }
        // RLS: without the org set nothing is visible; the policy that was for `authenticated`
        // applies to crm_app now.
        let n: i64 = app
            .query_one("SELECT count(*) FROM contacts", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{env}: no org set");
        app.batch_execute("SET app.org_id = '2'").await.unwrap();
        let n: i64 = app
            .query_one("SELECT count(*) FROM contacts", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 400, "{env}: crm_app sees org 2's contacts");
        // Writes go through the triggers: the audit function resolves its names in crm now.
        let audited_deals = "SELECT count(*) FROM audit_log WHERE table_name = 'deals'";
        let audited_before: i64 = app.query_one(audited_deals, &[]).await.unwrap().get(0);
        assert_allowed(
            &app,
            "crm_app",
            "INSERT INTO deals (org_id, title, amount) VALUES (2, 'new', 10);
             UPDATE deals SET status = 'won' WHERE title = 'new';
             INSERT INTO quotes (deal_id, total) VALUES (1, 5);
             INSERT INTO contacts (org_id, first_name, last_name) VALUES (2, 'A', 'B');
             SELECT deals_won(2);",
        )
        .await;
        let audited: i64 = app.query_one(audited_deals, &[]).await.unwrap().get(0);
        assert_eq!(
            audited - audited_before,
            2,
            "{env}: insert and update audited"
        );
        for sql in [
            "DROP TABLE deals",
            "TRUNCATE notes",
            "CREATE TABLE leads (id int)",
            "ALTER TABLE contacts DISABLE ROW LEVEL SECURITY",
        ] {
            assert_denied(&app, "crm_app", sql).await;
        }
        // Another project's login, and the API roles, get nothing.
        let other = login(&cotenant, env, &neighbour, Login::App).await;
        for sql in [
            "SELECT * FROM crm.contacts",
            "SELECT * FROM crm.open_deals",
            "SELECT crm.deals_won(1)",
            "SELECT nextval('crm.quote_number_seq')",
            "INSERT INTO crm.notes (org_id, contact_id, body) VALUES (1, 1, 'x')",
        ] {
            assert_denied(&other, "crm_neighbour", sql).await;
        }
        let su = superuser(cluster).await;
        for role in ["anon", "authenticated", "service_role"] {
            su.batch_execute(&format!("SET ROLE {role}")).await.unwrap();
            for sql in [
                "SELECT * FROM crm.organizations",
                "SELECT id, full_name FROM crm.users",
                "SELECT * FROM crm.email_templates",
                "SELECT crm.deals_won(1)",
            ] {
                assert_denied(&su, role, sql).await;
            }
            su.batch_execute("RESET ROLE").await.unwrap();
        }
    }

    // A second run finds nothing to move.
    for (env, relocated) in cotenant.relocate(&crm, &crm_relocation()).await.unwrap() {
        assert!(
            relocated.plan().is_empty(),
            "{env}: second run:\n{}",
            relocated.plan()
        );
    }
}

/// Waits until a session of cotenant's waits for a lock, and returns its pid.
async fn waiting_relocation(observer: &Client, task: &tokio::task::JoinHandle<impl Sized>) -> i32 {
    for _ in 0..1500 {
        assert!(
            !task.is_finished(),
            "the relocation ended instead of waiting"
        );
        let rows = observer
            .query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'cotenant'
                 AND wait_event_type = 'Lock' AND state = 'active'",
                &[],
            )
            .await
            .unwrap();
        if let Some(row) = rows.first() {
            return row.get(0);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the relocation never waited for the lock");
}

#[tokio::test]
async fn a_connection_killed_mid_move_leaves_public_intact_and_the_rerun_completes() {
    // A pair of its own: the lock held below must not stall other tests.
    let pair = Pair::start(test_version()).unwrap();
    if !is_supabase(&pair.prod, "the legacy CRM") {
        return;
    }
    let cotenant = deployment_on(&pair, "killed").await;
    let p = provisioned(&cotenant, "killed").await;
    let c = &pair.staging;
    admin(c).await.batch_execute(LEGACY_CRM).await.unwrap();
    let su = superuser(c).await;
    let before = relations(&su, "public").await;
    // A reader of the materialized view, which the move reaches last: the relocation moves the
    // tables, then waits for it.
    let reader = superuser(c).await;
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM public.pipeline_summary")
        .await
        .unwrap();
    let env = cotenant.environment("staging").unwrap().clone();
    let task = {
        let p = p.clone();
        let relocation = crm_relocation()
            .lock_timeout(Duration::from_secs(60))
            .attempts(1);
        tokio::spawn(async move { env.relocate(&p, &relocation).await })
    };
    let pid = waiting_relocation(&su, &task).await;
    // Mid-move: it holds the exclusive locks of everything it has moved so far.
    let held: i64 = su
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE pid = $1 AND locktype = 'relation'
             AND mode = 'AccessExclusiveLock' AND granted",
            &[&pid],
        )
        .await
        .unwrap()
        .get(0);
    assert!(held >= 25, "only {held} exclusive locks held");
    su.execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, RelocateError::Apply { .. }), "{err}");
    reader.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        relations(&su, "public").await,
        before,
        "public is exactly as before"
    );
    assert!(relations(&su, "killed").await.is_empty());
    let acl_before: i64 = su
        .query_one(
            "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.relnamespace = 'public'::regnamespace AND pg_get_userbyid(a.grantee) = 'anon'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(acl_before > 40, "anon's grants in public are untouched");

    let done = cotenant
        .environment("staging")
        .unwrap()
        .relocate(&p, &crm_relocation())
        .await
        .unwrap();
    assert_eq!(done.attempts(), 1);
    assert!(relations(&su, "public").await.is_empty());
    let after = relations(&su, "killed").await;
    for (oid, was) in &before {
        assert_eq!(after[oid].filenode, was.filenode, "{}", was.name);
        assert_eq!(after[oid].rows, was.rows, "{}", was.name);
    }
}

#[tokio::test]
async fn a_busy_table_times_out_and_the_error_names_the_session_holding_it() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "busy").await;
    let c = cluster("staging");
    admin(c)
        .await
        .batch_execute(
            "CREATE TABLE public.busy_items (id serial PRIMARY KEY, v text);
             INSERT INTO public.busy_items (v) SELECT 'x' FROM generate_series(1, 10);",
        )
        .await
        .unwrap();
    let mut config = c.superuser_config();
    config.application_name("busy_reader");
    let (reader, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM public.busy_items")
        .await
        .unwrap();
    let reader_pid: i32 = reader
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let env = cotenant.environment("staging").unwrap();
    let relocation = Relocation::new(Selection::tables(["busy_items"]))
        .lock_timeout(Duration::from_millis(200))
        .attempts(3);
    let started = std::time::Instant::now();
    let err = env.relocate(&p, &relocation).await.unwrap_err();
    let RelocateError::LockTimeout {
        attempts, holders, ..
    } = &err
    else {
        panic!("expected a lock timeout: {err}");
    };
    assert_eq!(*attempts, 3);
    // Three waits of 200 ms and two pauses of at least 250 and 500 ms.
    assert!(started.elapsed() >= Duration::from_millis(1350));
    assert!(
        holders.iter().any(|h| h.pid == reader_pid
            && h.application_name == "busy_reader"
            && h.object == "public.busy_items"
            && h.mode == "AccessShareLock"),
        "{holders:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("pid {reader_pid}")) && message.contains("pg_terminate_backend"),
        "{message}"
    );
    reader.batch_execute("COMMIT").await.unwrap();
    let done = env.relocate(&p, &relocation).await.unwrap();
    assert_eq!(done.verified().tables()[0].rows(), Some(10));
}

#[tokio::test]
async fn a_prefix_is_stripped_as_the_objects_move() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "reli").await;
    let c = cluster("staging");
    admin(c)
        .await
        .batch_execute(
            "CREATE TYPE public.reli_state AS ENUM ('new', 'done');
             CREATE TABLE public.reli_items (id bigserial PRIMARY KEY, state public.reli_state NOT NULL DEFAULT 'new', name text);
             CREATE TABLE public.reli_item_notes (id serial PRIMARY KEY, item_id bigint REFERENCES public.reli_items, body text);
             INSERT INTO public.reli_items (name) SELECT 'item ' || i FROM generate_series(1, 30) i;
             INSERT INTO public.reli_item_notes (item_id, body) SELECT 1 + i % 30, 'note' FROM generate_series(1, 90) i;
             CREATE TABLE public.relic (id int);",
        )
        .await
        .unwrap();
    let env = cotenant.environment("staging").unwrap();
    let relocation = Relocation::new(Selection::Prefix {
        prefix: "reli_".into(),
        strip: true,
    });
    let plan = env.plan_relocation(&p, &relocation).await.unwrap();
    assert!(!plan.is_blocked(), "{plan}");
    let moves: Vec<(&str, &str)> = plan.moves().iter().map(|m| (m.from(), m.to())).collect();
    for expected in [
        ("public.reli_state", "reli.state"),
        ("public.reli_items", "reli.items"),
        ("public.reli_items_id_seq", "reli.items_id_seq"),
        ("public.reli_item_notes", "reli.item_notes"),
    ] {
        assert!(moves.contains(&expected), "{expected:?} in {moves:?}");
    }
    assert!(!moves.iter().any(|(from, _)| *from == "public.relic"));
    env.relocate(&p, &relocation).await.unwrap();
    let app = login(&cotenant, "staging", &p, Login::App).await;
    assert_allowed(
        &app,
        "reli_app",
        "INSERT INTO items (name, state) VALUES ('new one', 'done');
         INSERT INTO item_notes (item_id, body) VALUES (31, 'x');
         SELECT currval('items_id_seq');",
    )
    .await;
    let n: i64 = app
        .query_one(
            "SELECT count(*) FROM items JOIN item_notes ON item_notes.item_id = items.id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 91);
    // Running it again: nothing left with the prefix.
    assert!(
        env.relocate(&p, &relocation)
            .await
            .unwrap()
            .plan()
            .is_empty()
    );
}

#[tokio::test]
async fn the_dry_run_prints_a_script_that_psql_applies() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "script").await;
    let c = cluster("staging");
    admin(c)
        .await
        .batch_execute(
            "CREATE TABLE public.script_items (id serial PRIMARY KEY, v text);
             INSERT INTO public.script_items (v) VALUES ('a'), ('b');",
        )
        .await
        .unwrap();
    let env = cotenant.environment("staging").unwrap();
    let relocation = Relocation::new(Selection::tables(["script_items"]));
    let sql = env.plan_relocation(&p, &relocation).await.unwrap().to_sql();
    // On Supabase the admin's default privileges granted the table to the API roles, and the
    // move takes that back; on plain nobody but its owner held it.
    let revoke_api = r#"REVOKE ALL ON TABLE "script"."script_items" FROM "anon", "authenticated", "service_role" CASCADE;"#;
    let mut expected = vec![
        "BEGIN;",
        "pg_advisory_xact_lock",
        "SET LOCAL lock_timeout = '2000ms';",
        r#"ALTER TABLE public."script_items" SET SCHEMA "script";"#,
        r#"ALTER TABLE "script"."script_items" OWNER TO "script_owner";"#,
        "COMMIT;",
    ];
    if c.flavor() == Flavor::Supabase {
        expected.push(revoke_api);
    } else {
        assert!(
            !sql.contains("REVOKE ALL ON TABLE"),
            "nothing to revoke on plain:\n{sql}"
        );
    }
    for expected in expected {
        assert!(sql.contains(expected), "missing `{expected}` in:\n{sql}");
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &sql).unwrap();
    let status = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .args(["-h", c.host(), "-p", &c.port().to_string()])
        .args(["-U", c.admin_user(), "-d", c.database()])
        .arg("-f")
        .arg(file.path())
        .stdout(std::process::Stdio::null())
        .env(
            "PGPASSWORD",
            secrecy::ExposeSecret::expose_secret(c.admin_password()),
        )
        .status()
        .unwrap();
    assert!(status.success(), "psql failed on:\n{sql}");
    assert!(
        env.plan_relocation(&p, &relocation)
            .await
            .unwrap()
            .is_empty()
    );
    let plan = provision::plan(&admin(c).await, &p, &ProjectSettings::default())
        .await
        .unwrap();
    assert!(plan.is_empty(), "provisioning still plans:\n{plan}");
    let app = login(&cotenant, "staging", &p, Login::App).await;
    assert_allowed(&app, "script_app", "SELECT * FROM script_items").await;
}

/// Creates `sql` as the admin on staging and plans `relocation` of `p` there.
async fn staged(
    cotenant: &Cotenant,
    p: &ProjectName,
    sql: &str,
    relocation: &Relocation,
) -> relocate::RelocationPlan {
    admin(cluster("staging"))
        .await
        .batch_execute(sql)
        .await
        .unwrap();
    cotenant
        .environment("staging")
        .unwrap()
        .plan_relocation(p, relocation)
        .await
        .unwrap()
}

fn only(plan: &relocate::RelocationPlan, kind: BlockerKind) -> &relocate::Blocker {
    let found: Vec<_> = plan
        .blockers()
        .iter()
        .filter(|b| b.kind() == kind)
        .collect();
    assert_eq!(found.len(), 1, "one {kind:?} in:\n{plan}");
    found[0]
}

#[tokio::test]
async fn blocker_a_routine_naming_a_moved_table() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "fb").await;
    superuser(cluster("staging"))
        .await
        .batch_execute(
            // Written before the table exists, as a dump restores it.
            "SET check_function_bodies = off;
             CREATE SCHEMA fb_tools;
             CREATE FUNCTION fb_tools.total() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.fb_items';",
        )
        .await
        .unwrap();
    // fb_count() stays and reads fb_items, which moves; fb_log_it(), a trigger of fb_items,
    // moves with it and writes fb_log, which stays; fb_tools.total() names public.fb_items.
    let sql = "CREATE TABLE public.fb_items (id serial PRIMARY KEY);
               CREATE TABLE public.fb_log (at timestamptz DEFAULT now());
               INSERT INTO public.fb_items DEFAULT VALUES;
               CREATE FUNCTION public.fb_count() RETURNS bigint LANGUAGE plpgsql AS
                 $$ BEGIN RETURN (SELECT count(*) FROM fb_items); END $$;
               CREATE FUNCTION public.fb_log_it() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN INSERT INTO fb_log DEFAULT VALUES; RETURN NEW; END $$;
               CREATE TRIGGER fb_log_it AFTER INSERT ON public.fb_items
                 FOR EACH ROW EXECUTE FUNCTION public.fb_log_it();";
    let selection = || Relocation::new(Selection::tables(["fb_items"]));
    let plan = staged(&cotenant, &p, sql, &selection()).await;
    let mut objects: Vec<&str> = plan
        .blockers()
        .iter()
        .filter(|b| b.kind() == BlockerKind::FunctionBody && !b.is_resolved())
        .map(|b| b.object())
        .collect();
    objects.sort();
    assert_eq!(
        objects,
        [
            "function fb_tools.total()",
            "function public.fb_count()",
            "function public.fb_log_it()"
        ],
        "{plan}"
    );
    assert!(
        plan.blockers()[0]
            .reason()
            .contains("searching the body's text")
    );
    // Moving it along resolves the routine in public; the one elsewhere still needs fixing.
    let env = cotenant.environment("staging").unwrap();
    let along = env
        .plan_relocation(&p, &selection().functions(FunctionChoice::MoveAlong))
        .await
        .unwrap();
    for moved in ["public.fb_count()", "public.fb_log"] {
        assert!(
            along.moves().iter().any(|m| m.from() == moved),
            "{moved} in {along}"
        );
    }
    let left: Vec<&str> = along
        .blockers()
        .iter()
        .filter(|b| !b.is_resolved())
        .map(|b| b.object())
        .collect();
    assert_eq!(left, ["function fb_tools.total()"], "{along}");
    let err = env
        .relocate(&p, &selection().functions(FunctionChoice::MoveAlong))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("fb_tools.total()"), "{err}");
    env.relocate(&p, &selection().functions(FunctionChoice::Ignore))
        .await
        .unwrap();
    // What the search found is real: the routine left behind fails now, and so does the moved
    // trigger writing to the table left behind.
    let admin = admin(cluster("staging")).await;
    assert_eq!(
        outcome(&admin, "SELECT public.fb_count()").await,
        Some(SqlState::UNDEFINED_TABLE)
    );
    let app = login(&cotenant, "staging", &p, Login::App).await;
    assert_eq!(
        outcome(&app, "INSERT INTO fb_items DEFAULT VALUES").await,
        Some(SqlState::UNDEFINED_TABLE)
    );
}

#[tokio::test]
async fn functions_naming_moved_tables_as_public_are_rewritten_and_checked() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "rw").await;
    // The way Supabase's docs write functions: everything qualified with public, a pinned empty
    // search_path, a SQL function whose signature names a moved type and table, a trigger
    // function, and one that stays in public and reads a moved table.
    let sql = "CREATE TYPE public.rw_mood AS ENUM ('ok', 'meh');
               CREATE TABLE public.rw_notes (id serial PRIMARY KEY, body text NOT NULL,
                                             mood public.rw_mood NOT NULL DEFAULT 'ok');
               CREATE TABLE public.rw_log (note int, at timestamptz DEFAULT now());
               INSERT INTO public.rw_notes (body) VALUES ('one'), ('two');
               CREATE FUNCTION public.rw_by_mood(m public.rw_mood) RETURNS SETOF public.rw_notes
                 LANGUAGE sql STABLE SET search_path = '' AS
                 $$ SELECT * FROM public.rw_notes WHERE mood = m $$;
               CREATE FUNCTION public.rw_log_it() RETURNS trigger LANGUAGE plpgsql
                 SECURITY DEFINER SET search_path = '' AS
                 $$ BEGIN
                      -- a comment naming public.rw_log stays as it is
                      INSERT INTO public.rw_log (note) VALUES (NEW.id);
                      PERFORM nextval('public.rw_notes_id_seq');
                      RETURN NEW;
                    END $$;
               CREATE TRIGGER rw_log_it AFTER INSERT ON public.rw_notes
                 FOR EACH ROW EXECUTE FUNCTION public.rw_log_it();
               CREATE FUNCTION public.rw_count() RETURNS bigint LANGUAGE sql SET search_path = '' AS
                 $$ SELECT count(*) FROM public.rw_notes $$;";
    let selection = Relocation::new(Selection::tables(["rw_notes"]));
    let plan = staged(&cotenant, &p, sql, &selection).await;
    assert!(plan.is_blocked(), "{plan}");
    let bodies = plan
        .blockers()
        .iter()
        .filter(|b| b.kind() == BlockerKind::FunctionBody)
        .inspect(|b| assert!(b.remedy().contains("--functions rewrite"), "{b}"))
        .count();
    assert!(bodies >= 2, "{plan}");

    let env = cotenant.environment("staging").unwrap();
    let rewrite = || selection.clone().functions(FunctionChoice::Rewrite);
    let plan = env.plan_relocation(&p, &rewrite()).await.unwrap();
    assert!(!plan.is_blocked(), "{plan}");
    let rewritten: Vec<&str> = plan.rewrites().iter().map(|r| r.function()).collect();
    for function in ["rw.rw_by_mood(", "rw.rw_log_it()", "rw.rw_count()"] {
        assert!(
            rewritten.iter().any(|r| r.starts_with(function)),
            "{function} in {rewritten:?}\n{plan}"
        );
    }
    // The dry run shows each rewrite as a diff of the lines that change.
    let shown = plan.to_string();
    let diff: Vec<&str> = shown.lines().map(str::trim).collect();
    for line in [
        "- RETURNS SETOF public.rw_notes",
        "+ RETURNS SETOF \"rw\".\"rw_notes\"",
        "+ INSERT INTO \"rw\".\"rw_log\" (note) VALUES (NEW.id);",
        "+ PERFORM nextval('\"rw\".\"rw_notes_id_seq\"');",
    ] {
        assert!(
            diff.iter()
                .any(|l| l.split_whitespace().eq(line.split_whitespace())),
            "`{line}` in:\n{shown}"
        );
    }
    // Only the lines that change are shown: the comment naming public.rw_log is not rewritten.
    assert!(!shown.contains("comment naming"), "{shown}");

    env.relocate(&p, &rewrite()).await.unwrap();
    // Everything the functions named moved with them, and the bodies resolve there.
    let app = login(&cotenant, "staging", &p, Login::App).await;
    assert_allowed(
        &app,
        "rw_app",
        "INSERT INTO rw_notes (body) VALUES ('three')",
    )
    .await;
    let logged: i64 = app
        .query_one("SELECT count(*) FROM rw_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(logged, 1, "the rewritten trigger wrote to rw.rw_log");
    let counted: i64 = app
        .query_one("SELECT rw_count()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(counted, 3);
    let meh: i64 = app
        .query_one("SELECT count(*) FROM rw_by_mood('ok')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(meh, 3);
    let su = superuser(cluster("staging")).await;
    let left: i64 = su
        .query_one(
            "SELECT count(*) FROM pg_proc WHERE pronamespace = 'rw'::regnamespace
               AND prosrc ~ 'public\\.rw_'
               AND prosrc !~ 'comment naming public\\.rw_log'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "no body names public.rw_… any more");
    // The search_path the functions pinned is kept: rewriting restates it.
    let config: Option<Vec<String>> = su
        .query_one(
            "SELECT proconfig FROM pg_proc WHERE proname = 'rw_log_it'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(config, Some(vec![r#"search_path="""#.to_owned()]));
    // Nothing of the app is left in public, and a rerun plans nothing.
    assert!(
        relations(&su, "public")
            .await
            .values()
            .all(|r| !r.name.starts_with("rw_"))
    );
    let again = env.plan_relocation(&p, &rewrite()).await.unwrap();
    assert!(again.is_empty() && again.rewrites().is_empty(), "{again}");
}

#[tokio::test]
async fn blocker_a_security_definer_routine_without_a_pinned_search_path() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "sp").await;
    let sql = "CREATE TABLE public.sp_items (id serial PRIMARY KEY, touched int NOT NULL DEFAULT 0);
               CREATE FUNCTION public.sp_touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS
                 $$ BEGIN NEW.touched := NEW.touched + 1; RETURN NEW; END $$;
               CREATE TRIGGER sp_touch BEFORE UPDATE ON public.sp_items FOR EACH ROW EXECUTE FUNCTION public.sp_touch();";
    let relocation = Relocation::new(Selection::tables(["sp_items"]));
    let plan = staged(&cotenant, &p, sql, &relocation).await;
    let blocker = only(&plan, BlockerKind::SearchPath);
    assert_eq!(blocker.object(), "function public.sp_touch()");
    assert!(blocker.reason().contains("SECURITY DEFINER"), "{blocker}");
    assert!(!blocker.is_resolved());
    let env = cotenant.environment("staging").unwrap();
    env.relocate(&p, &relocation.search_paths(SearchPathChoice::Repoint))
        .await
        .unwrap();
    let config: Vec<String> = superuser(cluster("staging"))
        .await
        .query_one(
            "SELECT proconfig::text[] FROM pg_proc WHERE oid = 'sp.sp_touch()'::regprocedure",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(config, ["search_path=sp"]);
}

#[tokio::test]
async fn blocker_a_view_over_moved_and_unmoved_tables() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "mv").await;
    let sql = "CREATE TABLE public.mv_a (id int PRIMARY KEY);
               CREATE TABLE public.mv_b (id int PRIMARY KEY);
               CREATE VIEW public.mv_both AS SELECT a.id FROM public.mv_a a JOIN public.mv_b b USING (id);";
    let relocation = Relocation::new(Selection::tables(["mv_a"]));
    let plan = staged(&cotenant, &p, sql, &relocation).await;
    let blocker = only(&plan, BlockerKind::MixedView);
    assert_eq!(blocker.object(), "view public.mv_both");
    assert!(blocker.reason().contains("public.mv_a"), "{blocker}");
    let env = cotenant.environment("staging").unwrap();
    let along = env
        .plan_relocation(&p, &relocation.clone().views(ViewChoice::MoveAlong))
        .await
        .unwrap();
    let moved: Vec<&str> = along.moves().iter().map(|m| m.from()).collect();
    assert!(
        moved.contains(&"public.mv_b") && moved.contains(&"public.mv_both"),
        "{along}"
    );
    env.relocate(&p, &relocation.views(ViewChoice::Leave))
        .await
        .unwrap();
    let su = superuser(cluster("staging")).await;
    let schema: String = su
        .query_one(
            "SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = 'mv_both'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(schema, "public", "the view was left where it is");
}

#[tokio::test]
async fn blocker_a_foreign_key_from_a_table_that_stays() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "fk").await;
    let sql = "CREATE TABLE public.fk_parent (id int PRIMARY KEY);
               CREATE TABLE public.fk_child (id int PRIMARY KEY, parent int REFERENCES public.fk_parent);
               INSERT INTO public.fk_parent VALUES (1); INSERT INTO public.fk_child VALUES (1, 1);";
    let relocation = Relocation::new(Selection::tables(["fk_parent"]));
    let plan = staged(&cotenant, &p, sql, &relocation).await;
    let blocker = only(&plan, BlockerKind::ForeignKey);
    assert_eq!(
        blocker.object(),
        "foreign key `fk_child_parent_fkey` of public.fk_child"
    );
    let env = cotenant.environment("staging").unwrap();
    let along = env
        .plan_relocation(
            &p,
            &relocation.clone().foreign_keys(ForeignKeyChoice::MoveAlong),
        )
        .await
        .unwrap();
    assert!(
        along.moves().iter().any(|m| m.from() == "public.fk_child"),
        "{along}"
    );
    env.relocate(&p, &relocation.foreign_keys(ForeignKeyChoice::Keep))
        .await
        .unwrap();
    // The key still holds across schemas.
    let admin = admin(cluster("staging")).await;
    assert_eq!(
        outcome(&admin, "INSERT INTO public.fk_child VALUES (2, 99)").await,
        Some(SqlState::FOREIGN_KEY_VIOLATION)
    );
    assert_eq!(
        outcome(&admin, "INSERT INTO public.fk_child VALUES (3, 1)").await,
        None
    );
}

#[tokio::test]
async fn blocker_a_published_table() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "pb").await;
    let sql = "CREATE TABLE public.pb_events (id serial PRIMARY KEY);
               CREATE PUBLICATION pb_realtime FOR TABLE public.pb_events;";
    let relocation = Relocation::new(Selection::tables(["pb_events"]));
    let plan = staged(&cotenant, &p, sql, &relocation).await;
    let blocker = only(&plan, BlockerKind::Publication);
    assert_eq!(blocker.object(), "table public.pb_events");
    assert!(blocker.reason().contains("pb_realtime"), "{blocker}");
    let env = cotenant.environment("staging").unwrap();
    let done = env
        .relocate(&p, &relocation.publications(PublicationChoice::Drop))
        .await
        .unwrap();
    assert!(done.plan().steps().any(|s| {
        s.sql()
            .contains("ALTER PUBLICATION \"pb_realtime\" DROP TABLE")
    }));
    let published: i64 = superuser(cluster("staging"))
        .await
        .query_one(
            "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'pb_realtime'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(published, 0);
}

#[tokio::test]
async fn blocker_a_policy_for_roles_outside_the_project() {
    if !is_supabase(cluster("staging"), "a policy for Supabase's API roles") {
        return;
    }
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "po").await;
    let sql = "CREATE TABLE public.po_items (id serial PRIMARY KEY);
               INSERT INTO public.po_items DEFAULT VALUES;
               ALTER TABLE public.po_items ENABLE ROW LEVEL SECURITY;
               CREATE POLICY po_read ON public.po_items FOR SELECT TO authenticated, anon USING (true);";
    let relocation = Relocation::new(Selection::tables(["po_items"]));
    let plan = staged(&cotenant, &p, sql, &relocation).await;
    let blocker = only(&plan, BlockerKind::Policy);
    assert_eq!(
        blocker.object(),
        "policy `po_read` on table public.po_items"
    );
    assert!(blocker.reason().contains("po_app"), "{blocker}");
    // Kept, the policy applies to no one who can reach the table: the app sees nothing.
    let env = cotenant.environment("staging").unwrap();
    env.relocate(&p, &relocation.policies(PolicyChoice::Keep))
        .await
        .unwrap();
    let app = login(&cotenant, "staging", &p, Login::App).await;
    let n: i64 = app
        .query_one("SELECT count(*) FROM po_items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn blocker_a_type_shared_with_a_table_that_stays() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "sh").await;
    let sql = "CREATE TYPE public.sh_state AS ENUM ('on', 'off');
               CREATE TABLE public.sh_moved (id int, s public.sh_state);
               CREATE TABLE public.sh_stays (id int, s public.sh_state);";
    let relocation = Relocation::new(Selection::tables(["sh_moved"]));
    let plan = staged(&cotenant, &p, sql, &relocation).await;
    let blocker = only(&plan, BlockerKind::SharedDependency);
    assert_eq!(blocker.object(), "enum type public.sh_state");
    assert!(blocker.reason().contains("public.sh_stays"), "{blocker}");
    let env = cotenant.environment("staging").unwrap();
    let along = env
        .plan_relocation(&p, &relocation.clone().shared(SharedChoice::MoveAlong))
        .await
        .unwrap();
    assert!(
        along.moves().iter().any(|m| m.from() == "public.sh_stays"),
        "{along}"
    );
    let done = env
        .relocate(&p, &relocation.shared(SharedChoice::Leave))
        .await
        .unwrap();
    assert!(
        !done
            .plan()
            .moves()
            .iter()
            .any(|m| m.from() == "public.sh_state")
    );
    let app = login(&cotenant, "staging", &p, Login::App).await;
    assert_allowed(&app, "sh_app", "INSERT INTO sh_moved VALUES (1, 'on')").await;
}

#[tokio::test]
async fn blocker_a_name_already_taken_in_the_project() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "nt").await;
    let migrator = login(&cotenant, "staging", &p, Login::Migrator).await;
    migrator
        .batch_execute("CREATE TABLE nt_items (id int)")
        .await
        .unwrap();
    let relocation = Relocation::new(Selection::tables(["nt_items"]));
    let plan = staged(
        &cotenant,
        &p,
        "CREATE TABLE public.nt_items (id int, v text)",
        &relocation,
    )
    .await;
    let blocker = only(&plan, BlockerKind::NameTaken);
    assert_eq!(blocker.object(), "table public.nt_items");
    assert!(
        blocker.reason().contains("`nt.nt_items` already exists"),
        "{blocker}"
    );
    let err = cotenant
        .environment("staging")
        .unwrap()
        .relocate(&p, &relocation)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RelocateError::Blocked { .. }) && err.to_string().contains("rename"),
        "{err}"
    );
}

#[tokio::test]
async fn blocker_a_table_owned_by_a_role_the_admin_cannot_act_as() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "oo").await;
    let su = superuser(cluster("staging")).await;
    su.batch_execute(
        "CREATE TABLE public.oo_super (id int);
         CREATE ROLE oo_legacy NOLOGIN;
         CREATE TABLE public.oo_legacy_items (id int);
         ALTER TABLE public.oo_legacy_items OWNER TO oo_legacy;",
    )
    .await
    .unwrap();
    let env = cotenant.environment("staging").unwrap();
    let relocation = Relocation::new(Selection::tables(["oo_super", "oo_legacy_items"]));
    let plan = env.plan_relocation(&p, &relocation).await.unwrap();
    let found: Vec<&relocate::Blocker> = plan
        .blockers()
        .iter()
        .filter(|b| b.kind() == BlockerKind::OwnerOutOfReach)
        .collect();
    assert_eq!(found.len(), 2, "{plan}");
    let remedy = |object: &str| {
        found
            .iter()
            .find(|b| b.object() == object)
            .unwrap_or_else(|| panic!("{object} in {plan}"))
            .remedy()
            .to_owned()
    };
    let super_fix = remedy("table public.oo_super");
    assert!(
        super_fix.contains(r#"ALTER TABLE public."oo_super" OWNER TO "postgres""#)
            && super_fix.contains("superuser"),
        "{super_fix}"
    );
    let legacy_fix = remedy("table public.oo_legacy_items");
    assert!(
        legacy_fix.contains(r#"GRANT "oo_legacy" TO "postgres""#),
        "{legacy_fix}"
    );
    // What the remedies say, run by an operator with the right role, unblocks the move.
    su.batch_execute(r#"ALTER TABLE public."oo_super" OWNER TO "postgres""#)
        .await
        .unwrap();
    su.batch_execute(r#"ALTER TABLE public."oo_legacy_items" OWNER TO "postgres""#)
        .await
        .unwrap();
    env.relocate(&p, &relocation).await.unwrap();
}

#[tokio::test]
async fn blocker_a_partition_selected_without_its_table() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "un").await;
    let sql = "CREATE TABLE public.un_events (at date NOT NULL) PARTITION BY RANGE (at);
               CREATE TABLE public.un_events_2025 PARTITION OF public.un_events
                   FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');";
    let relocation = Relocation::new(Selection::tables(["un_events_2025"]));
    let plan = staged(&cotenant, &p, sql, &relocation).await;
    let blocker = only(&plan, BlockerKind::Unsupported);
    assert_eq!(blocker.object(), "partition public.un_events_2025");
    assert!(blocker.reason().contains("select that table"), "{blocker}");
    // Selecting the table moves its partitions.
    let plan = cotenant
        .environment("staging")
        .unwrap()
        .plan_relocation(&p, &Relocation::new(Selection::tables(["un_events"])))
        .await
        .unwrap();
    assert!(!plan.is_blocked(), "{plan}");
    assert_eq!(plan.moves().len(), 2, "{plan}");
}

#[tokio::test]
async fn an_unknown_table_or_an_unprovisioned_project_is_refused_before_anything_runs() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "refused").await;
    let env = cotenant.environment("staging").unwrap();
    let err = env
        .plan_relocation(&p, &Relocation::new(Selection::tables(["no_such_table"])))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RelocateError::UnknownTable { name, .. } if name == "no_such_table"),
        "{err}"
    );
    let err = env
        .plan_relocation(
            &project("never_provisioned"),
            &Relocation::new(Selection::All),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("run `cotenant provision never_provisioned` first"),
        "{err}"
    );
}
