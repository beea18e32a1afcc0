//! Data API roles on real servers: what PostgREST does, without PostgREST. A client's request is
//! a transaction on a connection as `authenticator`: `SET LOCAL ROLE <the JWT's role claim>`,
//! the claims as `request.jwt.claims`, then the query. Each project's API roles reach their own
//! project only, and RLS on `auth.uid()` is the wall between users inside it.

mod common;

use common::*;
use cotenant::api::{Api, ApiConfig, ApiError, ApiRoleKind, TablePrivilege};
use cotenant::platform::{Access, AccessOverride, PlatformConfig};
use cotenant::provision::{self, ProjectSettings, ProvisionError};
use cotenant::secret::Login;
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Cluster, Flavor, Pair};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

/// What each project's migrator creates: a table of users' notes behind RLS on `auth.uid()`, a
/// public board `anon` may read, a sequence and a function.
fn objects(p: &ProjectName) -> String {
    format!(
        "CREATE TABLE notes (id serial PRIMARY KEY, user_id uuid NOT NULL DEFAULT auth.uid(), body text);
         ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
         CREATE POLICY own_notes ON notes TO {p}_authenticated
             USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()));
         GRANT SELECT, INSERT ON notes TO {p}_authenticated;
         GRANT USAGE ON SEQUENCE notes_id_seq TO {p}_authenticated;
         CREATE TABLE board (id serial PRIMARY KEY, body text);
         INSERT INTO board (body) VALUES ('welcome to {p}');
         GRANT SELECT ON board TO {p}_anon;
         CREATE SEQUENCE s;
         CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';"
    )
}

/// Whether the shared pair has `authenticator`; on the plain flavour the tests that need it
/// stop here, saying so, and `an_instance_without_authenticator_refuses_the_api` runs instead.
fn supabase() -> bool {
    is_supabase(cluster("staging"), "the Data API path")
}

/// A deployment where `names` have the Data API (`api`) and platform access `auth`.
async fn deployment_with(names: &[&str], api: &Api) -> Cotenant {
    let mut platform = PlatformConfig::default();
    let mut apis = ApiConfig::default();
    for name in names {
        platform = platform.with_project(
            project(name),
            AccessOverride::from(Access::default().with_auth(true)),
        );
        apis = apis.with_project(project(name), api.clone());
    }
    deployment().await.with_platform(platform).with_api(apis)
}

/// The API as these tests declare it; `<p>_service` only where the admin can give BYPASSRLS
/// (PostgreSQL 16+; on 15 only a superuser can, see `on_15_the_service_role_needs_a_superuser_once`).
fn api_for(cluster: &Cluster) -> Api {
    Api::enabled().with_service(cluster.version().major() >= 16)
}

/// A deployment where `names` have the Data API (`api`) and platform access `auth`, each
/// provisioned on staging with its migration's objects.
async fn deployed_with_objects<const N: usize>(
    names: [&str; N],
    api: &Api,
) -> (Cotenant, [ProjectName; N]) {
    let cotenant = deployment_with(&names, api).await;
    let projects = provision_with_objects(&cotenant, &names).await;
    let projects = projects.try_into().expect("one project a name");
    (cotenant, projects)
}

async fn provision_with_objects(cotenant: &Cotenant, names: &[&str]) -> Vec<ProjectName> {
    let mut projects = Vec::new();
    for name in names {
        let p = project(name);
        cotenant
            .provision(&p, &ProjectSettings::default())
            .await
            .unwrap_or_else(|e| panic!("provisioning {p}: {e}"));
        login(cotenant, "staging", &p, Login::Migrator)
            .await
            .batch_execute(&objects(&p))
            .await
            .unwrap_or_else(|e| panic!("{p}'s migration: {e}"));
        projects.push(p);
    }
    projects
}

async fn authenticator(cluster: &Cluster) -> Client {
    let (client, connection) = cluster
        .authenticator_config()
        .connect(NoTls)
        .await
        .expect("connecting as authenticator");
    tokio::spawn(connection);
    client
}

