//! `apply` over a declared fleet, on a local PostgreSQL 15 and 17.
//!
//! ```text
//! cargo run --release --example bench_apply -- [--projects 1000] [--versions 15,17] [--runs 5]
//! ```
//!
//! For each version, on a fresh instance (the prod of a test-kit pair; one environment) with its
//! secrets in a local Secrets Manager (moto):
//! 1. parsing a cotenant.toml that declares N projects;
//! 2. `declare::apply` converging the N declared projects from empty (concurrency 4);
//! 3. `declare::apply` with nothing to do (the target: ≤ 2 s for 1,000 projects), `--runs` times;
//!    `declare::plan` alone, and the one catalog read (`FleetState::read`) alone;
//! 4. the old way, in the same run: N `Environment::provision` runs with nothing to do (what a
//!    script calling `cotenant provision <p>` per project costs, secrets and login checks
//!    included), and N `provision::plan` reads over one connection (the cheapest per-project
//!    read there is). The ratios are of the same run.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cotenant::ProjectName;
use cotenant::config::Config;
use cotenant::declare::{self, ApplyOptions, Declarations};
use cotenant::provision::{self, FleetState};
use cotenant_testkit::{MotoServer, Pair, PgVersion};
use tokio_postgres::NoTls;

struct Args {
    projects: usize,
    versions: Vec<PgVersion>,
    runs: usize,
}

fn args() -> Args {
    let mut args = Args {
        projects: 1000,
        versions: vec![PgVersion::V15, PgVersion::V17],
        runs: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |what: &str| -> usize {
            it.next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{what} N"))
        };
        match arg.as_str() {
            "--projects" => args.projects = number("--projects"),
            "--runs" => args.runs = number("--runs").max(1),
            "--versions" => args.versions = common::versions(&it.next().expect("--versions 15,17")),
            other => panic!("unknown argument {other}: use --projects N --versions 15,17 --runs N"),
        }
    }
    args
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn name(i: usize) -> ProjectName {
    format!("fleet{i:05}").parse().expect("a valid name")
}

/// The declarations file an operator would write: every fifth project with limits of its own.
fn declarations_toml(n: usize) -> String {
    let mut toml = String::from(
        "[environments.prod]\nhost = \"localhost\"\nadmin_secret = \"bench/prod/admin\"\n",
    );
    for i in 0..n {
        toml.push_str(&format!("\n[projects.{}]\n", name(i)));
        if i % 5 == 0 {
            toml.push_str(&format!(
                "[projects.{}.login]\nconnection_limit = 10\nstatement_timeout = \"10s\"\n",
                name(i)
            ));
        }
    }
    toml
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let n = args.projects;
    let moto = MotoServer::start().expect("moto (run scripts/setup.sh)");
    println!("apply over {n} declared projects, one environment, secrets in moto");

    let toml = declarations_toml(n);
    let started = Instant::now();
    let parsed = Config::from_toml_str(&toml).expect("the declarations parse");
    println!(
        "  parsing cotenant.toml with {n} [projects.<p>] tables: {:.1} ms",
        ms(started.elapsed())
    );
    let declarations: Declarations = parsed.projects;
    assert_eq!(declarations.len(), n);
    let names: Vec<ProjectName> = declarations.names().cloned().collect();

    for version in &args.versions {
        println!("PostgreSQL {version}:");
        let pair = Pair::start(*version).expect("a local pair");
        let prefix = format!("benchapply{version}");
        let cotenant = pair
            .cotenant(&prefix, Arc::new(moto.secrets_manager()))
            .await
            .expect("admin secrets")
            .select(&["prod"])
            .expect("prod");
        let env = cotenant.environment("prod").unwrap().clone();

        let started = Instant::now();
        let report = declare::apply(
            &cotenant,
            &declarations,
            &ApplyOptions::default().concurrency(4),
        )
        .await
        .expect("apply from empty");
        assert!(report.is_success(), "{report:?}");
        assert_eq!(report.environments[0].results.len(), n);
        println!(
            "  apply from empty, concurrency 4:            {:>9.2} s",
            started.elapsed().as_secs_f64()
        );

        let mut applies = Vec::new();
        for _ in 0..args.runs {
            let started = Instant::now();
            let report = declare::apply(&cotenant, &declarations, &ApplyOptions::default())
                .await
                .expect("apply, nothing to do");
            applies.push(started.elapsed());
            assert!(report.is_success() && report.environments[0].results.is_empty());
        }
        let mut plans = Vec::new();
        for _ in 0..args.runs {
            let started = Instant::now();
            let plan = declare::plan(&cotenant, &declarations).await.unwrap();
            plans.push(started.elapsed());
            assert!(plan.is_empty());
        }
        let (client, connection) = pair
            .prod
            .admin_config()
            .connect(NoTls)
            .await
            .expect("admin");
        tokio::spawn(connection);
        let mut reads = Vec::new();
        for _ in 0..args.runs {
            let started = Instant::now();
            let state = FleetState::read(&client, &names).await.unwrap();
            reads.push(started.elapsed());
            assert_eq!(state.found_projects().len(), n);
        }
        let apply = median(&mut applies);
        println!(
            "  apply, nothing to do (median of {}):        {:>9.1} ms  (min {:.1} ms)",
            args.runs,
            ms(apply),
            ms(applies[0])
        );
        println!(
            "  plan, nothing to do (median):              {:>9.1} ms",
            ms(median(&mut plans))
        );
        println!(
            "  the catalog read alone (median):           {:>9.1} ms",
            ms(median(&mut reads))
        );

        // The old way: one provisioning run per project, each with nothing to do.
        let started = Instant::now();
        for p in &names {
            let plan = env
                .provision(p, &declarations.settings_of(p))
                .await
                .expect("provision, nothing to do");
            assert!(plan.is_empty(), "{plan}");
        }
        let old = started.elapsed();
        let started = Instant::now();
        for p in &names {
            let plan = provision::plan(&client, p, &declarations.settings_of(p))
                .await
                .unwrap();
            assert!(plan.is_empty());
        }
        let reads_one_by_one = started.elapsed();
        println!(
            "  {n} provision runs, nothing to do:          {:>9.2} s   ({:.1} ms each)  ÷ apply = {:.0}×",
            old.as_secs_f64(),
            ms(old) / n as f64,
            old.as_secs_f64() / apply.as_secs_f64()
        );
        println!(
            "  {n} one-project plans over one connection:  {:>9.2} s   ({:.2} ms each)  ÷ apply = {:.1}×",
            reads_one_by_one.as_secs_f64(),
            ms(reads_one_by_one) / n as f64,
            reads_one_by_one.as_secs_f64() / apply.as_secs_f64()
        );
    }
}
