//! Provisioning on real servers (the version in `COTENANT_TEST_PG`): the role model, isolation
//! between projects, convergence, drift repair, concurrency and interruption.

mod common;

use std::time::Duration;

use common::*;
use cotenant::provision::{self, DropObjects, ProjectSettings, ProvisionError};
use cotenant::secret::Login;
use cotenant_testkit::{Pair, test_version};
use tokio_postgres::error::SqlState;

/// What each project's migrator creates for the isolation matrix.
const OBJECTS: &str = "
    CREATE TABLE t (id serial PRIMARY KEY, v text);
    CREATE SEQUENCE s;
    CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
    CREATE TYPE mood AS ENUM ('ok', 'meh');
    INSERT INTO t (v) VALUES ('seed');
";

#[tokio::test]
async fn provisioning_converges_and_a_second_run_plans_nothing() {
    let cotenant = deployment().await;
    let p = project("conv");
    let first = cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    for (env, plan) in &first {
        assert!(
            plan.len() >= 15,
            "{env}: a new project takes a full plan:\n{plan}"
        );
    }
    for env in both() {
        assert_invariants(cluster(env), &p).await;
    }
    let second = cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    for (env, plan) in &second {
        assert!(
            plan.is_empty(),
            "{env}: second run must plan nothing:\n{plan}"
        );
    }
    // The secrets were created once and kept.
    let env = cotenant.environment("prod").unwrap();
    let secret = env.login_secret(&p, Login::App).await.unwrap();
    assert_eq!(secret.username, "conv_login");
    assert_eq!(secret.port, cluster("prod").port());
    let client = login(&cotenant, "prod", &p, Login::App).await;
    let row = client
        .query_one(
            "SELECT current_user::text, session_user::text, current_schema()::text",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2)
        ),
        ("conv_app".into(), "conv_login".into(), "conv".into())
    );
}

#[tokio::test]
async fn provisioning_keeps_the_platforms_own_logins_connecting() {
    // Hardening takes CONNECT from PUBLIC; the logins of Supabase's services (PostgREST's
    // authenticator, GoTrue, Storage, Realtime, the pooler...) connected through PUBLIC and must
    // keep connecting. The plain flavour has no such logins: only the revocation is checked there.
    let cotenant = deployment().await;
    let p = project("keepsvc");
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    for env in both() {
        let cluster = cluster(env);
        let public_connects: bool = admin(cluster)
            .await
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_database, aclexplode(datacl) AS acl
                                WHERE datname = current_database() AND acl.grantee = 0
                                  AND acl.privilege_type = 'CONNECT')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(!public_connects, "{env}: PUBLIC lost CONNECT");
        for role in cluster.flavor().logins() {
            let Some(config) = cluster.login_config(role) else {
                continue;
            };
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("{env}: {role} must still connect: {e}"));
            tokio::spawn(connection);
            client.batch_execute("SELECT 1").await.unwrap();
        }
    }
}

