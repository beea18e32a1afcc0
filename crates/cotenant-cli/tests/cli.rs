//! The `cotenant` binary against a real prod+staging pair (the version in `COTENANT_TEST_PG`) and
//! moto's Secrets Manager, configured the way an operator would: a TOML file naming the
//! instances and the admin secrets' ids, AWS credentials in the command's environment.

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use common::{Run, block_on, config_toml, run_with_config};

use cotenant::secret::Login;
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{MotoServer, Pair};
use secrecy::ExposeSecret;
use tempfile::TempDir;

/// The secrets' prefix: admin secrets are `cli/<env>/admin`, logins' `cli/<env>/<p>/<login>`.
const PREFIX: &str = "cli";

/// A config file for the shared pair and moto, in a directory of the test's own.
struct Deployment {
    dir: TempDir,
}

impl Deployment {
    /// Both environments as the pair runs them.
    fn new() -> Self {
        Self::with_prod_port(Pair::shared().prod.port())
    }

    /// Prod pointed at `port` instead (a closed one, to see it unreachable).
    fn with_prod_port(prod_port: u16) -> Self {
        write_admin_secrets();
        let toml = config_toml(Pair::shared(), PREFIX, |name, port| {
            if name == "prod" { prod_port } else { port }
        });
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("cotenant.toml"), toml).expect("writing the config");
        Self { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("cotenant.toml")
    }

    /// With `toml` appended to the config file (project sections).
    fn with(self, toml: &str) -> Self {
        let mut text = std::fs::read_to_string(self.config()).expect("reading the config");
        text.push_str(toml);
        std::fs::write(self.config(), text).expect("writing the config");
        self
    }

    /// Runs `cotenant --config <this config> <args>`.
    fn run(&self, args: &[&str]) -> Run {
        run_with_config(&self.config(), args)
    }
}

/// The shared pair as the library sees it, with the same secrets as the binary.
async fn library() -> Cotenant {
    let secrets = Arc::new(MotoServer::shared().secrets_manager());
    Pair::shared()
        .cotenant(PREFIX, secrets)
        .await
        .expect("writing the admin secrets to moto")
}

/// Writes the pair's admin credentials to moto once per test process.
fn write_admin_secrets() {
    static WRITTEN: OnceLock<()> = OnceLock::new();
    WRITTEN.get_or_init(|| {
        block_on(library());
    });
}

fn project(name: &str) -> ProjectName {
    name.parse().expect("a valid project name")
}

/// The passwords of `project`'s logins on both environments, as the secret store holds them.
fn login_passwords(project: &ProjectName) -> Vec<String> {
    block_on(async {
        let cotenant = library().await;
        let mut passwords = Vec::new();
        for env in cotenant.environments() {
            for login in Login::ALL {
                let secret = env.login_secret(project, login).await.unwrap();
                passwords.push(secret.password.expose_secret().to_owned());
            }
        }
        passwords
    })
}

fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
    listener.local_addr().unwrap().port()
}

