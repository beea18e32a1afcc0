//! Platform access on a Supabase-like instance: each project reaches auth, extensions,
//! Realtime and signup hooks as declared, and nothing of another project through them.

mod common;

use common::{admin, assert_allowed, assert_denied, deployment, login, project, superuser};
use cotenant::migrate::{Gate, MigrateError, Migrations, Runner};
use cotenant::platform::{self, Access, AccessOverride, PlatformConfig, PlatformError};
use cotenant::provision::{DropObjects, ProjectSettings, ProvisionError};
use cotenant::secret::Login;
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Cluster, Pair};
use tokio::sync::OnceCell;
use tokio_postgres::error::SqlState;

/// Gives the shared pair the parts of hosted Supabase platform access uses, where it lacks them.
async fn supabase_like() {
    static DONE: OnceCell<()> = OnceCell::const_new();
    DONE.get_or_init(|| async {
        for (_, cluster) in Pair::shared().environments() {
            superuser(cluster)
                .await
                .batch_execute(include_str!("fixtures/supabase_platform.sql"))
                .await
                .expect("the Supabase-like fixture");
        }
    })
    .await;
}

fn staging() -> &'static Cluster {
    Pair::shared().environments()[0].1
}

fn migrations(files: &[(&str, &str)]) -> Migrations {
    Migrations::from_embedded(files).expect("a valid migration set")
}

/// Runs `files` as `p`'s migrator on staging, then on prod.
async fn migrate(
    cotenant: &Cotenant,
    p: &ProjectName,
    files: &Migrations,
) -> Result<(), MigrateError> {
    for env in ["staging", "prod"] {
        let client = login(cotenant, env, p, Login::Migrator).await;
        Runner::new(files.clone())
            .run(client, p, &Gate::open())
            .await?;
    }
    Ok(())
}

/// A deployment whose projects in `names` get `access` (and the allowlist).
async fn deployment_with(names: &[&str], access: Access, allow: &[&str]) -> Cotenant {
    supabase_like().await;
    let mut config = PlatformConfig::default().with_allowed_extensions(allow.iter().copied());
    for name in names {
        config = config.with_project(project(name), AccessOverride::from(access.clone()));
    }
    deployment().await.with_platform(config)
}

async fn provision(cotenant: &Cotenant, p: &ProjectName) {
    cotenant
        .provision(p, &ProjectSettings::default())
        .await
        .unwrap_or_else(|e| panic!("provisioning {p}: {e}"));
}

async fn signup(cluster: &Cluster, email: &str) -> Vec<String> {
    // GoTrue's path: supabase_auth_admin inserts the user. Notices are the warnings hooks raise.
    let admin = admin(cluster).await;
    let id: String = admin
        .query_one("SELECT gen_random_uuid()::text", &[])
        .await
        .unwrap()
        .get(0);
    let (client, mut connection) = cluster
        .admin_config()
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        use futures_util::StreamExt;
        while let Some(Ok(message)) = stream.next().await {
            if let tokio_postgres::AsyncMessage::Notice(notice) = message {
                let _ = tx.send(notice.message().to_owned());
            }
        }
    });
    client
        .batch_execute(&format!(
            "SET ROLE supabase_auth_admin; INSERT INTO auth.users (id, aud, role, email, encrypted_password, raw_user_meta_data) \
             VALUES ('{id}', 'authenticated', 'authenticated', '{email}', 'secret-hash', '{{\"full_name\": \"{email}\"}}'); RESET ROLE"
        ))
        .await
        .expect("the signup commits");
    drop(client);
    let mut warnings = Vec::new();
    while let Some(w) = rx.recv().await {
        warnings.push(w);
    }
    warnings
}

