//! The admin's habits as a route between projects (docs/design.md, "Known shared surfaces"):
//! on hosted Supabase the admin holds `pg_read_all_data`, and PUBLIC may use schema `public`
//! and execute new functions, so a SECURITY DEFINER function the admin writes in `public` (an
//! RPC, a `handle_new_user` trigger) or a view it owns would read every project's data for any
//! project's login. Provisioning closes that; `doctor` names what it cannot close. Every refusal
//! here is the server's 42501 to a project's own login.

mod common;

use common::*;
use cotenant::Cotenant;
use cotenant::ProjectName;
use cotenant::doctor::{self, FindingCode, OwnerPower};
use cotenant::provision::ProjectSettings;
use cotenant::secret::Login;
use cotenant_testkit::{Cluster, Flavor, Pair, test_version};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

/// What an admin writes in `public` the way Supabase's docs and starters do, every name prefixed
/// with `x`: a SECURITY DEFINER function reading project `a`'s table (plpgsql: `a` need not
/// exist yet), one reading the admin's own table, a `handle_new_user`-like trigger function, a
/// view over the admin's table and a plain function.
fn habits(x: &str, a: &ProjectName) -> String {
    format!(
        "CREATE TABLE public.{x}_ledger (id int, note text);
         INSERT INTO public.{x}_ledger VALUES (1, 'the admin''s own');
         CREATE TABLE public.{x}_profiles (id uuid);
         CREATE FUNCTION public.{x}_peek() RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER
           SET search_path = pg_catalog AS $$ BEGIN RETURN QUERY SELECT v FROM {a}.t; END $$;
         CREATE FUNCTION public.{x}_notes() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
           SET search_path = pg_catalog AS 'SELECT note FROM public.{x}_ledger';
         CREATE FUNCTION public.{x}_handle_new_user() RETURNS trigger LANGUAGE plpgsql
           SECURITY DEFINER SET search_path = '' AS
           $$ BEGIN INSERT INTO public.{x}_profiles (id) VALUES (NEW.id); RETURN NEW; END $$;
         CREATE VIEW public.{x}_ledger_view AS SELECT note FROM public.{x}_ledger;
         CREATE FUNCTION public.{x}_plain() RETURNS int LANGUAGE sql AS 'SELECT 1';"
    )
}

/// What no project's login or migrator may run of [`habits`], nor of the view over `a`'s table
/// when the admin could make one.
fn forbidden(x: &str, view_over_a: bool) -> Vec<String> {
    let mut sql: Vec<String> = [
        format!("SELECT * FROM public.{x}_peek()"),
        format!("SELECT * FROM public.{x}_notes()"),
        format!("SELECT public.{x}_handle_new_user()"),
        format!("SELECT * FROM public.{x}_ledger_view"),
        format!("SELECT public.{x}_plain()"),
        format!("SELECT * FROM public.{x}_ledger"),
    ]
    .into();
    if view_over_a {
        sql.push(format!("SELECT * FROM public.{x}_a_view"));
    }
    sql
}

/// Whether the admin reads every table (hosted Supabase's `postgres` holds `pg_read_all_data`;
/// a plain self-hosted admin does not), read as the superuser.
async fn reads_everything(c: &Cluster) -> bool {
    superuser(c)
        .await
        .query_one(
            "SELECT pg_has_role($1, 'pg_read_all_data', 'USAGE')",
            &[&c.admin_user()],
        )
        .await
        .unwrap()
        .get(0)
}

/// The admin's own view of the route: on an instance where it reads everything, its function
/// really hands out project `a`'s row — the route the tests close is real.
async fn assert_the_route_is_real(admin: &Client, x: &str, reads_everything: bool) {
    let got = admin
        .query(&format!("SELECT * FROM public.{x}_peek()"), &[])
        .await;
    if reads_everything {
        let rows = got.expect("the admin reads project a through pg_read_all_data");
        assert_eq!(rows[0].get::<_, String>(0), "seed");
    } else {
        assert_eq!(
            got.unwrap_err().code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "a plain admin cannot read a project's table, so its function cannot either"
        );
    }
}

/// Every login of `projects` is refused every statement of [`forbidden`], and a migrator
/// cannot attach the admin's trigger function to its own table.
async fn assert_closed(cotenant: &Cotenant, env: &str, projects: &[&ProjectName], sql: &[String]) {
    for p in projects {
        for which in Login::ALL {
            let client = login(cotenant, env, p, which).await;
            let who = format!("{p}'s {which}");
            for statement in sql {
                assert_denied(&client, &who, statement).await;
            }
        }
    }
}

