//! What the integration tests share: one prod+staging pair and one moto server per test
//! process, each test with projects of its own.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use cotenant::secret::Login;
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Cluster, Flavor, MotoServer, Pair};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::FromSql;
use tokio_postgres::{Client, NoTls};

/// The shared pair as a cotenant deployment, its secrets in the shared moto server.
pub async fn deployment() -> Cotenant {
    deployment_on(Pair::shared(), "test").await
}

/// `pair` as a cotenant deployment, its secrets under `prefix` in the shared moto server.
pub async fn deployment_on(pair: &Pair, prefix: &str) -> Cotenant {
    let secrets = Arc::new(MotoServer::shared().secrets_manager());
    pair.cotenant(prefix, secrets)
        .await
        .expect("writing the admin secrets to moto")
}

/// Whether `cluster` is hosted Supabase (the test kit's Supabase flavour): scenarios that are
/// Supabase apps (fixtures granting to anon, authenticated and service_role, policies for them)
/// call this first and stop, saying so, on the plain flavour, which has no such roles.
pub fn is_supabase(cluster: &Cluster, scenario: &str) -> bool {
    let supabase = cluster.flavor() == Flavor::Supabase;
    if !supabase {
        eprintln!(
            "skipped on the {} flavour: {scenario} is a Supabase app, it needs Supabase's API roles",
            cluster.flavor()
        );
    }
    supabase
}

pub fn project(name: &str) -> ProjectName {
    name.parse().expect("a valid project name")
}

pub async fn superuser(cluster: &Cluster) -> Client {
    let (client, connection) = cluster
        .superuser_config()
        .connect(NoTls)
        .await
        .expect("superuser");
    tokio::spawn(connection);
    client
}

pub async fn admin(cluster: &Cluster) -> Client {
    let (client, connection) = cluster.admin_config().connect(NoTls).await.expect("admin");
    tokio::spawn(connection);
    client
}

/// A connection as `project`'s login or migrator on `env`, with the password from its secret.
pub async fn login(cotenant: &Cotenant, env: &str, project: &ProjectName, login: Login) -> Client {
    cotenant
        .environment(env)
        .unwrap()
        .connect_login(project, login)
        .await
        .unwrap_or_else(|e| panic!("connecting as {project}'s {login} on {env}: {e}"))
}

/// Runs `sql` and returns the SQLSTATE it failed with, or `None` when it succeeded.
pub async fn outcome(client: &Client, sql: &str) -> Option<SqlState> {
    match client.batch_execute(sql).await {
        Ok(()) => None,
        Err(e) => Some(
            e.code()
                .cloned()
                .unwrap_or_else(|| panic!("`{sql}` failed without a SQLSTATE: {e}")),
        ),
    }
}

pub async fn assert_denied(client: &Client, who: &str, sql: &str) {
    assert_eq!(
        outcome(client, sql).await,
        Some(SqlState::INSUFFICIENT_PRIVILEGE),
        "{who}: `{sql}` must be refused with 42501"
    );
}

pub async fn assert_allowed(client: &Client, who: &str, sql: &str) {
    if let Err(e) = client.batch_execute(sql).await {
        panic!("{who}: `{sql}` must work: {e}");
    }
}

