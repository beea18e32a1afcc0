//! Environments with several instances in the configuration: the `instances` tables, the
//! declared `instance` of projects, the `[placement]` rule, and the errors of each.

use std::path::{Path, PathBuf};

use cotenant::config::{Config, ConfigError};
use cotenant::placement::PlacementRule;

const FLEET: &str = r#"
[secrets]
store = "file"
path = "secrets.json"

[placement]
rule = "most-free-connections"

[environments.staging.instances.a]
host = "a.staging.example"
admin_secret = "acme/staging/a/admin"
[environments.staging.instances.b]
host = "b.staging.example"
port = 6543
admin_secret = "acme/staging/b/admin"
pooler = { host = "pooler-b.staging.example" }

[environments.prod.instances.a]
host = "a.example"
admin_secret = "acme/prod/a/admin"
[environments.prod.instances.b]
host = "b.example"
admin_secret = "acme/prod/b/admin"

[projects.reli]
instance = "b"
[projects.crm]
"#;

fn write_config(toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cotenant.toml");
    std::fs::write(&path, toml).unwrap();
    (dir, path)
}

fn load(path: &Path) -> Result<Config, ConfigError> {
    Config::load_with_env(path, std::iter::empty::<(&str, &str)>())
}

fn load_error(toml: &str) -> (String, PathBuf) {
    let (_dir, path) = write_config(toml);
    (load(&path).unwrap_err().to_string(), path)
}

#[test]
fn instances_tables_load() {
    let (_dir, path) = write_config(FLEET);
    let config = load(&path).unwrap();
    let staging = config.environment("staging").unwrap();
    let names: Vec<&str> = staging.instance_names().collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(staging.instance, "a", "seen on the first instance by name");
    let b = staging.on("b").unwrap();
    assert_eq!((b.host.as_str(), b.port), ("b.staging.example", 6543));
    assert_eq!(b.pooler.as_ref().unwrap().host, "pooler-b.staging.example");
    assert_eq!(
        staging.on("a").unwrap().pooler,
        None,
        "each instance its own pooler"
    );
    assert_eq!(
        staging
            .instance_at("B.STAGING.EXAMPLE", 6543)
            .map(|i| i.name.as_str()),
        Some("b")
    );
    assert_eq!(config.placement.rule(), PlacementRule::MostFreeConnections);
    assert_eq!(
        config.placement.declared(&"reli".parse().unwrap()),
        Some("b")
    );
    assert_eq!(config.placement.declared(&"crm".parse().unwrap()), None);
}

#[test]
fn the_single_instance_form_is_one_instance_named_main() {
    let config = Config::from_toml_str(
        "[secrets]\nstore = \"file\"\npath = \"s.json\"\n[environments.prod]\nhost = \"db\"\nadmin_secret = \"x\"\n",
    )
    .unwrap();
    let prod = config.environment("prod").unwrap();
    assert_eq!(prod.instance, "main");
    assert!(!prod.has_instances());
    assert_eq!(config.placement.rule(), PlacementRule::FewestProjects);
    let named = Config::from_toml_str(
        "[secrets]\nstore = \"file\"\npath = \"s.json\"\n[environments.prod]\ninstance = \"eu1\"\nhost = \"db\"\nadmin_secret = \"x\"\n",
    )
    .unwrap();
    assert_eq!(named.environment("prod").unwrap().instance, "eu1");
}

#[test]
fn an_instance_missing_from_one_environment_is_named() {
    let toml = FLEET.replace(
        "[environments.staging.instances.b]\nhost = \"b.staging.example\"\nport = 6543\nadmin_secret = \"acme/staging/b/admin\"\npooler = { host = \"pooler-b.staging.example\" }\n",
        "",
    );
    let (message, path) = load_error(&toml);
    assert_eq!(
        message,
        format!(
            "config {}: environments.staging.instances.b: missing: `prod` has an instance `b`, and \
             every environment has the same instances (staging mirrors prod's placement): add it, \
             or rename the instances to match",
            path.display()
        )
    );
}

#[test]
fn a_project_on_an_instance_not_configured_is_refused() {
    let (message, path) = load_error(&FLEET.replace("instance = \"b\"", "instance = \"z\""));
    assert_eq!(
        message,
        format!(
            "config {}: projects.reli.instance: names instance `z`, which no environment has: \
             configured are `a`, `b` (under [environments.<env>.instances])",
            path.display()
        )
    );
}

#[test]
fn both_forms_at_once_are_refused() {
    let toml = FLEET.replace(
        "[environments.prod.instances.a]",
        "[environments.prod]\nhost = \"db.example\"\n[environments.prod.instances.a]",
    );
    let (message, path) = load_error(&toml);
    assert!(
        message.starts_with(&format!(
            "config {}: environments.prod.host: the environment has [environments.prod.instances.*] tables",
            path.display()
        )),
        "{message}"
    );
    let toml = FLEET.replace(
        "[environments.prod.instances.a]",
        "[environments.prod]\ninstance = \"a\"\n[environments.prod.instances.a]",
    );
    let (message, _) = load_error(&toml);
    assert!(
        message.contains("environments.prod.instance: "),
        "{message}"
    );
}

#[test]
fn unknown_keys_and_wrong_types_in_an_instance_are_named() {
    let (message, path) =
        load_error(&FLEET.replace("host = \"a.example\"", "hots = \"a.example\""));
    assert!(
        message.starts_with(&format!(
            "config {}: environments.prod.instances.a",
            path.display()
        )),
        "{message}"
    );
    assert!(message.contains("hots"), "{message}");
    let (message, _) = load_error(&FLEET.replace("port = 6543", "port = \"x\""));
    assert!(
        message.contains("environments.staging.instances.b.port: "),
        "{message}"
    );
    let (message, _) = load_error(&FLEET.replace("most-free-connections", "randomly"));
    assert!(message.contains("placement.rule: "), "{message}");
    let (message, _) = load_error(&FLEET.replace(
        "[environments.prod.instances.a]",
        "[environments.prod.instances.A]",
    ));
    assert!(
        message.contains("environments.prod.instances.A: `A`: instance names are lowercase"),
        "{message}"
    );
}

#[test]
fn an_override_reaches_an_instance() {
    let (_dir, path) = write_config(FLEET);
    let config = Config::load_with_env(
        &path,
        [("COTENANT_ENVIRONMENTS__PROD__INSTANCES__B__PORT", "7000")],
    )
    .unwrap();
    assert_eq!(
        config.environment("prod").unwrap().on("b").unwrap().port,
        7000
    );
}
