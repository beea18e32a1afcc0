//! `audit` of many projects: one catalog read per concept for all of them, target ≤ 5 s for
//! 1,000 projects. Local PostgreSQL 15 and 17 built like hosted Supabase (the test kit's
//! Supabase flavour).
//!
//! ```text
//! cargo run --release --example bench_audit -- [--projects 100,1000] [--runs 5] [--versions 15,17]
//! ```
//!
//! For each version, on a fresh server, projects are provisioned up to each count of
//! `--projects`, each with what a typical app keeps in its schema (two tables with a foreign key
//! and its index, row-level security with a policy, a pinned SECURITY DEFINER function, a
//! `security_invoker` view); every fourth project has the Data API (`<p>_anon` and
//! `<p>_authenticated` granted its tables, declared default privileges, `<p>_service` on 16+),
//! and every twentieth Realtime and a Storage bucket too. At each count: the audit of every project (`Scope::all`) and of one
//! (`Scope::only`), `--runs` times each, min and median; the number of findings (the audit must
//! pass); and each of the audit's statements (`sql/audit/`, and doctor's routes) run alone for
//! every project, min of `--runs`, to show where the time goes.

mod common;

use common::{connect, ms};

use std::time::Instant;

use cotenant::ProjectName;
use cotenant::api::{Api, ApiConfig, ApiRoleKind, TablePrivilege};
use cotenant::audit::{self, Scope};
use cotenant::provision::{self, LoginPasswords, PasswordResets, ProjectSettings};
use cotenant_testkit::{Cluster, Flavor, PgVersion};
use tokio_postgres::Client;
use tokio_postgres::types::{ToSql, Type};

struct Args {
    projects: Vec<usize>,
    runs: usize,
    versions: Vec<PgVersion>,
}

fn args() -> Args {
    let mut args = Args {
        projects: vec![100, 1000],
        runs: 5,
        versions: vec![PgVersion::V15, PgVersion::V17],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut list = |name: &str| -> Vec<String> {
            it.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
                .split(',')
                .map(str::to_owned)
                .collect()
        };
        match arg.as_str() {
            "--projects" => {
                args.projects = list("--projects")
                    .iter()
                    .map(|n| n.parse().expect("--projects 100,1000"))
                    .collect()
            }
            "--runs" => args.runs = list("--runs")[0].parse().expect("--runs N"),
            "--versions" => args.versions = common::versions(&list("--versions").join(",")),
            other => panic!(
                "unknown argument {other}: use --projects 100,1000 --runs N --versions 15,17"
            ),
        }
    }
    args
}

/// What a typical app keeps in its schema, created as the project's owner.
fn app_objects(p: &str) -> String {
    format!(
        "SET ROLE {p}_owner;
         CREATE TABLE {p}.notes (id bigserial PRIMARY KEY, owner_id text, body text);
         ALTER TABLE {p}.notes ENABLE ROW LEVEL SECURITY;
         CREATE POLICY own ON {p}.notes USING (owner_id = (SELECT current_setting('app.user', true)));
         CREATE TABLE {p}.tags (id int PRIMARY KEY, note_id bigint REFERENCES {p}.notes (id));
         CREATE INDEX ON {p}.tags (note_id);
         ALTER TABLE {p}.tags ENABLE ROW LEVEL SECURITY;
         CREATE POLICY all_tags ON {p}.tags USING (true);
         CREATE FUNCTION {p}.note_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER
           SET search_path = {p}, pg_catalog AS 'SELECT count(*) FROM notes';
         CREATE VIEW {p}.recent WITH (security_invoker = true) AS SELECT id, body FROM {p}.notes;
         RESET ROLE;"
    )
}

/// The Data API of the `n`th project, if it has one.
fn api_of(n: usize, version: PgVersion) -> Option<Api> {
    if !n.is_multiple_of(4) {
        return None;
    }
    let api = Api::enabled()
        .with_service(version.major() >= 16)
        .with_role(ApiRoleKind::Authenticated, |r| {
            r.with_tables(TablePrivilege::ALL)
        });
    Some(if n.is_multiple_of(20) {
        api.with_realtime(true).with_storage(true)
    } else {
        api
    })
}

/// What a project with the Data API grants its API roles.
fn api_objects(p: &str) -> String {
    format!(
        "SET ROLE {p}_owner;
         GRANT SELECT ON {p}.notes, {p}.tags TO {p}_anon;
         CREATE POLICY readers ON {p}.tags FOR SELECT TO {p}_anon USING (true);
         CREATE TABLE {p}.posts (id int PRIMARY KEY, body text);
         ALTER TABLE {p}.posts ENABLE ROW LEVEL SECURITY;
         CREATE POLICY own_posts ON {p}.posts TO {p}_authenticated USING (true);
         RESET ROLE;"
    )
}

/// `runs` audits of `scope`: (min, median, findings of the last).
async fn time(client: &Client, scope: &Scope, runs: usize) -> (f64, f64, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut findings = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let report = audit::audit(client, scope).await.expect("auditing");
        times.push(ms(start.elapsed()));
        assert!(report.passes(), "the fleet is clean:\n{report}");
        findings = report.findings.len();
    }
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2], findings)
}

