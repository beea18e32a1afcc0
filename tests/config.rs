//! Loading the configuration: files as users write them, and the errors they get when they err —
//! among them environments with several instances (the `instances` tables, the declared
//! `instance` of projects, the `[placement]` rule).

use std::path::{Path, PathBuf};
use std::time::Duration;

use cotenant::config::{Config, ConfigError, PoolerMode, SecretStore, TlsMode};
use cotenant::placement::PlacementRule;
use cotenant::secret::{DbSecret, Login, SecretSource};

const VALID: &str = r#"
[secrets]
store = "file"
path = "secrets.json"
prefix = "acme"
naming = "{prefix}/{env}/{project}/{login}"
cache_ttl = "90s"

[environments.staging]
host = "db.staging.example"
port = 6543
database = "postgres"
admin_secret = "acme/staging/admin"
tls = "require"

[environments.prod]
host = "db.example"
admin_secret = "acme/prod/admin"
ca_file = "certs/prod.pem"
"#;

/// Writes `toml` as `cotenant.toml` in a new temporary directory.
fn write_config(toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cotenant.toml");
    std::fs::write(&path, toml).unwrap();
    (dir, path)
}

fn load(path: &Path) -> Result<Config, ConfigError> {
    Config::load_with_env(path, std::iter::empty::<(&str, &str)>())
}

/// Loads `toml` from a file and returns the error's message.
fn load_error(toml: &str) -> (String, PathBuf) {
    let (_dir, path) = write_config(toml);
    let err = load(&path).unwrap_err();
    (err.to_string(), path)
}

#[test]
fn a_valid_file_loads() {
    let (dir, path) = write_config(VALID);
    // Through the process environment too: whatever COTENANT_TEST_* the test run has is ignored.
    let config = Config::load(&path).unwrap();
    assert_eq!(config, load(&path).unwrap());
    assert_eq!(config.file(), Some(path.as_path()));

    assert_eq!(
        config.secrets.store,
        SecretStore::File {
            path: dir.path().join("secrets.json")
        }
    );
    assert_eq!(config.secrets.cache_ttl, Duration::from_secs(90));
    assert_eq!(
        config.secrets.secret_id("prod", "reli", Login::Migrator),
        "acme/prod/reli/migrator"
    );

    let names: Vec<_> = config
        .environments()
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["staging", "prod"]);
    let staging = config.environment("staging").unwrap();
    assert_eq!(
        (staging.host.as_str(), staging.port, staging.tls),
        ("db.staging.example", 6543, TlsMode::Require)
    );
    let prod = config.environment("prod").unwrap();
    assert_eq!(prod.port, 5432, "default port");
    assert_eq!(prod.database, "postgres", "default database");
    assert_eq!(prod.tls, TlsMode::VerifyFull, "default tls");
    assert_eq!(prod.admin_secret, "acme/prod/admin");
    assert_eq!(prod.ca_file, Some(dir.path().join("certs/prod.pem")));
}

#[test]
fn defaults_fill_a_minimal_file() {
    let config = Config::from_toml_str(
        r#"
        [environments.prod]
        host = "db.example"
        admin_secret = "cotenant/prod/admin"
        "#,
    )
    .unwrap();
    assert_eq!(
        config.secrets.store,
        SecretStore::Aws {
            region: None,
            endpoint_url: None
        }
    );
    assert_eq!(config.secrets.cache_ttl, Duration::from_secs(300));
    assert_eq!(
        config.secrets.secret_id("prod", "reli", Login::App),
        "cotenant/prod/reli/app"
    );
    assert_eq!(config.environments().len(), 1);
    assert_eq!(config.file(), None);
}

#[test]
fn a_wrong_key_is_named_with_the_file() {
    let (message, path) =
        load_error(&VALID.replace("host = \"db.example\"", "hots = \"db.example\""));
    assert!(
        message.starts_with(&format!(
            "config {}: environments.prod.hots: unknown key: expected one of `host`, `port`,",
            path.display()
        )),
        "{message}"
    );

    let (message, _) = load_error(&VALID.replace("store = \"file\"", "stor = \"file\""));
    assert!(
        message.contains(": secrets.stor: unknown key: expected one of `store`,"),
        "{message}"
    );

    let (message, _) = load_error(&format!("[secret]\nstore = \"aws\"\n{VALID}"));
    assert!(
        message
            .contains(": secret: unknown key: expected one of `secrets`, `environments`, `order`"),
        "{message}"
    );
}

