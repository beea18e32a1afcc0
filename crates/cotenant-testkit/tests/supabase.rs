//! The Supabase flavour is hosted Supabase as its own setup scripts build it (../shared/facts.md,
//! "Hosted Supabase as its own setup scripts build it"), on the version in `COTENANT_TEST_PG`.
//!
//! One server of this flavour for the whole file, whatever `COTENANT_TEST_FLAVOR` says.

use std::sync::OnceLock;
use std::time::Duration;

use cotenant_testkit::{Backend, Cluster, Flavor, PgVersion, test_version};
use futures_util::StreamExt;
use secrecy::ExposeSecret;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        Cluster::start_flavor(test_version(), Flavor::Supabase).expect("start a Supabase server")
    })
}

async fn connect(config: Config) -> Client {
    let (client, connection) = config.connect(NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// A login of a project's kind: no attributes, no memberships, nothing granted; made by the
/// superuser so that the admin's habits play no part.
async fn project_like_login(name: &str) -> Client {
    let cluster = cluster();
    let superuser = connect(cluster.superuser_config()).await;
    superuser
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {name}; CREATE ROLE {name} LOGIN PASSWORD 'testkit-project'"
        ))
        .await
        .unwrap();
    let mut config = cluster.admin_config();
    config.user(name).password("testkit-project");
    connect(config).await
}

async fn sqlstate(client: &Client, sql: &str) -> Option<SqlState> {
    client
        .batch_execute(sql)
        .await
        .err()
        .map(|error| error.code().cloned().expect("a server error"))
}

