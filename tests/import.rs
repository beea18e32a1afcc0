//! A project that still has its own instance imports into its schema on the shared one: a
//! dedicated test-kit server (the source, of the same version and flavour) holds an app in
//! `public` — and on the Supabase flavour its users — and `cotenant import` brings it into `<p>`
//! on the shared pair's prod, in one transaction. The tests prove what matters afterwards: the
//! rows, sequences, row-level security and foreign keys are there; the app's login works and
//! another project's login gets 42501; `audit` passes; the source is unchanged; a blocked
//! source, a user collision and a killed import leave the target as it was; re-running
//! converges.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use cotenant::audit::Scope;
use cotenant::config::TlsMode;
use cotenant::import::{Import, ImportError, Source, UsersMap};
use cotenant::platform::{Access, AccessOverride, PlatformConfig};
use cotenant::provision::ProjectSettings;
use cotenant::relocate::{
    BlockerKind, FunctionChoice, PublicationChoice, Relocation, SearchPathChoice, Selection,
    SignupTriggerChoice,
};
use cotenant::secret::{DbSecret, Login};
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Cluster, Pair, test_version};
use secrecy::ExposeSecret;
use tokio_postgres::error::SqlState;

const STARTER: &str = include_str!("fixtures/supabase_starter.sql");

/// The tests fingerprint the whole shared prod (every relation, routine and trigger, every row of
/// `public` and `auth`) to prove a refused import changed nothing; another test importing at the
/// same time would change it. So each test holds this for its whole run: they take turns.
static SHARED_PROD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The project's own instance: a server of the shared pair's version and flavour.
fn own_instance() -> Cluster {
    Cluster::start_flavor(test_version(), Pair::shared().flavor()).expect("a source server")
}

/// The source as cotenant reads it: its admin, without TLS (a local test server).
fn source_of(cluster: &Cluster) -> Source {
    Source::new(DbSecret::new(
        cluster.host(),
        cluster.port(),
        cluster.admin_user(),
        cluster.admin_password().expose_secret().to_owned(),
        cluster.database(),
    ))
    .tls(TlsMode::Disable)
}

/// Everything an import could change, as the superuser sees it: every relation, type and
/// routine outside the system schemas with its owner, an order-independent digest of every
/// table's rows, the triggers on auth.users and the users.
async fn fingerprint(cluster: &Cluster) -> BTreeMap<String, String> {
    let su = superuser(cluster).await;
    let mut seen = BTreeMap::new();
    for row in su
        .query(
            "SELECT 'relation ' || n.nspname || '.' || c.relname, c.relkind::text || ' ' || pg_get_userbyid(c.relowner)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'
             UNION ALL
             SELECT 'type ' || n.nspname || '.' || t.typname, pg_get_userbyid(t.typowner)
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
             UNION ALL
             SELECT 'routine ' || p.oid::regprocedure::text, pg_get_userbyid(p.proowner) || ' ' || md5(p.prosrc)
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
             UNION ALL
             SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass::text, tgenabled::text
             FROM pg_trigger WHERE NOT tgisinternal",
            &[],
        )
        .await
        .unwrap()
    {
        seen.insert(row.get::<_, String>(0), row.get::<_, String>(1));
    }
    let tables: Vec<String> = query_column(
        &su,
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname IN ('public', 'auth')",
    )
    .await;
    for table in tables {
        let digest: String = su
            .query_one(
                &format!(
                    "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM {table} t"
                ),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        seen.insert(format!("rows {table}"), digest);
    }
    seen
}

/// A small app as it lives in `public` of its own instance: an enum, serial and identity keys,
/// a generated column, a foreign key, an index, a trigger, row-level security, a view, rows.
const TODO_APP: &str = "
CREATE TYPE public.imp_state AS ENUM ('new', 'done');
CREATE TABLE public.imp_lists (id serial PRIMARY KEY, title text NOT NULL);
CREATE TABLE public.imp_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    list_id int NOT NULL REFERENCES public.imp_lists ON DELETE CASCADE,
    state public.imp_state NOT NULL DEFAULT 'new',
    body text,
    words int GENERATED ALWAYS AS (array_length(string_to_array(body, ' '), 1)) STORED
);
CREATE INDEX imp_items_list ON public.imp_items (list_id);
CREATE FUNCTION public.imp_trim() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.body := trim(NEW.body); RETURN NEW; END $$;
CREATE TRIGGER imp_trim BEFORE INSERT OR UPDATE ON public.imp_items
  FOR EACH ROW EXECUTE FUNCTION public.imp_trim();
