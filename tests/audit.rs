//! `audit` against real servers: a clean instance with several provisioned projects (and a
//! Supabase starter app moved into one) passes; every hole of the isolation matrix's kinds,
//! planted by hand, is found with its code and object; every lint is planted and found; an
//! allow-listed finding is reported as allowed and not counted. Projects' Data API roles are
//! held to their declarations, and are outsiders in every other project. PostgreSQL 15 and 17,
//! both flavours (plants that need Supabase's roles say so and stop on the plain one).

mod common;

use common::*;
use cotenant::api::{Api, ApiConfig, ApiRoleKind, SequencePrivilege, TablePrivilege};
use cotenant::audit::{AllowList, Allowance, AuditReport, Code, Scope, Severity};
use cotenant::platform::{AccessOverride, PlatformConfig};
use cotenant::provision::ProjectSettings;
use cotenant::relocate::{
    FunctionChoice, PublicationChoice, Relocation, Selection, SignupTriggerChoice,
};
use cotenant::rotate::Strategy;
use cotenant::secret::Login;
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Cluster, Pair, test_version};

const STARTER: &str = include_str!("fixtures/supabase_starter.sql");

async fn audit(cotenant: &Cotenant, env: &str, scope: &Scope) -> AuditReport {
    cotenant
        .environment(env)
        .unwrap()
        .audit(scope)
        .await
        .unwrap_or_else(|e| panic!("auditing {env}: {e}"))
}

fn scope(projects: &[&ProjectName]) -> Scope {
    Scope::only(projects.iter().map(|p| (*p).clone()))
}

/// The finding of `code` on `object`, or a panic printing the whole report.
#[track_caller]
fn found<'a>(report: &'a AuditReport, code: Code, object: &str) -> &'a cotenant::audit::Finding {
    report
        .findings
        .iter()
        .find(|f| f.code == code && f.object == object)
        .unwrap_or_else(|| panic!("expected {code} on `{object}`:\n{report}"))
}

#[track_caller]
fn not_found(report: &AuditReport, code: Code, object: &str) {
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.code == code && f.object == object),
        "no {code} on `{object}` expected:\n{report}"
    );
}

/// Moves the Supabase starter app (tests/fixtures/supabase_starter.sql) out of `public` into
/// `p`, as `cotenant relocate p --all --signup-triggers hook --functions rewrite` does.
async fn starter_moved_into(pair: &Pair, cotenant: &Cotenant, p: &ProjectName) -> Cotenant {
    let mut declared = AccessOverride::default();
    declared.auth = Some(true);
    declared.signup_hook = Some("handle_new_user".to_owned());
    declared.realtime = Some(vec!["prices".to_owned(), "products".to_owned()]);
    let with_hook = |declared: AccessOverride| {
        cotenant
            .clone()
            .with_platform(PlatformConfig::default().with_project(p.clone(), declared))
    };
    let mut hook_only = declared.clone();
    hook_only.realtime = None;
    with_hook(hook_only)
        .provision(p, &ProjectSettings::default())
        .await
        .expect("provisioning the starter's project");
    for (_, cluster) in pair.environments() {
        admin(cluster).await.batch_execute(STARTER).await.unwrap();
    }
    let cotenant = with_hook(declared);
    cotenant
        .relocate(
            p,
            &Relocation::new(Selection::All)
                .signup_triggers(SignupTriggerChoice::Hook)
                .functions(FunctionChoice::Rewrite)
                .publications(PublicationChoice::Keep),
        )
        .await
        .expect("relocating the starter");
    cotenant
}