fn claims(sub: &str, role: &str) -> String {
    format!(r#"{{"sub": "{sub}", "role": "{role}", "aud": "authenticated"}}"#)
}

/// One PostgREST request: a transaction as `role` with `claims` and the project's schema as
/// `search_path` (PostgREST's per-request settings), running `sql`; the rows'
/// first column as text, or the SQLSTATE it failed with. Rolled back unless `commit`.
async fn request(
    client: &mut Client,
    role: &str,
    claims: &str,
    sql: &str,
    commit: bool,
) -> Result<Vec<String>, SqlState> {
    // The profile (`Accept-Profile`) is the project whose role the claims select.
    let schema = ["_anon", "_authenticated", "_service"]
        .iter()
        .find_map(|suffix| role.strip_suffix(suffix))
        .expect("an API role");
    let tx = client.transaction().await.unwrap();
    tx.batch_execute(&format!("SET LOCAL ROLE {role}"))
        .await
        .unwrap();
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true), set_config('search_path', $2, true)",
        &[&claims, &schema],
    )
    .await
    .unwrap();
    let result = match tx.simple_query(sql).await {
        Ok(messages) => Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some(row.get(0).unwrap_or("NULL").to_owned())
                }
                _ => None,
            })
            .collect()),
        Err(e) => Err(e.code().cloned().expect("a server error")),
    };
    if commit && result.is_ok() {
        tx.commit().await.unwrap();
    }
    result
}

async fn expect_denied(client: &mut Client, who: &str, role: &str, claims: &str, sql: &str) {
    assert_eq!(
        request(client, role, claims, sql, false).await,
        Err(SqlState::INSUFFICIENT_PRIVILEGE),
        "{who}: `{sql}` must be refused with 42501"
    );
}

const ALICE: &str = "00000000-0000-4000-8000-00000000a11c";
const BOB: &str = "00000000-0000-4000-8000-000000000b0b";
const CAROL: &str = "00000000-0000-4000-8000-0000000ca401";

