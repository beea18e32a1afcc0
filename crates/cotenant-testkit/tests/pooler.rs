//! PgBouncer in transaction mode in front of a server of each flavour: clients log in through it
//! with the passwords the server has (SCRAM pass-through, looked up by `auth_query`), a changed
//! password is read from the server, and nothing of it is left once it is dropped.

use std::path::Path;

use cotenant_testkit::{Cluster, Flavor, Pooler, TestkitError, test_version};
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};

/// A pooler in front of `cluster`, or `None` — saying so — where PgBouncer is not installed.
fn pooler(cluster: &Cluster) -> Option<Pooler> {
    match Pooler::start(cluster) {
        Ok(pooler) => Some(pooler),
        Err(error @ TestkitError::PoolerNotFound { .. }) => {
            eprintln!("skipped: this test needs PgBouncer: {error}");
            None
        }
        Err(error) => panic!("starting PgBouncer: {error}"),
    }
}

async fn connect(config: Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// The first column of every row `sql` returns, over the simple protocol.
async fn column(client: &Client, sql: &str) -> Vec<String> {
    nth_column(client, sql, 0).await
}

/// Column `n` of every row `sql` returns, over the simple protocol.
async fn nth_column(client: &Client, sql: &str, n: usize) -> Vec<String> {
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row.get(n).unwrap_or_default().to_owned()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn clients_log_in_through_the_pooler_with_the_servers_passwords_on_both_flavours() {
    for flavor in Flavor::ALL {
        let cluster = Cluster::start_flavor(test_version(), flavor).unwrap();
        let Some(pooler) = pooler(&cluster) else {
            return;
        };
        let dir = pooler.dir().to_owned();
        let pid = pooler.pid().unwrap();

        // The admin, through the pooler, is the admin on the server.
        let admin = connect(pooler.admin_config()).await.unwrap();
        assert_eq!(
            column(&admin, "SELECT current_user").await,
            ["postgres"],
            "{flavor}"
        );

        // A login created after the pooler started, with a password only the server knows.
        let su = connect(cluster.superuser_config()).await.unwrap();
        su.batch_execute("CREATE ROLE pooled_login LOGIN PASSWORD 'first-Password1'")
            .await
            .unwrap();
        let mut as_login = pooler.admin_config();
        as_login.user("pooled_login").password("first-Password1");
        let client = connect(as_login.clone()).await.unwrap();
        assert_eq!(
            column(&client, "SELECT session_user").await,
            ["pooled_login"]
        );

        // Changed on the server: the next client must use the new password, the old one is refused.
        su.batch_execute("ALTER ROLE pooled_login PASSWORD 'second-Password2'")
            .await
            .unwrap();
        let refused = connect(as_login.clone()).await.unwrap_err();
        // PgBouncer refuses by itself, with its own code and message (not the server's 28P01).
        let refused = refused.as_db_error().expect("refused by PgBouncer");
        assert_eq!(
            (refused.code().code(), refused.message()),
            ("08P01", "SASL authentication failed"),
            "{flavor}: {refused:?}"
        );
        as_login.password("second-Password2");
        let again = connect(as_login).await.unwrap();
        assert_eq!(
            column(&again, "SELECT session_user").await,
            ["pooled_login"]
        );
        // The client that logged in before keeps its session.
        assert_eq!(column(&client, "SELECT 1").await, ["1"]);

        // The admin console sees one pool per user (columns: database, user, ...).
        let console = connect(pooler.console_config()).await.unwrap();
        let users = nth_column(&console, "SHOW POOLS", 1).await;
        assert!(
            users.iter().any(|u| u == "pooled_login"),
            "{flavor}: {users:?}"
        );

        drop((admin, client, again, console));
        drop(pooler);
        assert!(!dir.exists(), "{flavor}: the pooler's directory is gone");
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{flavor}: pgbouncer is gone and reaped"
        );
    }
}

#[tokio::test]
async fn a_clusters_pooler_is_started_once() {
    let cluster = Cluster::start(test_version()).unwrap();
    let first = match cluster.pooler() {
        Ok(pooler) => pooler,
        Err(error @ TestkitError::PoolerNotFound { .. }) => {
            eprintln!("skipped: this test needs PgBouncer: {error}");
            return;
        }
        Err(error) => panic!("{error}"),
    };
    let second = cluster.pooler().unwrap();
    assert_eq!(first.port(), second.port());
    assert_eq!(first.pool_size(), Pooler::DEFAULT_POOL_SIZE);
    let dir = first.dir().to_owned();
    drop(cluster);
    assert!(!dir.exists(), "dropped with its cluster");
}