#[tokio::test]
async fn a_clean_instance_with_several_projects_passes() {
    // An instance of its own: the other tests plant holes in what all projects share.
    let pair = Pair::start(test_version()).expect("a pair of its own");
    let cotenant = deployment_on(&pair, "audit_clean").await;
    let mut limits = ProjectSettings::default();
    limits.login.connection_limit = 50;
    let (a, b) = (project("clean_a"), project("clean_b"));
    cotenant.provision(&a, &limits).await.unwrap();
    cotenant
        .provision(&b, &ProjectSettings::default())
        .await
        .unwrap();
    let scope = Scope::all().with_settings(a.clone(), limits);
    let starter = project("clean_starter");
    let cotenant = if pair.staging.flavor() == cotenant_testkit::Flavor::Supabase {
        starter_moved_into(&pair, &cotenant, &starter).await
    } else {
        eprintln!("the Supabase starter app is left out on the plain flavour: it needs auth.users");
        cotenant
    };
    // A rotation with alternating users adds the login's twin: part of the model.
    cotenant
        .rotate(&b, &[Login::App], Strategy::AlternatingUsers)
        .await
        .unwrap();
    for env in both() {
        let report = audit(&cotenant, env, &scope).await;
        println!("{env}:\n{report}");
        assert!(report.passes(), "{env}: a clean instance passes:\n{report}");
        assert!(report.projects.contains(&"clean_a".to_owned()), "{report}");
        // The declared limit is what is held: the default for `clean_a` is drift.
        let default_held = audit(&cotenant, env, &Scope::only([a.clone()])).await;
        assert!(
            found(&default_held, Code::RoleDefault, "clean_a_login")
                .message
                .contains("connection limit 50 where 20 is declared"),
            "{default_held}"
        );
    }
}

/// The isolation holes of the matrix's kinds, each planted by hand on staging, each found
/// with its code and object — and prod, where nothing was planted, stays clean.
#[tokio::test]
async fn every_planted_isolation_hole_is_found() {
    let cotenant = deployment().await;
    let (a, b) = (
        provisioned(&cotenant, "hole_a", &ProjectSettings::default()).await,
        provisioned(&cotenant, "hole_b", &ProjectSettings::default()).await,
    );
    let staging = cluster("staging");
    let su = superuser(staging).await;
    let migrator_a = login(&cotenant, "staging", &a, Login::Migrator).await;
    // The owner grants its table to another project's role, and to PUBLIC.
    migrator_a
        .batch_execute(
            "GRANT SELECT ON t TO hole_b_app;
             GRANT UPDATE ON t TO PUBLIC;
             GRANT USAGE ON SCHEMA hole_a TO hole_b_login;
             CREATE FUNCTION peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM hole_a.t';
             CREATE FUNCTION pinned() RETURNS bigint LANGUAGE sql SECURITY DEFINER
               SET search_path = hole_a, pg_catalog AS 'SELECT count(*) FROM t';
             ALTER TABLE t ENABLE ROW LEVEL SECURITY;
             CREATE POLICY neighbour ON t TO hole_b_app USING (true);
             ALTER DEFAULT PRIVILEGES IN SCHEMA hole_a GRANT SELECT ON TABLES TO hole_b_app;",
        )
        .await
        .unwrap();
    // Done by hand by someone with more rights: an extra membership, changed attributes,
    // drifted role defaults, an object handed to another owner.
    su.batch_execute(
        "GRANT hole_a_app TO hole_b_login;
         ALTER ROLE hole_a_login INHERIT BYPASSRLS;
         ALTER ROLE hole_a_login CONNECTION LIMIT 99;
         ALTER ROLE hole_a_login SET statement_timeout = '45s';
         ALTER ROLE hole_a_migrator RESET idle_in_transaction_session_timeout;
         CREATE TABLE hole_a.foreign_owned (id int);
         ALTER TABLE hole_a.foreign_owned OWNER TO hole_b_owner;",
    )
    .await
    .unwrap();

    let report = audit(&cotenant, "staging", &scope(&[&a, &b])).await;
    println!("{report}");
    let grant = found(&report, Code::ForeignPrivilege, "hole_a.t");
    assert_eq!(grant.severity, Severity::Error);
    assert_eq!(grant.project.as_deref(), Some("hole_a"));
    let grants: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::ForeignPrivilege && f.object == "hole_a.t")
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        grants
            .iter()
            .any(|m| m.contains("SELECT") && m.contains("`hole_b_app` of project `hole_b`")),
        "{grants:?}"
    );
    assert!(
        grants
            .iter()
            .any(|m| m.contains("UPDATE") && m.contains("PUBLIC")),
        "{grants:?}"
    );
    assert!(
        found(&report, Code::ForeignPrivilege, "hole_a")
            .message
            .contains("hole_b_login")
    );
    found(
        &report,
        Code::ForeignDefaultPrivilege,
        "default privileges of hole_a_owner in schema hole_a on tables",
    );
    let extra = found(
        &report,
        Code::MembershipExtra,
        "hole_a_app granted to hole_b_login",
    );
    assert!(extra.fix.contains("REVOKE"), "{extra}");
    let attribute = found(&report, Code::RoleAttribute, "hole_a_login");
    assert!(
        attribute.message.contains("INHERIT") && attribute.message.contains("BYPASSRLS"),
        "{attribute}"
    );
    let defaults: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::RoleDefault)
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        defaults.iter().any(|m| m.contains("connection limit 99")),
        "{defaults:?}"
    );
    assert!(
        defaults
            .iter()
            .any(|m| m.contains("statement_timeout") && m.contains("45s")),
        "{defaults:?}"
    );
    assert!(
        defaults
            .iter()
            .any(|m| m.contains("idle_in_transaction_session_timeout") && m.contains("not set")),
        "{defaults:?}"
    );
    assert!(
        found(&report, Code::ForeignOwner, "hole_a.foreign_owned")
            .message
            .contains("hole_b_owner")
    );
    found(&report, Code::DefinerSearchPath, "hole_a.peek()");
    not_found(&report, Code::DefinerSearchPath, "hole_a.pinned()");
    found(
        &report,
        Code::ForeignPolicyRole,
        "hole_a.t policy neighbour",
    );
    // Nothing is blamed on the neighbour that it did not do.
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.project.as_deref() == Some("hole_b")
                && f.severity == Severity::Error
                && !f.object.contains("hole_a")),
        "{report}"
    );
    let prod = audit(&cotenant, "prod", &scope(&[&a, &b])).await;
    assert!(prod.passes(), "nothing was planted on prod:\n{prod}");
}