#[tokio::test]
async fn the_admin_is_the_demoted_postgres_of_hosted_supabase() {
    let cluster = cluster();
    assert_eq!(cluster.flavor(), Flavor::Supabase);
    let admin = connect(cluster.admin_config()).await;
    let row = admin
        .query_one(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, rolreplication,
                    rolbypassrls, rolinherit, current_setting('search_path'),
                    pg_get_userbyid((SELECT datdba FROM pg_database WHERE datname = current_database()))::text
             FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap();
    assert!(!row.get::<_, bool>(0), "postgres must not be a superuser");
    for (column, attribute) in [
        (1, "CREATEDB"),
        (2, "CREATEROLE"),
        (3, "LOGIN"),
        (4, "REPLICATION"),
        (5, "BYPASSRLS"),
        (6, "INHERIT"),
    ] {
        assert!(row.get::<_, bool>(column), "postgres has {attribute}");
    }
    assert_eq!(row.get::<_, String>(7), "\"$user\", public, extensions");
    assert_eq!(
        row.get::<_, String>(8),
        "postgres",
        "postgres owns the database"
    );

    // Each membership granted by the bootstrap superuser. On 16+ such a grant carries INHERIT
    // (postgres is INHERIT) and SET; ADMIN only on the API roles and pg_create_subscription
    // (which 15 does not have), both of which hosted grants on 16+.
    let memberships = admin
        .query(
            "SELECT r.rolname::text, g.rolname::text, m.admin_option,
                    coalesce((to_jsonb(m) ->> 'inherit_option')::bool, true),
                    coalesce((to_jsonb(m) ->> 'set_option')::bool, true)
             FROM pg_auth_members m
             JOIN pg_roles r ON r.oid = m.roleid
             JOIN pg_roles g ON g.oid = m.grantor
             WHERE m.member = 'postgres'::regrole
             ORDER BY 1, m.admin_option",
            &[],
        )
        .await
        .unwrap();
    let memberships: Vec<(String, String, bool, bool, bool)> = memberships
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
        .collect();
    let api_admin = cluster.version() != PgVersion::V15;
    let mut expected = Vec::new();
    for role in [
        "anon",
        "authenticated",
        "pg_create_subscription",
        "pg_monitor",
        "pg_read_all_data",
        "pg_signal_backend",
        "service_role",
        "supabase_auth_admin",
        "supabase_storage_admin",
    ] {
        let is_api = ["anon", "authenticated", "service_role"].contains(&role);
        if role == "pg_create_subscription" && !api_admin {
            continue;
        }
        if (is_api || role == "pg_create_subscription") && api_admin {
            // 16+ keeps the plain grant and the one WITH ADMIN OPTION as one row with ADMIN.
            expected.push((
                role.to_owned(),
                "supabase_admin".to_owned(),
                true,
                true,
                true,
            ));
        } else {
            expected.push((
                role.to_owned(),
                "supabase_admin".to_owned(),
                false,
                true,
                true,
            ));
        }
    }
    assert_eq!(memberships, expected);

    // So the admin reads every table (pg_read_all_data) and may act as GoTrue.
    let superuser = connect(cluster.superuser_config()).await;
    superuser
        .batch_execute(
            "DROP SCHEMA IF EXISTS tk_private CASCADE; DROP ROLE IF EXISTS tk_private;
             CREATE ROLE tk_private NOLOGIN;
             CREATE SCHEMA tk_private AUTHORIZATION tk_private;
             CREATE TABLE tk_private.secrets (v text); ALTER TABLE tk_private.secrets OWNER TO tk_private;
             INSERT INTO tk_private.secrets VALUES ('only tk_private''s')",
        )
        .await
        .unwrap();
    let read: String = admin
        .query_one("SELECT v FROM tk_private.secrets", &[])
        .await
        .expect("pg_read_all_data reads any table")
        .get(0);
    assert_eq!(read, "only tk_private's");
    admin
        .batch_execute("SET ROLE supabase_auth_admin; RESET ROLE")
        .await
        .expect("the admin may SET ROLE supabase_auth_admin");
}

#[tokio::test]
async fn the_api_roles_and_service_logins_are_as_hosted() {
    let cluster = cluster();
    let admin = connect(cluster.admin_config()).await;
    let rows = admin
        .query(
            "SELECT rolname::text, rolcanlogin, rolinherit, rolbypassrls, rolcreaterole,
                    rolcreatedb, rolreplication
             FROM pg_roles
             WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator',
                               'supabase_auth_admin', 'supabase_storage_admin',
                               'supabase_read_only_user', 'supabase_replication_admin',
                               'dashboard_user', 'pgbouncer')
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let roles: Vec<(String, [bool; 6])> = rows
        .iter()
        .map(|row| {
            (
                row.get(0),
                [1, 2, 3, 4, 5, 6].map(|column| row.get::<_, bool>(column)),
            )
        })
        .collect();
    //                  login  inherit bypassrls createrole createdb replication
    let expected = [
        ("anon", [false, true, false, false, false, false]),
        ("authenticated", [false, true, false, false, false, false]),
        ("authenticator", [true, false, false, false, false, false]),
        ("dashboard_user", [false, true, false, true, true, true]),
        ("pgbouncer", [true, true, false, false, false, false]),
        ("service_role", [false, true, true, false, false, false]),
        (
            "supabase_auth_admin",
            [true, false, false, true, false, false],
        ),
        (
            "supabase_read_only_user",
            [true, true, true, false, false, false],
        ),
        (
            "supabase_replication_admin",
            [true, true, false, false, false, true],
        ),
        (
            "supabase_storage_admin",
            [true, false, false, true, false, false],
        ),
    ]
    .map(|(name, attributes)| (name.to_owned(), attributes));
    assert_eq!(roles, expected);

    let row = admin
        .query_one(
            "SELECT pg_has_role('authenticator', 'anon', 'MEMBER'),
                    pg_has_role('authenticator', 'authenticated', 'MEMBER'),
                    pg_has_role('authenticator', 'service_role', 'MEMBER'),
                    pg_has_role('supabase_read_only_user', 'pg_read_all_data', 'USAGE')",
            &[],
        )
        .await
        .unwrap();
    for column in 0..4 {
        assert!(row.get::<_, bool>(column), "column {column}");
    }

    // PostgREST's login: the timeouts apply at login; it switches to the request's role.
    let authenticator = connect(cluster.authenticator_config()).await;
    let row = authenticator
        .query_one(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("8s".into(), "8s".into())
    );
    for role in ["anon", "authenticated", "service_role"] {
        authenticator
            .batch_execute(&format!("SET ROLE {role}; RESET ROLE"))
            .await
            .unwrap_or_else(|error| panic!("authenticator switches to {role}: {error}"));
    }
    let settings: Vec<String> = admin
        .query(
            "SELECT r.rolname || ': ' || array_to_string(s.setconfig, ', ')
             FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
             WHERE r.rolname IN ('anon', 'authenticated', 'supabase_auth_admin')
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        settings,
        [
            "anon: statement_timeout=3s",
            "authenticated: statement_timeout=8s",
            "supabase_auth_admin: search_path=auth",
        ]
    );
}

#[tokio::test]
async fn every_service_login_connects_with_a_password_of_its_own() {
    let cluster = cluster();
    if cluster.backend() == Backend::External {
        return;
    }
    let mut passwords = vec![cluster.admin_password().expose_secret().to_owned()];
    for role in Flavor::Supabase.logins() {
        let config = cluster
            .login_config(role)
            .unwrap_or_else(|| panic!("a config for {role}"));
        let password = String::from_utf8(config.get_password().unwrap().to_vec()).unwrap();
        assert!(!format!("{config:?}").contains(&password), "{role}: Debug");
        assert!(
            !passwords.contains(&password),
            "{role}: a password of its own"
        );
        passwords.push(password);
        let client = connect(config).await;
        let user: String = client
            .query_one("SELECT session_user::text", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(user, *role);
    }
    assert!(cluster.login_config("postgres").is_none());
    assert!(
        cluster.login_config("dashboard_user").is_none(),
        "NOLOGIN on hosted"
    );
    assert!(!format!("{cluster:?}").contains(&passwords[1]));
}

#[tokio::test]
async fn auth_uid_role_email_and_jwt_read_the_request_claims() {
    let cluster = cluster();
    let authenticator = connect(cluster.authenticator_config()).await;
    let sub = "6f1c2a4e-8d57-4a4b-9c1e-2b3d4e5f6a7b";
    // PostgREST 9+: all claims as one JSON setting, local to the request's transaction.
    authenticator.batch_execute("BEGIN").await.unwrap();
    authenticator
        .execute(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[&format!(
                r#"{{"sub": "{sub}", "role": "authenticated", "email": "a@example.com"}}"#
            )],
        )
        .await
        .unwrap();
    authenticator
        .batch_execute("SET LOCAL ROLE authenticated")
        .await
        .unwrap();
    let row = authenticator
        .query_one(
            "SELECT auth.uid()::text, auth.role(), auth.email(), auth.jwt() ->> 'sub', current_user::text",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), sub);
    assert_eq!(row.get::<_, String>(1), "authenticated");
    assert_eq!(row.get::<_, String>(2), "a@example.com");
    assert_eq!(row.get::<_, String>(3), sub);
    assert_eq!(row.get::<_, String>(4), "authenticated");
    authenticator.batch_execute("ROLLBACK").await.unwrap();

    // Older PostgREST: one setting per claim. authenticator holds nothing itself (NOINHERIT):
    // the request's role reaches auth.
    authenticator.batch_execute("SET ROLE anon").await.unwrap();
    let row = authenticator
        .query_one(
            "SELECT set_config('request.jwt.claim.sub', $1, false), auth.uid()::text,
                    auth.jwt() IS NULL",
            &[&sub],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(1), sub);
    assert!(
        row.get::<_, bool>(2),
        "auth.jwt() reads only the JSON forms"
    );

    // No claims: no user.
    let fresh = connect(cluster.authenticator_config()).await;
    fresh.batch_execute("SET ROLE anon").await.unwrap();
    let row = fresh
        .query_one("SELECT auth.uid() IS NULL, auth.role() IS NULL", &[])
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
}

#[tokio::test]
async fn gotrue_signs_users_up_into_auth_users_and_identities() {
    let cluster = cluster();
    let gotrue = connect(cluster.auth_admin_config()).await;
    let row = gotrue
        .query_one(
            "SELECT current_setting('search_path'),
                    pg_get_userbyid((SELECT nspowner FROM pg_namespace WHERE nspname = 'auth'))::text,
                    (SELECT array_agg(DISTINCT pg_get_userbyid(relowner)::text) FROM pg_class
                     WHERE relnamespace = 'auth'::regnamespace AND relkind IN ('r', 'S'))",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "auth");
    assert_eq!(row.get::<_, String>(1), "supabase_auth_admin");
    assert_eq!(row.get::<_, Vec<String>>(2), ["supabase_auth_admin"]);

    // A signup as GoTrue writes it, then the user deleted: identities and sessions go with it.
    gotrue
        .batch_execute(
            "INSERT INTO users (instance_id, id, aud, role, email, encrypted_password,
                                email_confirmed_at, raw_app_meta_data, raw_user_meta_data,
                                created_at, updated_at)
             VALUES ('00000000-0000-0000-0000-000000000000', 'a1b2c3d4-0000-4000-8000-000000000001',
                     'authenticated', 'authenticated', 'signup@example.com',
                     '$2a$10$abcdefghijklmnopqrstuv0123456789ABCDEFGHIJKLMNOPQRSTU', now(),
                     '{\"provider\": \"email\", \"providers\": [\"email\"]}', '{}', now(), now());
             INSERT INTO identities (provider_id, user_id, identity_data, provider, created_at, updated_at)
             VALUES ('a1b2c3d4-0000-4000-8000-000000000001', 'a1b2c3d4-0000-4000-8000-000000000001',
                     '{\"sub\": \"a1b2c3d4-0000-4000-8000-000000000001\", \"email\": \"Signup@Example.com\"}',
                     'email', now(), now());
             INSERT INTO sessions (id, user_id, created_at)
             VALUES (gen_random_uuid(), 'a1b2c3d4-0000-4000-8000-000000000001', now())",
        )
        .await
        .expect("GoTrue's signup");
    let row = gotrue
        .query_one(
            "SELECT i.email, u.confirmed_at IS NOT NULL FROM identities i JOIN users u ON u.id = i.user_id
             WHERE u.email = 'signup@example.com'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, String>(0),
        "signup@example.com",
        "generated, lower-cased"
    );
    assert!(
        row.get::<_, bool>(1),
        "confirmed_at follows email_confirmed_at"
    );
    gotrue
        .batch_execute("DELETE FROM users WHERE email = 'signup@example.com'")
        .await
        .unwrap();
    let left: i64 = gotrue
        .query_one(
            "SELECT (SELECT count(*) FROM identities WHERE provider_id = 'a1b2c3d4-0000-4000-8000-000000000001')
                  + (SELECT count(*) FROM sessions WHERE user_id = 'a1b2c3d4-0000-4000-8000-000000000001')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "ON DELETE CASCADE");
}

#[tokio::test]
async fn a_project_like_role_cannot_read_auth_users_while_the_admin_can() {
    let cluster = cluster();
    let project = project_like_login("tk_project_auth").await;
    for sql in [
        "SELECT email FROM auth.users",
        "SELECT * FROM auth.identities",
        "SELECT * FROM storage.objects",
        "SELECT extensions.uuid_generate_v4()",
        "SELECT * FROM pgbouncer.get_auth('postgres')",
    ] {
        assert_eq!(
            sqlstate(&project, sql).await,
            Some(SqlState::INSUFFICIENT_PRIVILEGE),
            "tk_project_auth: `{sql}`"
        );
    }
    let admin = connect(cluster.admin_config()).await;
    let row = admin
        .query_one(
            "SELECT has_table_privilege('auth.users', 'SELECT, INSERT, UPDATE, DELETE'),
                    has_table_privilege('auth.users', 'SELECT WITH GRANT OPTION'),
                    has_table_privilege('dashboard_user', 'auth.users', 'SELECT'),
                    has_schema_privilege('anon', 'auth', 'USAGE'),
                    has_table_privilege('anon', 'auth.users', 'SELECT'),
                    has_function_privilege('anon', 'auth.uid()', 'EXECUTE')",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<bool> = (0..6).map(|column| row.get(column)).collect();
    // The admin's grant option comes through its membership in the owner, supabase_auth_admin.
    assert_eq!(got, [true, true, true, true, false, true]);
}

#[tokio::test]
async fn extensions_live_in_their_schema_which_public_cannot_use() {
    let cluster = cluster();
    let admin = connect(cluster.admin_config()).await;
    let extensions: Vec<String> = admin
        .query(
            "SELECT extname::text FROM pg_extension
             WHERE extnamespace = 'extensions'::regnamespace ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(extensions, ["pg_stat_statements", "pgcrypto", "uuid-ossp"]);
    let row = admin
        .query_one(
            "SELECT extensions.uuid_generate_v4() IS NOT NULL,
                    extensions.digest('x', 'sha256') IS NOT NULL,
                    (SELECT count(*) >= 0 FROM extensions.pg_stat_statements),
                    has_schema_privilege('extensions', 'CREATE'),
                    has_schema_privilege('anon', 'extensions', 'USAGE'),
                    EXISTS (SELECT FROM pg_namespace, aclexplode(nspacl) AS acl
                            WHERE nspname = 'extensions' AND acl.grantee = 0),
                    current_setting('shared_preload_libraries'),
                    current_setting('wal_level')",
            &[],
        )
        .await
        .unwrap();
    for column in 0..5 {
        assert!(row.get::<_, bool>(column), "column {column}");
    }
    assert!(!row.get::<_, bool>(5), "PUBLIC has no USAGE on extensions");
    assert_eq!(row.get::<_, String>(6), "pg_stat_statements");
    assert_eq!(row.get::<_, String>(7), "logical");
}

#[tokio::test]
async fn the_realtime_publication_exists_empty_and_owned_by_the_admin() {
    let cluster = cluster();
    let admin = connect(cluster.admin_config()).await;
    let row = admin
        .query_one(
            "SELECT pg_get_userbyid(pubowner)::text, puballtables,
                    (SELECT count(*) FROM pg_publication_rel WHERE prpubid = p.oid),
                    to_regclass('realtime.subscription') IS NOT NULL,
                    to_regclass('realtime.messages') IS NOT NULL,
                    (SELECT relrowsecurity FROM pg_class WHERE oid = 'realtime.messages'::regclass)
             FROM pg_publication p WHERE pubname = 'supabase_realtime'",
            &[],
        )
        .await
        .expect("the publication supabase_realtime");
    assert_eq!(row.get::<_, String>(0), "postgres");
    assert!(!row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i64>(2), 0);
    assert!(row.get::<_, bool>(3) && row.get::<_, bool>(4) && row.get::<_, bool>(5));

    // What a project's app would do through the admin: publish a table of its own.
    admin
        .batch_execute(
            "CREATE TABLE public.tk_published (id int PRIMARY KEY);
             ALTER PUBLICATION supabase_realtime ADD TABLE public.tk_published;
             ALTER PUBLICATION supabase_realtime DROP TABLE public.tk_published;
             DROP TABLE public.tk_published",
        )
        .await
        .expect("the admin owns the publication");
}

#[tokio::test]
async fn storage_objects_sit_behind_rls_and_in_buckets() {
    let cluster = cluster();
    let storage = connect(cluster.login_config("supabase_storage_admin").unwrap()).await;
    storage
        .batch_execute(
            "INSERT INTO buckets (id, name) VALUES ('tk-avatars', 'tk-avatars') ON CONFLICT DO NOTHING;
             INSERT INTO objects (bucket_id, name) VALUES ('tk-avatars', 'user-1/face.png')",
        )
        .await
        .unwrap();
    let row = storage
        .query_one(
            "SELECT foldername(name), filename(name), extension(name), path_tokens
             FROM objects WHERE bucket_id = 'tk-avatars' LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Vec<String>>(0), ["user-1"]);
    assert_eq!(row.get::<_, String>(1), "face.png");
    assert_eq!(row.get::<_, String>(2), "png");
    assert_eq!(row.get::<_, Vec<String>>(3), ["user-1", "face.png"]);
    assert_eq!(
        sqlstate(
            &storage,
            "INSERT INTO objects (bucket_id, name) VALUES ('tk-none', 'x')"
        )
        .await,
        Some(SqlState::FOREIGN_KEY_VIOLATION)
    );

    // The API roles hold the table, RLS hides its rows: without a policy anon sees nothing.
    let authenticator = connect(cluster.authenticator_config()).await;
    authenticator.batch_execute("SET ROLE anon").await.unwrap();
    let seen: i64 = authenticator
        .query_one("SELECT count(*) FROM storage.objects", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 0, "RLS without a policy");
    assert_eq!(
        sqlstate(&authenticator, "SELECT * FROM storage.migrations").await,
        Some(SqlState::INSUFFICIENT_PRIVILEGE)
    );
}

#[tokio::test]
async fn pgbouncer_alone_looks_up_passwords() {
    let cluster = cluster();
    let pgbouncer = connect(cluster.login_config("pgbouncer").unwrap()).await;
    let row = pgbouncer
        .query_one(
            "SELECT username, password FROM pgbouncer.get_auth('authenticator')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "authenticator");
    assert!(row.get::<_, String>(1).starts_with("SCRAM-SHA-256$"));
    let authenticator = connect(cluster.authenticator_config()).await;
    assert_eq!(
        sqlstate(
            &authenticator,
            "SELECT * FROM pgbouncer.get_auth('postgres')"
        )
        .await,
        Some(SqlState::INSUFFICIENT_PRIVILEGE)
    );
}

/// LISTEN on `channel` as `config`'s role, run `ddl`, and return the payloads that arrived.
async fn notifications_during(config: Config, channel: &str, ddl: &str) -> Vec<String> {
    let (client, mut connection) = config.connect(NoTls).await.expect("connect");
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(notification) = message {
                let _ = sender.send(notification.payload().to_owned());
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {channel}"))
        .await
        .unwrap();
    client.batch_execute(ddl).await.unwrap();
    // A round trip after the commit: our own notifications arrive before its answer.
    client.batch_execute("SELECT 1").await.unwrap();
    let mut payloads = Vec::new();
    while let Ok(Some(payload)) =
        tokio::time::timeout(Duration::from_millis(200), received.recv()).await
    {
        payloads.push(payload);
    }
    payloads
}

#[tokio::test]
async fn postgrest_event_triggers_fire_on_ddl_by_a_non_superuser() {
    let cluster = cluster();
    let admin = connect(cluster.admin_config()).await;
    let triggers: Vec<(String, String, String)> = admin
        .query(
            "SELECT evtname::text, evtevent::text, pg_get_userbyid(evtowner)::text
             FROM pg_event_trigger WHERE evtenabled = 'O' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    let expected = [
        ("issue_pg_graphql_access", "ddl_command_end"),
        ("pgrst_ddl_watch", "ddl_command_end"),
        ("pgrst_drop_watch", "sql_drop"),
    ]
    .map(|(name, event)| {
        (
            name.to_owned(),
            event.to_owned(),
            "supabase_admin".to_owned(),
        )
    });
    assert_eq!(triggers, expected);

    // A project's migrator: no attributes, a schema of its own.
    let superuser = connect(cluster.superuser_config()).await;
    superuser
        .batch_execute(
            "DROP SCHEMA IF EXISTS tk_ddl CASCADE; DROP ROLE IF EXISTS tk_ddl;
             CREATE ROLE tk_ddl LOGIN PASSWORD 'testkit-project';
             CREATE SCHEMA tk_ddl AUTHORIZATION tk_ddl",
        )
        .await
        .unwrap();
    let mut migrator = cluster.admin_config();
    migrator.user("tk_ddl").password("testkit-project");
    let created = notifications_during(
        migrator.clone(),
        "pgrst",
        "CREATE TABLE tk_ddl.notes (id int); CREATE FUNCTION tk_ddl.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    )
    .await;
    assert!(!created.is_empty(), "pgrst_ddl_watch fired");
    assert!(
        created.iter().all(|payload| payload == "reload schema"),
        "{created:?}"
    );
    let dropped = notifications_during(migrator.clone(), "pgrst", "DROP TABLE tk_ddl.notes").await;
    assert!(!dropped.is_empty(), "pgrst_drop_watch fired");
    // Temporary objects never reach the API.
    let temporary = notifications_during(
        migrator,
        "pgrst",
        "CREATE TEMPORARY TABLE tk_scratch (id int)",
    )
    .await;
    assert!(temporary.is_empty(), "{temporary:?}");
}

#[tokio::test]
async fn public_keeps_postgresqls_defaults_and_the_api_roles_get_what_the_admin_creates() {
    let cluster = cluster();
    let admin = connect(cluster.admin_config()).await;
    let superuser = connect(cluster.superuser_config()).await;
    superuser
        .batch_execute(
            "DROP FUNCTION IF EXISTS graphql_public.tk_probe();
             CREATE FUNCTION graphql_public.tk_probe() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        )
        .await
        .unwrap();
    let row = admin
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_namespace, aclexplode(nspacl) AS acl
                            WHERE nspname = 'public' AND acl.grantee = 0
                              AND acl.privilege_type = 'USAGE'),
                    has_function_privilege('anon', 'graphql_public.tk_probe()', 'EXECUTE'),
                    has_function_privilege('anon', 'graphql_public.graphql(text, text, jsonb, jsonb)', 'EXECUTE'),
                    EXISTS (SELECT FROM pg_default_acl d
                            WHERE d.defaclrole = 'postgres'::regrole
                              AND d.defaclnamespace = 'storage'::regnamespace)",
            &[],
        )
        .await
        .unwrap();
    for column in 0..4 {
        assert!(row.get::<_, bool>(column), "column {column}");
    }
    // A function the admin creates in public runs for anyone, a project's login too: USAGE on
    // public and EXECUTE on new functions stay PUBLIC's (the hole cotenant has to close).
    admin
        .batch_execute(
            "CREATE OR REPLACE FUNCTION public.tk_admins_rpc() RETURNS text
                 LANGUAGE sql SECURITY DEFINER AS 'SELECT current_user::text'",
        )
        .await
        .unwrap();
    let project = project_like_login("tk_project_public").await;
    let ran_as: String = project
        .query_one("SELECT public.tk_admins_rpc()", &[])
        .await
        .expect("PUBLIC runs the admin's function")
        .get(0);
    assert_eq!(ran_as, "postgres");
    admin
        .batch_execute("DROP FUNCTION public.tk_admins_rpc()")
        .await
        .unwrap();
    superuser
        .batch_execute("DROP FUNCTION graphql_public.tk_probe()")
        .await
        .unwrap();
}