#[test]
fn a_wrong_type_names_the_key_and_the_expected_type() {
    let (message, path) = load_error(&VALID.replace("port = 6543", "port = \"x\""));
    assert_eq!(
        message,
        format!(
            "config {}: environments.staging.port: invalid type: found string \"x\", expected u16",
            path.display()
        )
    );

    let (message, _) = load_error(&VALID.replace("tls = \"require\"", "tls = \"verify\""));
    assert!(
        message.ends_with(
            "environments.staging.tls: unknown value `verify`: expected one of `disable`, `require`, `verify-full`"
        ),
        "{message}"
    );

    let (message, _) =
        load_error(&VALID.replace("cache_ttl = \"90s\"", "cache_ttl = \"90 parsecs\""));
    assert!(message.contains("secrets.cache_ttl: "), "{message}");

    let (message, _) = load_error(&VALID.replace("port = 6543", "port = 70000"));
    assert!(message.contains("environments.staging.port: "), "{message}");
}

#[test]
fn a_missing_key_is_named() {
    let (message, path) = load_error(&VALID.replace("admin_secret = \"acme/prod/admin\"", ""));
    assert_eq!(
        message,
        format!(
            "config {}: environments.prod.admin_secret: missing: this key is required",
            path.display()
        )
    );
}

#[test]
fn toml_syntax_errors_name_the_file() {
    let (message, path) = load_error("[environments.prod\nhost = 1");
    assert!(
        message.starts_with(&format!("config {}: ", path.display())),
        "{message}"
    );
    assert!(message.contains("line 1"), "{message}");
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.toml");
    let err = load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read config file `{}`", path.display())),
        "{err}"
    );
}

#[test]
fn env_overrides_change_values() {
    let (_dir, path) = write_config(VALID);
    let config = Config::load_with_env(
        &path,
        [
            ("COTENANT_ENVIRONMENTS__PROD__PORT", "6432"),
            ("COTENANT_ENVIRONMENTS__PROD__TLS", "disable"),
            ("COTENANT_ENVIRONMENTS__PROD__CA_FILE", ""),
            ("COTENANT_SECRETS__CACHE_TTL", "0s"),
            // Not config keys: variables of other tools, ignored.
            ("COTENANT_TEST_DATABASE_URL", "postgres://example"),
            ("COTENANT_CONFIG", "/elsewhere.toml"),
            ("COTENANT_LOG", "debug"),
            ("PATH", "/usr/bin"),
        ],
    );
    // An empty CA file with tls = disable is refused like in the file.
    let err = config.unwrap_err();
    assert!(
        err.to_string().contains("environments.prod.ca_file"),
        "{err}"
    );

    let config = Config::load_with_env(
        &path,
        [
            ("COTENANT_ENVIRONMENTS__PROD__PORT", "6432"),
            ("COTENANT_ENVIRONMENTS__STAGING__TLS", "disable"),
            ("COTENANT_SECRETS__CACHE_TTL", "0s"),
            ("COTENANT_TEST_DATABASE_URL", "postgres://example"),
        ],
    )
    .unwrap();
    assert_eq!(config.environment("prod").unwrap().port, 6432);
    assert_eq!(config.environment("staging").unwrap().tls, TlsMode::Disable);
    assert_eq!(config.secrets.cache_ttl, Duration::ZERO);
    // What the file says elsewhere stays.
    assert_eq!(config.environment("staging").unwrap().port, 6543);
}

#[test]
fn a_bad_override_names_the_variable() {
    let (_dir, path) = write_config(VALID);
    let err =
        Config::load_with_env(&path, [("COTENANT_ENVIRONMENTS__PROD__PORT", "x")]).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("environments.prod.port: invalid type"),
        "{message}"
    );
    assert!(
        message.contains("environment variable COTENANT_ENVIRONMENTS__PROD__PORT"),
        "{message}"
    );

    let err = Config::load_with_env(&path, [("COTENANT_SECRETS__STORAGE", "file")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("secrets.storage: unknown key: expected one of `store`"),
        "{err}"
    );
    assert!(
        err.to_string().contains("COTENANT_SECRETS__STORAGE"),
        "{err}"
    );
}

#[test]
fn an_unknown_environment_lists_the_known_ones() {
    let config = Config::from_toml_str(VALID).unwrap();
    let err = config.environment("production").unwrap_err();
    assert!(matches!(&err, ConfigError::UnknownEnvironment { name, .. } if name == "production"));
    assert_eq!(
        err.to_string(),
        "unknown environment `production`: the config defines `staging`, `prod`; add [environments.production] or use one of those"
    );
}

#[test]
fn promotion_order_is_checked() {
    let three = format!(
        "{VALID}\n[environments.dev]\nhost = \"localhost\"\nadmin_secret = \"acme/dev/admin\"\n"
    );
    let err = Config::from_toml_str(&three).unwrap_err();
    assert!(
        err.to_string().starts_with("config: order: missing"),
        "{err}"
    );

    let ordered = format!("order = [\"dev\", \"staging\", \"prod\"]\n{three}");
    let config = Config::from_toml_str(&ordered).unwrap();
    let names: Vec<_> = config
        .environments()
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["dev", "staging", "prod"]);

    let err =
        Config::from_toml_str(&format!("order = [\"staging\", \"qa\"]\n{VALID}")).unwrap_err();
    assert!(
        err.to_string()
            .contains("order: names `qa`, which is not under [environments]"),
        "{err}"
    );
    let err = Config::from_toml_str(&format!("order = [\"staging\"]\n{VALID}")).unwrap_err();
    assert!(err.to_string().contains("order: lacks `prod`"), "{err}");
}