#[tokio::test]
async fn auth_lets_a_project_reference_users_and_use_its_claims_but_never_read_them() {
    let access = Access::default().with_auth(true);
    let cotenant = deployment_with(&["pa_auth_a", "pa_auth_b"], access, &[]).await;
    let (a, b) = (project("pa_auth_a"), project("pa_auth_b"));
    provision(&cotenant, &a).await;
    provision(&cotenant, &b).await;
    let again = cotenant
        .plan(&a, &ProjectSettings::default())
        .await
        .unwrap();
    assert!(
        again.iter().all(|(_, p)| p.is_empty()),
        "re-running plans nothing: {again:?}"
    );

    let user: String = superuser(staging())
        .await
        .query_one(
            "INSERT INTO auth.users (id, email) VALUES (gen_random_uuid(), 'a@example.com') RETURNING id::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let files = migrations(&[(
        "001_notes.sql",
        "CREATE TABLE notes (id serial PRIMARY KEY, user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE, body text);
         ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
         CREATE POLICY own ON notes USING ((SELECT auth.uid()) = user_id) WITH CHECK ((SELECT auth.uid()) = user_id);",
    )]);
    migrate(&cotenant, &a, &files)
        .await
        .expect("references auth.users (id) works");

    let app = login(&cotenant, "staging", &a, Login::App).await;
    assert_allowed(
        &app,
        "a's app",
        &format!(
            "BEGIN; SELECT set_config('request.jwt.claims', '{{\"sub\": \"{user}\"}}', true);
             INSERT INTO notes (user_id, body) VALUES ('{user}', 'mine'); COMMIT;"
        ),
    )
    .await;
    let seen: i64 = app
        .query_one("SELECT count(*) FROM notes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 0, "without claims the policy shows nothing");

    for (who, p, l) in [
        ("a's login", &a, Login::App),
        ("a's migrator", &a, Login::Migrator),
        ("b's login", &b, Login::App),
        ("b's migrator", &b, Login::Migrator),
    ] {
        let client = login(&cotenant, "staging", p, l).await;
        assert_denied(&client, who, "SELECT email FROM auth.users").await;
        assert_denied(&client, who, "SELECT id FROM auth.users").await;
    }
    let b_migrator = login(&cotenant, "staging", &b, Login::Migrator).await;
    assert_denied(&b_migrator, "b's migrator", "SELECT * FROM pa_auth_a.notes").await;

    // Taken off: revoked, and the plan for that is what deprovisioning would do first.
    let off = cotenant.clone().with_platform(PlatformConfig::default());
    off.provision(&b, &ProjectSettings::default())
        .await
        .unwrap();
    let b_migrator = login(&cotenant, "staging", &b, Login::Migrator).await;
    assert_denied(&b_migrator, "b without auth", "SELECT auth.uid()").await;
}

const SEARCH: &str = "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions;
CREATE TABLE docs (body text);
CREATE INDEX docs_trgm ON docs USING gin (body extensions.gin_trgm_ops);";

#[tokio::test]
async fn extensions_come_from_the_allowlist_and_a_migration_names_it_otherwise() {
    let access = Access::default().with_extensions(true);
    let cotenant = deployment_with(&["pa_ext"], access, &["pg_trgm"]).await;
    let p = project("pa_ext");
    provision(&cotenant, &p).await;
    let files = migrations(&[("001_search.sql", SEARCH)]);
    migrate(&cotenant, &p, &files)
        .await
        .expect("an installed allowed extension passes");
    let more = migrations(&[
        ("001_search.sql", SEARCH),
        (
            "002_hstore.sql",
            "CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA extensions;",
        ),
    ]);
    let error = migrate(&cotenant, &p, &more).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("[platform.allow] extensions"),
        "the error names the allowlist: {message}"
    );
    assert_eq!(
        error.as_db_error().map(|e| e.code().clone()),
        Some(SqlState::INSUFFICIENT_PRIVILEGE)
    );
}

#[tokio::test]
async fn an_unavailable_allowed_extension_fails_the_plan_and_changes_nothing() {
    let cotenant = deployment_with(
        &["pa_ext_bad"],
        Access::default().with_auth(true),
        &["no_such_ext"],
    )
    .await;
    let p = project("pa_ext_bad");
    let error = cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("`no_such_ext`") && error.to_string().contains("not available"),
        "{error}"
    );
    let admin = admin(staging()).await;
    let exists: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pa_ext_bad_owner')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!exists, "nothing of provisioning was committed either");
}