ALTER TABLE public.imp_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY imp_not_secret ON public.imp_items USING (body NOT LIKE 'secret%');
CREATE VIEW public.imp_open AS
  SELECT i.id, l.title, i.body FROM public.imp_items i JOIN public.imp_lists l ON l.id = i.list_id
  WHERE i.state = 'new';
INSERT INTO public.imp_lists (title) SELECT 'list ' || g FROM generate_series(1, 50) g;
INSERT INTO public.imp_items (list_id, state, body)
  SELECT 1 + g % 50, CASE WHEN g % 3 = 0 THEN 'done'::public.imp_state ELSE 'new' END,
         CASE WHEN g % 10 = 0 THEN 'secret ' ELSE 'item ' END || g
  FROM generate_series(1, 1000) g;
";

async fn provisioned(cotenant: &Cotenant, name: &str) -> ProjectName {
    let p = project(name);
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap_or_else(|e| panic!("provisioning {name}: {e}"));
    p
}

#[tokio::test]
async fn a_project_on_its_own_instance_imports_into_its_schema() {
    let _turn = SHARED_PROD.lock().await;
    let source = own_instance();
    admin(&source).await.batch_execute(TODO_APP).await.unwrap();
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "imptodo").await;
    let neighbour = provisioned(&cotenant, "imptodo_neighbour").await;
    let prod = cotenant.environment("prod").unwrap();
    let from = source_of(&source);
    let request = Import::new(Relocation::new(Selection::All));
    let source_before = fingerprint(&source).await;

    // The dry run: two tables, their rows estimated, the schema as pg_dump writes it.
    let plan = prod.plan_import(&p, &from, &request).await.unwrap();
    assert!(!plan.is_blocked() && !plan.is_empty(), "{plan}");
    let tables: Vec<&str> = plan.tables().iter().map(|t| t.name()).collect();
    assert_eq!(tables, ["imp_items", "imp_lists"], "{plan}");
    let items = &plan.tables()[0];
    assert!(
        !items.columns().iter().any(|c| c == "words"),
        "generated columns are computed again, not copied: {:?}",
        items.columns()
    );
    assert!(
        plan.pre_data_sql()
            .contains("CREATE TABLE public.imp_items"),
        "{}",
        plan.pre_data_sql()
    );
    assert!(
        !plan.pre_data_sql().contains("CREATE SCHEMA public"),
        "the target has its own public"
    );
    assert!(
        plan.post_data_sql()
            .contains("CREATE POLICY imp_not_secret")
    );
    let script = plan.to_sql();
    assert!(script.contains("COPY public.\"imp_items\""), "{script}");
    assert!(plan.users().is_none(), "the source has no users");

    let done = prod.import(&p, &from, &request).await.expect("importing");
    let rows: BTreeMap<&str, u64> = done.rows().iter().map(|(t, n)| (t.as_str(), *n)).collect();
    assert_eq!(
        rows,
        BTreeMap::from([("imp_items", 1000), ("imp_lists", 50)])
    );
    assert!(done.relocated().is_some());

    let target = cluster("prod");
    let su = superuser(target).await;
    // Nothing of the app is in public; everything is the project's.
    assert_eq!(
        query_value::<i64>(
            &su,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname LIKE 'imp\\_%'"
        )
        .await,
        0
    );
    assert_eq!(
        query_value::<i64>(
            &su,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'imptodo'::regnamespace
               AND relkind IN ('r', 'v', 'S') AND relowner <> 'imptodo_owner'::regrole"
        )
        .await,
        0,
        "owned by imptodo_owner"
    );
    assert_invariants(target, &p).await;
    let audit = prod.audit(&Scope::only([p.clone()])).await.unwrap();
    assert!(audit.passes(), "{audit}");

    // The app works as its login: sequences continue, the trigger and the generated column run,
    // row-level security hides the secret rows, the foreign key holds.
    let app = login(&cotenant, "prod", &p, Login::App).await;
    let list: i32 = app
        .query_one(
            "INSERT INTO imp_lists (title) VALUES ('new') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(list, 51, "the serial continues after the source's rows");
    let item = app
        .query_one(
            "INSERT INTO imp_items (list_id, body) VALUES (51, '  one two  ') RETURNING id, body, words",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(item.get::<_, i64>(0), 1001, "the identity continues");
    assert_eq!(item.get::<_, String>(1), "one two", "the trigger runs");
    assert_eq!(item.get::<_, i32>(2), 2, "the generated column is computed");
    assert_eq!(
        query_value::<i64>(&app, "SELECT count(*) FROM imp_items").await,
        901,
        "RLS hides the 100 secret rows from the app"
    );
    assert_eq!(
        query_value::<i64>(&su, "SELECT count(*) FROM imptodo.imp_items").await,
        1001
    );
    assert_eq!(
        query_value::<i64>(&app, "SELECT count(*) FROM imp_open").await,
        query_value::<i64>(
            &su,
            "SELECT count(*) FROM imptodo.imp_items WHERE state = 'new'"
        )
        .await
    );
    assert_eq!(
        outcome(
            &app,
            "INSERT INTO imp_items (list_id, body) VALUES (9999, 'x')"
        )
        .await,
        Some(SqlState::FOREIGN_KEY_VIOLATION)
    );

    // Another project reaches nothing of it.
    let other = login(&cotenant, "prod", &neighbour, Login::App).await;
    for sql in [
        "SELECT * FROM imptodo.imp_items",
        "SELECT * FROM imptodo.imp_open",
        "UPDATE imptodo.imp_lists SET title = 'x'",
        "SELECT nextval('imptodo.imp_lists_id_seq')",
        "SELECT imptodo.imp_trim()",
    ] {
        assert_denied(&other, "imptodo_neighbour_login", sql).await;
    }

    // The source is as it was; running again does nothing.
    assert_eq!(fingerprint(&source).await, source_before);
    let again = prod.plan_import(&p, &from, &request).await.unwrap();
    assert!(again.is_empty(), "{again}");
    let rerun = prod.import(&p, &from, &request).await.unwrap();
    assert!(rerun.rows().is_empty() && rerun.relocated().is_none());
}

#[tokio::test]
async fn a_source_with_a_blocker_stops_before_the_target_is_touched() {
    let _turn = SHARED_PROD.lock().await;
    let source = own_instance();
    admin(&source)
        .await
        .batch_execute(
            "CREATE TABLE public.impblk_notes (id serial PRIMARY KEY, body text);
             INSERT INTO public.impblk_notes (body) VALUES ('a'), ('b');
             CREATE FUNCTION public.impblk_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER
               SET search_path = public AS 'SELECT count(*) FROM impblk_notes';",
        )
        .await
        .unwrap();
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "impblk").await;
    let prod = cotenant.environment("prod").unwrap();
    let from = source_of(&source);
    let request = Import::new(Relocation::new(Selection::All));

    // The dry run lists relocation's finding for the pinned search_path, as `relocate` does.
    let plan = prod.plan_import(&p, &from, &request).await.unwrap();
    assert!(plan.is_blocked(), "{plan}");
    let blockers: Vec<(BlockerKind, String)> = plan
        .findings()
        .blockers()
        .iter()
        .filter(|b| !b.is_resolved())
        .map(|b| (b.kind(), b.object().to_owned()))
        .collect();
    assert_eq!(
        blockers,
        [(
            BlockerKind::SearchPath,
            "function public.impblk_count()".to_owned()
        )],
        "{plan}"
    );
    assert!(plan.to_string().contains("[BLOCKS]"), "{plan}");

    let target_before = fingerprint(cluster("prod")).await;
    let err = prod.import(&p, &from, &request).await.unwrap_err();
    assert!(matches!(err, ImportError::Blocked { .. }), "{err}");
    assert_eq!(err.blockers().len(), 1, "{err}");
    assert!(
        err.to_string().contains("the target was not touched"),
        "{err}"
    );
    assert_eq!(
        fingerprint(cluster("prod")).await,
        target_before,
        "the target's catalog and rows are unchanged"
    );

    // The same choice relocate takes resolves it.
    let resolved =
        Import::new(Relocation::new(Selection::All).search_paths(SearchPathChoice::Repoint));
    prod.import(&p, &from, &resolved)
        .await
        .expect("importing with the choice");
    let app = login(&cotenant, "prod", &p, Login::App).await;
    assert_eq!(query_value::<i64>(&app, "SELECT impblk_count()").await, 2);
}