#[tokio::test]
async fn two_users_in_two_projects_each_read_exactly_their_own_rows() {
    if !supabase() {
        return;
    }
    let c = cluster("staging");
    let (_, [a, b]) = deployed_with_objects(["api_cl_a", "api_cl_b"], &api_for(c)).await;
    let mut client = authenticator(c).await;
    let (a_user, b_user) = (format!("{a}_authenticated"), format!("{b}_authenticated"));
    // Alice uses project a, Bob project b, Carol both; each writes a note.
    for (role, sub, body) in [
        (&a_user, ALICE, "alice in a"),
        (&a_user, CAROL, "carol in a"),
        (&b_user, BOB, "bob in b"),
        (&b_user, CAROL, "carol in b"),
    ] {
        request(
            &mut client,
            role,
            &claims(sub, role),
            &format!("INSERT INTO notes (body) VALUES ('{body}')"),
            true,
        )
        .await
        .unwrap_or_else(|e| panic!("{sub} inserting into {role}'s project: {e:?}"));
    }
    let read = |p: &ProjectName| format!("SELECT body FROM {p}.notes ORDER BY body");
    for (role, sub, expected) in [
        (&a_user, ALICE, vec!["alice in a"]),
        (&a_user, CAROL, vec!["carol in a"]),
        (&a_user, BOB, vec![]),
        (&b_user, BOB, vec!["bob in b"]),
        (&b_user, CAROL, vec!["carol in b"]),
        (&b_user, ALICE, vec![]),
    ] {
        let p = if role == &a_user { &a } else { &b };
        let rows = request(&mut client, role, &claims(sub, role), &read(p), false)
            .await
            .unwrap();
        assert_eq!(rows, expected, "{sub} as {role}");
    }
    // A note written for another user is refused by the policy's WITH CHECK.
    assert_eq!(
        request(
            &mut client,
            &a_user,
            &claims(ALICE, &a_user),
            &format!("INSERT INTO notes (user_id, body) VALUES ('{BOB}', 'forged')"),
            false,
        )
        .await,
        Err(SqlState::INSUFFICIENT_PRIVILEGE)
    );
    // Without a user (no `sub`), RLS shows nothing.
    let rows = request(&mut client, &a_user, r#"{"role": "x"}"#, &read(&a), false)
        .await
        .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
}

#[tokio::test]
async fn isolation_matrix_with_api_roles_as_attackers_and_as_victims() {
    if !supabase() {
        return;
    }
    let c = cluster("staging");
    let api = api_for(c);
    let names = ["api_iso_a", "api_iso_b"];
    let (cotenant, projects) = deployed_with_objects(names, &api).await;
    let mut client = authenticator(c).await;
    for b in &projects {
        // Each API role reaches what its project granted it, and nothing more.
        let own = format!("{b}_authenticated");
        let mine = claims(ALICE, &own);
        for sql in ["SELECT * FROM notes", "SELECT nextval('notes_id_seq')"] {
            request(
                &mut client,
                &own,
                &mine,
                &format!("SET search_path = {b}; {sql}"),
                false,
            )
            .await
            .unwrap_or_else(|e| panic!("{own}: `{sql}` must work: {e:?}"));
        }
        for sql in [
            format!("SELECT * FROM {b}.board"),
            format!("SELECT {b}.f()"),
            format!("SELECT nextval('{b}.s')"),
            format!("CREATE TABLE {b}.x (id int)"),
            format!("TRUNCATE {b}.notes"),
            "CREATE TABLE public.x (id int)".to_owned(),
            "CREATE TEMP TABLE x (id int)".to_owned(),
        ] {
            expect_denied(&mut client, &own, &own, &mine, &sql).await;
        }
        for a in projects.iter().filter(|a| *a != b) {
            let ar = a.roles();
            for kind in api.kinds() {
                let attacker = kind.role(b);
                // The claims may even name the victim's role: they are a setting, not a role.
                for forged in [
                    claims(ALICE, &attacker),
                    claims(ALICE, &format!("{a}_authenticated")),
                ] {
                    let who = format!("{attacker} (claims {forged}) against {a}");
                    for sql in [
                        format!("SELECT * FROM {a}.notes"),
                        format!("SELECT * FROM {a}.board"),
                        format!("INSERT INTO {a}.notes (body) VALUES ('x')"),
                        format!("UPDATE {a}.notes SET body = 'x'"),
                        format!("DELETE FROM {a}.notes"),
                        format!("TRUNCATE {a}.notes"),
                        format!("SELECT nextval('{a}.notes_id_seq')"),
                        format!("SELECT nextval('{a}.s')"),
                        format!("SELECT {a}.f()"),
                        format!("CREATE TABLE {a}.x (id int)"),
                        format!("SET ROLE {}", ar.owner),
                        format!("SET ROLE {}", ar.app),
                        format!("SET ROLE {}", ar.login),
                        format!("SET ROLE {}", ar.migrator),
                    ] {
                        expect_denied(&mut client, &who, &attacker, &forged, &sql).await;
                    }
                }
            }
            // As victims: b's logins reach none of a's API roles.
            for which in Login::ALL {
                let login = login(&cotenant, "staging", b, which).await;
                for kind in api.kinds() {
                    assert_denied(
                        &login,
                        &format!("{b}'s {which}"),
                        &format!("SET ROLE {}", kind.role(a)),
                    )
                    .await;
                }
            }
        }
    }
    for p in &projects {
        assert_api_invariants(c, p, &api).await;
    }
}

#[tokio::test]
async fn anon_sees_only_what_the_project_granted_it() {
    if !supabase() {
        return;
    }
    let c = cluster("staging");
    let (_, [p]) = deployed_with_objects(["api_anon"], &api_for(c)).await;
    let mut client = authenticator(c).await;
    let anon = format!("{p}_anon");
    let none = r#"{"role": "anon"}"#;
    let rows = request(
        &mut client,
        &anon,
        none,
        &format!("SELECT body FROM {p}.board"),
        false,
    )
    .await
    .unwrap();
    assert_eq!(rows, [format!("welcome to {p}")]);
    for sql in [
        format!("SELECT * FROM {p}.notes"),
        format!("INSERT INTO {p}.board (body) VALUES ('spam')"),
        format!("SELECT {p}.f()"),
        format!("SELECT nextval('{p}.s')"),
        "SELECT * FROM auth.users".to_owned(),
    ] {
        expect_denied(&mut client, &anon, &anon, none, &sql).await;
    }
}

#[tokio::test]
async fn malformed_claims_are_the_servers_error() {
    if !supabase() {
        return;
    }
    let c = cluster("staging");
    let (cotenant, [p]) = deployed_with_objects(["api_claims"], &api_for(c)).await;
    login(&cotenant, "staging", &p, Login::Migrator)
        .await
        .batch_execute(&format!(
            "INSERT INTO notes (user_id, body) VALUES ('{ALICE}', 'x')"
        ))
        .await
        .unwrap();
    let mut client = authenticator(c).await;
    let role = format!("{p}_authenticated");
    assert_eq!(
        request(&mut client, &role, "{not json", "SELECT auth.uid()", false).await,
        Err(SqlState::INVALID_TEXT_REPRESENTATION)
    );
    // auth.uid() reads the claims as jsonb: the policy fails with invalid_text_representation,
    // and nothing is returned.
    assert_eq!(
        request(
            &mut client,
            &role,
            "{not json",
            &format!("SELECT * FROM {p}.notes"),
            false
        )
        .await,
        Err(SqlState::INVALID_TEXT_REPRESENTATION)
    );
    // A `sub` that is not a uuid is refused the same way.
    assert_eq!(
        request(
            &mut client,
            &role,
            &claims("alice", &role),
            &format!("SELECT * FROM {p}.notes"),
            false
        )
        .await,
        Err(SqlState::INVALID_TEXT_REPRESENTATION)
    );
}

#[tokio::test]
async fn api_roles_converge_drift_is_repaired_and_disabling_drops_them() {
    if !supabase() {
        return;
    }
    let c = cluster("staging");
    let api = api_for(c).with_role(ApiRoleKind::Authenticated, |r| {
        r.with_tables([TablePrivilege::Select, TablePrivilege::Insert])
    });
    let cotenant = deployment_with(&["api_conv", "api_conv_other"], &api).await;
    let (p, other) = (project("api_conv"), project("api_conv_other"));
    for q in [&p, &other] {
        let applied = cotenant
            .provision(q, &ProjectSettings::default())
            .await
            .unwrap();
        let (_, plan) = &applied[0];
        assert!(
            plan.api().is_some_and(|a| !a.is_empty()),
            "the API part is in provisioning's plan:\n{plan}"
        );
    }
    let env = cotenant.environment("staging").unwrap();
    assert!(
        env.plan(&p, &ProjectSettings::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_api_invariants(c, &p, &api).await;
    // New tables get the declared default privileges, and only those.
    login(&cotenant, "staging", &p, Login::Migrator)
        .await
        .batch_execute("CREATE TABLE later (id int)")
        .await
        .unwrap();
    let su = superuser(c).await;
    let privileges: Vec<String> = query_column(&su, "SELECT privilege_type::text FROM information_schema.role_table_grants
             WHERE table_schema = 'api_conv' AND table_name = 'later' AND grantee = 'api_conv_authenticated'
             ORDER BY 1").await;
    assert_eq!(privileges, ["INSERT", "SELECT"]);

    // Drift, made the way an operator can (as the project's steward) and by the project's owner.
    let steward = provision::steward_of(&p);
    admin(c)
        .await
        .batch_execute(&format!(
            "SET ROLE {steward};
             GRANT api_conv_authenticated TO api_conv_other_login;
             ALTER ROLE api_conv_anon SET statement_timeout = '1min';
             ALTER ROLE api_conv_anon SET work_mem = '1GB';
             RESET ROLE"
        ))
        .await
        .unwrap();
    login(&cotenant, "staging", &p, Login::Migrator)
        .await
        .batch_execute(
            "REVOKE USAGE ON SCHEMA api_conv FROM api_conv_anon;
             ALTER DEFAULT PRIVILEGES IN SCHEMA api_conv GRANT DELETE ON TABLES TO api_conv_authenticated;",
        )
        .await
        .unwrap();
    let plan = env.plan(&p, &ProjectSettings::default()).await.unwrap();
    let api_plan = plan.api().expect("the API part");
    let text = api_plan.to_string();
    for expected in [
        "`api_conv_other_login` is a member of `api_conv_authenticated`",
        "role default `statement_timeout` of `api_conv_anon`",
        "role default `work_mem`",
        "`api_conv_anon` needs USAGE on schema `api_conv`",
        "`api_conv_authenticated` is not declared to get DELETE on new tables",
    ] {
        assert!(
            api_plan.steps().any(|s| s.why().contains(expected)),
            "missing `{expected}` in:\n{text}"
        );
    }
    assert!(
        plan.to_sql()
            .contains("GRANT USAGE ON SCHEMA \"api_conv\" TO \"api_conv_anon\"")
    );
    env.provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    assert!(
        env.plan(&p, &ProjectSettings::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_api_invariants(c, &p, &api).await;

    // Disabling the API drops the roles, after what the project granted them.
    let off = deployment()
        .await
        .with_platform(PlatformConfig::default().with_project(
            p.clone(),
            AccessOverride::from(Access::default().with_auth(true)),
        ));
    let env = off.environment("staging").unwrap();
    let applied = env.provision(&p, &ProjectSettings::default()).await;
    // What the project granted them (on `later`) is revoked before the drop.
    applied.unwrap();
    let left: i64 = query_value(
        &su,
        "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'api\\_conv\\_%' AND rolname ~ '_(anon|authenticated|service)$'
               AND rolname NOT LIKE 'api\\_conv\\_other%'",
    )
    .await;
    assert_eq!(left, 0, "the API roles are dropped");
    assert!(
        env.plan(&p, &ProjectSettings::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_invariants(c, &p).await;

    // Deprovisioning the other project drops its API roles with it.
    cotenant
        .deprovision(&other, &cotenant::provision::DropObjects::Refuse)
        .await
        .unwrap();
    let left: i64 = query_value(
        &su,
        "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'api\\_conv\\_other\\_%'",
    )
    .await;
    assert_eq!(left, 0, "deprovisioning drops every role of the project");
}

#[tokio::test]
async fn a_policy_naming_an_api_role_blocks_disabling_the_api_with_a_typed_error() {
    if !supabase() {
        return;
    }
    let c = cluster("staging");
    let (_, [p]) = deployed_with_objects(["api_named"], &api_for(c)).await;
    let off = deployment().await;
    let error = off
        .environment("staging")
        .unwrap()
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap_err();
    match &error {
        ProvisionError::Api(ApiError::StillNamed { role, objects, .. }) => {
            assert_eq!(role, "api_named_authenticated");
            assert!(
                objects.iter().any(|o| o.contains("own_notes")),
                "{objects:?}"
            );
        }
        other => panic!(
            "expected StillNamed, got {other}: {:?}",
            std::error::Error::source(other)
        ),
    }
    // Nothing changed: the role still works.
    let mut client = authenticator(c).await;
    let role = format!("{p}_authenticated");
    request(&mut client, &role, &claims(ALICE, &role), "SELECT 1", false)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_rpc_of_one_project_can_switch_to_another_projects_api_role() {
    // The documented limit of one PostgREST for many projects (docs/design.md, "Data API
    // roles"): the session user is `authenticator`, which PostgreSQL lets SET ROLE to every
    // role it is a member of, from inside any SECURITY INVOKER function. A project's own code
    // called through PostgREST can therefore act as another project's API role, with any claims.
    // This test pins that down so that a change is noticed; it is not a property we sell.
    if !supabase() {
        return;
    }
    let c = cluster("staging");
    let (cotenant, [a, b]) = deployed_with_objects(["api_rpc_a", "api_rpc_b"], &api_for(c)).await;
    login(&cotenant, "staging", &b, Login::Migrator)
        .await
        .batch_execute(&format!(
            "CREATE FUNCTION hop() RETURNS text LANGUAGE plpgsql AS $$
             BEGIN
                 EXECUTE 'SET LOCAL ROLE {a}_authenticated';
                 RETURN current_user;
             END $$;
             GRANT EXECUTE ON FUNCTION hop() TO {b}_authenticated;"
        ))
        .await
        .unwrap();
    let mut client = authenticator(c).await;
    let role = format!("{b}_authenticated");
    let rows = request(
        &mut client,
        &role,
        &claims(ALICE, &role),
        &format!("SELECT {b}.hop()"),
        false,
    )
    .await
    .unwrap();
    assert_eq!(rows, [format!("{a}_authenticated")]);
    // The same function run through b's login (not authenticator's session) gains nothing.
    let app = login(&cotenant, "staging", &b, Login::App).await;
    login(&cotenant, "staging", &b, Login::Migrator)
        .await
        .batch_execute(&format!("GRANT EXECUTE ON FUNCTION hop() TO {b}_app"))
        .await
        .unwrap();
    assert_denied(&app, &format!("{b}_app"), &format!("SELECT {b}.hop()")).await;
}

#[tokio::test]
async fn on_15_the_service_role_needs_a_superuser_once() {
    if !supabase() {
        return;
    }
    let c = cluster("staging");
    let p = project("api_svc");
    let cotenant = deployment_with(&["api_svc"], &Api::enabled().with_service(true)).await;
    if c.version().major() >= 16 {
        // 16+: the admin (BYPASSRLS on hosted Supabase) gives it, as the steward's guest.
        cotenant
            .provision(&p, &ProjectSettings::default())
            .await
            .unwrap();
    } else {
        let error = cotenant
            .provision(&p, &ProjectSettings::default())
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(api_error(&error), Some(ApiError::CannotBypassRls { .. })),
            "{message}"
        );
        assert!(
            message.contains("CREATE ROLE \"api_svc_service\" NOLOGIN NOINHERIT BYPASSRLS"),
            "{message}"
        );
        // Nothing was made: not even the project.
        let su = superuser(c).await;
        let n: i64 = query_value(
            &su,
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'api\\_svc\\_%'",
        )
        .await;
        assert_eq!(n, 0);
        // The one superuser step, on both environments, then cotenant adopts the role.
        for (_, cluster) in Pair::shared().environments() {
            superuser(cluster)
                .await
                .batch_execute("CREATE ROLE api_svc_service NOLOGIN NOINHERIT BYPASSRLS")
                .await
                .unwrap();
        }
        cotenant
            .provision(&p, &ProjectSettings::default())
            .await
            .unwrap();
    }
    let env = cotenant.environment("staging").unwrap();
    assert!(
        env.plan(&p, &ProjectSettings::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_api_invariants(c, &p, &Api::enabled().with_service(true)).await;
    // The service role bypasses RLS in its project: it reads every user's notes there.
    login(&cotenant, "staging", &p, Login::Migrator)
        .await
        .batch_execute(&format!(
            "{} GRANT SELECT ON notes TO api_svc_service;
             INSERT INTO notes (user_id, body) VALUES ('{ALICE}', 'a'), ('{BOB}', 'b');",
            objects(&p)
        ))
        .await
        .unwrap();
    let mut client = authenticator(c).await;
    let rows = request(
        &mut client,
        "api_svc_service",
        r#"{"role": "service_role"}"#,
        "SELECT body FROM api_svc.notes ORDER BY body",
        false,
    )
    .await
    .unwrap();
    assert_eq!(rows, ["a", "b"]);
}

#[tokio::test]
async fn an_instance_without_authenticator_refuses_the_api() {
    let pair = Pair::shared();
    if pair.flavor() != Flavor::Plain {
        eprintln!(
            "skipped on the supabase flavour: it has `authenticator`; this runs on the plain one"
        );
        return;
    }
    let p = project("api_plain");
    let cotenant = deployment()
        .await
        .with_api(ApiConfig::default().with_project(p.clone(), Api::enabled()));
    let error = cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap_err();
    assert!(
        matches!(api_error(&error), Some(ApiError::NoAuthenticator { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("authenticator"), "{error}");
    let plan = cotenant
        .environment("staging")
        .unwrap()
        .plan(&p, &ProjectSettings::default())
        .await;
    assert!(matches!(
        plan,
        Err(ProvisionError::Api(ApiError::NoAuthenticator { .. }))
    ));
    let n: i64 = superuser(cluster("staging"))
        .await
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'api\\_plain\\_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "nothing of the project was made");
}

/// The API room's error inside a provisioning error, whichever environment it happened on.
fn api_error(error: &ProvisionError) -> Option<&ApiError> {
    match error {
        ProvisionError::InEnvironment { source, .. } => api_error(source),
        ProvisionError::Api(e) => Some(e),
        _ => None,
    }
}

/// The catalog invariants of `project`'s API roles, read as the superuser.
async fn assert_api_invariants(cluster: &Cluster, project: &ProjectName, api: &Api) {
    let su = superuser(cluster).await;
    for kind in ApiRoleKind::ALL {
        let name = kind.role(project);
        let row = su
            .query_opt(
                "SELECT rolcanlogin, rolinherit, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls
                 FROM pg_roles WHERE rolname = $1",
                &[&name],
            )
            .await
            .unwrap();
        let wanted = api.kinds().any(|k| k == kind);
        assert_eq!(row.is_some(), wanted, "{name} exists");
        let Some(row) = row else { continue };
        for (i, attribute) in [
            "LOGIN",
            "INHERIT",
            "SUPERUSER",
            "CREATEDB",
            "CREATEROLE",
            "REPLICATION",
        ]
        .iter()
        .enumerate()
        {
            assert!(!row.get::<_, bool>(i), "{name} must not have {attribute}");
        }
        assert_eq!(
            row.get::<_, bool>(6),
            kind == ApiRoleKind::Service,
            "{name}: BYPASSRLS"
        );
        // Granted to authenticator only (the steward's ADMIN aside), a member of nothing.
        let members: Vec<String> = su
            .query(
                "SELECT pg_get_userbyid(m.member)::text FROM pg_auth_members m
                 WHERE m.roleid = to_regrole($1)
                   AND NOT (pg_get_userbyid(m.member) LIKE 'cotenant\\_steward\\_%' AND m.admin_option)
                 ORDER BY 1",
                &[&name],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut expected = vec!["authenticator"];
        if api.realtime {
            expected.push("supabase_realtime_admin");
        }
        assert_eq!(members, expected, "members of {name}");
        let member_of: i64 = su
            .query_one(
                "SELECT count(*) FROM pg_auth_members WHERE member = to_regrole($1)",
                &[&name],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(member_of, 0, "{name} is a member of nothing");
        // USAGE on its own schema and on `auth` (platform access, as these tests declare it);
        // on no other project's, not on public, not on any other shared schema.
        let schemas: Vec<String> = su
            .query(
                "SELECT n.nspname::text FROM pg_namespace n
                 WHERE has_schema_privilege($1, n.oid, 'USAGE')
                   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                   AND n.nspname !~ '^pg_'
                 ORDER BY 1",
                &[&name],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut expected = vec![project.as_str(), "auth"];
        if api.storage {
            expected.push("storage");
        }
        expected.sort();
        assert_eq!(schemas, expected, "schemas {name} may use");
    }
}

/// What Realtime's `apply_rls` does for each subscriber of a changed row, as the role Realtime
/// runs as: `set_config('role', <the claims' role>, true)`, the claims, then whether the row is
/// visible by its primary key.
async fn realtime_sees(
    client: &mut Client,
    role: &str,
    claims: &str,
    table: &str,
    id: i32,
) -> Result<bool, SqlState> {
    let tx = client.transaction().await.unwrap();
    let set = tx
        .execute(
            "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)",
            &[&role, &claims],
        )
        .await;
    if let Err(e) = set {
        return Err(e.code().cloned().expect("a server error"));
    }
    tx.query_one(
        &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)"),
        &[&id],
    )
    .await
    .map(|row| row.get(0))
    .map_err(|e| e.code().cloned().expect("a server error"))
}

#[tokio::test]
async fn realtime_shows_a_change_to_the_owning_user_only_and_never_to_another_project() {
    if !supabase() {
        return;
    }
    let c = cluster("staging");
    let names = ["api_rt_a", "api_rt_b", "api_rt_c"];
    let api = api_for(c).with_realtime(true);
    let (_, projects) = deployed_with_objects(names, &api).await;
    // api_rt_c has the API without Realtime; the others publish their notes.
    let mut platform = PlatformConfig::default();
    let mut apis = ApiConfig::default();
    for p in &projects {
        let realtime = p.as_str() != "api_rt_c";
        let access = Access::default().with_auth(true);
        let access = if realtime {
            access.with_realtime(["notes"])
        } else {
            access
        };
        platform = platform.with_project(p.clone(), AccessOverride::from(access));
        apis = apis.with_project(p.clone(), api.clone().with_realtime(realtime));
    }
    let cotenant = deployment().await.with_platform(platform).with_api(apis);
    for p in &projects {
        cotenant
            .environment("staging")
            .unwrap()
            .provision(p, &ProjectSettings::default())
            .await
            .unwrap_or_else(|e| panic!("provisioning {p} with Realtime: {e}"));
    }
    let [a, b, cp] = projects;
    let id: i32 = login(&cotenant, "staging", &a, Login::Migrator)
        .await
        .query_one(
            &format!(
                "INSERT INTO notes (user_id, body) VALUES ('{ALICE}', 'for alice') RETURNING id"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let (client, connection) = c
        .login_config("supabase_realtime_admin")
        .expect("Realtime's login")
        .connect(NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut client = client;
    let table = format!("{a}.notes");
    let role = format!("{a}_authenticated");
    assert_eq!(
        realtime_sees(&mut client, &role, &claims(ALICE, &role), &table, id).await,
        Ok(true),
        "the owning user's subscription sees the change"
    );
    assert_eq!(
        realtime_sees(&mut client, &role, &claims(BOB, &role), &table, id).await,
        Ok(false),
        "another user's does not"
    );
    let other = format!("{b}_authenticated");
    assert_eq!(
        realtime_sees(&mut client, &other, &claims(ALICE, &other), &table, id).await,
        Err(SqlState::INSUFFICIENT_PRIVILEGE),
        "another project's subscriber is refused"
    );
    // Without `realtime`, Realtime cannot act as the project's roles at all.
    let not_granted = format!("{cp}_authenticated");
    assert_eq!(
        realtime_sees(
            &mut client,
            &not_granted,
            &claims(ALICE, &not_granted),
            &table,
            id
        )
        .await,
        Err(SqlState::INSUFFICIENT_PRIVILEGE)
    );
    let published: i64 = superuser(c)
        .await
        .query_one(
            "SELECT count(*) FROM pg_publication_tables
             WHERE pubname = 'supabase_realtime' AND schemaname = $1 AND tablename = 'notes'",
            &[&a.as_str()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(published, 1);
    for p in [&a, &b] {
        assert_api_invariants(c, p, &api).await;
    }
}

#[tokio::test]
async fn storage_objects_of_a_projects_bucket_are_reached_by_its_roles_only() {
    if !supabase() {
        return;
    }
    let c = cluster("staging");
    let api = api_for(c).with_storage(true);
    let names = ["api_st_a", "api_st_b"];
    let (cotenant, [a, b]) = deployed_with_objects(names, &api).await;
    let env = cotenant.environment("staging").unwrap();
    assert!(
        env.plan(&a, &ProjectSettings::default())
            .await
            .unwrap()
            .is_empty()
    );
    // As the Storage API runs a request: the JWT's role and claims, then its statements.
    let mut client = authenticator(c).await;
    let upload = |bucket: &ProjectName, name: &str, owner: &str| {
        format!(
            "INSERT INTO storage.objects (bucket_id, name, owner) VALUES ('{bucket}', '{name}', '{owner}')"
        )
    };
    let (a_user, b_user) = (format!("{a}_authenticated"), format!("{b}_authenticated"));
    request(
        &mut client,
        &a_user,
        &claims(ALICE, &a_user),
        &upload(&a, "alice/a.txt", ALICE),
        true,
    )
    .await
    .expect("a user of a uploads to bucket a");
    request(
        &mut client,
        &b_user,
        &claims(BOB, &b_user),
        &upload(&b, "bob/b.txt", BOB),
        true,
    )
    .await
    .expect("a user of b uploads to bucket b");
    assert_eq!(
        request(
            &mut client,
            &b_user,
            &claims(BOB, &b_user),
            &upload(&a, "bob/x.txt", BOB),
            false
        )
        .await,
        Err(SqlState::INSUFFICIENT_PRIVILEGE),
        "b's role cannot write into a's bucket"
    );
    let list = "SELECT bucket_id || '/' || name FROM storage.objects ORDER BY 1";
    assert_eq!(
        request(&mut client, &a_user, &claims(ALICE, &a_user), list, false).await,
        Ok(vec![format!("{a}/alice/a.txt")])
    );
    assert_eq!(
        request(&mut client, &b_user, &claims(BOB, &b_user), list, false).await,
        Ok(vec![format!("{b}/bob/b.txt")])
    );
    let anon = format!("{a}_anon");
    assert_eq!(
        request(&mut client, &anon, r#"{"role": "anon"}"#, list, false).await,
        Ok(vec![format!("{a}/alice/a.txt")]),
        "anon reads its project's bucket"
    );
    assert_eq!(
        request(
            &mut client,
            &anon,
            r#"{"role": "anon"}"#,
            &upload(&a, "spam", ALICE),
            false
        )
        .await,
        Err(SqlState::INSUFFICIENT_PRIVILEGE),
        "anon does not write"
    );
    // Taken off with objects in the bucket: refused, naming what to do.
    let off = deployment_with(&["api_st_a"], &api_for(c)).await;
    let error = off
        .environment("staging")
        .unwrap()
        .provision(&a, &ProjectSettings::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            api_error(&error),
            Some(ApiError::BucketNotEmpty { objects: 1, .. })
        ),
        "{error}"
    );
    superuser(c)
        .await
        .batch_execute(&format!(
            "DELETE FROM storage.objects WHERE bucket_id = '{a}'"
        ))
        .await
        .unwrap();
    off.environment("staging")
        .unwrap()
        .provision(&a, &ProjectSettings::default())
        .await
        .unwrap();
    let su = superuser(c).await;
    let left: i64 = su
        .query_one(
            "SELECT (SELECT count(*) FROM storage.buckets WHERE id = $1)
                  + (SELECT count(*) FROM pg_policy WHERE polrelid = 'storage.objects'::regclass
                     AND polname LIKE $1 || '\\_%')",
            &[&a.as_str()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the bucket and its policies are gone");
    assert!(
        off.environment("staging")
            .unwrap()
            .plan(&a, &ProjectSettings::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_api_invariants(c, &b, &api).await;
}
