//! Declarations as users write them: `[projects.<p>]` in cotenant.toml or in the file it names,
//! and the errors bad ones get — naming the file, the table and the key, nothing applied.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use cotenant::ProjectName;
use cotenant::config::{Config, ConfigError};
use cotenant::declare::MigrationSource;
use cotenant::provision::ProjectSettings;
use cotenant_testkit::Pair;

const ENVIRONMENTS: &str = r#"
[environments.staging]
host = "localhost"
admin_secret = "cotenant/staging/admin"
"#;

/// Writes `files` (name, contents) into a new temporary directory; the first is the config.
fn write(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).unwrap();
    }
    let path = dir.path().join(files[0].0);
    (dir, path)
}

fn load(path: &Path) -> Result<Config, ConfigError> {
    Config::load_with_env(path, std::iter::empty::<(&str, &str)>())
}

fn load_error(files: &[(&str, &str)]) -> (String, tempfile::TempDir) {
    let (dir, path) = write(files);
    (load(&path).unwrap_err().to_string(), dir)
}

#[test]
fn declared_settings_merge_over_the_defaults() {
    let toml = format!(
        r#"{ENVIRONMENTS}
[projects.reli]
migrations = "migrations/reli"
[projects.reli.login]
connection_limit = 50
statement_timeout = "10s"
[projects.reli.migrator]
idle_in_transaction_timeout = "off"

[projects.annie]
template = "org_app"

[projects.filmduel]
"#
    );
    let (dir, path) = write(&[("cotenant.toml", &toml)]);
    let config = load(&path).unwrap();
    let declarations = &config.projects;
    let names: Vec<&str> = declarations.names().map(ProjectName::as_str).collect();
    assert_eq!(names, ["annie", "filmduel", "reli"]);
    assert_eq!(declarations.file(), Some(path.as_path()));

    let defaults = ProjectSettings::default();
    let reli = declarations.get(&project("reli")).unwrap();
    assert_eq!(reli.settings.login.connection_limit, 50);
    assert_eq!(
        reli.settings.login.statement_timeout,
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        reli.settings.login.idle_in_transaction_timeout, defaults.login.idle_in_transaction_timeout,
        "what is not declared is the default"
    );
    assert_eq!(reli.settings.migrator.idle_in_transaction_timeout, None);
    assert_eq!(
        reli.migrations,
        Some(MigrationSource::Dir(dir.path().join("migrations/reli"))),
        "relative to the declaring file"
    );
    let annie = declarations.get(&project("annie")).unwrap();
    assert_eq!(
        annie.migrations,
        Some(MigrationSource::Template("org_app".into()))
    );
    assert_eq!(
        annie
            .migrations
            .as_ref()
            .unwrap()
            .load()
            .unwrap()
            .last_version(),
        6
    );
    assert_eq!(declarations.settings_of(&project("filmduel")), defaults);
    assert_eq!(
        declarations.settings_of(&project("undeclared")),
        defaults,
        "an undeclared project is provisioned with the defaults"
    );
}