/// Supabase's shared API roles are outsiders too: a grant to `authenticated` is found.
#[tokio::test]
async fn a_grant_to_supabases_api_roles_is_found() {
    if !is_supabase(cluster("staging"), "a grant to `authenticated`") {
        return;
    }
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "hole_api", &ProjectSettings::default()).await;
    login(&cotenant, "staging", &p, Login::Migrator)
        .await
        .batch_execute(
            "GRANT SELECT, INSERT ON t TO authenticated; GRANT USAGE ON SCHEMA hole_api TO anon",
        )
        .await
        .unwrap();
    let report = audit(&cotenant, "staging", &scope(&[&p])).await;
    assert!(
        found(&report, Code::ForeignPrivilege, "hole_api.t")
            .message
            .contains("`authenticated`"),
        "{report}"
    );
    assert!(
        found(&report, Code::ForeignPrivilege, "hole_api")
            .message
            .contains("`anon`")
    );
}

/// A SECURITY DEFINER function the admin writes in `public`, executable by a project's
/// login, is a route into every project: found, without a project, with the revoke. So is one
/// whose owner was granted USAGE on a project's schema. An instance of its own: these routes
/// belong to every project, and the other tests expect none.
#[tokio::test]
async fn definer_routes_outside_the_projects_are_found() {
    let pair = Pair::start(test_version()).expect("a pair of its own");
    let cotenant = deployment_on(&pair, "audit_routes").await;
    let (a, b) = (project("route_a"), project("route_b"));
    for p in [&a, &b] {
        cotenant
            .provision(p, &ProjectSettings::default())
            .await
            .unwrap();
    }
    admin(&pair.staging)
        .await
        .batch_execute(
            "CREATE FUNCTION public.route_peek() RETURNS int LANGUAGE sql SECURITY DEFINER
               SET search_path = pg_catalog AS 'SELECT 1';
             GRANT USAGE ON SCHEMA public TO route_a_app;
             GRANT EXECUTE ON FUNCTION public.route_peek() TO route_a_app;",
        )
        .await
        .unwrap();
    // A role outside the projects that was let into `route_a`, owning a function `route_b`
    // may call.
    superuser(&pair.staging)
        .await
        .batch_execute(
            "CREATE ROLE route_reader NOLOGIN;
             GRANT USAGE ON SCHEMA route_a TO route_reader;
             CREATE SCHEMA route_shared;
             GRANT USAGE ON SCHEMA route_shared TO route_b_app;
             CREATE FUNCTION route_shared.read_a() RETURNS int LANGUAGE sql SECURITY DEFINER
               SET search_path = pg_catalog AS 'SELECT 1';
             ALTER FUNCTION route_shared.read_a() OWNER TO route_reader;
             REVOKE EXECUTE ON FUNCTION route_shared.read_a() FROM PUBLIC;
             GRANT EXECUTE ON FUNCTION route_shared.read_a() TO route_b_app;",
        )
        .await
        .unwrap();
    let staging = audit(&cotenant, "staging", &Scope::all()).await;
    println!("{staging}");
    let route = found(&staging, Code::SharedDefinerFunction, "public.route_peek()");
    assert_eq!(route.project, None);
    assert_eq!(route.severity, Severity::Error);
    assert!(route.fix.contains("REVOKE EXECUTE"), "{route}");
    let reader = found(
        &staging,
        Code::SharedDefinerFunction,
        "route_shared.read_a()",
    );
    assert!(
        reader
            .message
            .contains("granted privileges in a project's schema"),
        "{reader}"
    );
    // The grant that let it in is named too.
    assert!(
        found(&staging, Code::ForeignPrivilege, "route_a")
            .message
            .contains("route_reader")
    );
    let prod = audit(&cotenant, "prod", &Scope::all()).await;
    assert!(prod.passes(), "nothing was planted on prod:\n{prod}");
}

