//! Secret sources against real stores: moto's Secrets Manager (no mocks) and a local file.
//!
//! Every test uses secret ids of its own, so the tests share one moto server and run in parallel.
#![cfg(feature = "aws")]

use std::time::Duration;

use cotenant::secret::{
    AwsSecretsManager, CachedSource, DbSecret, FileSecrets, SecretError, SecretSource, Stage,
    VersionId,
};
use cotenant_testkit::MotoServer;
use secrecy::ExposeSecret;

/// A password that must never show up in an error or a `Debug`.
const PASSWORD: &str = "Tr0ub4dor&3-never-printed";

fn unique_id(test: &str) -> String {
    format!("cotenant-test/{test}/{:016x}", rand::random::<u64>())
}

/// A secret as another tool could have written it: extra keys included.
fn sample(password: &str) -> DbSecret {
    let mut secret = DbSecret::new(
        "db.staging.example",
        6543,
        "reli_login",
        password,
        "postgres",
    );
    secret
        .extra
        .insert("dbInstanceIdentifier".into(), "shared-staging".into());
    secret.extra.insert(
        "cotenant".into(),
        serde_json::json!({"project": "reli", "login": "app"}),
    );
    secret
}

fn moto() -> AwsSecretsManager {
    MotoServer::shared().secrets_manager()
}

/// Asserts that neither the error's message nor its `Debug` contains `password`.
fn assert_hides(error: &SecretError, password: &str) {
    let shown = format!("{error}\n{error:?}");
    assert!(
        !shown.contains(password),
        "the error shows the password: {shown}"
    );
}

async fn password(store: &dyn SecretSource, id: &str, stage: Stage) -> String {
    let secret = store.get(id, stage).await.unwrap_or_else(|e| panic!("{e}"));
    secret.password.expose_secret().to_owned()
}

/// The stage scenario Secrets Manager documents, run against any store.
async fn stages_move_like_secrets_manager(store: &dyn SecretSource, id: &str) {
    // put Current on a missing secret creates it.
    store.put(id, &sample("one"), Stage::Current).await.unwrap();
    store.put(id, &sample("two"), Stage::Current).await.unwrap();
    assert_eq!(password(store, id, Stage::Current).await, "two");
    assert_eq!(password(store, id, Stage::Previous).await, "one");
    let err = store.get(id, Stage::Pending).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SecretError::StageNotFound {
                stage: Stage::Pending,
                ..
            }
        ),
        "{err}"
    );

    // Rotation: a pending version leaves the current one alone...
    let pending = store
        .put(id, &sample("three"), Stage::Pending)
        .await
        .unwrap();
    assert_eq!(password(store, id, Stage::Current).await, "two");
    assert_eq!(password(store, id, Stage::Pending).await, "three");
    assert_eq!(password(store, id, Stage::Previous).await, "one");

    // ...until it is promoted: it becomes current, the old current previous, and nothing is pending.
    store.promote(id, &pending).await.unwrap();
    assert_eq!(password(store, id, Stage::Current).await, "three");
    assert_eq!(password(store, id, Stage::Previous).await, "two");
    let err = store.get(id, Stage::Pending).await.unwrap_err();
    assert!(matches!(err, SecretError::StageNotFound { .. }), "{err}");

    // Promoting the current version again changes nothing.
    store.promote(id, &pending).await.unwrap();
    assert_eq!(password(store, id, Stage::Current).await, "three");
    assert_eq!(password(store, id, Stage::Previous).await, "two");

    // AWSPREVIOUS is never written directly; unknown versions are named.
    let err = store
        .put(id, &sample("x"), Stage::Previous)
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::UnsupportedStage { .. }), "{err}");
    let unknown = VersionId::new("00000000-0000-4000-8000-000000000000");
    let err = store.promote(id, &unknown).await.unwrap_err();
    assert!(matches!(err, SecretError::VersionNotFound { .. }), "{err}");
    assert!(err.to_string().contains(unknown.as_str()), "{err}");

    // A pending put needs an existing secret.
    let missing = format!("{id}-missing");
    let err = store
        .put(&missing, &sample("x"), Stage::Pending)
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::NotFound { .. }), "{err}");

    assert!(store.delete(id).await.unwrap());
    assert!(!store.delete(id).await.unwrap());
    let err = store.get_current(id).await.unwrap_err();
    assert!(matches!(err, SecretError::NotFound { .. }), "{err}");
}

