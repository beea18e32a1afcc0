//! Placement over environments of three instances, on a local PostgreSQL 15 and 17.
//!
//! ```text
//! cargo run --release --example bench_placement -- [--projects 300] [--versions 15,17] [--runs 5]
//! ```
//!
//! For each version, on a fresh test-kit fleet (staging and prod, three instances each, plain
//! flavour) with secrets in a local Secrets Manager (moto): `declare::apply` of N undeclared
//! projects from empty (the rule spreads them), then `declare::plan` with nothing to do (one
//! survey per instance), against the same plan over one instance holding a third of them; and
//! `Cotenant::route` of one project (a survey of every instance of both environments).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cotenant::declare::{self, ApplyOptions};
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Flavor, Fleet, MotoServer, PgVersion};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (mut n, mut runs, mut versions) = (300usize, 5usize, vec![PgVersion::V15, PgVersion::V17]);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--projects" => n = value.parse().expect("--projects N"),
            "--runs" => runs = value.parse::<usize>().expect("--runs N").max(1),
            "--versions" => {
                versions = value
                    .split(',')
                    .map(|v| v.parse().expect("--versions 15,17"))
                    .collect()
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let moto = MotoServer::start().expect("moto (run scripts/setup.sh)");
    let extra: String = (0..n)
        .map(|i| format!("[projects.place{i:05}]\n"))
        .collect();
    for version in versions {
        println!("PostgreSQL {version}: {n} projects over 3 instances per environment");
        let fleet = Fleet::start(version, Flavor::Plain, 3).expect("a local fleet");
        let prefix = format!("benchplace{version}");
        let secrets = Arc::new(moto.secrets_manager());
        let cotenant = fleet
            .cotenant(&prefix, secrets.clone(), &extra)
            .await
            .expect("admin secrets");
        let declarations = fleet.config(&prefix, &extra).projects;

        let started = Instant::now();
        let report = declare::apply(&cotenant, &declarations, &ApplyOptions::default())
            .await
            .expect("apply from empty");
        assert!(report.is_success());
        println!(
            "  apply from empty, concurrency 4:          {:>9.2} s",
            started.elapsed().as_secs_f64()
        );
        let survey = cotenant.survey(&[]).await.unwrap();
        let spread: Vec<usize> = survey[1]
            .instances()
            .iter()
            .map(|i| i.load().projects)
            .collect();
        println!("  prod's instances hold {spread:?} projects");

        let mut plans = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let plan = declare::plan(&cotenant, &declarations).await.unwrap();
            plans.push(started.elapsed());
            assert!(plan.is_empty());
        }
        println!(
            "  plan, nothing to do, 3 instances (median): {:>9.1} ms",
            ms(median(&mut plans))
        );

        // One instance per environment (`a`), declaring only the projects it holds.
        let on_a: Vec<&str> = survey[1].instances()[0]
            .state()
            .found_projects()
            .iter()
            .map(String::as_str)
            .collect();
        let single: String = fleet
            .environments()
            .iter()
            .map(|(env, instances)| {
                let a = &instances[0].1;
                format!(
                    "[environments.{env}]\nhost = \"{}\"\nport = {}\nadmin_secret = \"{}\"\ntls = \"disable\"\n",
                    a.host(),
                    a.port(),
                    Fleet::admin_secret_id(&prefix, env, "a"),
                )
            })
            .collect();
        let projects: String = on_a.iter().map(|p| format!("[projects.{p}]\n")).collect();
        let config = cotenant::config::Config::from_toml_str(&format!(
            "[secrets]\nprefix = \"{prefix}\"\n{single}{projects}"
        ))
        .unwrap();
        let one = Cotenant::with_secrets(&config, secrets.clone());
        let mut plans = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let plan = declare::plan(&one, &config.projects).await.unwrap();
            plans.push(started.elapsed());
            assert!(plan.is_empty());
        }
        println!(
            "  plan, one instance, {} projects (median): {:>9.1} ms",
            on_a.len(),
            ms(median(&mut plans))
        );

        let p: ProjectName = "place00000".parse().unwrap();
        let mut routes = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            cotenant.route(&p).await.unwrap();
            routes.push(started.elapsed());
        }
        println!(
            "  route one project (6 instance reads, median): {:>6.1} ms",
            ms(median(&mut routes))
        );
    }
}