/// An extension that this server has (contrib may be missing from some builds).
/// On 16+ every project's logins inherit `cotenant_connect`: anything it holds beyond CONNECT
/// (an attribute, a membership, a privilege anywhere) is found, and revoking it passes. An
/// instance of its own: what is planted would reach every project's logins.
#[tokio::test]
async fn what_the_connect_role_holds_beyond_connect_is_found() {
    let pair = Pair::start(test_version()).expect("a pair of its own");
    let cotenant = deployment_on(&pair, "audit_connect").await;
    cotenant
        .provision(&project("conn_a"), &ProjectSettings::default())
        .await
        .unwrap();
    let su = superuser(&pair.staging).await;
    let exists: bool = query_value(
        &su,
        "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cotenant_connect')",
    )
    .await;
    if !exists {
        assert!(
            test_version().major() < 16,
            "on 16+ provisioning creates the connect role"
        );
        println!("PostgreSQL 15: logins hold CONNECT each, there is no connect role");
        return;
    }
    su.batch_execute(
        "CREATE TABLE public.conn_shared (x int);
         GRANT SELECT ON public.conn_shared TO cotenant_connect;
         GRANT pg_read_all_data TO cotenant_connect;
         ALTER ROLE cotenant_connect BYPASSRLS;",
    )
    .await
    .unwrap();
    let report = audit(&cotenant, "staging", &Scope::all()).await;
    let extras: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::ConnectRole)
        .map(|f| f.message.as_str())
        .collect();
    for planted in [
        "SELECT on table conn_shared",
        "membership in pg_read_all_data",
        "the attribute BYPASSRLS",
    ] {
        assert!(
            extras.iter().any(|m| m.contains(planted)),
            "expected `{planted}` among {extras:#?}\n{report}"
        );
    }
    let finding = found(&report, Code::ConnectRole, "cotenant_connect");
    assert_eq!(finding.severity, Severity::Error);
    assert!(!report.passes());
    su.batch_execute(
        "REVOKE SELECT ON public.conn_shared FROM cotenant_connect;
         REVOKE pg_read_all_data FROM cotenant_connect;
         ALTER ROLE cotenant_connect NOBYPASSRLS;",
    )
    .await
    .unwrap();
    let report = audit(&cotenant, "staging", &Scope::all()).await;
    not_found(&report, Code::ConnectRole, "cotenant_connect");
    assert!(report.passes(), "{report}");
}