#[test]
fn secrets_settings_are_checked() {
    let err = Config::from_toml_str(&VALID.replace("path = \"secrets.json\"\n", "")).unwrap_err();
    assert!(err.to_string().contains("secrets.path: missing"), "{err}");
    let err =
        Config::from_toml_str(&VALID.replace("store = \"file\"", "store = \"aws\"")).unwrap_err();
    assert!(
        err.to_string().contains(
            "secrets.path: only used with store = \"file\": remove it, or set store = \"file\""
        ),
        "{err}"
    );
    let err =
        Config::from_toml_str(&VALID.replace("prefix = ", "region = \"eu-north-1\"\nprefix = "))
            .unwrap_err();
    assert!(
        err.to_string()
            .contains("secrets.region: only used with store = \"aws\""),
        "{err}"
    );
    let err = Config::from_toml_str(&VALID.replace("{project}/", "")).unwrap_err();
    assert!(err.to_string().contains("secrets.naming: "), "{err}");
    assert!(err.to_string().contains("lacks `{project}`"), "{err}");
    let err = Config::from_toml_str(&VALID.replace(
        "admin_secret = \"acme/prod/admin\"",
        "admin_secret = \"hunter2 !\"",
    ))
    .unwrap_err();
    assert!(
        err.to_string().contains("environments.prod.admin_secret"),
        "{err}"
    );
}

#[tokio::test]
async fn the_configured_file_store_opens_behind_a_cache() {
    let (dir, path) = write_config(VALID);
    let config = load(&path).unwrap();
    let store = config.secrets.open().await.unwrap();
    let id = config.secrets.secret_id("staging", "reli", Login::App);
    let secret = DbSecret::new("db.staging.example", 6543, "reli_login", "pw", "postgres");
    store.create(&id, &secret).await.unwrap();
    assert_eq!(store.get_current(&id).await.unwrap(), secret);
    assert!(dir.path().join("secrets.json").exists());
    assert!(format!("{store:?}").contains("CachedSource"), "{store:?}");
}

#[test]
fn an_environment_names_its_transaction_pooler() {
    let with_pooler = VALID.replace(
        "ca_file = \"certs/prod.pem\"",
        "ca_file = \"certs/prod.pem\"\npooler = { host = \"pooler.example\" }",
    );
    let (_dir, path) = write_config(&with_pooler);
    let config = load(&path).unwrap();
    let pooler = config.environment("prod").unwrap().pooler.clone().unwrap();
    assert_eq!(
        (pooler.host.as_str(), pooler.port),
        ("pooler.example", 6543)
    );
    assert_eq!(pooler.mode, PoolerMode::Transaction);
    assert_eq!(config.environment("staging").unwrap().pooler, None);

    // From the environment, like any key.
    let config = Config::load_with_env(
        &path,
        [
            ("COTENANT_ENVIRONMENTS__PROD__POOLER__PORT", "6432"),
            (
                "COTENANT_ENVIRONMENTS__STAGING__POOLER__HOST",
                "pooler.staging.example",
            ),
        ],
    )
    .unwrap();
    assert_eq!(
        config
            .environment("prod")
            .unwrap()
            .pooler
            .as_ref()
            .unwrap()
            .port,
        6432
    );
    let staging = config
        .environment("staging")
        .unwrap()
        .pooler
        .clone()
        .unwrap();
    assert_eq!(staging.host, "pooler.staging.example");

    for (pooler, key, says) in [
        (
            "{ host = \"\" }",
            "environments.prod.pooler.host",
            "is empty",
        ),
        (
            "{ host = \"p\", port = 0 }",
            "environments.prod.pooler.port",
            "is 0",
        ),
        (
            "{ host = \"p\", mode = \"session\" }",
            "environments.prod.pooler.mode",
            "session",
        ),
        (
            "{ host = \"p\", pool = 3 }",
            "environments.prod.pooler",
            "pool",
        ),
    ] {
        let toml = VALID.replace(
            "ca_file = \"certs/prod.pem\"",
            &format!("ca_file = \"certs/prod.pem\"\npooler = {pooler}"),
        );
        let (message, _) = load_error(&toml);
        assert!(
            message.contains(key) && message.contains(says),
            "{pooler}: {message}"
        );
    }
}

// Environments with several instances.

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