async fn run(version: PgVersion, args: &Args) {
    let cluster = Cluster::start_flavor(version, Flavor::Supabase).expect("a Supabase server");
    let superuser = connect(cluster.superuser_config()).await;
    let mut admin = connect(cluster.admin_config()).await;
    let passwords = LoginPasswords::new("bench-app-password", "bench-migrator-password");
    let mut made = 0;
    let mut apis = ApiConfig::default();
    for &count in &args.projects {
        let start = Instant::now();
        let mut objects = String::new();
        while made < count {
            let name = format!("audit_{made:05}");
            let project: ProjectName = name.parse().unwrap();
            let api = api_of(made, version);
            provision::apply_with_api(
                &mut admin,
                &project,
                &ProjectSettings::default(),
                &passwords,
                PasswordResets::default(),
                None,
                api.as_ref(),
            )
            .await
            .expect("provisioning");
            objects.push_str(&app_objects(&name));
            if let Some(api) = api {
                objects.push_str(&api_objects(&name));
                apis = apis.with_project(project, api);
            }
            made += 1;
            if made % 100 == 0 {
                superuser
                    .batch_execute(&objects)
                    .await
                    .expect("app objects");
                objects.clear();
            }
        }
        superuser
            .batch_execute(&objects)
            .await
            .expect("app objects");
        superuser.batch_execute("ANALYZE").await.unwrap();
        eprintln!(
            "PG {version}: {count} projects ready ({:.1} s)",
            start.elapsed().as_secs_f64()
        );
        let all = Scope::all().with_api(apis.clone());
        let (all_min, all_p50, findings) = time(&admin, &all, args.runs).await;
        let one = all.clone().restricted_to(["audit_00000".parse().unwrap()]);
        let (one_min, one_p50, _) = time(&admin, &one, args.runs).await;
        println!(
            "PG {version} | {count} projects | audit all: min {all_min:.0} ms, p50 {all_p50:.0} ms ({findings} findings) | audit one: min {one_min:.0} ms, p50 {one_p50:.0} ms"
        );
        let parts: Vec<String> = per_statement(&admin, args.runs)
            .await
            .into_iter()
            .map(|(name, ms)| format!("{name} {ms:.0}"))
            .collect();
        println!(
            "PG {version} | {count} projects | alone, min ms: {}",
            parts.join(", ")
        );
    }
}

/// Typed parameters of one statement.
type Params<'a> = &'a [(&'a (dyn ToSql + Sync), Type)];

/// The audit's statements, each alone over every project: (name, min ms).
async fn per_statement(client: &Client, runs: usize) -> Vec<(&'static str, f64)> {
    let suffixes = [
        "_owner",
        "_app",
        "_login",
        "_migrator",
        "_login_clone",
        "_migrator_clone",
        "_anon",
        "_authenticated",
        "_service",
    ];
    let privileged = ["_owner", "_app"];
    let schemas: Vec<u32> = client
        .query_one(
            "SELECT array_agg(oid) FROM pg_namespace WHERE nspname LIKE 'audit\\_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let roles: Vec<u32> = client
        .query_typed(
            include_str!("../sql/audit/roles.sql"),
            &[(&&suffixes[..], Type::TEXT_ARRAY)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("oid"))
        .collect();
    let by_schema: Params<'_> = &[(&schemas, Type::OID_ARRAY)];
    let statements: [(&str, &str, Params<'_>); 11] = [
        (
            "roles",
            include_str!("../sql/audit/roles.sql"),
            &[(&&suffixes[..], Type::TEXT_ARRAY)],
        ),
        (
            "memberships",
            include_str!("../sql/audit/memberships.sql"),
            &[(&roles, Type::OID_ARRAY)],
        ),
        (
            "privileges",
            include_str!("../sql/audit/privileges.sql"),
            &[
                (&schemas, Type::OID_ARRAY),
                (&&privileged[..], Type::TEXT_ARRAY),
            ],
        ),
        ("owners", include_str!("../sql/audit/owners.sql"), by_schema),
        (
            "routines",
            include_str!("../sql/audit/routines.sql"),
            by_schema,
        ),
        (
            "policies",
            include_str!("../sql/audit/policies.sql"),
            by_schema,
        ),
        ("tables", include_str!("../sql/audit/tables.sql"), by_schema),
        ("views", include_str!("../sql/audit/views.sql"), by_schema),
        (
            "foreign_keys",
            include_str!("../sql/audit/foreign_keys.sql"),
            by_schema,
        ),
        (
            "extensions",
            include_str!("../sql/audit/extensions.sql"),
            by_schema,
        ),
        (
            "storage policies",
            include_str!("../sql/audit/storage.sql"),
            &[],
        ),
    ];
    let mut out = Vec::new();
    for (name, sql, params) in statements {
        let mut best = f64::MAX;
        for _ in 0..runs {
            let start = Instant::now();
            client.query_typed(sql, params).await.expect(name);
            best = best.min(ms(start.elapsed()));
        }
        out.push((name, best));
    }
    let mut best = f64::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        cotenant::doctor::examine(client).await.expect("doctor");
        best = best.min(ms(start.elapsed()));
    }
    out.push(("doctor (its routes read + checks)", best));
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = args();
    for version in &args.versions {
        run(*version, &args).await;
    }
}
