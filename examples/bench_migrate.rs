//! Migrations at the scale of a thousand projects on one instance, on PostgreSQL 15 and 17.
//!
//! ```text
//! cargo run --release --example bench_migrate -- [--projects 1000] [--versions 15,17] [--concurrency 16] [--durable]
//! ```
//!
//! For each version, on a fresh local instance started by the test kit:
//! 1. setup (timed, not a target): provision N projects with `provision::apply` (passwords given
//!    directly), then apply the org-app template (6 migrations, 20 tables) to all of them with a
//!    fan-out;
//! 2. `status` with nothing pending: the admin's login plus one catalog query over all projects;
//! 3. a fan-out with nothing pending (each project's migrator logs in and reads its history);
//! 4. one new 3-statement migration applied to all N projects with a fan-out;
//! 5. parity of one project, its fingerprint read twice (as staging and as prod, both pointing at
//!    this instance, concurrently).
//!
//! Secrets live in an in-memory store: the numbers are the database's and cotenant's, not a secret
//! store's (Secrets Manager adds a network round trip per project login). The test kit runs its
//! servers with fsync off and, where /dev/shm is large enough, on tmpfs; `--durable` turns fsync,
//! synchronous_commit and full_page_writes back on (data still where the test kit put it; set
//! COTENANT_TEST_TMPDIR to a disk directory for disk-backed numbers).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cotenant::config::Config;
use cotenant::migrate::{
    Fanout, Migrations, Runner, StatusReport, fingerprint, read_status, templates,
};
use cotenant::provision::{self, LoginPasswords, PasswordResets, ProjectSettings};
use cotenant::secret::{DbSecret, Login, SecretError, SecretSource, Stage, VersionId};
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Cluster, PgVersion};
use futures_util::StreamExt;
use secrecy::SecretString;
use tokio_postgres::NoTls;

/// The new migration every project gets in step 4: three statements.
const NEW_MIGRATION: &str = "\
ALTER TABLE contacts ADD COLUMN nickname text;
CREATE INDEX contacts_nickname_idx ON contacts (org_id, nickname);
COMMENT ON COLUMN contacts.nickname IS 'what the contact likes to be called';
";

struct Args {
    projects: usize,
    versions: Vec<PgVersion>,
    concurrency: usize,
    durable: bool,
}

fn args() -> Args {
    let mut args = Args {
        projects: 1000,
        versions: vec![PgVersion::V15, PgVersion::V17],
        concurrency: 16,
        durable: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |what: &str| it.next().unwrap_or_else(|| panic!("{arg} needs {what}"));
        match arg.as_str() {
            "--projects" => args.projects = value("a number").parse().expect("--projects N"),
            "--concurrency" => {
                args.concurrency = value("a number").parse().expect("--concurrency N")
            }
            "--versions" => args.versions = common::versions(&value("a list")),
            "--durable" => args.durable = true,
            other => panic!(
                "unknown argument {other}: use --projects N --versions 15,17 --concurrency N --durable"
            ),
        }
    }
    args
}

/// Secrets in memory, current versions only: enough for logins.
#[derive(Debug, Default)]
struct MemorySecrets(Mutex<HashMap<String, DbSecret>>);

#[async_trait]
impl SecretSource for MemorySecrets {
    async fn get(&self, id: &str, _stage: Stage) -> Result<DbSecret, SecretError> {
        let secrets = self.0.lock().unwrap();
        secrets
            .get(id)
            .cloned()
            .ok_or_else(|| SecretError::NotFound {
                store: "memory".into(),
                id: id.into(),
            })
    }

    async fn create(&self, id: &str, secret: &DbSecret) -> Result<VersionId, SecretError> {
        self.put(id, secret, Stage::Current).await
    }

    async fn put(
        &self,
        id: &str,
        secret: &DbSecret,
        _stage: Stage,
    ) -> Result<VersionId, SecretError> {
        self.0.lock().unwrap().insert(id.into(), secret.clone());
        Ok(VersionId::new("1"))
    }

