//! What PostgreSQL cannot separate inside one database, pinned down so a change is noticed:
//! catalog names, LISTEN/NOTIFY channels, advisory-lock keys and large-object metadata are
//! shared by every project (docs/design.md, "Known shared surfaces"). Large objects' contents
//! are not.

mod common;

use std::future::poll_fn;

use common::*;
use cotenant::provision::ProjectSettings;
use cotenant::secret::Login;
use secrecy::ExposeSecret;
use tokio_postgres::{AsyncMessage, NoTls};

#[tokio::test]
async fn shared_surfaces_are_what_the_docs_say() {
    let cotenant = deployment().await;
    let (a, b) = (project("surf_a"), project("surf_b"));
    for p in [&a, &b] {
        cotenant
            .provision(p, &ProjectSettings::default())
            .await
            .unwrap();
    }
    let migrator = login(&cotenant, "staging", &a, Login::Migrator).await;
    migrator
        .batch_execute("CREATE TABLE secret_plans (id int)")
        .await
        .unwrap();
    let b_app = login(&cotenant, "staging", &b, Login::App).await;

    // Catalog names: B sees that A's schema and table exist, though it cannot read them.
    let seen: i64 = b_app
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'surf_a' AND c.relname = 'secret_plans'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 1, "catalog names are visible to every project");
    assert_denied(&b_app, "B", "SELECT * FROM surf_a.secret_plans").await;

    // LISTEN/NOTIFY: channels are instance-wide; B can notify A's listeners.
    let env = cotenant.environment("staging").unwrap();
    let secret = env.login_secret(&a, Login::App).await.unwrap();
    let mut config = tokio_postgres::Config::new();
    config
        .host(&secret.host)
        .port(secret.port)
        .dbname(&secret.dbname)
        .user(&secret.username)
        .password(secret.password.expose_secret());
    let (a_listener, mut connection) = config.connect(NoTls).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) = poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = message {
                let _ = tx.send((n.channel().to_owned(), n.payload().to_owned()));
            }
        }
    });
    a_listener
        .batch_execute("LISTEN surf_a_events")
        .await
        .unwrap();
    b_app
        .batch_execute("NOTIFY surf_a_events, 'from b'")
        .await
        .unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .expect("A's listener hears B's notification")
        .unwrap();
    assert_eq!(got, ("surf_a_events".to_owned(), "from b".to_owned()));

    // Advisory locks: one key space for the whole database.
    let a_app = login(&cotenant, "staging", &a, Login::App).await;
    a_app
        .batch_execute("SELECT pg_advisory_lock(4242)")
        .await
        .unwrap();
    let got: bool = b_app
        .query_one("SELECT pg_try_advisory_lock(4242)", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!got, "B is blocked by A's advisory lock key");

    // Large objects: B can create one and A sees that it exists, but not its contents.
    let oid: u32 = b_app
        .query_one("SELECT lo_from_bytea(0, 'b private')", &[])
        .await
        .unwrap()
        .get(0);
    let exists: i64 = a_app
        .query_one(
            "SELECT count(*) FROM pg_largeobject_metadata WHERE oid = $1",
            &[&oid],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        exists, 1,
        "large-object metadata is visible to every project"
    );
    assert_denied(&a_app, "A", &format!("SELECT lo_get({oid})")).await;
}
