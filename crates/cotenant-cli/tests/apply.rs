//! `cotenant apply` and the declarations as the binary reads them: a pair of its own (apply
//! plans the whole instance), moto's Secrets Manager, a cotenant.toml with `[projects.<p>]`.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{Run, block_on, config_toml, run_with_config};
use cotenant_testkit::{MotoServer, Pair, test_version};
use tempfile::TempDir;
use tokio_postgres::NoTls;

struct Fleet {
    pair: Pair,
    dir: TempDir,
    /// The secrets' prefix, the test's own: each test has a pair, so admin secrets of its own.
    prefix: &'static str,
}

impl Fleet {
    /// A new pair, its admin secrets in moto under `prefix`, and a config declaring `projects`
    /// (TOML).
    fn new(prefix: &'static str, projects: &str) -> Self {
        let pair = Pair::start(test_version()).expect("a pair of its own");
        block_on(async {
            let secrets = Arc::new(MotoServer::shared().secrets_manager());
            pair.cotenant(prefix, secrets)
                .await
                .expect("writing the admin secrets to moto")
        });
        let fleet = Self {
            pair,
            dir: tempfile::tempdir().expect("a temporary directory"),
            prefix,
        };
        fleet.declare(projects);
        fleet
    }

    /// Rewrites the config with `projects` as its declarations.
    fn declare(&self, projects: &str) {
        let mut toml = config_toml(&self.pair, self.prefix, |_, port| port);
        toml.push_str(projects);
        std::fs::write(self.config(), toml).expect("writing the config");
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("cotenant.toml")
    }

    fn run(&self, args: &[&str]) -> Run {
        run_with_config(&self.config(), args)
    }

    /// Runs `sql` on staging as the superuser.
    fn staging_superuser(&self, sql: &str) {
        let config = self.pair.staging.superuser_config();
        block_on(async {
            let (client, connection) = config.connect(NoTls).await.expect("superuser");
            tokio::spawn(connection);
            client
                .batch_execute(sql)
                .await
                .expect("the hand-made change");
        });
    }
}

const DECLARED: &str = r#"
[projects.ca_reli.login]
connection_limit = 9
statement_timeout = "10s"

[projects.ca_annie]
"#;

