//! Platform access: its cost in provisioning, and a signup's cost per project hook, on local
//! PostgreSQL 15 and 17 built like hosted Supabase (the test kit's Supabase flavour).
//!
//! ```text
//! cargo run --release --example bench_platform -- [--projects 100] [--signups 300] [--versions 15,17]
//! ```
//!
//! For each version, on a fresh Supabase-flavoured server:
//! 1. Provisioning `--projects` projects with all platform access on (auth, extensions, a
//!    declared signup hook) and as many with none, alternating, each in one transaction
//!    (`provision::apply_with_platform`): p50 and mean of each, and the ratio on ÷ off.
//! 2. A signup (`INSERT INTO auth.users` as `supabase_auth_admin`) with 0, 10 and 100 projects'
//!    hooks registered (each hook inserts one row into its project's table): mean per signup,
//!    and per hook = (with N − with 0) / N.

mod common;

use std::time::{Duration, Instant};

use cotenant::ProjectName;
use cotenant::platform::{self, Access};
use cotenant::provision::{self, LoginPasswords, PasswordResets, ProjectSettings};
use cotenant_testkit::{Cluster, Flavor, PgVersion};
use tokio_postgres::{Client, Config, NoTls};

struct Args {
    projects: usize,
    signups: usize,
    versions: Vec<PgVersion>,
}

fn args() -> Args {
    let mut args = Args {
        projects: 100,
        signups: 300,
        versions: vec![PgVersion::V15, PgVersion::V17],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> usize {
            it.next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{name} N"))
        };
        match arg.as_str() {
            "--projects" => args.projects = number("--projects"),
            "--signups" => args.signups = number("--signups"),
            "--versions" => args.versions = common::versions(&it.next().expect("--versions 15,17")),
            other => {
                panic!("unknown argument {other}: use --projects N --signups N --versions 15,17")
            }
        }
    }
    args
}

async fn connect(config: Config) -> Client {
    let (client, connection) = config.connect(NoTls).await.expect("connecting");
    tokio::spawn(connection);
    client
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(times: &[Duration]) -> (f64, f64) {
    let mut sorted: Vec<f64> = times.iter().map(|d| ms(*d)).collect();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    (sorted[sorted.len() / 2], mean)
}

const HOOK: &str = "CREATE TABLE {p}.profiles (id uuid PRIMARY KEY, full_name text);
ALTER TABLE {p}.profiles OWNER TO {p}_owner;
CREATE FUNCTION {p}.handle_new_user(new cotenant_platform.signup_user) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {p}, pg_catalog AS $$
BEGIN
    INSERT INTO profiles (id, full_name) VALUES (new.id, new.raw_user_meta_data->>'full_name');
END $$;
ALTER FUNCTION {p}.handle_new_user(cotenant_platform.signup_user) OWNER TO {p}_owner;";

async fn signups(auth: &Client, n: usize) -> Duration {
    let insert = auth
        .prepare(
            "INSERT INTO auth.users (id, aud, role, email, raw_user_meta_data, created_at) \
             VALUES (gen_random_uuid(), 'authenticated', 'authenticated', $1, '{\"full_name\": \"x\"}', now())",
        )
        .await
        .unwrap();
    // Warm the session's plan caches (the dispatcher is compiled once per session).
    auth.execute(&insert, &[&format!("warm-{}@example.com", rand_suffix())])
        .await
        .unwrap();
    let start = Instant::now();
    for i in 0..n {
        auth.execute(&insert, &[&format!("u{i}-{}@example.com", rand_suffix())])
            .await
            .unwrap();
    }
    start.elapsed() / n as u32
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn run(version: PgVersion, args: &Args) {
    let cluster = Cluster::start_flavor(version, Flavor::Supabase).expect("a Supabase server");
    let superuser = connect(cluster.superuser_config()).await;
    superuser
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA extensions TO {} WITH GRANT OPTION",
            cluster.admin_user()
        ))
        .await
        .unwrap();
    let mut admin = connect(cluster.admin_config()).await;
    let passwords = LoginPasswords::new("bench-app-password", "bench-migrator-password");
    let all = Access::default()
        .with_auth(true)
        .with_extensions(true)
        .with_signup_hook(Some("handle_new_user"));
    let none = Access::none();
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for i in 0..args.projects * 2 {
        let (access, times, name) = if i % 2 == 0 {
            (&all, &mut on, format!("on_{i:04}"))
        } else {
            (&none, &mut off, format!("off_{i:04}"))
        };
        let project: ProjectName = name.parse().unwrap();
        let start = Instant::now();
        provision::apply_with_platform(
            &mut admin,
            &project,
            &ProjectSettings::default(),
            &passwords,
            PasswordResets::default(),
            Some((access, &[])),
        )
        .await
        .unwrap();
        times.push(start.elapsed());
    }
    let (on_p50, on_mean) = summary(&on);
    let (off_p50, off_mean) = summary(&off);
    println!(
        "PG {version}: provisioning, all platform access on: p50 {on_p50:.2} ms, mean {on_mean:.2} ms; off: p50 {off_p50:.2} ms, mean {off_mean:.2} ms; on ÷ off: {:.2}× (p50), {:.2}× (mean)",
        on_p50 / off_p50,
        on_mean / off_mean
    );

    // Where platform access's time goes: reading its state (a plan is one read), twice per apply.
    let probe: ProjectName = "on_0000".parse().unwrap();
    let start = Instant::now();
    for _ in 0..50 {
        platform::plan(&admin, &probe, &all, &[]).await.unwrap();
    }
    println!(
        "PG {version}: one platform state read: {:.2} ms",
        ms(start.elapsed() / 50)
    );

    // Hooks: projects `on_*` declared one; give the first 100 their function and register it.
    let hooking: Vec<ProjectName> = (0..args.projects.min(100))
        .map(|i| format!("on_{:04}", i * 2).parse().unwrap())
        .collect();
    let auth = connect(cluster.auth_admin_config()).await;
    let zero = signups(&auth, args.signups).await;
    println!("PG {version}: signup with 0 hooks: {:.3} ms", ms(zero));
    let mut registered = 0;
    for target in [10, 100] {
        if target > hooking.len() {
            break;
        }
        for project in &hooking[registered..target] {
            superuser
                .batch_execute(&HOOK.replace("{p}", project.as_str()))
                .await
                .unwrap();
            platform::apply(&mut admin, project, &all, &[])
                .await
                .unwrap();
        }
        registered = target;
        // A new session: the dispatcher was rewritten.
        let auth = connect(cluster.auth_admin_config()).await;
        let with = signups(&auth, args.signups).await;
        println!(
            "PG {version}: signup with {target} hooks: {:.3} ms; per hook {:.4} ms",
            ms(with),
            (ms(with) - ms(zero)) / target as f64
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = args();
    for version in &args.versions {
        run(*version, &args).await;
    }
}