/// The catalog invariants of the role model for `project`, read as the superuser.
pub async fn assert_invariants(cluster: &Cluster, project: &ProjectName) {
    let su = superuser(cluster).await;
    let roles = project.roles();
    // The rotation twins, where a rotation with alternating users made them.
    let twins: Vec<String> = su
        .query(
            "SELECT rolname::text FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1",
            &[&roles.clones().to_vec()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut names: Vec<&str> = roles.all().to_vec();
    names.extend(twins.iter().map(String::as_str));
    for row in su
        .query(
            "SELECT rolname::text, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls
             FROM pg_roles WHERE rolname = ANY($1)",
            &[&names],
        )
        .await
        .unwrap()
    {
        let name: String = row.get(0);
        let login: bool = row.get(1);
        let is_login = [&roles.login, &roles.migrator, &roles.login_clone, &roles.migrator_clone]
            .contains(&&name);
        assert_eq!(login, is_login, "{name}: LOGIN");
        for (i, attribute) in ["SUPERUSER", "CREATEDB", "CREATEROLE", "REPLICATION", "BYPASSRLS"]
            .iter()
            .enumerate()
        {
            assert!(!row.get::<_, bool>(i + 2), "{name} must not have {attribute}");
        }
    }
    // Who is a member of what, leaving out the steward's management edges (ADMIN only).
    let memberships: Vec<(String, String)> = su
        .query(
            "SELECT r.rolname::text, u.rolname::text FROM pg_auth_members m
             JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
             WHERE (r.rolname = ANY($1) OR u.rolname = ANY($1)) AND r.rolname <> 'cotenant_connect'
               AND NOT (u.rolname LIKE 'cotenant\\_steward\\_%' AND m.admin_option
                        AND NOT coalesce((to_jsonb(m)->>'set_option')::bool, true)
                        AND NOT coalesce((to_jsonb(m)->>'inherit_option')::bool, true))
             ORDER BY 1, 2",
            &[&names],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut expected = vec![
        (roles.app.clone(), roles.login.clone()),
        (roles.owner.clone(), roles.migrator.clone()),
    ];
    for twin in &twins {
        let role = if *twin == roles.login_clone {
            &roles.app
        } else {
            &roles.owner
        };
        expected.push((role.clone(), twin.clone()));
    }
    expected.sort();
    assert_eq!(memberships, expected, "memberships of {project}'s roles");
    // CONNECT: every login may connect; on 16+ a project's logins get it through
    // `cotenant_connect` (inherited, no SET, no ADMIN) unless they hold one of their own (granted
    // before the connect role); no other project role is a member of it, on 15 none is.
    let mut logins = vec![roles.login.clone(), roles.migrator.clone()];
    logins.extend(twins.iter().cloned());
    for login in &logins {
        let can: bool = su
            .query_one(
                "SELECT has_database_privilege($1, current_database(), 'CONNECT')",
                &[login],
            )
            .await
            .unwrap()
            .get(0);
        assert!(can, "{login} must be able to connect");
    }
    let through_role: Vec<(String, bool)> = su
        .query(
            "SELECT u.rolname::text, NOT m.admin_option
                    AND coalesce((to_jsonb(m)->>'inherit_option')::bool, false)
                    AND NOT coalesce((to_jsonb(m)->>'set_option')::bool, true)
             FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member
             WHERE m.roleid = to_regrole('cotenant_connect') AND u.rolname = ANY($1) ORDER BY 1",
            &[&names],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let major: i32 = su
        .query_one(
            "SELECT current_setting('server_version_num')::int / 10000",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for (member, right) in &through_role {
        assert!(major >= 16, "{member}: no connect role on 15");
        assert!(
            logins.contains(member),
            "{member} is no login: it must not be a member of cotenant_connect"
        );
        assert!(
            right,
            "{member}: cotenant_connect must be inherited, without SET or ADMIN"
        );
    }
    let acl: Vec<String> = su
        .query(
            "SELECT pg_get_userbyid(a.grantee) || ':' || a.privilege_type FROM pg_namespace n,
             aclexplode(n.nspacl) a WHERE n.nspname = $1 ORDER BY 1",
            &[&project.as_str()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        acl,
        [
            format!("{}:USAGE", roles.app),
            format!("{}:CREATE", roles.owner),
            format!("{}:USAGE", roles.owner)
        ],
        "schema ACL of {project}"
    );
}

/// Provisions `name` everywhere with `settings` and gives it a table `t` with one row, created
/// by its migrator.
pub async fn provisioned(
    cotenant: &Cotenant,
    name: &str,
    settings: &cotenant::provision::ProjectSettings,
) -> ProjectName {
    let p = project(name);
    cotenant.provision(&p, settings).await.unwrap();
    for env in both() {
        login(cotenant, env, &p, Login::Migrator)
            .await
            .batch_execute(
                "CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) VALUES ('seed')",
            )
            .await
            .unwrap();
    }
    p
}

pub fn both() -> [&'static str; 2] {
    ["staging", "prod"]
}

pub fn cluster(env: &str) -> &'static Cluster {
    let pair = Pair::shared();
    match env {
        "staging" => &pair.staging,
        _ => &pair.prod,
    }
}

/// The one value `sql` returns (a count, a setting), failing the test when the query fails.
pub async fn query_value<T: for<'a> FromSql<'a>>(client: &Client, sql: &str) -> T {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"))
        .get(0)
}

/// A signup as GoTrue makes it (Supabase flavour): logged in as the auth admin, it inserts the
/// user and its email identity, firing whatever triggers `auth.users` has. Returns the new user's
/// id.
pub async fn signup(cluster: &Cluster, email: &str, full_name: &str) -> String {
    let (gotrue, connection) = cluster
        .auth_admin_config()
        .connect(NoTls)
        .await
        .expect("supabase_auth_admin logs in");
    tokio::spawn(connection);
    let id: String = gotrue
        .query_one("SELECT gen_random_uuid()::text", &[])
        .await
        .unwrap()
        .get(0);
    gotrue
        .batch_execute(&format!(
            "INSERT INTO auth.users (id, aud, role, email, encrypted_password, raw_user_meta_data)
             VALUES ('{id}', 'authenticated', 'authenticated', '{email}', 'not-a-real-hash',
                     '{{\"full_name\": \"{full_name}\"}}');
             INSERT INTO auth.identities (provider_id, user_id, identity_data, provider)
             VALUES ('{id}', '{id}', '{{\"email\": \"{email}\"}}', 'email')"
        ))
        .await
        .unwrap_or_else(|e| panic!("the signup of {email} commits: {e}"));
    id
}

/// The first column of every row `sql` returns, failing the test when the query fails.
pub async fn query_column<T: for<'a> FromSql<'a>>(client: &Client, sql: &str) -> Vec<T> {
    client
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"))
        .iter()
        .map(|r| r.get(0))
        .collect()
}
