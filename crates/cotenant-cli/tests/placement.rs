//! The `cotenant` binary on environments of three instances each (the test kit's shared
//! [`Fleet`]): every command finds the project on its instance, and `status --instances` shows
//! each instance's projects and load.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use common::{Run, run_with_config};
use cotenant::secret::{Login, SecretSource};
use cotenant_testkit::{Cluster, Fleet, MotoServer};
use tempfile::TempDir;
use tokio_postgres::NoTls;

/// The admin secrets' prefix: `cli-fleet/<env>/<instance>/admin`.
const PREFIX: &str = "cli-fleet";

struct Deployment {
    dir: TempDir,
}

impl Deployment {
    /// The shared fleet with `extra` appended (placement, project tables).
    fn new(extra: &str) -> Self {
        write_admin_secrets();
        let toml = format!(
            "[secrets]\nstore = \"aws\"\nendpoint_url = \"{}\"\nregion = \"{}\"\nprefix = \"{PREFIX}\"\n{}\n{extra}",
            MotoServer::shared().endpoint_url(),
            MotoServer::REGION,
            Fleet::shared().environments_toml(PREFIX),
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("cotenant.toml"), toml).expect("writing the config");
        Self { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("cotenant.toml")
    }

    fn run(&self, args: &[&str]) -> Run {
        run_with_config(&self.config(), args)
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

fn secrets() -> Arc<dyn SecretSource> {
    Arc::new(MotoServer::shared().secrets_manager())
}

fn write_admin_secrets() {
    static WRITTEN: OnceLock<()> = OnceLock::new();
    WRITTEN.get_or_init(|| {
        block_on(Fleet::shared().write_admin_secrets(PREFIX, secrets().as_ref()))
            .expect("writing the admin secrets to moto");
    });
}

/// The instances of `environment` that have schema `project`.
fn where_is(environment: &str, project: &str) -> Vec<String> {
    let fleet = Fleet::shared();
    block_on(async {
        let mut found = Vec::new();
        for name in fleet.instance_names() {
            if has_schema(fleet.instance(environment, name), project).await {
                found.push(name.to_owned());
            }
        }
        found
    })
}

async fn has_schema(cluster: &Cluster, project: &str) -> bool {
    let (client, connection) = cluster.admin_config().connect(NoTls).await.expect("admin");
    tokio::spawn(connection);
    client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)",
            &[&project],
        )
        .await
        .unwrap()
        .get(0)
}

/// The port in `project`'s `login` secret on `environment`.
fn secret_port(environment: &str, project: &str, login: Login) -> u16 {
    let id = Fleet::shared()
        .config(PREFIX, "")
        .secrets
        .secret_id(environment, project, login);
    block_on(secrets().get_current(&id))
        .expect("the login's secret")
        .port
}

#[test]
fn every_command_finds_the_project_on_its_instance() {
    let deployment = Deployment::new("[projects.clip_b]\ninstance = \"b\"\n");
    deployment.run(&["provision", "clip_b"]).succeeded();
    assert_eq!(where_is("staging", "clip_b"), ["b"]);
    assert_eq!(where_is("prod", "clip_b"), ["b"]);
    let fleet = Fleet::shared();
    for environment in ["staging", "prod"] {
        for login in Login::ALL {
            assert_eq!(
                secret_port(environment, "clip_b", login),
                fleet.instance(environment, "b").port(),
                "{login} on {environment}"
            );
        }
    }
    deployment
        .run(&["plan", "clip_b", "--env", "prod", "--sql"])
        .succeeded()
        .says(&format!(
            "-- environment `prod`: 127.0.0.1:{}/",
            fleet.instance("prod", "b").port()
        ));
    let migrations = tempfile::tempdir().unwrap();
    std::fs::write(
        migrations.path().join("001_items.sql"),
        "CREATE TABLE items (id bigint PRIMARY KEY);\n",
    )
    .unwrap();
    let dir = migrations.path().to_str().unwrap();
    deployment
        .run(&["migrate", "clip_b", "--dir", dir])
        .succeeded()
        .says("prod: 1 project(s)");
    deployment
        .run(&["status", "clip_b", "--dir", dir])
        .succeeded()
        .says("prod: 1 of 1 project(s) up to date");
    deployment
        .run(&["parity", "clip_b"])
        .succeeded()
        .says("`clip_b`: `staging` and `prod` match");
    deployment.run(&["audit", "clip_b"]).succeeded();
    deployment.run(&["rotate", "clip_b"]).succeeded();
    assert_eq!(
        secret_port("prod", "clip_b", Login::App),
        fleet.instance("prod", "b").port(),
        "a rotation keeps the instance in the secret"
    );
    deployment
        .run(&["deprovision", "clip_b", "--force", "clip_b"])
        .succeeded();
    assert!(where_is("prod", "clip_b").is_empty());
    assert!(where_is("staging", "clip_b").is_empty());
}

#[test]
fn apply_places_and_status_shows_each_instance() {
    let deployment = Deployment::new("[projects.clia_c]\ninstance = \"c\"\n[projects.clia_any]\n");
    deployment.run(&["apply"]).succeeded();
    assert_eq!(where_is("prod", "clia_c"), ["c"]);
    let any = where_is("prod", "clia_any");
    assert_eq!(any.len(), 1, "{any:?}");
    assert_eq!(where_is("staging", "clia_any"), any, "staging mirrors prod");
    deployment
        .run(&["apply", "--dry-run"])
        .succeeded()
        .says("0 to create, 0 to change");

    let status = deployment
        .run(&["--json", "status", "--instances"])
        .succeeded()
        .json();
    let prod = &status[1];
    assert_eq!(prod["environment"], "prod");
    let c = prod["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance"] == "c")
        .expect("instance c");
    assert!(
        c["projects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "clia_c"),
        "{c}"
    );
    assert!(c["load"]["max_connections"].as_i64().unwrap() > 0, "{c}");
    assert!(c["load"]["database_bytes"].as_i64().unwrap() > 0, "{c}");
    deployment
        .run(&["status", "--instances"])
        .succeeded()
        .says("  instance c (127.0.0.1:")
        .says("clia_c");
    deployment.run(&["doctor"]).succeeded().says("prod/b");
}

#[test]
fn a_config_with_both_forms_is_refused_before_anything_runs() {
    let deployment = Deployment::new("");
    let mut text = std::fs::read_to_string(deployment.config()).unwrap();
    text = text.replacen(
        "[environments.prod.instances.a]",
        "[environments.prod]\nhost = \"127.0.0.1\"\n[environments.prod.instances.a]",
        1,
    );
    std::fs::write(deployment.config(), text).unwrap();
    deployment
        .run(&["status", "--instances"])
        .failed_with(2)
        .says("environments.prod.host: the environment has [environments.prod.instances.*] tables");
}

#[test]
fn move_carries_a_project_to_another_instance_staging_first_and_apply_then_plans_nothing() {
    let deployment = Deployment::new("[projects.climv]\n");
    deployment.run(&["apply"]).succeeded();
    let from = where_is("prod", "climv");
    assert_eq!(from.len(), 1, "{from:?}");
    let from = from[0].clone();
    let to = if from == "a" { "b" } else { "a" };
    let migrations = tempfile::tempdir().unwrap();
    std::fs::write(
        migrations.path().join("001_items.sql"),
        "CREATE TABLE items (id bigint PRIMARY KEY, v text);\n",
    )
    .unwrap();
    let dir = migrations.path().to_str().unwrap();
    deployment
        .run(&["migrate", "climv", "--dir", dir])
        .succeeded();

    // Bad input changes nothing: an instance no environment has, a --finish with no move.
    deployment
        .run(&["move", "climv", "--to", "zz", "--dir", dir])
        .failed_with(2)
        .says("has no instance `zz`");
    deployment
        .run(&["move", "climv", "--finish", "--dir", dir])
        .succeeded()
        .says("no move of `climv` is recorded here");

    // The dry run prints each environment's plan, staging first, and moves nothing.
    let dry = deployment
        .run(&["move", "climv", "--to", to, "--dry-run", "--dir", dir])
        .succeeded();
    dry.says(&format!("planned `{from}` → `{to}`"))
        .says("verification: checksums-after-flip")
        .says("checksummed: compare checksums per table in the two snapshots")
        .says("writes refused for about");
    assert!(
        dry.stdout.find("staging:") < dry.stdout.find("prod:"),
        "{}",
        dry.describe()
    );
    assert_eq!(where_is("prod", "climv"), std::slice::from_ref(&from));

    let moved = deployment
        .run(&["--json", "move", "climv", "--to", to, "--dir", dir])
        .succeeded()
        .json();
    let moved = moved.as_array().unwrap();
    assert_eq!(
        moved
            .iter()
            .map(|o| (
                o["environment"].as_str().unwrap(),
                o["action"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("staging", "moved"), ("prod", "moved")]
    );
    for outcome in moved {
        assert_eq!(
            outcome["checksums"], "matched",
            "checksummed after the flip: {outcome}"
        );
    }
    let fleet = Fleet::shared();
    for environment in ["staging", "prod"] {
        let mut both = vec![from.clone(), to.to_owned()];
        both.sort();
        assert_eq!(
            where_is(environment, "climv"),
            both,
            "the source's copy is kept until --finish"
        );
        assert_eq!(
            secret_port(environment, "climv", Login::App),
            fleet.instance(environment, to).port(),
            "the secret points at the target on {environment}"
        );
    }
    // Placement finds it on the target: apply plans nothing, commands go there.
    deployment
        .run(&["apply", "--dry-run"])
        .succeeded()
        .says("0 to create, 0 to change");
    deployment
        .run(&["status", "climv", "--dir", dir])
        .succeeded()
        .says("prod: 1 of 1 project(s) up to date");
    // Moving again is nothing to do; --finish drops the sources' copies.
    deployment
        .run(&["move", "climv", "--to", to, "--dir", dir])
        .succeeded()
        .says("already moved");
    deployment
        .run(&["move", "climv", "--finish", "--dir", dir])
        .succeeded()
        .says("finished");
    assert_eq!(where_is("staging", "climv"), [to]);
    assert_eq!(where_is("prod", "climv"), [to]);
    deployment
        .run(&["status", "climv", "--dir", dir])
        .succeeded()
        .says("prod: 1 of 1 project(s) up to date");
    deployment
        .run(&["parity", "climv"])
        .succeeded()
        .says("`climv`: `staging` and `prod` match");
}