async fn some_extension(cluster: &Cluster) -> Option<String> {
    superuser(cluster)
        .await
        .query_opt(
            "SELECT name FROM pg_available_extensions
             WHERE name IN ('pg_trgm', 'citext', 'hstore', 'pgcrypto', 'uuid-ossp', 'btree_gin')
               AND installed_version IS NULL ORDER BY name LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// Every lint planted in one project's schema, each found with its code and object.
#[tokio::test]
async fn every_planted_lint_is_found() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "lint_a", &ProjectSettings::default()).await;
    let staging = cluster("staging");
    login(&cotenant, "staging", &p, Login::Migrator)
        .await
        .batch_execute(
            "CREATE TABLE with_policy (id int, owner_id text);
             CREATE POLICY dead ON with_policy USING (true);
             CREATE TABLE locked (id int PRIMARY KEY);
             ALTER TABLE locked ENABLE ROW LEVEL SECURITY;
             CREATE TABLE per_row (id int, tenant text);
             ALTER TABLE per_row ENABLE ROW LEVEL SECURITY;
             CREATE POLICY tenant ON per_row USING (tenant = current_setting('app.tenant'));
             CREATE POLICY once ON per_row USING (tenant = (SELECT current_setting('app.tenant')));
             CREATE TABLE child (id int, locked_id int REFERENCES locked (id));
             CREATE TABLE indexed_child (id int, locked_id int REFERENCES locked (id));
             CREATE INDEX ON indexed_child (locked_id);
             ALTER TABLE child ENABLE ROW LEVEL SECURITY;
             ALTER TABLE indexed_child ENABLE ROW LEVEL SECURITY;
             CREATE POLICY all_rows ON child USING (true);
             CREATE POLICY all_rows ON indexed_child USING (true);
             CREATE FUNCTION loose() RETURNS int LANGUAGE sql AS 'SELECT 1';
             CREATE VIEW owner_view AS SELECT id FROM locked;
             CREATE VIEW invoker_view WITH (security_invoker = true) AS SELECT id FROM locked;",
        )
        .await
        .unwrap();
    let su = superuser(staging).await;
    let extension = some_extension(staging).await;
    match &extension {
        Some(name) => su
            .batch_execute(&format!("CREATE EXTENSION \"{name}\" SCHEMA lint_a"))
            .await
            .unwrap(),
        None => eprintln!(
            "lint.extension_in_project_schema not planted: no contrib extension available"
        ),
    }
    let supabase = is_supabase(staging, "a view exposing auth.users");
    if supabase {
        su.batch_execute(
            "CREATE VIEW lint_a.members AS SELECT id, email FROM auth.users;
             ALTER VIEW lint_a.members OWNER TO lint_a_owner;
             GRANT SELECT ON lint_a.members TO lint_a_app;",
        )
        .await
        .unwrap();
    }

    let report = audit(&cotenant, "staging", &scope(&[&p])).await;
    println!("{report}");
    assert_eq!(
        found(&report, Code::RlsDisabled, "lint_a.t").severity,
        Severity::Warning
    );
    found(&report, Code::PolicyWithoutRls, "lint_a.with_policy");
    not_found(&report, Code::RlsDisabled, "lint_a.with_policy");
    assert_eq!(
        found(&report, Code::RlsWithoutPolicy, "lint_a.locked").severity,
        Severity::Info
    );
    found(
        &report,
        Code::PolicyPerRowCall,
        "lint_a.per_row policy tenant",
    );
    not_found(
        &report,
        Code::PolicyPerRowCall,
        "lint_a.per_row policy once",
    );
    found(
        &report,
        Code::UnindexedForeignKey,
        "lint_a.child constraint child_locked_id_fkey",
    );
    not_found(
        &report,
        Code::UnindexedForeignKey,
        "lint_a.indexed_child constraint indexed_child_locked_id_fkey",
    );
    found(&report, Code::FunctionSearchPathMutable, "lint_a.loose()");
    found(&report, Code::SecurityDefinerView, "lint_a.owner_view");
    not_found(&report, Code::SecurityDefinerView, "lint_a.invoker_view");
    if let Some(name) = &extension {
        found(&report, Code::ExtensionInProjectSchema, name);
    }
    if supabase {
        let exposed = found(&report, Code::AuthUsersExposed, "lint_a.members");
        assert_eq!(exposed.severity, Severity::Error);
        assert!(exposed.message.contains("lint_a_app"), "{exposed}");
    }
    // Lints alone never fail the audit; the exposed auth.users does.
    assert_eq!(report.passes(), !supabase, "{report}");
}