#[tokio::test]
async fn the_plan_prints_as_reviewable_sql_without_passwords() {
    let cotenant = deployment().await;
    let p = project("sqlplan");
    let plans = cotenant
        .plan(&p, &ProjectSettings::default())
        .await
        .unwrap();
    let (_, plan) = &plans[0];
    let sql = plan.to_sql();
    assert!(sql.contains("BEGIN;") && sql.contains("COMMIT;"), "{sql}");
    assert!(
        sql.contains(r#"CREATE SCHEMA "sqlplan" AUTHORIZATION "sqlplan_owner""#),
        "{sql}"
    );
    assert!(sql.contains(":'sqlplan_login_password'"), "{sql}");
    assert!(sql.contains("pg_advisory_xact_lock"), "{sql}");
    // The script applies as it is, with psql variables for the passwords, and converges.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &sql).unwrap();
    let c = cluster("staging");
    let status = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .args([
            "-v",
            "sqlplan_login_password=pw1",
            "-v",
            "sqlplan_migrator_password=pw2",
        ])
        .args([
            "-h",
            c.host(),
            "-p",
            &c.port().to_string(),
            "-U",
            c.admin_user(),
            "-d",
            c.database(),
        ])
        .arg("-f")
        .arg(file.path())
        .env(
            "PGPASSWORD",
            secrecy::ExposeSecret::expose_secret(c.admin_password()),
        )
        .status()
        .unwrap();
    assert!(status.success(), "psql failed on:\n{sql}");
    let after = provision::plan(&admin(c).await, &p, &ProjectSettings::default())
        .await
        .unwrap();
    assert!(after.is_empty(), "after the script:\n{after}");
    assert_invariants(c, &p).await;
}

#[tokio::test]
async fn isolation_matrix_every_project_is_closed_to_every_other() {
    let cotenant = deployment().await;
    let projects = [project("iso_a"), project("iso_b"), project("iso_c")];
    for p in &projects {
        cotenant
            .provision(p, &ProjectSettings::default())
            .await
            .unwrap();
    }
    let env = "staging";
    for p in &projects {
        let migrator = login(&cotenant, env, p, Login::Migrator).await;
        assert_allowed(&migrator, "migrator", OBJECTS).await;
        // What the migrator creates belongs to the owner, and the app can use it.
        let app = login(&cotenant, env, p, Login::App).await;
        for sql in [
            "SELECT * FROM t",
            "INSERT INTO t (v) VALUES ('x')",
            "UPDATE t SET v = 'y' WHERE v = 'x'",
            "DELETE FROM t WHERE v = 'y'",
            "SELECT nextval('s')",
            "SELECT f()",
            "SELECT 'ok'::mood",
        ] {
            assert_allowed(&app, &format!("{p}_app"), sql).await;
        }
        for sql in [
            "CREATE TABLE t2 (id int)",
            "TRUNCATE t",
            "DROP TABLE t",
            "CREATE TABLE public.x (id int)",
            "CREATE SCHEMA x",
            "CREATE TEMP TABLE x (id int)",
        ] {
            assert_denied(&app, &format!("{p}_app"), sql).await;
        }
    }
    // The admin's habits (tests/admin_habits.rs has the whole class): a SECURITY DEFINER
    // function in public reading each project's table, as the admin (with pg_read_all_data on
    // hosted Supabase) writes RPCs.
    let admin = admin(cluster(env)).await;
    for a in &projects {
        admin
            .batch_execute(&format!(
                "CREATE FUNCTION public.{a}_peek() RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER
                   SET search_path = pg_catalog AS $$ BEGIN RETURN QUERY SELECT v FROM {a}.t; END $$"
            ))
            .await
            .unwrap();
    }
    for b in &projects {
        for a in projects.iter().filter(|a| *a != b) {
            for which in Login::ALL {
                let client = login(&cotenant, env, b, which).await;
                let who = format!("{b}'s {which} against {a}");
                let ar = a.roles();
                for sql in [
                    format!("SELECT * FROM {a}.t"),
                    format!("INSERT INTO {a}.t (v) VALUES ('x')"),
                    format!("UPDATE {a}.t SET v = 'x'"),
                    format!("DELETE FROM {a}.t"),
                    format!("TRUNCATE {a}.t"),
                    format!("SELECT nextval('{a}.s')"),
                    format!("SELECT setval('{a}.s', 42)"),
                    format!("SELECT {a}.f()"),
                    format!("SELECT NULL::{a}.mood"),
                    format!("SELECT * FROM public.{a}_peek()"),
                    format!("CREATE TABLE {a}.x (id int)"),
                    format!("SET ROLE {}", ar.owner),
                    format!("SET ROLE {}", ar.app),
                    format!("SET ROLE {}", ar.login),
                    format!("SET ROLE {}", ar.migrator),
                    "CREATE TABLE public.x (id int)".to_owned(),
                    "CREATE SCHEMA x".to_owned(),
                    "CREATE TEMP TABLE x (id int)".to_owned(),
                ] {
                    assert_denied(&client, &who, &sql).await;
                }
            }
        }
    }
    for p in &projects {
        assert_invariants(cluster(env), p).await;
    }
}

#[tokio::test]
async fn a_login_that_resets_or_drops_its_role_gains_nothing() {
    let cotenant = deployment().await;
    let p = project("escape");
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    let migrator = login(&cotenant, "staging", &p, Login::Migrator).await;
    assert_allowed(&migrator, "migrator", OBJECTS).await;
    for which in Login::ALL {
        let client = login(&cotenant, "staging", &p, which).await;
        assert_allowed(&client, "login", "SET ROLE NONE").await;
        let row = client
            .query_one("SELECT current_user::text", &[])
            .await
            .unwrap();
        assert_eq!(
            row.get::<_, String>(0),
            format!(
                "{p}_{}",
                match which {
                    Login::App => "login",
                    Login::Migrator => "migrator",
                }
            )
        );
        for sql in [
            "SELECT * FROM escape.t",
            "INSERT INTO escape.t (v) VALUES ('x')",
            "SELECT nextval('escape.s')",
            "SELECT escape.f()",
            "CREATE TABLE escape.x (id int)",
            "CREATE TABLE public.x (id int)",
            "CREATE TEMP TABLE x (id int)",
            "CREATE SCHEMA x",
        ] {
            assert_denied(&client, &format!("{which} after SET ROLE NONE"), sql).await;
        }
        // RESET ROLE returns to the role the session started as, not to more.
        assert_allowed(&client, "login", "RESET ROLE").await;
        let row = client
            .query_one("SELECT current_user::text", &[])
            .await
            .unwrap();
        let expected = match which {
            Login::App => "escape_app",
            Login::Migrator => "escape_owner",
        };
        assert_eq!(row.get::<_, String>(0), expected);
        assert_allowed(&client, "after RESET ROLE", "SELECT * FROM escape.t").await;
        assert_denied(
            &client,
            "after RESET ROLE",
            "CREATE TABLE public.x (id int)",
        )
        .await;
    }
}

#[tokio::test]
async fn drift_appears_in_the_plan_and_is_repaired() {
    let cotenant = deployment().await;
    let (p, other) = (project("drift"), project("drift_other"));
    for q in [&p, &other] {
        cotenant
            .provision(q, &ProjectSettings::default())
            .await
            .unwrap();
    }
    let env = cotenant.environment("staging").unwrap();
    let migrator = env.connect_login(&p, Login::Migrator).await.unwrap();
    assert_allowed(&migrator, "migrator", OBJECTS).await;
    let su = superuser(cluster("staging")).await;
    su.batch_execute(
        "GRANT USAGE ON SCHEMA drift TO drift_other_app;
         GRANT SELECT ON drift.t TO PUBLIC;
         ALTER ROLE drift_login SET statement_timeout = 0;
         ALTER ROLE drift_login SET work_mem = '1GB';
         ALTER DEFAULT PRIVILEGES FOR ROLE drift_owner IN SCHEMA drift REVOKE SELECT ON TABLES FROM drift_app;",
    )
    .await
    .unwrap();
    // A membership granted by hand the way an operator can: as the project's steward.
    admin(cluster("staging"))
        .await
        .batch_execute(&format!(
            "SET ROLE {}; GRANT drift_app TO drift_other_login; RESET ROLE",
            provision::steward_of(&p)
        ))
        .await
        .unwrap();
    let other_login = env.connect_login(&other, Login::App).await.unwrap();
    other_login.batch_execute("SET ROLE NONE").await.unwrap();
    assert_eq!(
        outcome(&other_login, "SET ROLE drift_app").await,
        None,
        "the drift is real"
    );

    let plan = env.plan(&p, &ProjectSettings::default()).await.unwrap();
    let whys: Vec<&str> = plan.steps().map(|s| s.why()).collect();
    let text = plan.to_string();
    assert_eq!(plan.len(), 8 + sub_steward_lent(&plan), "{text}");
    for expected in [
        "`drift_other_app` holds USAGE",
        "`PUBLIC` is outside project `drift` yet holds privileges on table",
        "change from `0` to role default `statement_timeout`",
        "role default `work_mem`",
        "`drift_app` gets SELECT on new tables",
        "`drift_other_login` is a member of `drift_app`",
    ] {
        assert!(
            whys.iter().any(|w| w.contains(expected)),
            "missing `{expected}` in:\n{text}"
        );
    }
    let applied = env
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    assert_eq!(applied.len(), plan.len(), "{applied}");
    assert!(
        env.plan(&p, &ProjectSettings::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_invariants(cluster("staging"), &p).await;
    let other_login = env.connect_login(&other, Login::App).await.unwrap();
    assert_denied(&other_login, "after repair", "SELECT * FROM drift.t").await;
    other_login.batch_execute("SET ROLE NONE").await.unwrap();
    assert_denied(&other_login, "after repair", "SET ROLE drift_app").await;
}

#[tokio::test]
async fn twenty_projects_at_once_and_one_project_ten_times_at_once() {
    let cotenant = deployment().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let cotenant = cotenant.clone();
        tasks.push(tokio::spawn(async move {
            let p = project(&format!("par{i:02}"));
            let env = cotenant.environment("prod").unwrap();
            env.provision(&p, &ProjectSettings::default())
                .await
                .map(|_| p)
        }));
    }
    for i in 0..10 {
        let cotenant = cotenant.clone();
        tasks.push(tokio::spawn(async move {
            let p = project("same");
            let env = cotenant.environment("prod").unwrap();
            env.provision(&p, &ProjectSettings::default())
                .await
                .map_err(|e| panic!("run {i} of `same`: {e}"))
                .map(|_| p)
        }));
    }
    let mut done = Vec::new();
    for task in tasks {
        done.push(task.await.unwrap().unwrap_or_else(|e| panic!("{e}")));
    }
    done.dedup();
    assert_eq!(done.len(), 21);
    let env = cotenant.environment("prod").unwrap();
    for p in &done {
        let plan = env.plan(p, &ProjectSettings::default()).await.unwrap();
        assert!(plan.is_empty(), "{p} did not converge:\n{plan}");
        assert_invariants(cluster("prod"), p).await;
    }
}

#[tokio::test]
async fn a_connection_killed_mid_transaction_leaves_nothing_half_made() {
    // A pair of its own: the instance lock held below must not stall other tests.
    let pair = Pair::start(test_version()).unwrap();
    let cotenant = deployment_on(&pair, "killed").await;
    let p = project("killed");
    let c = &pair.staging;
    // Hold cotenant's instance lock: provisioning creates the roles and the schema, then waits
    // for the lock before its instance-wide steps, mid-transaction.
    let holder = superuser(c).await;
    holder
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&provision::instance_lock_key()],
        )
        .await
        .unwrap();
    let env = cotenant.environment("staging").unwrap().clone();
    let task = {
        let p = p.clone();
        tokio::spawn(async move { env.provision(&p, &ProjectSettings::default()).await })
    };
    let mut waited = 0;
    let pid: i32 = loop {
        assert!(
            !task.is_finished(),
            "provisioning ended instead of waiting: {:?}",
            task.await
        );
        waited += 1;
        assert!(
            waited < 1500,
            "provisioning never waited for the instance lock"
        );
        let rows = holder
            .query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'cotenant'
                 AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND state = 'active'",
                &[],
            )
            .await
            .unwrap();
        if let Some(row) = rows.first() {
            break row.get(0);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let su = superuser(c).await;
    let created: i64 = su
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'killed\\_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(created, 0, "uncommitted roles are invisible to others");
    su.execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, ProvisionError::Apply { .. }), "{err}");
    holder
        .execute("SELECT pg_advisory_unlock_all()", &[])
        .await
        .unwrap();
    let left: i64 = su
        .query_one(
            "SELECT (SELECT count(*) FROM pg_roles WHERE rolname LIKE 'killed\\_%')
                  + (SELECT count(*) FROM pg_namespace WHERE nspname = 'killed')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "nothing half-made");
    let env = cotenant.environment("staging").unwrap();
    assert!(
        !env.provision(&p, &ProjectSettings::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        env.plan(&p, &ProjectSettings::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_invariants(c, &p).await;
}

#[tokio::test]
async fn a_password_changed_behind_cotenants_back_is_restored_from_the_secret() {
    let cotenant = deployment().await;
    let p = project("pwdrift");
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    let su = superuser(cluster("prod")).await;
    su.batch_execute("ALTER ROLE pwdrift_login PASSWORD 'not-the-secret'")
        .await
        .unwrap();
    let env = cotenant.environment("prod").unwrap();
    let err = env.connect_login(&p, Login::App).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INVALID_PASSWORD));
    let plan = env
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    assert_eq!(plan.len(), 1 + sub_steward_lent(&plan), "{plan}");
    assert!(plan.to_sql().contains(":'pwdrift_login_password'"));
    env.connect_login(&p, Login::App).await.unwrap();
}