/// A missing secret, a create over an existing one: typed errors naming the id.
async fn typed_errors_name_the_secret(store: &dyn SecretSource, id: &str) {
    let err = store.get_current(id).await.unwrap_err();
    assert!(
        matches!(&err, SecretError::NotFound { id: named, .. } if named == id),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&format!("secret `{id}` not found")),
        "{err}"
    );
    assert_eq!(err.secret_id(), Some(id));

    store.create(id, &sample(PASSWORD)).await.unwrap();
    let err = store.create(id, &sample("other")).await.unwrap_err();
    assert!(
        matches!(&err, SecretError::AlreadyExists { id: named, .. } if named == id),
        "{err}"
    );
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_hides(&err, PASSWORD);
    // The first value is still there.
    assert_eq!(password(store, id, Stage::Current).await, PASSWORD);
    store.delete(id).await.unwrap();
}

/// Many creates of one id at once: exactly one wins, the others see AlreadyExists.
async fn concurrent_creates_never_overwrite(store: &dyn SecretSource, id: &str) {
    let attempts = (0..8).map(|i| async move {
        let result = store.create(id, &sample(&format!("racer-{i}"))).await;
        (i, result)
    });
    let results = futures_util::future::join_all(attempts).await;
    let winners: Vec<_> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (_, result) in &results {
        if let Err(err) = result {
            assert!(matches!(err, SecretError::AlreadyExists { .. }), "{err}");
        }
    }
    assert_eq!(
        password(store, id, Stage::Current).await,
        format!("racer-{}", winners[0])
    );
    store.delete(id).await.unwrap();
}

#[tokio::test]
async fn aws_secret_reads_back_with_the_same_fields() {
    let store = moto();
    let id = unique_id("round-trip");
    let written = sample(PASSWORD);
    store.create(&id, &written).await.unwrap();
    let read = store.get_current(&id).await.unwrap();
    assert_eq!(read, written);
    assert_eq!(read.extra["cotenant"]["project"], "reli");
    assert_eq!(read.password.expose_secret(), PASSWORD);
    // Debug never shows it, even for a secret that came from the store.
    let shown = format!("{read:?} {read:#?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
    store.delete(&id).await.unwrap();
}

#[tokio::test]
async fn aws_stages_move_like_secrets_manager() {
    stages_move_like_secrets_manager(&moto(), &unique_id("stages")).await;
}

#[tokio::test]
async fn file_stages_move_like_secrets_manager() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileSecrets::new(dir.path().join("secrets.json"));
    stages_move_like_secrets_manager(&store, "cotenant/staging/reli/app").await;
}

#[tokio::test]
async fn aws_errors_are_typed_and_name_the_secret() {
    typed_errors_name_the_secret(&moto(), &unique_id("typed")).await;
}

#[tokio::test]
async fn file_errors_are_typed_and_name_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileSecrets::new(dir.path().join("secrets.json"));
    typed_errors_name_the_secret(&store, "cotenant/prod/reli/app").await;
}

#[tokio::test]
async fn aws_concurrent_creates_never_overwrite() {
    concurrent_creates_never_overwrite(&moto(), &unique_id("race")).await;
}

#[tokio::test]
async fn file_concurrent_creates_never_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    // Two handles on one file: the lock is per path, not per handle.
    let path = dir.path().join("secrets.json");
    let store = CachedSource::new(FileSecrets::new(&path), Duration::ZERO);
    concurrent_creates_never_overwrite(&store, "cotenant/prod/reli/app").await;
    let other = FileSecrets::new(&path);
    concurrent_creates_never_overwrite(&other, "cotenant/prod/reli/migrator").await;
}

#[tokio::test]
async fn cache_serves_hits_without_asking_the_store() {
    let id = unique_id("cache");
    // Writes behind the cache's back go through a client of their own.
    let direct = moto();
    direct.create(&id, &sample("first")).await.unwrap();

    let cached = CachedSource::new(moto(), Duration::from_secs(600));
    assert_eq!(password(&cached, &id, Stage::Current).await, "first");

    // The secret changes in Secrets Manager; the cache does not ask, so it still has the old one.
    direct
        .put(&id, &sample("second"), Stage::Current)
        .await
        .unwrap();
    assert_eq!(password(&direct, &id, Stage::Current).await, "second");
    assert_eq!(password(&cached, &id, Stage::Current).await, "first");

    // After an authentication failure the caller invalidates, and the next read asks again.
    cached.invalidate(&id);
    assert_eq!(password(&cached, &id, Stage::Current).await, "second");

    // A write through the cache invalidates too.
    cached
        .put(&id, &sample("third"), Stage::Current)
        .await
        .unwrap();
    assert_eq!(password(&cached, &id, Stage::Current).await, "third");

    // Through `dyn SecretSource` (what the config hands out) invalidate reaches the cache as well.
    let shared: std::sync::Arc<dyn SecretSource> = std::sync::Arc::new(cached);
    direct
        .put(&id, &sample("fourth"), Stage::Current)
        .await
        .unwrap();
    assert_eq!(password(&*shared, &id, Stage::Current).await, "third");
    shared.invalidate(&id);
    assert_eq!(password(&*shared, &id, Stage::Current).await, "fourth");
    direct.delete(&id).await.unwrap();
}