/// A finding the project's allow list accepts is reported as allowed, with the reason, and
/// does not count.
#[tokio::test]
async fn an_allow_listed_finding_is_reported_as_allowed() {
    let cotenant = deployment().await;
    let p = provisioned(&cotenant, "allow_a", &ProjectSettings::default()).await;
    login(&cotenant, "staging", &p, Login::Migrator)
        .await
        .batch_execute(
            "CREATE FUNCTION peek() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'",
        )
        .await
        .unwrap();
    let plain = audit(&cotenant, "staging", &scope(&[&p])).await;
    assert!(!plain.passes(), "{plain}");
    let allow = AllowList::default().with_project(
        p.clone(),
        [
            Allowance::new(
                Code::DefinerSearchPath,
                "allow_a.peek()",
                "names no table: nothing to hijack",
            ),
            Allowance::new(Code::RlsDisabled, "allow_a.t", "reference data"),
        ],
    );
    let report = audit(&cotenant, "staging", &scope(&[&p]).with_allow_list(allow)).await;
    let allowed = found(&report, Code::DefinerSearchPath, "allow_a.peek()");
    assert_eq!(
        allowed.allowed.as_deref(),
        Some("names no table: nothing to hijack")
    );
    assert!(!allowed.counts());
    assert!(report.passes(), "{report}");
    assert_eq!(report.allowed().count(), 2, "{report}");
    assert!(
        report.to_string().contains("allowed: reference data"),
        "{report}"
    );
}

/// A project asked about that is not on the instance is an error, not silence.
#[tokio::test]
async fn a_project_that_is_not_there_is_an_error() {
    let cotenant = deployment().await;
    let report = audit(&cotenant, "staging", &Scope::only([project("never_made")])).await;
    assert_eq!(
        found(&report, Code::ProjectMissing, "never_made").severity,
        Severity::Error
    );
}

/// The Data API as the API tests declare it: `<p>_service` only where the admin can give
/// BYPASSRLS (PostgreSQL 16+), and with `full` Realtime, Storage and declared default
/// privileges for `<p>_authenticated`.
fn api_of(cluster: &Cluster, full: bool) -> Api {
    let api = Api::enabled().with_service(cluster.version().major() >= 16);
    if !full {
        return api.with_role(ApiRoleKind::Anon, |r| {
            r.with_tables([TablePrivilege::Select])
        });
    }
    api.with_realtime(true)
        .with_storage(true)
        .with_role(ApiRoleKind::Authenticated, |r| {
            r.with_tables(TablePrivilege::ALL)
                .with_sequences([SequencePrivilege::Usage])
                .with_functions(true)
        })
}

/// What a project with the Data API grants its own API roles in its migrations: a table behind
/// RLS they read and write, a sequence, and (after the declared default privileges) a new table
/// and a function.
fn api_objects(p: &ProjectName) -> String {
    format!(
        "ALTER TABLE t ENABLE ROW LEVEL SECURITY;
         CREATE POLICY readers ON t FOR SELECT TO {p}_anon, {p}_authenticated USING (true);
         GRANT SELECT ON t TO {p}_anon;
         GRANT SELECT, INSERT, UPDATE (v) ON t TO {p}_authenticated;
         GRANT USAGE ON SEQUENCE t_id_seq TO {p}_authenticated;
         CREATE TABLE notes (id serial PRIMARY KEY, body text);
         ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
         CREATE POLICY own ON notes TO {p}_authenticated USING (true) WITH CHECK (true);
         CREATE FUNCTION one() RETURNS int LANGUAGE sql SET search_path = {p}, pg_catalog AS 'SELECT 1';"
    )
}

/// `names` provisioned everywhere with the Data API `cotenant` declares, each with `t`, and
/// those with the API with their API objects.
async fn api_fleet(cotenant: &Cotenant, names: &[&str]) -> Vec<ProjectName> {
    let mut projects = Vec::new();
    for name in names {
        let p = provisioned(cotenant, name, &ProjectSettings::default()).await;
        if !cotenant.api_of(&p).enabled {
            projects.push(p);
            continue;
        }
        for env in both() {
            login(cotenant, env, &p, Login::Migrator)
                .await
                .batch_execute(&api_objects(&p))
                .await
                .unwrap_or_else(|e| panic!("{p}'s API objects on {env}: {e}"));
        }
        projects.push(p);
    }
    projects
}