    async fn promote(&self, _id: &str, _version: &VersionId) -> Result<(), SecretError> {
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, SecretError> {
        Ok(self.0.lock().unwrap().remove(id).is_some())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and maximum of `runs` timings of `f`.
async fn timed<F, Fut, T>(runs: usize, mut f: F) -> (f64, f64, T)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(f().await);
        times.push(ms(started.elapsed()));
    }
    times.sort_by(f64::total_cmp);
    (
        times[times.len() / 2],
        times[times.len() - 1],
        last.expect("at least one run"),
    )
}

async fn bench(version: PgVersion, args: &Args) {
    println!("## PostgreSQL {version}: {} projects", args.projects);
    let cluster = Cluster::start(version).expect("starting a local server");
    let (superuser, connection) = cluster
        .superuser_config()
        .connect(NoTls)
        .await
        .expect("superuser");
    tokio::spawn(connection);
    if args.durable {
        // One statement per query: ALTER SYSTEM refuses the implicit transaction block of a
        // multi-statement query.
        for setting in ["fsync", "synchronous_commit", "full_page_writes"] {
            superuser
                .batch_execute(&format!("ALTER SYSTEM SET {setting} = on"))
                .await
                .expect("turning durability on");
        }
        superuser
            .batch_execute("SELECT pg_reload_conf()")
            .await
            .expect("reloading the configuration");
    }
    let settings: Vec<String> = superuser
        .query(
            "SELECT name || '=' || setting FROM pg_settings
             WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers', 'max_connections')
             ORDER BY name",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    println!(
        "server: {} (data in {})",
        settings.join(", "),
        cluster
            .data_dir()
            .map_or("?".into(), |d| d.display().to_string())
    );

    // Both environments point at this one instance: parity then reads two fingerprints of the
    // same schema, concurrently, from an instance holding every project's catalog.
    let secrets = Arc::new(MemorySecrets::default());
    let mut toml = "[secrets]\nprefix = \"bench\"\n".to_owned();
    for env in ["staging", "prod"] {
        toml.push_str(&format!(
            "[environments.{env}]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nadmin_secret = \"bench/{env}/admin\"\ntls = \"disable\"\n",
            cluster.host(),
            cluster.port(),
            cluster.database()
        ));
        let admin = DbSecret::new(
            cluster.host(),
            cluster.port(),
            cluster.admin_user(),
            cluster.admin_password().clone(),
            cluster.database(),
        );
        secrets
            .put(&format!("bench/{env}/admin"), &admin, Stage::Current)
            .await
            .unwrap();
    }
    let config = Config::from_toml_str(&toml).expect("a valid config");
    let cotenant = Cotenant::with_secrets(&config, secrets.clone());
    let env = cotenant.environment("staging").unwrap().clone();

    // 1. Setup: provision, then the template.
    let projects: Vec<ProjectName> = (0..args.projects)
        .map(|i| format!("bench{i:04}").parse().unwrap())
        .collect();
    let started = Instant::now();
    let admins = 4;
    futures_util::stream::iter(projects.chunks(projects.len().div_ceil(admins)))
        .for_each_concurrent(admins, |chunk| {
            let (env, secrets, naming) = (env.clone(), secrets.clone(), &config.secrets.naming);
            async move {
                let mut admin = env.connect_admin().await.expect("admin");
                for p in chunk {
                    let password = SecretString::from(format!("pw-{p}-bench"));
                    let passwords = LoginPasswords::new(password.clone(), password.clone());
                    provision::apply(
                        &mut admin,
                        p,
                        &ProjectSettings::default(),
                        &passwords,
                        PasswordResets::default(),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("provisioning {p}: {e}"));
                    for login in Login::ALL {
                        let roles = p.roles();
                        let user = match login {
                            Login::App => roles.login,
                            Login::Migrator => roles.migrator,
                        };
                        let secret = DbSecret::new(
                            env.config().host.clone(),
                            env.config().port,
                            user,
                            password.clone(),
                            env.config().database.clone(),
                        );
                        for name in ["staging", "prod"] {
                            let id = naming.secret_id(name, p.as_str(), login);
                            secrets.put(&id, &secret, Stage::Current).await.unwrap();
                        }
                    }
                }
            }
        })
        .await;
    let provisioned = started.elapsed();
    let template = templates::org_app();
    let fanout = Fanout::new(Runner::new(template.clone())).concurrency(args.concurrency);
    let gate = cotenant.gate_for("staging").await.unwrap();
    let report = fanout.run(&env, &projects, &gate).await;
    assert!(report.is_success(), "{report}");
    println!(
        "setup: provisioned {} projects in {:.1} s ({:.1} ms/project); template (6 migrations) applied to all in {:.1} s ({:.1} ms/project at concurrency {})",
        projects.len(),
        provisioned.as_secs_f64(),
        ms(provisioned) / projects.len() as f64,
        report.elapsed.as_secs_f64(),
        ms(report.elapsed) / projects.len() as f64,
        args.concurrency
    );
    let objects: i64 = superuser
        .query_one("SELECT count(*) FROM pg_class", &[])
        .await
        .unwrap()
        .get(0);
    println!("catalog: {objects} rows in pg_class");

    // 2. Status with nothing pending.
    let (median, max, status) = timed(5, || async {
        let recorded = env.migration_status().await.unwrap();
        StatusReport::new("staging", &recorded, &template)
    })
    .await;
    assert_eq!(status.projects.len(), projects.len());
    assert!(status.is_up_to_date(), "{status}");
    println!(
        "status, nothing pending, {} projects (admin login + one catalog query): median {median:.1} ms, max {max:.1} ms (target <= 1000 ms)",
        status.projects.len()
    );

    let admin = env.connect_admin().await.unwrap();
    let (median, max, _) = timed(5, || read_status(&admin, None)).await;
    println!("  of which the catalog query alone: median {median:.1} ms, max {max:.1} ms");

    // 3. A fan-out with nothing pending: what a deploy with no migration costs.
    let report = fanout.run(&env, &projects, &gate).await;
    assert_eq!(report.counts.up_to_date, projects.len(), "{report}");
    println!(
        "fan-out with nothing pending (a migrator login per project): {:.1} s",
        report.elapsed.as_secs_f64()
    );

    // 4. One new 3-statement migration applied to every project.
    let mut files: Vec<(String, String)> = template
        .iter()
        .map(|m| (m.file_name().to_owned(), m.sql().to_owned()))
        .collect();
    files.push(("007_contact_nickname.sql".into(), NEW_MIGRATION.into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_str()))
        .collect();
    let next = Migrations::from_embedded(&refs).unwrap();
    let fanout = Fanout::new(Runner::new(next)).concurrency(args.concurrency);
    let report = fanout.run(&env, &projects, &gate).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.counts.migrations, projects.len());
    let mut durations: Vec<f64> = report.projects.iter().map(|p| ms(p.elapsed)).collect();
    durations.sort_by(f64::total_cmp);
    println!(
        "one new 3-statement migration applied to {} projects at concurrency {}: {:.1} s (per project incl. login: p50 {:.1} ms, p99 {:.1} ms) (target <= 20 s)",
        projects.len(),
        args.concurrency,
        report.elapsed.as_secs_f64(),
        durations[durations.len() / 2],
        durations[durations.len() * 99 / 100]
    );

    // 5. Parity of one project.
    let p = &projects[projects.len() / 2];
    let (median, max, reports) = timed(5, || async { cotenant.parity(p).await.unwrap() }).await;
    assert!(reports[0].is_equal(), "{}", reports[0]);
    println!(
        "parity of `{p}` ({} facts; two admin logins + two fingerprints, concurrently): median {median:.1} ms, max {max:.1} ms (target <= 200 ms)",
        reports[0].facts
    );
    // A fingerprint needs the connection mutably (its own transaction): timed by hand.
    let mut admin = env.connect_admin().await.unwrap();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        fingerprint(&mut admin, p).await.unwrap();
        times.push(ms(started.elapsed()));
    }
    times.sort_by(f64::total_cmp);
    let (median, max) = (times[2], times[4]);
    println!("  of which one fingerprint query alone: median {median:.1} ms, max {max:.1} ms");
    println!();
}

#[tokio::main]
async fn main() {
    let args = args();
    println!(
        "bench_migrate: {} projects, concurrency {}, {} core(s), fsync {}",
        args.projects,
        args.concurrency,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if args.durable { "on" } else { "off (test kit)" }
    );
    for version in args.versions.clone() {
        bench(version, &args).await;
    }
}