#[tokio::test]
async fn cache_entries_expire_after_the_ttl() {
    let id = unique_id("ttl");
    let direct = moto();
    direct.create(&id, &sample("first")).await.unwrap();
    let ttl = Duration::from_millis(400);
    let cached = CachedSource::new(moto(), ttl);
    assert_eq!(password(&cached, &id, Stage::Current).await, "first");
    direct
        .put(&id, &sample("second"), Stage::Current)
        .await
        .unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_eq!(password(&cached, &id, Stage::Current).await, "second");
    direct.delete(&id).await.unwrap();
}

/// Writes `raw` as the secret string of a new secret, straight through the SDK.
async fn create_raw(store: &AwsSecretsManager, id: &str, raw: &str) {
    store
        .client()
        .create_secret()
        .name(id)
        .secret_string(raw)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn secret_missing_a_key_is_named_without_the_password() {
    let store = moto();
    let id = unique_id("missing-key");
    let raw = serde_json::json!({
        "engine": "postgres", "host": "h", "port": 5432,
        "username": "reli_login", "password": PASSWORD
    });
    create_raw(&store, &id, &raw.to_string()).await;
    let err = store.get_current(&id).await.unwrap_err();
    assert!(
        matches!(&err, SecretError::MissingKey { key: "dbname", id: named } if *named == id),
        "{err}"
    );
    assert!(err.to_string().contains("lacks key `dbname`"), "{err}");
    assert_hides(&err, PASSWORD);
    store.delete(&id).await.unwrap();
}

#[tokio::test]
async fn secret_with_a_wrong_type_names_the_key_without_the_value() {
    let store = moto();
    let id = unique_id("wrong-type");
    let raw = serde_json::json!({
        "engine": "postgres", "host": "h", "port": 5432,
        "username": ["reli_login", PASSWORD], "password": PASSWORD, "dbname": "postgres"
    });
    create_raw(&store, &id, &raw.to_string()).await;
    let err = store.get_current(&id).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SecretError::InvalidKey {
                key: "username",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("key `username` must be a non-empty string, found an array"),
        "{err}"
    );
    assert_hides(&err, PASSWORD);
    store.delete(&id).await.unwrap();
}

#[tokio::test]
async fn secret_that_is_not_json_is_refused_without_echoing_it() {
    let store = moto();
    for (n, raw) in [
        format!("host=db user=reli_login password={PASSWORD}"),
        format!("{{\"password\": \"{PASSWORD}\", oops}}"),
        format!("{{\"password\": \"{PASSWORD}\\q\"}}"),
    ]
    .iter()
    .enumerate()
    {
        let id = unique_id(&format!("not-json-{n}"));
        create_raw(&store, &id, raw).await;
        let err = store.get_current(&id).await.unwrap_err();
        assert!(matches!(&err, SecretError::Malformed { .. }), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("secret `{id}` is not a database secret")),
            "{err}"
        );
        assert!(err.to_string().contains("line 1, column"), "{err}");
        assert_hides(&err, PASSWORD);
        assert_hides(&err, "oops");
        store.delete(&id).await.unwrap();
    }
}

#[tokio::test]
async fn port_may_be_a_numeric_string() {
    let store = moto();
    let id = unique_id("port-string");
    let raw = serde_json::json!({
        "engine": "postgres", "host": "h", "port": "6543",
        "username": "u", "password": PASSWORD, "dbname": "d"
    });
    create_raw(&store, &id, &raw.to_string()).await;
    assert_eq!(store.get_current(&id).await.unwrap().port, 6543);
    store.delete(&id).await.unwrap();
}

#[tokio::test]
async fn store_errors_explain_what_the_service_said() {
    // A secret scheduled for deletion (with a recovery window) refuses reads and writes: the
    // message says why, not just "service error".
    let store = moto();
    let id = unique_id("scheduled");
    store.create(&id, &sample(PASSWORD)).await.unwrap();
    store
        .client()
        .delete_secret()
        .secret_id(&id)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    let err = store.get_current(&id).await.unwrap_err();
    assert!(matches!(err, SecretError::Store { .. }), "{err}");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "read secret `{id}` in AWS Secrets Manager at http://127.0.0.1:"
        )),
        "{shown}"
    );
    assert!(shown.contains("InvalidRequestException"), "{shown}");
    assert!(shown.contains("marked"), "{shown}"); // "marked deleted" (moto), "marked for deletion" (AWS)
    assert_hides(&err, PASSWORD);
    assert!(store.delete(&id).await.unwrap());
}

#[tokio::test]
async fn file_store_is_private_and_survives_reopening() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("secrets.json");
    let store = FileSecrets::new(&path);
    store.create("a/b", &sample(PASSWORD)).await.unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["secrets.json"]);
    let reopened = FileSecrets::new(&path);
    assert_eq!(reopened.get_current("a/b").await.unwrap(), sample(PASSWORD));
}