#[tokio::test]
async fn a_killed_import_leaves_the_target_unchanged_and_a_rerun_works() {
    let _turn = SHARED_PROD.lock().await;
    let source = own_instance();
    admin(&source)
        .await
        .batch_execute(
            "CREATE TABLE public.impkill_events (id bigserial PRIMARY KEY, payload text NOT NULL);
             INSERT INTO public.impkill_events (payload)
               SELECT repeat(md5(g::text), 4) FROM generate_series(1, 150000) g;",
        )
        .await
        .unwrap();
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "impkill").await;
    let from = source_of(&source);
    let target = cluster("prod");
    let before = fingerprint(target).await;

    let env = cotenant.environment("prod").unwrap().clone();
    let (p2, from2) = (p.clone(), from.clone());
    let running = tokio::spawn(async move {
        env.import(&p2, &from2, &Import::new(Relocation::new(Selection::All)))
            .await
    });
    // Kill the target's session while it copies the rows.
    let su = superuser(target).await;
    let mut killed = false;
    for _ in 0..400 {
        let pids: Vec<i32> = query_column(
            &su,
            "SELECT pid FROM pg_stat_activity
                 WHERE query LIKE 'COPY public.\"impkill_events\"%FROM STDIN' AND state = 'active'",
        )
        .await;
        if let Some(pid) = pids.first() {
            su.execute("SELECT pg_terminate_backend($1)", &[pid])
                .await
                .unwrap();
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(killed, "the import's COPY was seen and killed");
    let err = running.await.unwrap().unwrap_err();
    eprintln!("the killed import reported: {err}");
    assert_eq!(
        fingerprint(target).await,
        before,
        "a killed import leaves the target as it was"
    );

    let done = cotenant
        .environment("prod")
        .unwrap()
        .import(&p, &from, &Import::new(Relocation::new(Selection::All)))
        .await
        .expect("the re-run imports");
    assert_eq!(done.rows(), [("impkill_events".to_owned(), 150_000)]);
    assert_eq!(
        query_value::<i64>(&su, "SELECT count(*) FROM impkill.impkill_events").await,
        150_000
    );
}

fn with_access(cotenant: &Cotenant, p: &ProjectName, access: Access) -> Cotenant {
    let mut declared = AccessOverride::default();
    declared.auth = Some(access.auth);
    declared.extensions = Some(access.extensions);
    declared.realtime = Some(access.realtime);
    declared.signup_hook = access.signup_hook;
    cotenant
        .clone()
        .with_platform(PlatformConfig::default().with_project(p.clone(), declared))
}

#[tokio::test]
async fn a_supabase_app_and_its_users_import_into_the_shared_auth() {
    let _turn = SHARED_PROD.lock().await;
    if !is_supabase(&Pair::shared().prod, "the Supabase starter with its users") {
        return;
    }
    let source = own_instance();
    admin(&source).await.batch_execute(STARTER).await.unwrap();
    let ada = signup(&source, "ada@imp.example", "Ada").await;
    let grace = signup(&source, "grace@imp.example", "Grace").await;
    let linus = signup(&source, "linus@imp.example", "Linus").await;
    admin(&source)
        .await
        .batch_execute(&format!(
            "INSERT INTO public.subscriptions (id, user_id, status, price_id)
             VALUES ('sub_1', '{ada}', 'active', 'price_1'), ('sub_2', '{linus}', 'trialing', 'price_2')"
        ))
        .await
        .unwrap();
    let source_before = fingerprint(&source).await;

    let p = project("impstarter");
    let hook_only = Access::default()
        .with_auth(true)
        .with_signup_hook(Some("handle_new_user"));
    let cotenant = with_access(&deployment().await, &p, hook_only.clone());
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    // Realtime's tables are declared once they are the project's: the import makes them so.
    let cotenant = with_access(
        &cotenant,
        &p,
        hook_only.with_realtime(["prices", "products"]),
    );
    let neighbour = provisioned(&cotenant, "impstarter_neighbour").await;
    let target = cluster("prod");
    // A neighbour's app still has a signup trigger on the shared auth.users; and Linus already
    // has an account on the shared instance, under another id.
    admin(target)
        .await
        .batch_execute(
            "CREATE TABLE public.impnb_signups (id uuid PRIMARY KEY);
             CREATE FUNCTION public.impnb_on_signup() RETURNS trigger LANGUAGE plpgsql
               SECURITY DEFINER SET search_path = '' AS
               $$ BEGIN INSERT INTO public.impnb_signups VALUES (NEW.id); RETURN NEW; END $$;
             CREATE TRIGGER impnb_on_signup AFTER INSERT ON auth.users
               FOR EACH ROW EXECUTE FUNCTION public.impnb_on_signup();",
        )
        .await
        .unwrap();
    let shared_linus = signup(target, "Linus@imp.example", "Linus T.").await;
    let su = superuser(target).await;
    assert_eq!(
        query_value::<i64>(&su, "SELECT count(*) FROM public.impnb_signups").await,
        1
    );

    let prod = cotenant.environment("prod").unwrap();
    let from = source_of(&source);
    let relocation = Relocation::new(Selection::All)
        .signup_triggers(SignupTriggerChoice::Hook)
        .functions(FunctionChoice::Rewrite)
        .publications(PublicationChoice::Keep);
    let request = Import::new(relocation.clone());

    // The collision is named, and refused: nothing changes.
    let plan = prod.plan_import(&p, &from, &request).await.unwrap();
    assert!(plan.is_blocked(), "{plan}");
    let users = plan.users().expect("the source's users come along");
    assert_eq!(users.total(), 3);
    assert_eq!(users.collisions().len(), 1, "{plan}");
    assert_eq!(users.collisions()[0].source_id, linus);
    assert_eq!(users.collisions()[0].target_id, shared_linus);
    assert!(
        users
            .references()
            .contains(&("subscriptions".to_owned(), "user_id".to_owned())),
        "{:?}",
        users.references()
    );
    let before = fingerprint(target).await;
    let err = prod.import(&p, &from, &request).await.unwrap_err();
    match &err {
        ImportError::UserCollisions { collisions, .. } => {
            assert_eq!(collisions.len(), 1);
            assert!(err.to_string().contains("linus@imp.example"), "{err}");
            assert!(err.to_string().contains("--users-map"), "{err}");
        }
        other => panic!("expected a user collision, got: {other}"),
    }
    assert_eq!(
        fingerprint(target).await,
        before,
        "a refused import changes nothing"
    );

    // Merged with a map: Linus of the source is Linus of the shared instance.
    let map = UsersMap::parse(
        &format!("source_id,target_id\n{linus},{shared_linus}\n"),
        None,
    )
    .unwrap();
    let request = request.users_map(map);
    let plan = prod.plan_import(&p, &from, &request).await.unwrap();
    assert!(!plan.is_blocked(), "{plan}");
    assert!(plan.findings().makes_signup_hook(), "{plan}");
    let done = prod.import(&p, &from, &request).await.expect("importing");
    assert_eq!(done.users(), 2, "Ada and Grace come along; Linus is merged");
    assert_eq!(done.identities(), 2);

    // The users kept their ids; the app's rows follow the merge.
    assert_eq!(
        query_value::<i64>(
            &su,
            &format!(
                "SELECT count(*) FROM auth.users WHERE id IN ('{ada}', '{grace}', '{shared_linus}')"
            )
        )
        .await,
        3
    );
    assert_eq!(
        query_value::<i64>(
            &su,
            &format!("SELECT count(*) FROM auth.users WHERE id = '{linus}'")
        )
        .await,
        0
    );
    assert_eq!(
        query_value::<i64>(
            &su,
            &format!("SELECT count(*) FROM impstarter.users WHERE id IN ('{ada}', '{grace}', '{shared_linus}')")
        )
        .await,
        3,
        "the source's profiles, Linus's rewritten to the shared id"
    );
    assert_eq!(
        query_value::<i64>(
            &su,
            &format!(
                "SELECT count(*) FROM impstarter.subscriptions WHERE user_id = '{shared_linus}'"
            )
        )
        .await,
        1
    );
    assert_eq!(
        query_value::<i64>(
            &su,
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f'
               AND connamespace = 'impstarter'::regnamespace AND confrelid = 'auth.users'::regclass"
        )
        .await,
        3,
        "the foreign keys to auth.users are there"
    );
    // Imported users are not signups: the neighbour's trigger did not run for them, and no
    // trigger of the app is left on auth.users; every trigger there is enabled again.
    assert_eq!(
        query_value::<i64>(&su, "SELECT count(*) FROM public.impnb_signups").await,
        1
    );
    assert_eq!(
        query_value::<i64>(
            &su,
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'auth.users'::regclass
               AND (tgname = 'on_auth_user_created' OR tgenabled = 'D')"
        )
        .await,
        0
    );

    // The app's clients work: RLS by auth.uid() as the project's login.
    let app = login(&cotenant, "prod", &p, Login::App).await;
    app.batch_execute(&format!(
        "SELECT set_config('request.jwt.claims', '{{\"sub\": \"{ada}\", \"role\": \"authenticated\"}}', false)"
    ))
    .await
    .unwrap();
    assert_eq!(
        query_value::<i64>(&app, "SELECT count(*) FROM users").await,
        1
    );
    assert_eq!(
        query_value::<i64>(&app, "SELECT count(*) FROM subscriptions").await,
        1
    );
    assert_eq!(
        query_value::<i64>(&app, "SELECT count(*) FROM prices").await,
        2
    );
    // A signup now reaches the project through its hook, and the neighbour's trigger again.
    let new = signup(target, "new@imp.example", "New").await;
    assert_eq!(
        query_value::<i64>(
            &su,
            &format!("SELECT count(*) FROM impstarter.users WHERE id = '{new}'")
        )
        .await,
        1
    );
    assert_eq!(
        query_value::<i64>(&su, "SELECT count(*) FROM public.impnb_signups").await,
        2
    );

    let audit = prod.audit(&Scope::only([p.clone()])).await.unwrap();
    assert!(audit.passes(), "{audit}");
    let other = login(&cotenant, "prod", &neighbour, Login::App).await;
    for sql in [
        "SELECT * FROM impstarter.users",
        "SELECT * FROM impstarter.subscriptions",
        "DELETE FROM impstarter.prices",
    ] {
        assert_denied(&other, "impstarter_neighbour_login", sql).await;
    }
    assert_eq!(
        fingerprint(&source).await,
        source_before,
        "the source is unchanged"
    );
    let again = prod.plan_import(&p, &from, &request).await.unwrap();
    assert!(again.is_empty(), "{again}");
    // The neighbour's trigger is this test's: it goes with it.
    admin(target)
        .await
        .batch_execute("DROP TRIGGER impnb_on_signup ON auth.users")
        .await
        .unwrap();
}