#[tokio::test]
async fn staging_failure_leaves_prod_untouched() {
    let cotenant = deployment().await;
    let p = project("gated");
    // A schema of that name that the admin cannot hand over: staging fails.
    superuser(cluster("staging"))
        .await
        .batch_execute("CREATE SCHEMA gated")
        .await
        .unwrap();
    let err = cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProvisionError::InEnvironment { environment, .. } if environment == "staging"),
        "{err}"
    );
    let prod = superuser(cluster("prod")).await;
    let n: i64 = query_value(
        &prod,
        "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'gated\\_%'",
    )
    .await;
    assert_eq!(n, 0, "prod must not be touched when staging fails");
}

#[tokio::test]
async fn deprovision_refuses_a_schema_with_objects_unless_confirmed() {
    let cotenant = deployment().await;
    let (p, neighbour) = (project("gone"), project("gone_neighbour"));
    for q in [&p, &neighbour] {
        cotenant
            .provision(q, &ProjectSettings::default())
            .await
            .unwrap();
        let migrator = login(&cotenant, "staging", q, Login::Migrator).await;
        assert_allowed(&migrator, "migrator", OBJECTS).await;
    }
    let err = cotenant
        .deprovision(&p, &DropObjects::Refuse)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("holds"), "{err}");
    let err = cotenant
        .deprovision(&p, &DropObjects::Confirmed("gone_neighbour".into()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    cotenant
        .deprovision(&p, &DropObjects::Confirmed("gone".into()))
        .await
        .unwrap();
    for env in both() {
        let su = superuser(cluster(env)).await;
        let n: i64 = su
            .query_one(
                "SELECT (SELECT count(*) FROM pg_roles WHERE rolname IN ('gone_owner', 'gone_app', 'gone_login', 'gone_migrator'))
                      + (SELECT count(*) FROM pg_namespace WHERE nspname = 'gone')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{env}: roles and schema dropped");
        let e = cotenant.environment(env).unwrap();
        assert!(matches!(
            e.login_secret(&p, Login::App).await,
            Err(cotenant::secret::SecretError::NotFound { .. })
        ));
        // The neighbour is untouched.
        let app = login(&cotenant, env, &neighbour, Login::App).await;
        if env == "staging" {
            assert_allowed(&app, "neighbour", "SELECT * FROM t").await;
        }
        assert_invariants(cluster(env), &neighbour).await;
    }
    // Deprovisioning again finds nothing to do.
    cotenant
        .deprovision(&p, &DropObjects::Refuse)
        .await
        .unwrap();
}

/// How many of `plan`'s statements let the steward act as the project's sub-steward and take it
/// back: two on 16+, where the sub-steward manages a new project's roles, none on 15. Both must
/// be there or neither.
fn sub_steward_lent(plan: &provision::Plan) -> usize {
    let sub = provision::sub_steward_of(plan.project());
    let lent = |sql: &str| plan.steps().filter(|s| s.sql().contains(sql)).count();
    let (lend, take_back) = (
        lent(&format!("GRANT \"{sub}\" TO")),
        lent(&format!("REVOKE SET OPTION FOR \"{sub}\"")),
    );
    assert_eq!(lend, take_back, "{plan}");
    assert_eq!(lend, usize::from(test_version().major() >= 16), "{plan}");
    lend + take_back
}

/// Who holds ADMIN on each of `p`'s four roles, sorted: the roles' managers.
async fn managers(cluster: &cotenant_testkit::Cluster, p: &cotenant::ProjectName) -> Vec<String> {
    let su = superuser(cluster).await;
    let rows = su
        .query(
            "SELECT DISTINCT pg_get_userbyid(m.member)::text FROM pg_auth_members m
             WHERE m.admin_option AND pg_get_userbyid(m.roleid) = ANY ($1) ORDER BY 1",
            &[&vec![
                format!("{p}_owner"),
                format!("{p}_app"),
                format!("{p}_login"),
                format!("{p}_migrator"),
            ]],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn on_16_a_sub_steward_manages_a_new_project_and_is_lent_only_while_provisioning() {
    let cotenant = deployment().await;
    let p = project("substew");
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    let (steward, sub) = (provision::steward_of(&p), provision::sub_steward_of(&p));
    for env in both() {
        let cluster = cluster(env);
        assert_invariants(cluster, &p).await;
        let admin = admin(cluster).await;
        let major: i32 = admin
            .query_one(
                "SELECT current_setting('server_version_num')::int / 10000",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        let sub_exists: bool = admin
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
                &[&sub],
            )
            .await
            .unwrap()
            .get(0);
        if major < 16 {
            // PostgreSQL 15 gives a role's creator no membership: no walk grows, the steward
            // creates the roles itself as before.
            assert!(!sub_exists, "{env}: no sub-stewards on 15");
            continue;
        }
        assert_eq!(managers(cluster, &p).await, vec![sub.clone()], "{env}");
        // The steward inherits its sub-steward, and may not act as it once provisioning is over;
        // neither may the admin.
        let row = admin
            .query_one(
                "SELECT bool_or(m.inherit_option), bool_or(m.set_option) FROM pg_auth_members m
                 WHERE m.roleid = to_regrole(quote_ident($1)) AND m.member = to_regrole(quote_ident($2))",
                &[&sub, &steward],
            )
            .await
            .unwrap();
        assert_eq!(
            (row.get::<_, Option<bool>>(0), row.get::<_, Option<bool>>(1)),
            (Some(true), Some(false)),
            "{env}"
        );
        assert_denied(&admin, "the admin", &format!("SET ROLE \"{sub}\"")).await;
        // What other parts of cotenant do as the project's steward still manages its roles.
        admin
            .batch_execute(&format!(
                "BEGIN; SET LOCAL ROLE \"{steward}\";
                 GRANT substew_owner TO \"{steward}\" WITH INHERIT FALSE, SET TRUE;
                 ALTER ROLE substew_login CONNECTION LIMIT 7;
                 REVOKE substew_owner FROM \"{steward}\"; COMMIT;"
            ))
            .await
            .unwrap();
    }
    // The drift made as the steward is repaired, and then nothing is left to do.
    let repaired = cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    for (env, plan) in &repaired {
        assert!(
            plan.to_sql().contains("CONNECTION LIMIT") || plan.is_empty(),
            "{env}:\n{plan}"
        );
    }
    for (env, plan) in cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap()
    {
        assert!(plan.is_empty(), "{env}: a re-run plans nothing:\n{plan}");
    }
    for env in both() {
        let report = cotenant
            .environment(env)
            .unwrap()
            .audit(&cotenant::audit::Scope::only([p.clone()]))
            .await
            .unwrap();
        let mine: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.counts())
            .filter(|f| f.project.as_deref() == Some("substew") || f.object.contains(&sub))
            .collect();
        assert!(
            mine.is_empty(),
            "{env}: the audit accepts sub-stewards: {mine:#?}"
        );
    }
}

#[tokio::test]
async fn a_project_whose_steward_created_its_roles_stays_with_it() {
    // The layout before sub-stewards: the steward created the project's roles, so on 16+ it
    // holds their ADMIN itself. Made here by hand the way that code did, under the instance lock.
    let cotenant = deployment().await;
    let (p, next) = (project("oldstew"), project("oldstew_next"));
    let steward = provision::steward_of(&p);
    for env in both() {
        let admin = admin(cluster(env)).await;
        let major: i32 = admin
            .query_one(
                "SELECT current_setting('server_version_num')::int / 10000",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        let (options, self_grant) = if major >= 16 {
            (
                " WITH INHERIT FALSE, SET TRUE",
                "SET LOCAL createrole_self_grant = '';",
            )
        } else {
            ("", "")
        };
        admin
            .batch_execute(&format!(
                "BEGIN;
                 SELECT pg_advisory_xact_lock({lock});
                 {self_grant}
                 DO $$ BEGIN
                     IF to_regrole('{steward}') IS NULL THEN
                         CREATE ROLE \"{steward}\" NOLOGIN NOINHERIT CREATEROLE;
                     END IF;
                 END $$;
                 GRANT \"{steward}\" TO CURRENT_USER{options};
                 GRANT CREATE ON DATABASE {db} TO \"{steward}\";
                 SET LOCAL ROLE \"{steward}\";
                 CREATE ROLE oldstew_owner NOLOGIN NOINHERIT;
                 CREATE ROLE oldstew_app NOLOGIN NOINHERIT;
                 CREATE ROLE oldstew_login LOGIN NOINHERIT;
                 CREATE ROLE oldstew_migrator LOGIN NOINHERIT;
                 RESET ROLE;
                 COMMIT;",
                lock = provision::instance_lock_key(),
                db = cluster(env).database(),
            ))
            .await
            .unwrap();
    }
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    for (env, plan) in cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap()
    {
        assert!(plan.is_empty(), "{env}: a re-run plans nothing:\n{plan}");
    }
    for env in both() {
        assert_invariants(cluster(env), &p).await;
        let managers = managers(cluster(env), &p).await;
        assert!(
            managers.is_empty() || managers == vec![steward.clone()],
            "{env}: the steward keeps managing its project: {managers:?}"
        );
    }
    // Its logins rotate, a new project sits next to it, and it deprovisions.
    cotenant
        .rotate(
            &p,
            &[Login::App],
            cotenant::rotate::Strategy::AlternatingUsers,
        )
        .await
        .unwrap();
    let migrator = login(&cotenant, "staging", &p, Login::Migrator).await;
    assert_allowed(&migrator, "the old project's migrator", OBJECTS).await;
    cotenant
        .provision(&next, &ProjectSettings::default())
        .await
        .unwrap();
    for env in both() {
        assert_invariants(cluster(env), &next).await;
    }
    cotenant
        .deprovision(&p, &DropObjects::Confirmed("oldstew".into()))
        .await
        .unwrap();
    for env in both() {
        let su = superuser(cluster(env)).await;
        let n: i64 = su
            .query_one(
                "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'oldstew\\_%' AND rolname NOT LIKE 'oldstew\\_next\\_%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{env}: the old project's roles are dropped");
        assert_invariants(cluster(env), &next).await;
    }
}

/// The grantees among `project`'s roles in the database's ACL: what every `GRANT … ON DATABASE`
/// rewrites grows by one entry per grantee.
async fn database_acl_grantees(
    cluster: &cotenant_testkit::Cluster,
    project: &cotenant::ProjectName,
) -> Vec<String> {
    let su = superuser(cluster).await;
    su.query(
        "SELECT DISTINCT pg_get_userbyid(a.grantee)::text FROM pg_database d, aclexplode(d.datacl) a
         WHERE d.datname = current_database() AND pg_get_userbyid(a.grantee) LIKE $1 || '\\_%'
         ORDER BY 1",
        &[&project.as_str()],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test]
async fn on_16_logins_connect_through_one_role_and_the_database_acl_stays_flat() {
    let cotenant = deployment().await;
    let first = provisioned(&cotenant, "flatacl_a", &ProjectSettings::default()).await;
    let second = provisioned(&cotenant, "flatacl_b", &ProjectSettings::default()).await;
    for env in both() {
        let cluster = cluster(env);
        let su = superuser(cluster).await;
        let major: i32 = query_value(
            &su,
            "SELECT current_setting('server_version_num')::int / 10000",
        )
        .await;
        for p in [&first, &second] {
            assert_invariants(cluster, p).await;
            let own: bool = su
                .query_one(
                    "SELECT aclcontains(d.datacl, makeaclitem(to_regrole($1), d.datdba, 'CONNECT', false))
                     FROM pg_database d WHERE d.datname = current_database()",
                    &[&format!("{p}_login")],
                )
                .await
                .unwrap()
                .get(0);
            // 15 has no per-grant inheritance: a NOINHERIT login needs CONNECT of its own.
            assert_eq!(own, major < 16, "{env}: {p}_login's own CONNECT");
        }
        let grantees = database_acl_grantees(cluster, &second).await;
        if major >= 16 {
            assert!(
                grantees.is_empty(),
                "{env}: a new project adds no ACL entry: {grantees:?}"
            );
        } else {
            assert_eq!(grantees, ["flatacl_b_login", "flatacl_b_migrator"], "{env}");
        }
        // The login holds CONNECT and nothing else: it cannot become the connect role, and
        // gains nothing through it.
        let client = login(&cotenant, env, &second, Login::App).await;
        if major >= 16 {
            assert_denied(&client, "flatacl_b_login", "SET ROLE cotenant_connect").await;
        }
        assert_denied(&client, "flatacl_b_login", "SELECT * FROM flatacl_a.t").await;
    }
    // Compatibility: a login holding CONNECT of its own (as provisioned before the connect
    // role) keeps it, and a re-run plans nothing; neither does a twin of the other kind.
    for env in both() {
        let su = superuser(cluster(env)).await;
        let major: i32 = query_value(
            &su,
            "SELECT current_setting('server_version_num')::int / 10000",
        )
        .await;
        if major < 16 {
            continue;
        }
        let sub = provision::sub_steward_of(&first);
        su.batch_execute(&format!(
            "REVOKE cotenant_connect FROM flatacl_a_login, flatacl_a_migrator GRANTED BY \"{sub}\""
        ))
        .await
        .unwrap();
        admin(cluster(env))
            .await
            .batch_execute(
                "GRANT CONNECT ON DATABASE postgres TO flatacl_a_login, flatacl_a_migrator",
            )
            .await
            .unwrap();
    }
    for (env, plan) in cotenant
        .provision(&first, &ProjectSettings::default())
        .await
        .unwrap()
    {
        assert!(plan.is_empty(), "{env}: own CONNECT is kept:\n{plan}");
    }
    for env in both() {
        assert_invariants(cluster(env), &first).await;
        login(&cotenant, env, &first, Login::Migrator).await;
    }
    // Deprovisioning drops the logins with their memberships.
    for p in [&first, &second] {
        cotenant
            .deprovision(p, &DropObjects::Confirmed(p.to_string()))
            .await
            .unwrap();
    }
    for env in both() {
        let su = superuser(cluster(env)).await;
        let left: i64 = query_value(
            &su,
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'flatacl\\_%'",
        )
        .await;
        assert_eq!(left, 0, "{env}");
    }
}