async fn assert_no_trigger_from_public(cotenant: &Cotenant, env: &str, p: &ProjectName, x: &str) {
    let migrator = login(cotenant, env, p, Login::Migrator).await;
    assert_denied(
        &migrator,
        &format!("{p}'s migrator"),
        &format!(
            "CREATE TRIGGER borrowed AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION public.{x}_handle_new_user()"
        ),
    )
    .await;
}

#[tokio::test]
async fn admins_habits_from_before_the_hardening_are_closed_to_every_project() {
    // An instance of its own: the habits must predate the first provisioning.
    let pair = Pair::start(test_version()).expect("a pair of its own");
    let cotenant = deployment_on(&pair, "habits_before").await;
    let (a, b) = (project("hb_a"), project("hb_b"));
    let supabase = pair.staging.flavor() == Flavor::Supabase;
    for (_, c) in pair.environments() {
        let admin = common::admin(c).await;
        admin.batch_execute(&habits("hb", &a)).await.unwrap();
        if supabase {
            // Supabase's starters fire `handle_new_user` on every signup.
            admin
                .batch_execute(
                    "CREATE TRIGGER hb_on_auth_user_created AFTER INSERT ON auth.users
                     FOR EACH ROW EXECUTE FUNCTION public.hb_handle_new_user()",
                )
                .await
                .unwrap();
        }
    }
    // Before any project, doctor names the habits PUBLIC can reach, as ones provisioning closes.
    let report = doctor::examine(&common::admin(&pair.staging).await)
        .await
        .unwrap();
    for object in [
        "public.hb_peek()",
        "public.hb_notes()",
        "public.hb_handle_new_user()",
    ] {
        let finding = report
            .findings
            .iter()
            .find(|f| f.object == object)
            .unwrap_or_else(|| panic!("{object} is a route before hardening: {report:#?}"));
        assert!(
            finding
                .message
                .contains("provisioning a project closes this one"),
            "{finding}"
        );
    }
    // A SECURITY INVOKER function runs as its caller, and a new view is no one's but its owner's.
    for object in ["public.hb_plain()", "public.hb_ledger_view"] {
        assert!(
            !report.findings.iter().any(|f| f.object == object),
            "{object}: {report:#?}"
        );
    }
    for p in [&a, &b] {
        cotenant
            .provision(p, &ProjectSettings::default())
            .await
            .unwrap();
    }
    let report = doctor::examine(&common::admin(&pair.staging).await)
        .await
        .unwrap();
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.object.starts_with("public.hb_")),
        "hardening closed them: {report:#?}"
    );
    for (env, c) in pair.environments() {
        for p in [&a, &b] {
            login(&cotenant, env, p, Login::Migrator)
                .await
                .batch_execute("CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'seed')")
                .await
                .unwrap();
        }
        let reads_everything = reads_everything(c).await;
        assert_the_route_is_real(&common::admin(c).await, "hb", reads_everything).await;
        assert_closed(&cotenant, env, &[&a, &b], &forbidden("hb", false)).await;
        for p in [&a, &b] {
            assert_no_trigger_from_public(&cotenant, env, p, "hb").await;
        }
        if supabase {
            assert_supabase_keeps_what_it_had(c, &[&a, &b]).await;
        } else {
            eprintln!("admin_habits: plain flavour, no Supabase services to keep working");
        }
    }
}