#[tokio::test]
async fn realtime_tables_are_kept_in_the_publication_as_declared() {
    supabase_like().await;
    let cotenant = deployment_with(&["pa_rt", "pa_rt_b"], Access::default(), &[]).await;
    let (p, b) = (project("pa_rt"), project("pa_rt_b"));
    provision(&cotenant, &p).await;
    provision(&cotenant, &b).await;
    migrate(
        &cotenant,
        &p,
        &migrations(&[(
            "001_t.sql",
            "CREATE TABLE notes (id int PRIMARY KEY); CREATE TABLE messages (id int PRIMARY KEY);",
        )]),
    )
    .await
    .unwrap();
    let mut admin = admin(staging()).await;
    let both = Access::default().with_realtime(["notes", "messages"]);
    let applied = platform::apply(&mut admin, &p, &both, &[]).await.unwrap();
    assert!(!applied.is_empty());
    assert_eq!(published(&admin).await, ["messages", "notes"]);
    assert!(
        platform::plan(&admin, &p, &both, &[])
            .await
            .unwrap()
            .is_empty()
    );
    let one = Access::default().with_realtime(["notes"]);
    platform::apply(&mut admin, &p, &one, &[]).await.unwrap();
    assert_eq!(published(&admin).await, ["notes"]);
    let owner_of_admin: bool = admin
        .query_one(
            "SELECT pg_has_role(current_user, 'pa_rt_owner', 'USAGE')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        !owner_of_admin,
        "the admin acted as the owner for the transaction only"
    );

    let missing = Access::default().with_realtime(["nope"]);
    match platform::plan(&admin, &p, &missing, &[]).await {
        Err(PlatformError::NoSuchTable { table, .. }) => assert_eq!(table, "nope"),
        other => panic!("expected NoSuchTable, got {other:?}"),
    }

    // A migration cannot change the publication: the error says where to declare the table.
    let files = migrations(&[
        (
            "001_t.sql",
            "CREATE TABLE notes (id int PRIMARY KEY); CREATE TABLE messages (id int PRIMARY KEY);",
        ),
        (
            "002_pub.sql",
            "ALTER PUBLICATION supabase_realtime ADD TABLE messages;",
        ),
    ]);
    let error = migrate(&cotenant, &p, &files).await.unwrap_err();
    assert!(
        error.to_string().contains("[projects.pa_rt.platform]"),
        "{error}"
    );
    let b_migrator = login(&cotenant, "staging", &b, Login::Migrator).await;
    assert_denied(
        &b_migrator,
        "b's migrator",
        "ALTER PUBLICATION supabase_realtime DROP TABLE pa_rt.notes",
    )
    .await;
}

const HOOK: &str = "CREATE TABLE profiles (id uuid PRIMARY KEY, full_name text);
CREATE FUNCTION handle_new_user(new cotenant_platform.signup_user) RETURNS cotenant_platform.signup_user
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {p}, pg_catalog AS $$
BEGIN
    INSERT INTO profiles (id, full_name) VALUES (new.id, new.raw_user_meta_data->>'full_name');
    RETURN new;
END $$;";

const FAILING_HOOK: &str =
    "CREATE FUNCTION handle_new_user(new cotenant_platform.signup_user) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {p}, pg_catalog AS $$
BEGIN
    RAISE EXCEPTION 'boom';
END $$;";

