//! Relocating a Supabase starter-shaped app end to end, against copying it.
//!
//! ```text
//! cargo run --release --example bench_supabase_app -- [--users 100000] [--metadata-only] [--repeat 3] [--versions 15,17]
//! ```
//!
//! For each version and repetition, on a fresh Supabase-flavoured local instance from the test kit
//! (data directory on its tmpfs, fsync off — as the tests run):
//! 1. Provision project `starter` with platform access `auth`, the signup hook `handle_new_user`
//!    and Realtime on `products` and `prices`; put the starter of `tests/fixtures/
//!    supabase_starter.sql` in `public`; sign up `--users` users as GoTrue does (`INSERT INTO
//!    auth.users` as `supabase_auth_admin`: the starter's trigger fills `public.users`), with a
//!    customer and a subscription each; `VACUUM ANALYZE`.
//! 2. The copy, as the baseline: in one transaction rolled back afterwards, `CREATE TABLE … (LIKE
//!    … INCLUDING ALL)` + `INSERT … SELECT` of the app's five tables into another schema — a lower
//!    bound of copying (no foreign keys, policies, publication or trigger are recreated).
//! 3. `relocate::relocate` of the whole app (`Selection::All`, the signup trigger made the hook,
//!    bodies rewritten, publication kept; row counts verified before and after, or with
//!    `--metadata-only` relfilenodes and grants only, which does not grow with the rows): end to
//!    end.
//!
//! Prints both and copy ÷ relocation per repetition and at the median.

mod common;

use common::{connect, ms, provisioned};

use std::time::{Duration, Instant};

use cotenant::ProjectName;
use cotenant::platform::{self, Access};
use cotenant::relocate::{
    self, FunctionChoice, PublicationChoice, Relocation, Selection, SignupTriggerChoice,
    Verification,
};
use cotenant_testkit::{Cluster, Flavor, PgVersion};
use tokio_postgres::Client;

const STARTER: &str = include_str!("../tests/fixtures/supabase_starter.sql");
const TABLES: [&str; 5] = ["products", "prices", "users", "customers", "subscriptions"];

struct Args {
    users: u64,
    verification: Verification,
    repeat: usize,
    versions: Vec<PgVersion>,
}

fn args() -> Args {
    let mut args = Args {
        users: 100_000,
        verification: Verification::RowCounts,
        repeat: 3,
        versions: vec![PgVersion::V15, PgVersion::V17],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match arg.as_str() {
            "--users" => args.users = value("--users").parse().expect("--users N"),
            "--metadata-only" => args.verification = Verification::Metadata,
            "--repeat" => args.repeat = value("--repeat").parse().expect("--repeat N"),
            "--versions" => args.versions = common::versions(&value("--versions")),
            other => panic!(
                "unknown argument {other}: use --users N --metadata-only --repeat N --versions 15,17"
            ),
        }
    }
    args
}

fn access() -> Access {
    Access::default()
        .with_auth(true)
        .with_signup_hook(Some("handle_new_user"))
        .with_realtime(["prices", "products"])
}

/// A fresh instance with the starter in public, its users signed up, and project `starter`
/// provisioned with platform access (without Realtime: its tables are not the project's yet).
async fn starter_instance(version: PgVersion, users: u64) -> (Cluster, Client, ProjectName) {
    let cluster = Cluster::start_flavor(version, Flavor::Supabase).expect("a local instance");
    let mut admin = connect(cluster.admin_config()).await;
    let project = provisioned(&mut admin, "starter").await;
    let mut before = access();
    before.realtime.clear();
    platform::apply(&mut admin, &project, &before, &[])
        .await
        .expect("platform access");
    admin.batch_execute(STARTER).await.expect("the starter");
    let gotrue = connect(cluster.auth_admin_config()).await;
    let started = Instant::now();
    gotrue
        .batch_execute(&format!(
            "INSERT INTO auth.users (id, aud, role, email, encrypted_password, raw_user_meta_data)
             SELECT gen_random_uuid(), 'authenticated', 'authenticated', 'user' || i || '@example.com',
                    'not-a-real-hash', jsonb_build_object('full_name', 'User ' || i)
             FROM generate_series(1, {users}) i"
        ))
        .await
        .expect("signing up");
    admin
        .batch_execute(
            "INSERT INTO public.customers SELECT id, 'cus_' || md5(id::text) FROM public.users;
             INSERT INTO public.subscriptions (id, user_id, status, price_id, quantity)
                 SELECT 'sub_' || md5(id::text), id, 'active', 'price_1', 1 FROM public.users;",
        )
        .await
        .expect("customers and subscriptions");
    for table in TABLES {
        admin
            .batch_execute(&format!("VACUUM ANALYZE public.{table}"))
            .await
            .expect("vacuuming");
    }
    println!(
        "  loaded the starter with {users} users (signups through its trigger) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    (cluster, admin, project)
}

/// The copying baseline: the app's tables copied into another schema, rolled back.
async fn copy(su: &Client) -> Duration {
    let mut sql = String::from("BEGIN; CREATE SCHEMA starter_copy;");
    for table in TABLES {
        sql.push_str(&format!(
            "CREATE TABLE starter_copy.{table} (LIKE public.{table} INCLUDING ALL);
             INSERT INTO starter_copy.{table} SELECT * FROM public.{table};"
        ));
    }
    let started = Instant::now();
    su.batch_execute(&sql).await.expect("copying");
    let took = started.elapsed();
    su.batch_execute("ROLLBACK").await.expect("rolling back");
    took
}

async fn bench_version(version: PgVersion, args: &Args) {
    println!("\n== PostgreSQL {version}");
    let (mut copies, mut relocations) = (Vec::new(), Vec::new());
    for round in 1..=args.repeat {
        let (cluster, mut admin, project) = starter_instance(version, args.users).await;
        let su = connect(cluster.superuser_config()).await;
        let copied = copy(&su).await;
        let relocation = Relocation::new(Selection::All)
            .signup_triggers(SignupTriggerChoice::Hook)
            .functions(FunctionChoice::Rewrite)
            .publications(PublicationChoice::Keep)
            .verification(args.verification)
            .platform(access(), Vec::new());
        let started = Instant::now();
        let done = relocate::relocate(&mut admin, &project, &relocation)
            .await
            .expect("relocating the starter");
        let relocated = started.elapsed();
        assert_eq!(done.attempts(), 1, "a lock was busy: the timing is off");
        println!(
            "  round {round}: copy {:.0} ms, relocation {:.1} ms ({} objects, locks held {:.1} ms): copy ÷ relocation {:.0}×",
            ms(copied),
            ms(relocated),
            done.plan().moves().len(),
            ms(done.exclusive_for()),
            copied.as_secs_f64() / relocated.as_secs_f64()
        );
        copies.push(copied);
        relocations.push(relocated);
    }
    copies.sort();
    relocations.sort();
    let (copy, relocation) = (copies[copies.len() / 2], relocations[relocations.len() / 2]);
    println!(
        "  median of {}: copy {:.0} ms, relocation {:.1} ms: copy ÷ relocation {:.0}×",
        args.repeat,
        ms(copy),
        ms(relocation),
        copy.as_secs_f64() / relocation.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let args = args();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "bench_supabase_app: {} users, {:?} verification, {} repeats; load average at start: {}",
        args.users,
        args.verification,
        args.repeat,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    for version in &args.versions {
        bench_version(*version, &args).await;
    }
}