/// After the hardening, hosted Supabase's services work as before: PostgREST's roles reach the
/// admin's objects in public that Supabase's default privileges gave them, a signup through
/// GoTrue still fires the admin's `handle_new_user`, and every role that is not cotenant's still
/// uses schema public — while no project role does.
async fn assert_supabase_keeps_what_it_had(c: &Cluster, projects: &[&ProjectName]) {
    let connect = |config: tokio_postgres::Config| async move {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    };
    let authenticator = connect(c.authenticator_config()).await;
    for role in ["anon", "authenticated", "service_role"] {
        assert_allowed(
            &authenticator,
            &format!("authenticator as {role}"),
            &format!(
                "SET ROLE {role}; SELECT public.hb_plain(); SELECT count(*) FROM public.hb_ledger_view; RESET ROLE"
            ),
        )
        .await;
    }
    let gotrue = connect(c.auth_admin_config()).await;
    assert_allowed(
        &gotrue,
        "GoTrue's signup",
        "INSERT INTO auth.users (id, aud, role, email) VALUES
           ('00000000-0000-4000-8000-00000000b0b0', 'authenticated', 'authenticated', 'hb@example.com')",
    )
    .await;
    let profiles: i64 = common::admin(c)
        .await
        .query_one(
            "SELECT count(*) FROM public.hb_profiles WHERE id = '00000000-0000-4000-8000-00000000b0b0'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(profiles, 1, "the signup ran handle_new_user");
    for role in Flavor::Supabase.logins() {
        let client = connect(c.login_config(role).unwrap()).await;
        let uses: bool = client
            .query_one("SELECT has_schema_privilege('public', 'USAGE')", &[])
            .await
            .unwrap()
            .get(0);
        assert!(uses, "{role} still uses schema public");
    }
    let su = superuser(c).await;
    for role in [
        "anon",
        "authenticated",
        "service_role",
        "dashboard_user",
        c.admin_user(),
    ] {
        let uses: bool = su
            .query_one(
                "SELECT has_schema_privilege($1, 'public', 'USAGE')",
                &[&role],
            )
            .await
            .unwrap()
            .get(0);
        assert!(uses, "{role} still uses schema public");
    }
    for p in projects {
        for role in p.roles().all() {
            let uses: bool = su
                .query_one(
                    "SELECT has_schema_privilege($1, 'public', 'USAGE')",
                    &[&role],
                )
                .await
                .unwrap()
                .get(0);
            assert!(!uses, "{role} must not use schema public");
        }
    }
}

#[tokio::test]
async fn admins_habits_from_after_the_hardening_are_closed_to_every_project() {
    let cotenant = deployment().await;
    let settings = ProjectSettings::default();
    let a = provisioned(&cotenant, "ha_a", &settings).await;
    let b = provisioned(&cotenant, "ha_b", &settings).await;
    let env = "staging";
    let admin = admin(cluster(env)).await;
    admin.batch_execute(&habits("ha", &a)).await.unwrap();
    let reads_everything = reads_everything(cluster(env)).await;
    if reads_everything {
        admin
            .batch_execute(&format!(
                "CREATE VIEW public.ha_a_view AS SELECT v FROM {a}.t"
            ))
            .await
            .unwrap();
    } else {
        eprintln!(
            "admin_habits: the admin cannot read {a}.t on this flavour, so it cannot make a view over it: that case is left out"
        );
    }
    assert_the_route_is_real(&admin, "ha", reads_everything).await;
    let sql = forbidden("ha", reads_everything);
    assert_closed(&cotenant, env, &[&a, &b], &sql).await;
    for p in [&a, &b] {
        assert_no_trigger_from_public(&cotenant, env, p, "ha").await;
    }

    // The second wall: even with USAGE on public handed to B by hand, the admin's new functions
    // are not PUBLIC's any more, and its view never was.
    let su = superuser(cluster(env)).await;
    su.batch_execute(&format!(
        "GRANT USAGE ON SCHEMA public TO {}",
        b.roles().app
    ))
    .await
    .unwrap();
    let b_login = login(&cotenant, env, &b, Login::App).await;
    for statement in [
        "SELECT * FROM public.ha_peek()",
        "SELECT * FROM public.ha_notes()",
        "SELECT public.ha_handle_new_user()",
        "SELECT public.ha_plain()",
        "SELECT * FROM public.ha_ledger_view",
    ] {
        assert_denied(&b_login, "B's login with USAGE on public", statement).await;
    }
    su.batch_execute(&format!(
        "REVOKE USAGE ON SCHEMA public FROM {}",
        b.roles().app
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn doctor_names_every_route_into_project_data_and_nothing_else() {
    let cotenant = deployment().await;
    let settings = ProjectSettings::default();
    let a = provisioned(&cotenant, "hd_a", &settings).await;
    let b = provisioned(&cotenant, "hd_b", &settings).await;
    let env = "staging";
    let c = cluster(env);
    let admin = admin(c).await;
    let b_app = b.roles().app;
    // A shared schema every role may use, as an admin might make for "utilities".
    admin
        .batch_execute(&format!(
            "CREATE SCHEMA hd_shared;
             GRANT USAGE ON SCHEMA hd_shared TO PUBLIC;
             CREATE TABLE hd_shared.ledger (note text);
             INSERT INTO hd_shared.ledger VALUES ('the admin''s own');
             CREATE FUNCTION hd_shared.notes(n int) RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
               SET search_path = pg_catalog AS 'SELECT note FROM hd_shared.ledger LIMIT n';
             GRANT EXECUTE ON FUNCTION hd_shared.notes(int) TO PUBLIC;
             CREATE VIEW hd_shared.ledger_view AS SELECT note FROM hd_shared.ledger;
             GRANT SELECT ON hd_shared.ledger_view TO {b_app};
             -- Not routes: a SECURITY INVOKER function, a security_invoker view, a definer
             -- function nobody outside may execute.
             CREATE FUNCTION hd_shared.invoker() RETURNS int LANGUAGE sql AS 'SELECT 1';
             GRANT EXECUTE ON FUNCTION hd_shared.invoker() TO PUBLIC;
             CREATE VIEW hd_shared.invoker_view WITH (security_invoker = true) AS
               SELECT note FROM hd_shared.ledger;
             GRANT SELECT ON hd_shared.invoker_view TO PUBLIC;
             CREATE FUNCTION hd_shared.closed() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';"
        ))
        .await
        .unwrap();
    // A project's own definer function is its own business.
    login(&cotenant, env, &a, Login::Migrator)
        .await
        .batch_execute(
            "CREATE FUNCTION own() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS 'SELECT 1'",
        )
        .await
        .unwrap();

    // The routes are open: B reads what only the admin can.
    let b_login = login(&cotenant, env, &b, Login::App).await;
    for statement in [
        "SELECT * FROM hd_shared.notes(1)",
        "SELECT * FROM hd_shared.ledger_view",
    ] {
        assert_allowed(&b_login, "B before the fix", statement).await;
    }

    let report = doctor::examine(&admin).await.unwrap();
    let ours: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.object.starts_with("hd_shared.") || f.object.starts_with("hd_a."))
        .collect();
    let names: Vec<(&str, FindingCode, &str)> = ours
        .iter()
        .map(|f| (f.object.as_str(), f.code, f.reachable_through.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (
                "hd_shared.ledger_view",
                FindingCode::SharedDefinerView,
                b_app.as_str()
            ),
            (
                "hd_shared.notes(n integer)",
                FindingCode::SharedDefinerFunction,
                "PUBLIC"
            ),
        ],
        "{report:#?}"
    );
    let expected_power = if reads_everything(cluster(env)).await {
        OwnerPower::ReadAllData
    } else if superuser(c)
        .await
        .query_one(
            "SELECT rolbypassrls FROM pg_roles WHERE rolname = $1",
            &[&c.admin_user()],
        )
        .await
        .unwrap()
        .get(0)
    {
        OwnerPower::BypassRls
    } else {
        OwnerPower::Admin
    };
    for f in &ours {
        assert_eq!(f.owner, c.admin_user(), "{f}");
        assert_eq!(f.owner_power, expected_power, "{f}");
    }
    let function = ours
        .iter()
        .find(|f| f.code == FindingCode::SharedDefinerFunction)
        .unwrap();
    assert!(
        function
            .message
            .contains(r#"REVOKE EXECUTE ON ROUTINE "hd_shared"."notes"(n integer) FROM PUBLIC"#),
        "{function}"
    );
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "no SECURITY DEFINER routes into project data")
        .unwrap();
    assert_eq!(check.verdict, doctor::Verdict::Warn);
    assert!(
        check.detail.contains("hd_shared.notes(n integer)"),
        "{}",
        check.detail
    );

    // The fixes the findings name close the routes, and doctor stops naming them.
    admin
        .batch_execute(&format!(
            r#"REVOKE EXECUTE ON ROUTINE "hd_shared"."notes"(n integer) FROM PUBLIC;
               REVOKE ALL ON "hd_shared"."ledger_view" FROM "{b_app}";"#
        ))
        .await
        .unwrap();
    for statement in [
        "SELECT * FROM hd_shared.notes(1)",
        "SELECT * FROM hd_shared.ledger_view",
    ] {
        assert_denied(&b_login, "B after the fix", statement).await;
    }
    let report = doctor::examine(&admin).await.unwrap();
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.object.starts_with("hd_shared.")),
        "{report:#?}"
    );
}

#[tokio::test]
async fn doctor_says_whether_public_and_the_admins_defaults_are_closed() {
    let cotenant = deployment().await;
    provisioned(&cotenant, "hdc", &ProjectSettings::default()).await;
    let report = doctor::examine(&admin(cluster("prod")).await)
        .await
        .unwrap();
    // Other tests here make their routes on staging only: prod is the instance as its setup
    // built it, hardened, and Supabase's own objects offer no route.
    assert_eq!(report.findings, [], "{report:#?}");
    for name in [
        "PUBLIC cannot use schema public",
        "the admin's new functions are not PUBLIC's",
    ] {
        let check = report.checks.iter().find(|c| c.name == name).unwrap();
        assert_eq!(check.verdict, doctor::Verdict::Ok, "{check:?}");
    }
}

#[tokio::test]
async fn extensions_and_auth_hand_projects_nothing_of_their_owners_unless_doctor_says_so() {
    let cotenant = deployment().await;
    let env = "staging";
    let c = cluster(env);
    if c.flavor() != Flavor::Supabase {
        eprintln!("admin_habits: plain flavour, no `extensions` or `auth` schema to share");
        return;
    }
    let settings = ProjectSettings::default();
    let a = provisioned(&cotenant, "he_a", &settings).await;
    let b = provisioned(&cotenant, "he_b", &settings).await;
    let b_app = b.roles().app;
    let su = superuser(c).await;
    // What platform access declares for B: USAGE on the shared schemas.
    su.batch_execute(&format!(
        "GRANT USAGE ON SCHEMA extensions TO {b_app}; GRANT USAGE ON SCHEMA auth TO {b_app}"
    ))
    .await
    .unwrap();
    let b_login = login(&cotenant, env, &b, Login::App).await;
    for statement in [
        "SELECT extensions.gen_random_bytes(4)",
        "SELECT extensions.crypt('pw', extensions.gen_salt('bf'))",
        "SELECT extensions.uuid_generate_v4()",
        "SELECT auth.uid()",
    ] {
        assert_allowed(&b_login, "B with extensions and auth", statement).await;
    }
    assert_denied(&b_login, "B with auth", "SELECT * FROM auth.users").await;
    // What B can execute there runs as B: no SECURITY DEFINER function among them (event
    // trigger functions cannot be called), and doctor agrees.
    let definers: Vec<String> = su
        .query(
            "SELECT p.oid::regprocedure::text FROM pg_proc p
             WHERE p.pronamespace IN ('extensions'::regnamespace, 'auth'::regnamespace)
               AND p.prosecdef AND p.prorettype <> 'event_trigger'::regtype
               AND has_function_privilege($1, p.oid, 'EXECUTE')",
            &[&b_app],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(definers, Vec::<String>::new());
    let admin = admin(c).await;
    let in_shared = |report: &doctor::DoctorReport| -> Vec<String> {
        report
            .findings
            .iter()
            .filter(|f| f.object.starts_with("extensions.") || f.object.starts_with("auth."))
            .map(|f| f.object.clone())
            .collect()
    };
    assert_eq!(
        in_shared(&doctor::examine(&admin).await.unwrap()),
        Vec::<String>::new()
    );

    // The admin adds a definer function in extensions: closed by its default privileges...
    admin
        .batch_execute(&format!(
            "CREATE FUNCTION extensions.he_peek() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
               SET search_path = pg_catalog AS 'SELECT v FROM {a}.t'"
        ))
        .await
        .unwrap();
    assert_denied(&b_login, "B", "SELECT * FROM extensions.he_peek()").await;
    assert_eq!(
        in_shared(&doctor::examine(&admin).await.unwrap()),
        Vec::<String>::new()
    );
    // ...until it grants it to PUBLIC: then B reads A through it, and doctor names it.
    admin
        .batch_execute("GRANT EXECUTE ON FUNCTION extensions.he_peek() TO PUBLIC")
        .await
        .unwrap();
    let rows = b_login
        .query("SELECT * FROM extensions.he_peek()", &[])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, String>(0), "seed", "the route is real");
    // The bootstrap superuser's new functions are PUBLIC's: cotenant cannot change its defaults.
    su.batch_execute(&format!(
        "CREATE FUNCTION extensions.he_su_peek() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
           SET search_path = pg_catalog AS 'SELECT v FROM {a}.t'"
    ))
    .await
    .unwrap();
    assert_allowed(&b_login, "B", "SELECT * FROM extensions.he_su_peek()").await;
    let report = doctor::examine(&admin).await.unwrap();
    assert_eq!(
        in_shared(&report),
        ["extensions.he_peek()", "extensions.he_su_peek()"],
        "{report:#?}"
    );
    let su_finding = report
        .findings
        .iter()
        .find(|f| f.object == "extensions.he_su_peek()")
        .unwrap();
    assert_eq!(su_finding.owner, Flavor::Supabase.superuser());
    assert_eq!(su_finding.owner_power, OwnerPower::Superuser);
    assert_eq!(su_finding.reachable_through, "PUBLIC");

    su.batch_execute(&format!(
        "DROP FUNCTION extensions.he_peek(); DROP FUNCTION extensions.he_su_peek();
         REVOKE USAGE ON SCHEMA extensions FROM {b_app}; REVOKE USAGE ON SCHEMA auth FROM {b_app}"
    ))
    .await
    .unwrap();
}