#[tokio::test]
async fn file_store_errors_never_quote_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.json");
    std::fs::write(
        &path,
        format!("{{\"format\": 1, \"secrets\": {{\"a\": {PASSWORD}}}}}"),
    )
    .unwrap();
    let err = FileSecrets::new(&path).get_current("a").await.unwrap_err();
    assert!(matches!(err, SecretError::CorruptFile { .. }), "{err}");
    assert!(err.to_string().contains("line 1, column"), "{err}");
    assert_hides(&err, PASSWORD);

    // A hand-written value that is a JSON string holding the secret, as Secrets Manager stores it.
    let value = serde_json::to_string(&sample(PASSWORD).to_json().expose_secret()).unwrap();
    std::fs::write(
        &path,
        format!(
            r#"{{"format": 1, "secrets": {{"a": {{"versions": [{{"id": "v1", "stages": ["AWSCURRENT"], "value": {value}}}]}}}}}}"#
        ),
    )
    .unwrap();
    assert_eq!(
        FileSecrets::new(&path).get_current("a").await.unwrap(),
        sample(PASSWORD)
    );
}

/// Runs the test `from_env_child` in a child process with `env`: the environment is process-wide,
/// and tests run in parallel threads.
fn run_from_env_child(mode: &str, env: &[(&str, &str)]) {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "from_env_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("COTENANT_TEST_FROM_ENV_CHILD", mode)
        // No profile and no instance metadata: nothing but what `env` says.
        .env("AWS_CONFIG_FILE", "/nonexistent/cotenant-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/cotenant-test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for var in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    let shown = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.contains(&format!("from_env child {mode}: ok")),
        "{shown}"
    );
}

#[test]
fn from_env_uses_the_default_chain_and_endpoint() {
    let moto = MotoServer::shared();
    run_from_env_child(
        "endpoint",
        &[
            ("AWS_ENDPOINT_URL", moto.endpoint_url()),
            ("AWS_ACCESS_KEY_ID", "cotenant-test"),
            ("AWS_SECRET_ACCESS_KEY", "cotenant-test"),
            ("AWS_REGION", "eu-north-1"),
        ],
    );
}

#[test]
fn the_configured_aws_store_opens_with_region_and_endpoint_from_the_config() {
    let moto = MotoServer::shared();
    run_from_env_child(
        "config",
        &[
            ("COTENANT_TEST_MOTO_ENDPOINT", moto.endpoint_url()),
            ("AWS_ACCESS_KEY_ID", "cotenant-test"),
            ("AWS_SECRET_ACCESS_KEY", "cotenant-test"),
        ],
    );
}

#[test]
fn from_env_without_a_region_says_what_to_set() {
    run_from_env_child("no-region", &[]);
}

/// The child half of the tests above: does nothing unless `run_from_env_child` started it.
#[tokio::test]
async fn from_env_child() {
    let Some(mode) = std::env::var_os("COTENANT_TEST_FROM_ENV_CHILD") else {
        return;
    };
    match mode.to_str() {
        Some("endpoint") => {
            let store = AwsSecretsManager::from_env().await.unwrap();
            assert!(format!("{store:?}").contains("eu-north-1"), "{store:?}");
            let id = unique_id("from-env");
            store.create(&id, &sample(PASSWORD)).await.unwrap();
            assert_eq!(store.get_current(&id).await.unwrap(), sample(PASSWORD));
            store.delete(&id).await.unwrap();
        }
        Some("config") => {
            let endpoint = std::env::var("COTENANT_TEST_MOTO_ENDPOINT").unwrap();
            let config = cotenant::config::Config::from_toml_str(&format!(
                r#"
                [secrets]
                store = "aws"
                region = "eu-west-1"
                endpoint_url = "{endpoint}"
                [environments.prod]
                host = "db.example"
                admin_secret = "cotenant/prod/admin"
                "#
            ))
            .unwrap();
            let store = config.secrets.open().await.unwrap();
            let shown = format!("{store:?}");
            assert!(
                shown.contains("CachedSource") && shown.contains(&endpoint),
                "{shown}"
            );
            let id = unique_id("from-config");
            store.create(&id, &sample(PASSWORD)).await.unwrap();
            assert_eq!(store.get_current(&id).await.unwrap(), sample(PASSWORD));
            store.delete(&id).await.unwrap();
        }
        Some("no-region") => {
            let err = AwsSecretsManager::from_env().await.unwrap_err();
            assert!(matches!(err, SecretError::Unavailable { .. }), "{err}");
            assert!(err.to_string().contains("set AWS_REGION"), "{err}");
        }
        other => panic!("unknown mode {other:?}"),
    }
    println!("from_env child {}: ok", mode.to_string_lossy());
}