#[tokio::test]
async fn signup_hooks_run_each_in_its_own_subtransaction_and_an_invoker_hook_is_skipped() {
    let access = Access::default().with_signup_hook(Some("handle_new_user"));
    let names = ["pa_hook_a", "pa_hook_b", "pa_hook_c"];
    let cotenant = deployment_with(&names, access, &[]).await;
    let [a, b, c] = names.map(project);
    for p in [&a, &b, &c] {
        let plan = cotenant.plan(p, &ProjectSettings::default()).await.unwrap();
        provision(&cotenant, p).await;
        assert!(
            plan[0].1.to_string().contains("does not exist yet"),
            "until a migration creates it, the hook is pending: {}",
            plan[0].1
        );
    }
    for (p, body) in [(&a, HOOK), (&b, FAILING_HOOK), (&c, HOOK)] {
        let sql = body.replace("{p}", p.as_str());
        migrate(&cotenant, p, &migrations(&[("001_hook.sql", &sql)]))
            .await
            .unwrap();
        provision(&cotenant, p).await;
    }
    let warnings = signup(staging(), "first@example.com").await;
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("pa_hook_b") && w.contains("boom")),
        "a failing hook warns naming its project: {warnings:?}"
    );
    let admin = superuser(staging()).await;
    for p in ["pa_hook_a", "pa_hook_c"] {
        let n: i64 = admin
            .query_one(
                &format!("SELECT count(*) FROM {p}.profiles WHERE full_name = 'first@example.com'"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "{p}'s hook ran despite b's failure");
    }

    // B cannot call A's hook or the dispatcher, nor read A's profiles.
    let b_login = login(&cotenant, "staging", &b, Login::App).await;
    let b_migrator = login(&cotenant, "staging", &b, Login::Migrator).await;
    for (who, client) in [("b's login", &b_login), ("b's migrator", &b_migrator)] {
        assert_denied(
            client,
            who,
            "SELECT pa_hook_a.handle_new_user(NULL::cotenant_platform.signup_user)",
        )
        .await;
        assert_denied(client, who, "SELECT cotenant_platform.dispatch_signup()").await;
        assert_denied(client, who, "SELECT * FROM pa_hook_a.profiles").await;
        assert_denied(client, who, "SET ROLE cotenant_signup").await;
    }

    // The attack: B's migrator turns its hook into SECURITY INVOKER so that it would run as the
    // dispatcher's role, which may call every hook. The dispatcher skips it.
    let attack = "ALTER FUNCTION handle_new_user(cotenant_platform.signup_user) SECURITY INVOKER;
        CREATE OR REPLACE FUNCTION handle_new_user(new cotenant_platform.signup_user) RETURNS void
        LANGUAGE plpgsql SET search_path = pa_hook_b, pg_catalog AS $$
        BEGIN
            PERFORM pa_hook_a.handle_new_user(ROW(gen_random_uuid(), 'x', 'x', 'forged', NULL, NULL, NULL, NULL, '{\"full_name\": \"forged\"}', now())::cotenant_platform.signup_user);
        END $$;";
    let files = migrations(&[
        ("001_hook.sql", &FAILING_HOOK.replace("{p}", "pa_hook_b")),
        ("002_attack.sql", attack),
    ]);
    migrate(&cotenant, &b, &files).await.unwrap();
    let warnings = signup(staging(), "second@example.com").await;
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("skipped the signup hook of project pa_hook_b")),
        "{warnings:?}"
    );
    let forged: i64 = admin
        .query_one(
            "SELECT count(*) FROM pa_hook_a.profiles WHERE full_name = 'forged'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(forged, 0, "b's code never ran as the dispatcher's role");

    // Deprovisioning takes the hook out of the dispatcher.
    cotenant
        .deprovision(&c, &DropObjects::Confirmed("pa_hook_c".into()))
        .await
        .unwrap();
    let source: String = admin
        .query_one(
            "SELECT prosrc FROM pg_proc WHERE proname = 'dispatch_signup'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        !source.contains("pa_hook_c") && source.contains("pa_hook_a"),
        "{source}"
    );
    let warnings = signup(staging(), "third@example.com").await;
    assert!(
        warnings.iter().all(|w| !w.contains("pa_hook_c")),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn a_hook_that_is_not_security_definer_is_refused_by_the_plan() {
    let access = Access::default().with_signup_hook(Some("on_signup"));
    let cotenant = deployment_with(&["pa_hook_bad"], access, &[]).await;
    let p = project("pa_hook_bad");
    provision(&cotenant, &p).await;
    let files = migrations(&[(
        "001_hook.sql",
        "CREATE FUNCTION on_signup(new cotenant_platform.signup_user) RETURNS void LANGUAGE sql AS 'SELECT';",
    )]);
    migrate(&cotenant, &p, &files).await.unwrap();
    match cotenant.provision(&p, &ProjectSettings::default()).await {
        Err(ProvisionError::InEnvironment { source, .. }) => {
            let message = source.to_string();
            assert!(
                message.contains("is not SECURITY DEFINER") && message.contains("CREATE FUNCTION"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn killing_the_backend_during_apply_leaves_the_old_state() {
    let cotenant = deployment_with(&["pa_kill"], Access::default(), &[]).await;
    let p = project("pa_kill");
    provision(&cotenant, &p).await;
    migrate(
        &cotenant,
        &p,
        &migrations(&[("001_t.sql", "CREATE TABLE t (id int PRIMARY KEY);")]),
    )
    .await
    .unwrap();
    let mut client = admin(staging()).await;
    let killer = superuser(staging()).await;
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    // The auth grants run first; adding the table to the publication then waits for this lock,
    // and the backend is killed there.
    let blocker = superuser(staging()).await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE pa_kill.t IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let access = Access::default().with_auth(true).with_realtime(["t"]);
    let target = p.clone();
    let apply =
        tokio::spawn(async move { platform::apply(&mut client, &target, &access, &[]).await });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    killer
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    assert!(apply.await.unwrap().is_err());
    blocker.batch_execute("ROLLBACK").await.unwrap();
    let granted: bool = killer
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_namespace n, aclexplode(n.nspacl) a
             WHERE n.nspname = 'auth' AND a.grantee = 'pa_kill_owner'::regrole)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!granted, "nothing of the killed transaction remains");
    let mut admin = admin(staging()).await;
    let access = Access::default().with_auth(true).with_realtime(["t"]);
    platform::apply(&mut admin, &p, &access, &[]).await.unwrap();
    assert!(
        platform::plan(&admin, &p, &access, &[])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn published(client: &tokio_postgres::Client) -> Vec<String> {
    let rows = client
        .query(
            "SELECT tablename::text FROM pg_publication_tables WHERE pubname = 'supabase_realtime' AND schemaname = 'pa_rt' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}