/// A fleet with the Data API — Realtime, Storage, declared default privileges and (16+)
/// `<p>_service` on one project, the plain API on another, none on a third — audits clean on
/// both environments when the audit knows the declarations; without them the API roles are
/// undeclared.
#[tokio::test]
async fn a_fleet_with_the_data_api_audits_clean() {
    let c = cluster("staging");
    if !is_supabase(c, "the Data API (`authenticator`)") {
        return;
    }
    let names = ["api_clean_a", "api_clean_b", "api_clean_c"];
    let apis = ApiConfig::default()
        .with_project(project(names[0]), api_of(c, true))
        .with_project(project(names[1]), api_of(c, false));
    let cotenant = deployment().await.with_api(apis.clone());
    let projects = api_fleet(&cotenant, &names).await;
    let declared = || scope(&projects.iter().collect::<Vec<_>>()).with_api(apis.clone());
    for env in both() {
        let report = audit(&cotenant, env, &declared()).await;
        println!("{env}:\n{report}");
        assert!(
            report.passes(),
            "{env}: the declared API audits clean:\n{report}"
        );
        let blind = audit(&cotenant, env, &scope(&projects.iter().collect::<Vec<_>>())).await;
        found(&blind, Code::ApiRoleUndeclared, "api_clean_a_anon");
        found(&blind, Code::ApiRoleUndeclared, "api_clean_b_authenticated");
    }
    // Declared but lost: the membership PostgREST needs and a declared default privilege.
    superuser(c)
        .await
        .batch_execute(
            "DO $$ BEGIN EXECUTE format('REVOKE api_clean_b_anon FROM authenticator GRANTED BY %I',
                 (SELECT pg_get_userbyid(grantor) FROM pg_auth_members
                  WHERE roleid = 'api_clean_b_anon'::regrole AND member = 'authenticator'::regrole));
             END $$;
             ALTER DEFAULT PRIVILEGES FOR ROLE api_clean_a_owner IN SCHEMA api_clean_a
                 REVOKE DELETE ON TABLES FROM api_clean_a_authenticated;",
        )
        .await
        .unwrap();
    let report = audit(&cotenant, "staging", &declared()).await;
    found(
        &report,
        Code::MembershipMissing,
        "api_clean_b_anon granted to authenticator",
    );
    found(
        &report,
        Code::ApiPrivilege,
        "default privileges of api_clean_a_owner in schema api_clean_a on tables",
    );
    // `apply` (provisioning) repairs them, and the audit is clean again.
    cotenant
        .environment("staging")
        .unwrap()
        .provision(&projects[0], &ProjectSettings::default())
        .await
        .unwrap();
    cotenant
        .environment("staging")
        .unwrap()
        .provision(&projects[1], &ProjectSettings::default())
        .await
        .unwrap();
    let report = audit(&cotenant, "staging", &declared()).await;
    assert!(report.passes(), "repaired:\n{report}");
}

