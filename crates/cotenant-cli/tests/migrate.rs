//! `cotenant migrate|status|repair|parity|rls` against a real prod+staging pair (the version in
//! `COTENANT_TEST_PG`) and moto's Secrets Manager, configured as an operator would.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use common::{Run, block_on, config_toml, run_with_config};
use cotenant::secret::Login;
use cotenant_testkit::{MotoServer, Pair};
use tempfile::TempDir;

/// The secrets' prefix, apart from the other CLI tests'.
const PREFIX: &str = "climig";

/// The org-app template that ships with cotenant.
fn template_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sql/templates/org_app")
}

struct Deployment {
    dir: TempDir,
}

impl Deployment {
    fn new() -> Self {
        static WRITTEN: OnceLock<()> = OnceLock::new();
        WRITTEN.get_or_init(|| {
            block_on(async {
                let secrets = Arc::new(MotoServer::shared().secrets_manager());
                Pair::shared()
                    .cotenant(PREFIX, secrets)
                    .await
                    .expect("writing the admin secrets to moto");
            })
        });
        let toml = config_toml(Pair::shared(), PREFIX, |_, port| port);
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("cotenant.toml"), toml).expect("writing the config");
        Self { dir }
    }

    /// A directory of migration files under the deployment's directory.
    fn files(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, sql) in files {
            std::fs::write(dir.join(file), sql).unwrap();
        }
        dir
    }

    fn run(&self, args: &[&str]) -> Run {
        run_with_config(&self.dir.path().join("cotenant.toml"), args)
    }
}

#[test]
fn the_template_migrates_staging_then_prod_and_status_parity_and_rls_agree() {
    let deployment = Deployment::new();
    let dir = template_dir();
    let dir = dir.to_str().unwrap();
    deployment.run(&["provision", "clitmpl"]).succeeded();
    deployment
        .run(&["migrate", "clitmpl", "--dir", dir])
        .succeeded()
        .says("staging: 1 project(s)")
        .says("prod: 1 project(s)")
        .says("clitmpl: 000 -> 006 (6 migration(s)");
    let again = deployment
        .run(&["--json", "migrate", "clitmpl", "--dir", dir])
        .succeeded()
        .json();
    assert_eq!(again[1]["environment"], "prod");
    assert_eq!(again[1]["projects"][0]["status"], "up_to_date");
    deployment
        .run(&["status", "clitmpl", "--dir", dir])
        .succeeded()
        .says("staging: 1 of 1 project(s) up to date")
        .says("prod: 1 of 1 project(s) up to date");
    deployment
        .run(&["parity", "clitmpl"])
        .succeeded()
        .says("`clitmpl`: `staging` and `prod` match");
    deployment
        .run(&["rls", "clitmpl"])
        .succeeded()
        .says("row-level security is enabled on all 21 table(s)");
}

#[test]
fn prod_alone_is_still_gated_by_staging() {
    let deployment = Deployment::new();
    deployment.run(&["provision", "cligate"]).succeeded();
    let one = deployment.files("one", &[("001_a.sql", "CREATE TABLE a (id int);")]);
    let two = deployment.files(
        "two",
        &[
            ("001_a.sql", "CREATE TABLE a (id int);"),
            ("002_b.sql", "CREATE TABLE b (id int);"),
        ],
    );
    deployment
        .run(&[
            "--env",
            "staging",
            "migrate",
            "cligate",
            "--dir",
            one.to_str().unwrap(),
        ])
        .succeeded();
    deployment
        .run(&[
            "--env",
            "prod",
            "migrate",
            "cligate",
            "--dir",
            two.to_str().unwrap(),
        ])
        .failed_with(1)
        .says("`staging` has not applied `002_b.sql`");
    deployment
        .run(&[
            "--env",
            "prod",
            "migrate",
            "cligate",
            "--dir",
            one.to_str().unwrap(),
        ])
        .succeeded()
        .says("cligate: 000 -> 001");
}

#[test]
fn parity_exits_1_on_drift_and_bad_files_are_a_usage_error() {
    let deployment = Deployment::new();
    deployment.run(&["provision", "clidrift"]).succeeded();
    let files = deployment.files("drift", &[("001_a.sql", "CREATE TABLE a (id int);")]);
    deployment
        .run(&["migrate", "clidrift", "--dir", files.to_str().unwrap()])
        .succeeded();
    // A change made by hand on prod, outside any migration, as the project's own migrator.
    block_on(async {
        let secrets = Arc::new(MotoServer::shared().secrets_manager());
        let cotenant = Pair::shared().cotenant(PREFIX, secrets).await.unwrap();
        let migrator = cotenant
            .environment("prod")
            .unwrap()
            .connect_login(&"clidrift".parse().unwrap(), Login::Migrator)
            .await
            .unwrap();
        migrator
            .batch_execute("ALTER TABLE a ADD COLUMN by_hand text")
            .await
            .unwrap();
    });
    deployment
        .run(&["parity", "clidrift"])
        .failed_with(1)
        .says("+ column a.by_hand #2 text")
        .says("drift in clidrift");

    let bad = deployment.files("bad", &[("001_a.sql", ""), ("003_c.sql", "")]);
    deployment
        .run(&["migrate", "clidrift", "--dir", bad.to_str().unwrap()])
        .failed_with(2)
        .says("migration version 2 is missing (the next file is `003_c.sql`)");
}

#[test]
fn a_failing_migration_is_reported_once_with_its_file_and_position() {
    let deployment = Deployment::new();
    deployment.run(&["provision", "clifail"]).succeeded();
    let files = deployment.files(
        "fail",
        &[
            ("001_a.sql", "CREATE TABLE a (id int);"),
            (
                "002_b.sql",
                "CREATE TABLE b (id int);\nSELECT nope FROM b;\n",
            ),
        ],
    );
    let run = deployment.run(&["migrate", "clifail", "--dir", files.to_str().unwrap()]);
    let run = run.failed_with(1);
    run.says("clifail: after applying `001_a.sql` to `clifail`: migration `002_b.sql` of `clifail` failed at line 2, column 8 and was rolled back")
        .says("ERROR 42703: column \"nope\" does not exist")
        .says("1 project run(s) failed; 1 later environment(s) were not touched");
    assert_eq!(
        run.stdout.matches("does not exist").count(),
        1,
        "{}",
        run.describe()
    );
    assert!(!run.stdout.contains("db error"), "{}", run.describe());
}