#[test]
fn doctor_reports_both_environments() {
    let deployment = Deployment::new();
    let run = deployment.run(&["doctor"]).succeeded();
    let staging = run.position("staging: PostgreSQL");
    let prod = run.position("prod: PostgreSQL");
    assert!(staging < prod, "staging comes first:\n{}", run.stdout);
    assert!(
        run.stdout.contains("ok    admin has CREATEROLE"),
        "{}",
        run.describe()
    );

    let run = deployment.run(&["doctor", "--json"]).succeeded();
    let outcomes = run.json();
    let names: Vec<&str> = outcomes
        .as_array()
        .expect("an array")
        .iter()
        .map(|o| o["environment"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["staging", "prod"]);
    for outcome in outcomes.as_array().unwrap() {
        assert_eq!(outcome["reachable"], true, "{outcome}");
        let checks = outcome["report"]["checks"].as_array().expect("checks");
        assert!(checks.iter().all(|c| c["verdict"] != "fail"), "{outcome}");
    }
}

#[test]
fn doctor_fails_naming_the_unreachable_environment() {
    let deployment = Deployment::with_prod_port(closed_port());
    let run = deployment.run(&["doctor"]).failed_with(1);
    assert!(
        run.stdout.contains("staging: PostgreSQL"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("prod: unreachable: connecting to"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("`prod` cannot be reached"),
        "{}",
        run.describe()
    );

    let run = deployment.run(&["doctor", "--json"]).failed_with(1);
    let outcomes = run.json();
    assert_eq!(outcomes[0]["environment"], "staging");
    assert_eq!(outcomes[0]["reachable"], true);
    assert_eq!(outcomes[1]["environment"], "prod");
    assert_eq!(outcomes[1]["reachable"], false);
    assert!(
        outcomes[1]["error"]
            .as_str()
            .unwrap()
            .contains("connecting to")
    );

    // Limited to staging, the same configuration is healthy.
    deployment.run(&["doctor", "--env", "staging"]).succeeded();
}

#[test]
fn provision_then_plan_has_nothing_to_do() {
    let deployment = Deployment::new();
    let p = project("cli_conv");
    let run = deployment.run(&["provision", "cli_conv"]).succeeded();
    let staging = run.position("staging: applied");
    let prod = run.position("prod: applied");
    assert!(
        staging < prod,
        "staging is provisioned first:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("CREATE ROLE"), "{}", run.describe());

    let plan = deployment.run(&["plan", "cli_conv"]).succeeded();
    assert_eq!(
        plan.stdout,
        "staging: project `cli_conv` on `postgres`: nothing to do\n\
         prod: project `cli_conv` on `postgres`: nothing to do\n"
    );
    let again = deployment.run(&["provision", "cli_conv"]).succeeded();
    assert!(
        again
            .stdout
            .contains("prod: project `cli_conv` is up to date, nothing to do"),
        "{}",
        again.describe()
    );

    let json = deployment.run(&["plan", "cli_conv", "--json"]).succeeded();
    let plans = json.json();
    for plan in plans.as_array().unwrap() {
        assert_eq!(plan["nothing_to_do"], true, "{plan}");
    }

    // The logins' passwords went to the secret store, and nowhere on the terminal.
    for password in login_passwords(&p) {
        for output in [&run, &plan, &again, &json] {
            assert!(!output.stdout.contains(&password) && !output.stderr.contains(&password));
        }
    }
}

#[test]
fn the_data_api_is_provisioned_planned_and_explained() {
    let supabase = Pair::shared().flavor() == cotenant_testkit::Flavor::Supabase;
    // RLS on auth.uid() needs platform access `auth`, which only a Supabase-like instance has.
    let platform = if supabase {
        "\n[projects.cli_api.platform]\nauth = true\n"
    } else {
        ""
    };
    let deployment = Deployment::new().with(&format!(
        "{platform}\n[projects.cli_api.api]\nenabled = true\n\
         [projects.cli_api.api.authenticated]\ntables = [\"select\"]\n"
    ));
    let setup = deployment.run(&["api", "cli_api"]).succeeded();
    for expected in [
        "add `cli_api` to `db-schemas`",
        "Accept-Profile: cli_api",
        r#""role": "cli_api_authenticated""#,
        "instance-wide platform credentials",
    ] {
        assert!(setup.stdout.contains(expected), "{}", setup.describe());
    }
    let json = deployment
        .run(&["api", "cli_api", "--json"])
        .succeeded()
        .json();
    assert_eq!(json["exposed_schema"], "cli_api");
    assert_eq!(json["role_claims"][1]["role"], "cli_api_authenticated");
    if !supabase {
        // No `authenticator` on a plain instance: refused before anything changes.
        let run = deployment.run(&["provision", "cli_api"]).failed_with(1);
        assert!(
            run.stderr.contains("needs role `authenticator`"),
            "{}",
            run.describe()
        );
        return;
    }
    let plan = deployment
        .run(&["plan", "cli_api", "--sql", "--env", "staging"])
        .succeeded();
    assert!(
        plan.stdout.contains(
            r#"ALTER DEFAULT PRIVILEGES IN SCHEMA "cli_api" GRANT SELECT ON TABLES TO "cli_api_authenticated""#
        ),
        "{}",
        plan.describe()
    );
    deployment.run(&["provision", "cli_api"]).succeeded();
    let again = deployment.run(&["plan", "cli_api"]).succeeded();
    assert_eq!(
        again.stdout,
        "staging: project `cli_api` on `postgres`: nothing to do\n\
         prod: project `cli_api` on `postgres`: nothing to do\n"
    );
}

#[test]
fn limits_given_as_options_reach_the_plan() {
    let deployment = Deployment::new();
    deployment
        .run(&[
            "provision",
            "cli_limits",
            "--connection-limit",
            "7",
            "--statement-timeout",
            "5s",
        ])
        .succeeded();
    let run = deployment
        .run(&[
            "plan",
            "cli_limits",
            "--connection-limit",
            "7",
            "--statement-timeout",
            "5s",
        ])
        .succeeded();
    assert_eq!(
        run.stdout.matches("nothing to do").count(),
        2,
        "{}",
        run.describe()
    );
    // The project is not declared: without the options, its limits are the defaults, and the
    // plan changes them back.
    let run = deployment
        .run(&["plan", "cli_limits", "--env", "prod"])
        .succeeded();
    assert!(
        run.stdout.contains("CONNECTION LIMIT 20"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("statement_timeout"),
        "{}",
        run.describe()
    );
}

#[test]
fn provision_stops_at_the_first_failing_environment() {
    let deployment = Deployment::with_prod_port(closed_port());
    let run = deployment.run(&["provision", "cli_stop"]).failed_with(1);
    assert!(
        run.stderr
            .contains("error: on environment `prod`: connecting to 127.0.0.1:"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr
            .contains("note: `staging` was provisioned before the failure"),
        "{}",
        run.describe()
    );
    let run = deployment
        .run(&["plan", "cli_stop", "--env", "staging"])
        .succeeded();
    assert!(
        run.stdout.ends_with("nothing to do\n"),
        "{}",
        run.describe()
    );
}

#[test]
fn plan_sql_is_one_reviewable_script_per_environment() {
    let deployment = Deployment::new();
    let run = deployment
        .run(&["plan", "cli_sql", "--sql", "--env", "staging"])
        .succeeded();
    let script = &run.stdout;
    assert!(script.starts_with("-- environment `staging`: "), "{script}");
    assert!(script.contains("\nBEGIN;\n"), "{script}");
    assert!(script.ends_with("COMMIT;\n"), "{script}");
    assert!(
        script.contains("PASSWORD :'cli_sql_login_password'"),
        "{script}"
    );
    assert_eq!(script.matches("-- environment").count(), 1, "{script}");
    let admin_password = Pair::shared().staging.admin_password().expose_secret();
    assert!(!script.contains(admin_password));

    // Two environments would be two scripts for two servers: the choice is the operator's.
    let run = deployment.run(&["plan", "cli_sql", "--sql"]).failed_with(2);
    assert!(
        run.stderr.contains("add --env <name>"),
        "{}",
        run.describe()
    );

    // A dry run applies nothing.
    let run = deployment
        .run(&["provision", "cli_sql", "--dry-run"])
        .succeeded();
    assert!(
        run.stdout.contains("staging: would apply"),
        "{}",
        run.describe()
    );
    let run = deployment
        .run(&["plan", "cli_sql", "--env", "staging"])
        .succeeded();
    assert!(run.stdout.contains("statement(s)"), "{}", run.describe());
}

#[test]
fn bad_names_are_refused_before_the_config_is_read() {
    let missing = Path::new("/nonexistent/cotenant.toml");
    let run = run_with_config(missing, &["plan", "Reli"]).failed_with(2);
    assert!(
        run.stderr
            .contains("must start with a lowercase ASCII letter"),
        "{}",
        run.describe()
    );
    let run = run_with_config(missing, &["provision", "auth"]).failed_with(2);
    assert!(
        run.stderr.contains("`auth` is reserved"),
        "{}",
        run.describe()
    );

    // With a config whose instances are down, the name still decides first.
    let unreachable = Deployment::with_prod_port(closed_port());
    let run = unreachable
        .run(&["deprovision", "pg_x", "--env", "prod"])
        .failed_with(2);
    assert!(
        run.stderr.contains("reserved by PostgreSQL"),
        "{}",
        run.describe()
    );

    // A good name meets the missing config: a configuration error, also 2.
    let run = run_with_config(missing, &["plan", "reli"]).failed_with(2);
    assert!(
        run.stderr.contains("cannot read config file"),
        "{}",
        run.describe()
    );
    let run = unreachable
        .run(&["plan", "reli", "--env", "dev"])
        .failed_with(2);
    assert!(
        run.stderr.contains("unknown environment `dev`"),
        "{}",
        run.describe()
    );
}

#[test]
fn deprovision_refuses_a_schema_with_objects_unless_forced() {
    let deployment = Deployment::new();
    let p = project("cli_drop");
    deployment.run(&["provision", "cli_drop"]).succeeded();
    block_on(async {
        let cotenant = library().await;
        for env in cotenant.environments() {
            let migrator = env.connect_login(&p, Login::Migrator).await.unwrap();
            migrator
                .batch_execute(
                    "CREATE TABLE cli_drop.t (id int); INSERT INTO cli_drop.t VALUES (1)",
                )
                .await
                .unwrap();
        }
    });

    let run = deployment.run(&["deprovision", "cli_drop"]).failed_with(1);
    assert!(
        run.stderr
            .contains("on environment `prod`: schema `cli_drop` holds 1 object(s)"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("--force cli_drop"),
        "{}",
        run.describe()
    );
    let run = deployment
        .run(&["deprovision", "cli_drop", "--force", "cli_dorp"])
        .failed_with(1);
    assert!(run.stderr.contains("does not match"), "{}", run.describe());

    let run = deployment
        .run(&["deprovision", "cli_drop", "--force", "cli_drop"])
        .succeeded();
    let prod = run.position("prod: dropped project `cli_drop`");
    let staging = run.position("staging: dropped project `cli_drop`");
    assert!(prod < staging, "prod is dropped first:\n{}", run.stdout);

    let run = deployment.run(&["deprovision", "cli_drop"]).succeeded();
    assert!(
        run.stdout.contains("prod: project `cli_drop` is not there"),
        "{}",
        run.describe()
    );
    block_on(async {
        let cotenant = library().await;
        let err = cotenant.environments()[0]
            .login_secret(&p, Login::App)
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "the login secrets are deleted: {err}");
    });
}

#[test]
fn rotate_dry_runs_then_rotates_staging_first_without_showing_passwords() {
    let deployment = Deployment::new();
    let p = project("cli_rot");
    deployment.run(&["provision", "cli_rot"]).succeeded();
    let before = login_passwords(&p);

    let dry = deployment
        .run(&["rotate", "cli_rot", "--login", "app", "--dry-run"])
        .succeeded();
    assert!(
        dry.stdout.contains("dry run: nothing is changed"),
        "{}",
        dry.describe()
    );
    assert!(
        dry.stdout.contains(":'cli_rot_login_clone_password'"),
        "{}",
        dry.describe()
    );
    assert_eq!(login_passwords(&p), before, "a dry run changes no secret");

    let run = deployment.run(&["rotate", "cli_rot"]).succeeded();
    let staging = run.position("staging: app credential of `cli_rot` rotated");
    let prod = run.position("prod: app credential of `cli_rot` rotated");
    assert!(staging < prod, "staging first:\n{}", run.stdout);
    assert!(
        run.stdout
            .contains("`cli_rot_migrator` -> `cli_rot_migrator_clone`"),
        "both logins by default: {}",
        run.describe()
    );
    let after = login_passwords(&p);
    for (old, new) in before.iter().zip(&after) {
        assert_ne!(old, new, "every credential has a new password");
    }

    let json = deployment
        .run(&[
            "rotate",
            "cli_rot",
            "--login",
            "migrator",
            "--strategy",
            "single-user",
            "--json",
        ])
        .succeeded();
    let rotations = json.json();
    let rotations = rotations.as_array().unwrap();
    assert_eq!(rotations.len(), 2, "{}", json.describe());
    for rotation in rotations {
        assert_eq!(rotation["strategy"], "single-user");
        assert_eq!(rotation["from_user"], "cli_rot_migrator_clone");
        assert_eq!(rotation["to_user"], "cli_rot_migrator_clone");
    }
    for password in before.iter().chain(&after).chain(&login_passwords(&p)) {
        for output in [&dry, &run, &json] {
            assert!(
                !output.stdout.contains(password.as_str())
                    && !output.stderr.contains(password.as_str())
            );
        }
    }

    let refused = deployment
        .run(&["rotate", "cli_rot", "--strategy", "twice"])
        .failed_with(2);
    assert!(
        refused.stderr.contains("alternating-users"),
        "{}",
        refused.describe()
    );
}

#[test]
fn audit_fails_on_a_planted_grant_until_it_is_allow_listed() {
    let deployment = Deployment::new();
    let p = project("cli_audit");
    deployment.run(&["provision", "cli_audit"]).succeeded();
    let clean = deployment.run(&["audit", "cli_audit"]).succeeded();
    assert!(clean.stdout.contains("0 error(s)"), "{}", clean.describe());

    block_on(async {
        library()
            .await
            .environment("staging")
            .unwrap()
            .connect_login(&p, Login::Migrator)
            .await
            .unwrap()
            .batch_execute("CREATE TABLE notes (id int); GRANT SELECT ON notes TO PUBLIC")
            .await
            .unwrap();
    });
    let failed = deployment
        .run(&["--json", "audit", "cli_audit"])
        .failed_with(1);
    let outcomes = failed.json();
    let staging = &outcomes[0];
    assert_eq!(staging["environment"], "staging");
    let findings = staging["report"]["findings"].as_array().unwrap();
    let grant = findings
        .iter()
        .find(|f| f["code"] == "iso.foreign_privilege" && f["object"] == "cli_audit.notes")
        .unwrap_or_else(|| panic!("the grant to PUBLIC is found: {}", failed.describe()));
    assert_eq!(grant["severity"], "error");
    assert_eq!(grant["project"], "cli_audit");
    assert!(
        failed.stderr.contains("`staging` has 1 error(s)"),
        "{}",
        failed.describe()
    );

    let mut config = std::fs::read_to_string(deployment.config()).unwrap();
    config.push_str(
        "\n[projects.cli_audit.audit]\nallow = [{ code = \"iso.foreign_privilege\", object = \"cli_audit.notes\", reason = \"a public notice board\" }]\n",
    );
    std::fs::write(deployment.config(), config).unwrap();
    let allowed = deployment.run(&["audit", "cli_audit"]).succeeded();
    assert!(
        allowed.stdout.contains("(allowed: a public notice board)"),
        "{}",
        allowed.describe()
    );
}

#[test]
fn status_usage_shows_each_projects_usage_per_environment() {
    let deployment = Deployment::new();
    deployment.run(&["provision", "cli_usage"]).succeeded();
    let text = deployment
        .run(&["status", "--usage", "cli_usage"])
        .succeeded();
    let staging = text.position("staging:\n  cli_usage: schema ");
    let prod = text.position("prod:\n  cli_usage: schema ");
    assert!(staging < prod, "{}", text.describe());
    assert!(
        text.stdout.contains("connections app 0/20 migrator 0/5"),
        "{}",
        text.describe()
    );
    let json = deployment
        .run(&["--json", "status", "--usage", "cli_usage"])
        .succeeded()
        .json();
    for (env, name) in json.as_array().unwrap().iter().zip(["staging", "prod"]) {
        assert_eq!(env["environment"], name);
        let project = &env["projects"][0];
        assert_eq!(project["project"], "cli_usage");
        assert_eq!(project["app"]["limit"], 20);
    }
}