#[test]
fn declarations_can_live_in_a_file_of_their_own() {
    let toml = format!("projects = \"fleet/projects.toml\"\n{ENVIRONMENTS}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("fleet")).unwrap();
    std::fs::write(dir.path().join("cotenant.toml"), &toml).unwrap();
    let projects = dir.path().join("fleet/projects.toml");
    std::fs::write(
        &projects,
        "[projects.reli]\nmigrations = \"reli\"\n[projects.reli.login]\nconnection_limit = 7\n\
         [projects.reli.platform]\nauth = true\n",
    )
    .unwrap();
    let config = load(&dir.path().join("cotenant.toml")).unwrap();
    assert_eq!(config.projects.file(), Some(projects.as_path()));
    let reli = config.projects.get(&project("reli")).unwrap();
    assert_eq!(reli.settings.login.connection_limit, 7);
    assert_eq!(
        reli.migrations,
        Some(MigrationSource::Dir(dir.path().join("fleet/reli"))),
        "relative to the projects file"
    );
    assert!(config.platform.access_of(&project("reli")).auth);

    // An error in it names it, not cotenant.toml.
    std::fs::write(&projects, "[projects.reli.login]\nconection_limit = 7\n").unwrap();
    let error = load(&dir.path().join("cotenant.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("projects.toml") && error.contains("projects.reli.login.conection_limit"),
        "{error}"
    );
    std::fs::remove_file(&projects).unwrap();
    let error = load(&dir.path().join("cotenant.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("cannot read") && error.contains("projects.toml"),
        "{error}"
    );
}

#[test]
fn bad_declarations_name_the_file_the_table_and_the_key() {
    let cases: &[(&str, &[&str])] = &[
        // Unknown key.
        (
            "[projects.reli]\nconnection_limit = 5\n",
            &["projects.reli.connection_limit", "unknown key"],
        ),
        (
            "[projects.reli.login]\nstatment_timeout = \"5s\"\n",
            &["projects.reli.login.statment_timeout", "unknown key"],
        ),
        // Wrong type.
        (
            "[projects.reli.login]\nconnection_limit = \"many\"\n",
            &["projects.reli.login.connection_limit", "string"],
        ),
        ("[projects.reli]\nlogin = 5\n", &["projects.reli.login"]),
        // Out of range.
        (
            "[projects.reli.login]\nconnection_limit = 0\n",
            &["projects.reli.login.connection_limit", "is 0", "1 to 10000"],
        ),
        (
            "[projects.reli.migrator]\nconnection_limit = 100000\n",
            &["projects.reli.migrator.connection_limit", "is 100000"],
        ),
        (
            "[projects.reli.login]\nconnection_limit = -1\n",
            &["projects.reli.login.connection_limit", "is -1"],
        ),
        (
            "[projects.reli.login]\nstatement_timeout = \"30 days\"\n",
            &["projects.reli.login.statement_timeout", "at most"],
        ),
        (
            "[projects.reli.login]\nstatement_timeout = \"1500us\"\n",
            &[
                "projects.reli.login.statement_timeout",
                "whole milliseconds",
            ],
        ),
        (
            "[projects.reli.migrator]\nidle_in_transaction_timeout = \"soon\"\n",
            &[
                "projects.reli.migrator.idle_in_transaction_timeout",
                "\"off\"",
            ],
        ),
        // Migrations from two places, or an unknown template.
        (
            "[projects.reli]\nmigrations = \"m\"\ntemplate = \"org_app\"\n",
            &["projects.reli.template", "not both"],
        ),
        (
            "[projects.reli]\ntemplate = \"crm\"\n",
            &[
                "projects.reli.template",
                "unknown template `crm`",
                "org_app",
            ],
        ),
        // Names.
        (
            "[projects.select]\n",
            &["projects.select", "reserved SQL key word"],
        ),
        (
            "[projects.Reli]\n",
            &["projects.Reli", "lowercase", "[projects.reli]"],
        ),
        (
            "[projects.reli]\n[projects.Reli]\n",
            &["projects.", "same project once lower-cased"],
        ),
        ("[projects.re-li]\n", &["projects.re-li", "e.g. `re_li`"]),
    ];
    for (declaration, expected) in cases {
        let (error, dir) =
            load_error(&[("cotenant.toml", &format!("{ENVIRONMENTS}{declaration}"))]);
        let file = dir.path().join("cotenant.toml");
        assert!(
            error.contains(&file.display().to_string()),
            "`{declaration}`: the error names the file: {error}"
        );
        for part in *expected {
            assert!(
                error.contains(part),
                "`{declaration}`: expected `{part}` in: {error}"
            );
        }
    }
}

/// The list of reserved key words the names check is complete: every key word the server
/// itself reserves (`R`, and `T`: reserved, can be function or type) is refused.
#[tokio::test]
async fn every_key_word_the_server_reserves_is_refused_as_a_project_name() {
    let pair = Pair::shared();
    let client = admin(&pair.staging).await;
    let rows = client
        .query(
            "SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T') ORDER BY word",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() > 80, "{} reserved key words", rows.len());
    for row in rows {
        let word: String = row.get(0);
        let error = word.parse::<ProjectName>().unwrap_err();
        assert!(
            error.to_string().contains("reserved SQL key word"),
            "`{word}`: {error}"
        );
    }
    // Unreserved and column-name key words are ordinary names.
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_get_keywords() WHERE catcode = 'U' AND word = 'name'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    project("name");
}