/// The API roles' holes, planted by hand on staging: an extra membership either way, LOGIN and
/// BYPASSRLS, a privilege in another project, a privilege the declaration does not give, a
/// drifted timeout, another project's API role in a policy, and Storage policies that open a
/// bucket to another project's roles. Each is found with its code; prod stays clean.
#[tokio::test]
async fn every_planted_api_hole_is_found() {
    let c = cluster("staging");
    if !is_supabase(c, "the Data API (`authenticator`)") {
        return;
    }
    let names = ["api_hole_a", "api_hole_b"];
    let api = Api::enabled().with_storage(true);
    let apis = ApiConfig::default()
        .with_project(project(names[0]), api.clone())
        .with_project(project(names[1]), api);
    let cotenant = deployment().await.with_api(apis.clone());
    let projects = api_fleet(&cotenant, &names).await;
    let declared = scope(&projects.iter().collect::<Vec<_>>()).with_api(apis);
    login(&cotenant, "staging", &projects[1], Login::Migrator)
        .await
        .batch_execute("GRANT SELECT ON t TO api_hole_a_anon")
        .await
        .unwrap();
    login(&cotenant, "staging", &projects[0], Login::Migrator)
        .await
        .batch_execute(
            "CREATE POLICY neighbour ON t TO api_hole_b_authenticated USING (true);
             GRANT TRUNCATE ON t TO api_hole_a_authenticated;",
        )
        .await
        .unwrap();
    superuser(c)
        .await
        .batch_execute(
            "GRANT api_hole_a_anon TO api_hole_b_app;
             GRANT api_hole_a_owner TO api_hole_a_authenticated;
             ALTER ROLE api_hole_a_anon LOGIN BYPASSRLS;
             ALTER ROLE api_hole_a_authenticated SET statement_timeout = '1min';
             GRANT CREATE ON SCHEMA api_hole_a TO api_hole_a_anon;
             CREATE POLICY sneak ON storage.objects FOR SELECT TO api_hole_b_anon
                 USING (bucket_id = 'api_hole_a');
             CREATE POLICY everyone ON storage.objects FOR SELECT
                 TO api_hole_a_anon, api_hole_b_anon USING (true);",
        )
        .await
        .unwrap();

    let report = audit(&cotenant, "staging", &declared).await;
    println!("{report}");
    found(
        &report,
        Code::MembershipExtra,
        "api_hole_a_anon granted to api_hole_b_app",
    );
    found(
        &report,
        Code::MembershipExtra,
        "api_hole_a_owner granted to api_hole_a_authenticated",
    );
    let attribute = found(&report, Code::RoleAttribute, "api_hole_a_anon");
    assert!(
        attribute.message.contains("can log in") && attribute.message.contains("BYPASSRLS"),
        "{attribute}"
    );
    let foreign = found(&report, Code::ForeignPrivilege, "api_hole_b.t");
    assert!(
        foreign
            .message
            .contains("`api_hole_a_anon` of project `api_hole_a`"),
        "{foreign}"
    );
    assert_eq!(foreign.project.as_deref(), Some("api_hole_b"));
    found(
        &report,
        Code::ForeignPolicyRole,
        "api_hole_a.t policy neighbour",
    );
    let truncate = found(&report, Code::ApiPrivilege, "api_hole_a.t");
    assert!(truncate.message.contains("TRUNCATE"), "{truncate}");
    let create = found(&report, Code::ApiPrivilege, "api_hole_a");
    assert!(create.message.contains("CREATE"), "{create}");
    assert!(
        report.findings.iter().any(|f| f.code == Code::RoleDefault
            && f.object == "api_hole_a_authenticated"
            && f.message.contains("statement_timeout")),
        "{report}"
    );
    for project in ["api_hole_a", "api_hole_b"] {
        for policy in ["sneak", "everyone"] {
            let object = format!("storage.objects policy {policy}");
            assert!(
                report.findings.iter().any(|f| f.code == Code::StoragePolicy
                    && f.object == object
                    && f.project.as_deref() == Some(project)),
                "{policy} is found for {project}:\n{report}"
            );
        }
    }
    // The bucket's own policies are not blamed.
    not_found(
        &report,
        Code::StoragePolicy,
        "storage.objects policy api_hole_a_anon",
    );
    not_found(
        &report,
        Code::StoragePolicy,
        "storage.objects policy api_hole_b_authenticated",
    );
    // Nothing else than these is an error: every API role's own grants are as declared.
    assert!(
        !report.findings.iter().any(|f| f.severity == Severity::Error
            && f.object.contains("api_hole_b_authenticated granted")),
        "{report}"
    );
    superuser(c)
        .await
        .batch_execute(
            "DROP POLICY sneak ON storage.objects; DROP POLICY everyone ON storage.objects;",
        )
        .await
        .unwrap();
    let prod = audit(&cotenant, "prod", &declared).await;
    assert!(prod.passes(), "nothing was planted on prod:\n{prod}");
}

/// On both flavours: a role named like a project's API role that no declaration gives it is
/// found, and it is another project's outsider like any project role.
#[tokio::test]
async fn an_undeclared_api_role_is_found_and_foreign_elsewhere() {
    let cotenant = deployment().await;
    let (a, b) = (
        provisioned(&cotenant, "undeclared_a", &ProjectSettings::default()).await,
        provisioned(&cotenant, "undeclared_b", &ProjectSettings::default()).await,
    );
    let su = superuser(cluster("staging")).await;
    su.batch_execute("CREATE ROLE undeclared_a_anon NOLOGIN NOINHERIT")
        .await
        .unwrap();
    login(&cotenant, "staging", &b, Login::Migrator)
        .await
        .batch_execute("GRANT SELECT ON t TO undeclared_a_anon")
        .await
        .unwrap();
    let report = audit(&cotenant, "staging", &scope(&[&a, &b])).await;
    assert_eq!(
        found(&report, Code::ApiRoleUndeclared, "undeclared_a_anon").severity,
        Severity::Error
    );
    assert!(
        found(&report, Code::ForeignPrivilege, "undeclared_b.t")
            .message
            .contains("`undeclared_a_anon` of project `undeclared_a`"),
        "{report}"
    );
}