#[test]
fn apply_shows_one_diff_converges_then_names_drift_and_repairs_it() {
    let fleet = Fleet::new("cli_apply_diff", DECLARED);
    let run = fleet.run(&["apply", "--dry-run"]).succeeded();
    assert!(
        run.stdout.starts_with("dry run: nothing is applied\n"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout
            .contains("staging: 2 declared project(s): 2 to create")
            && run
                .stdout
                .contains("prod: 2 declared project(s): 2 to create"),
        "{}",
        run.describe()
    );

    let run = fleet.run(&["apply", "--concurrency", "2"]).succeeded();
    let staging = run
        .stdout
        .find("staging: 2 project(s) converged")
        .unwrap_or_else(|| panic!("{}", run.describe()));
    let prod = run
        .stdout
        .find("prod: 2 project(s) converged")
        .unwrap_or_else(|| panic!("{}", run.describe()));
    assert!(staging < prod, "staging first: {}", run.describe());
    // Not a terminal: one progress line per project on stderr.
    assert!(
        run.stderr.contains("staging: ca_reli: applied")
            && run.stderr.contains("prod: ca_annie: applied"),
        "{}",
        run.describe()
    );

    let run = fleet.run(&["apply", "--dry-run", "--json"]).succeeded();
    let json = run.json();
    for env in json["environments"].as_array().unwrap() {
        for project in env["projects"].as_array().unwrap() {
            assert_eq!(project["nothing_to_do"], true, "{}", run.describe());
        }
    }

    // Drift by hand on staging: a limit and a timeout of ca_reli's login.
    fleet.staging_superuser(
        "ALTER ROLE ca_reli_login CONNECTION LIMIT 50;
         ALTER ROLE ca_reli_login SET statement_timeout = '45s';",
    );
    let run = fleet.run(&["apply", "--dry-run", "--json"]).succeeded();
    let json = run.json();
    let staging = &json["environments"][0];
    assert_eq!(staging["environment"], "staging");
    let reli = staging["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["project"] == "ca_reli")
        .unwrap();
    assert_eq!(reli["nothing_to_do"], false);
    let drift: Vec<(String, String, String)> = reli["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["role"], "ca_reli_login");
            (
                d["setting"].as_str().unwrap().to_owned(),
                d["declared"].as_str().unwrap().to_owned(),
                d["found"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        drift,
        [
            ("connection_limit".into(), "9".into(), "50".into()),
            ("statement_timeout".into(), "10s".into(), "45s".into()),
        ]
    );
    assert!(
        json["environments"][1]["projects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["nothing_to_do"] == true),
        "prod did not drift"
    );
    let run = fleet.run(&["apply", "--dry-run"]).succeeded();
    assert!(
        run.stdout
            .contains("connection_limit of `ca_reli_login`: declared 9, found 50"),
        "{}",
        run.describe()
    );

    let run = fleet.run(&["apply"]).succeeded();
    assert!(
        run.stdout
            .contains("staging: 1 project(s) converged, 0 failed, 1 already up to date")
            && run
                .stdout
                .contains("prod: 0 project(s) converged, 0 failed, 2 already up to date"),
        "{}",
        run.describe()
    );
    let run = fleet.run(&["apply", "--dry-run"]).succeeded();
    assert!(
        run.stdout
            .contains("staging: 2 declared project(s): 0 to create, 0 to change, 2 up to date"),
        "{}",
        run.describe()
    );
}

#[test]
fn provision_takes_the_declaration_and_an_option_overrides_it_saying_so() {
    let fleet = Fleet::new("cli_apply_flags", DECLARED);
    fleet.run(&["provision", "ca_reli"]).succeeded();
    // A second run without options keeps the declared limit: nothing to do.
    let run = fleet.run(&["plan", "ca_reli"]).succeeded();
    assert_eq!(
        run.stdout.matches("nothing to do").count(),
        2,
        "{}",
        run.describe()
    );
    assert!(run.stderr.is_empty(), "{}", run.describe());

    let run = fleet
        .run(&[
            "plan",
            "ca_reli",
            "--env",
            "staging",
            "--connection-limit",
            "12",
        ])
        .succeeded();
    assert!(
        run.stderr.contains(
            "note: connection_limit of `ca_reli_login` is 12 for this run, overriding the declared 9"
        ),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("CONNECTION LIMIT 12"),
        "{}",
        run.describe()
    );
    // An option equal to the declaration changes nothing and says nothing.
    let run = fleet
        .run(&["plan", "ca_reli", "--connection-limit", "9"])
        .succeeded();
    assert!(run.stderr.is_empty(), "{}", run.describe());
    fleet
        .run(&["plan", "ca_reli", "--connection-limit", "0"])
        .failed_with(2);
}

#[test]
fn an_undeclared_project_is_reported_kept_and_pruned_only_by_name() {
    let fleet = Fleet::new("cli_apply_stray", DECLARED);
    fleet.run(&["provision", "ca_stray"]).succeeded();
    let run = fleet.run(&["apply"]).succeeded();
    assert!(
        run.stdout
            .contains("? ca_stray: on the instance but not declared: kept"),
        "{}",
        run.describe()
    );
    let run = fleet.run(&["apply", "--dry-run", "--json"]).succeeded();
    assert_eq!(run.json()["environments"][1]["undeclared"][0], "ca_stray");

    let run = fleet.run(&["apply", "--prune", "ca_reli"]).failed_with(1);
    assert!(run.stderr.contains("is declared"), "{}", run.describe());

    let run = fleet.run(&["apply", "--prune", "ca_stray"]).succeeded();
    assert!(
        run.stdout
            .contains("pruned `ca_stray` from `prod`, `staging`"),
        "{}",
        run.describe()
    );
    let run = fleet.run(&["apply", "--dry-run", "--json"]).succeeded();
    let json = run.json();
    for env in json["environments"].as_array().unwrap() {
        assert_eq!(
            env["undeclared"].as_array().unwrap().len(),
            0,
            "{}",
            run.describe()
        );
    }
}

#[test]
fn a_bad_declaration_is_a_usage_error_naming_file_table_and_key() {
    let fleet = Fleet::new(
        "cli_apply_bad",
        "[projects.ca_reli.login]\nconnection_limit = 0\n",
    );
    let run = fleet.run(&["apply", "--dry-run"]).failed_with(2);
    assert!(
        run.stderr.contains(&fleet.config().display().to_string())
            && run
                .stderr
                .contains("projects.ca_reli.login.connection_limit")
            && run.stderr.contains("is 0"),
        "{}",
        run.describe()
    );
    fleet.declare("[projects.ca_reli]\n[projects.CA_RELI]\n");
    let run = fleet.run(&["apply"]).failed_with(2);
    assert!(
        run.stderr.contains("same project once lower-cased"),
        "{}",
        run.describe()
    );
    fleet.declare("");
    let run = fleet.run(&["apply"]).failed_with(2);
    assert!(
        run.stderr.contains("declares no project"),
        "{}",
        run.describe()
    );
}

/// `apply` ends each environment with the audit: a hole apply does not converge (a SECURITY
/// DEFINER function of the project that does not pin its search_path) stops the run with exit 1 naming the finding's code — after the
/// drift apply does converge was repaired — and the same finding allow-listed lets it pass.
#[test]
fn apply_runs_the_audits_errors_as_its_final_check() {
    const AUDITED: &str = "\n[projects.ca_audited]\n";
    let fleet = Fleet::new("cli_apply_audit", AUDITED);
    let run = fleet.run(&["apply"]).succeeded();
    assert!(
        run.stdout.contains("staging: final check (audit):")
            && run.stdout.contains("prod: final check (audit):"),
        "{}",
        run.describe()
    );
    fleet.staging_superuser(
        "ALTER ROLE ca_audited_login CONNECTION LIMIT 50;
         SET ROLE ca_audited_owner;
         CREATE FUNCTION ca_audited.peek() RETURNS int LANGUAGE sql SECURITY DEFINER
             AS 'SELECT 1';",
    );
    let run = fleet.run(&["apply"]).failed_with(1);
    assert!(
        run.stdout
            .contains("error iso.definer_search_path ca_audited.peek()"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("final check failed")
            && run
                .stderr
                .contains("iso.definer_search_path on `ca_audited.peek()`"),
        "{}",
        run.describe()
    );
    // The drift was converged before the check; prod, after it, was not touched.
    let run = fleet.run(&["apply", "--dry-run"]).succeeded();
    assert!(
        run.stdout
            .contains("staging: 1 declared project(s): 0 to create, 0 to change, 1 up to date"),
        "{}",
        run.describe()
    );
    assert!(!run.stdout.contains("final check"), "{}", run.describe());
    let run = fleet.run(&["apply", "--json"]).failed_with(1);
    assert_eq!(
        run.json()["audit"][0]["environment"],
        "staging",
        "{}",
        run.describe()
    );

    fleet.declare(&format!(
        "{AUDITED}[projects.ca_audited.audit]\nallow = [\n  {{ code = \"iso.definer_search_path\", object = \"ca_audited.peek()\", reason = \"names no table\" }},\n]\n"
    ));
    let run = fleet.run(&["apply"]).succeeded();
    assert!(
        run.stdout.contains("(allowed: names no table)"),
        "{}",
        run.describe()
    );
}
