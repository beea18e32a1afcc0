//! The plain flavour is a self-hosted PostgreSQL: a bootstrap superuser and the non-superuser
//! admin, nothing of Supabase. One server of this flavour for the whole file.

use std::sync::OnceLock;

use cotenant_testkit::{Cluster, Flavor, test_version};
use tokio_postgres::{Client, Config, NoTls};

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        Cluster::start_flavor(test_version(), Flavor::Plain).expect("start a plain server")
    })
}

async fn connect(config: Config) -> Client {
    let (client, connection) = config.connect(NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn the_admin_is_a_createrole_database_owner_and_nothing_more() {
    let cluster = cluster();
    assert_eq!(cluster.flavor(), Flavor::Plain);
    let admin = connect(cluster.admin_config()).await;
    let row = admin
        .query_one(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,
                    pg_get_userbyid((SELECT datdba FROM pg_database WHERE datname = current_database()))::text,
                    (SELECT count(*) FROM pg_auth_members WHERE member = r.oid)
             FROM pg_roles r WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap();
    assert!(!row.get::<_, bool>(0), "not a superuser");
    assert!(row.get::<_, bool>(1), "CREATEROLE");
    for column in 2..5 {
        assert!(!row.get::<_, bool>(column), "column {column}");
    }
    assert_eq!(row.get::<_, String>(5), "postgres");
    assert_eq!(row.get::<_, i64>(6), 0, "a member of nothing");

    let superuser = connect(cluster.superuser_config()).await;
    let name: String = superuser
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "bootstrap");
}

#[tokio::test]
async fn nothing_of_supabase_is_there() {
    let cluster = cluster();
    let admin = connect(cluster.admin_config()).await;
    let row = admin
        .query_one(
            "SELECT (SELECT array_agg(rolname::text ORDER BY rolname) FROM pg_roles
                     WHERE rolname !~ '^pg_'),
                    (SELECT array_agg(nspname::text ORDER BY nspname) FROM pg_namespace
                     WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'),
                    (SELECT count(*) FROM pg_default_acl),
                    (SELECT count(*) FROM pg_publication),
                    (SELECT count(*) FROM pg_event_trigger),
                    (SELECT array_agg(extname::text) FROM pg_extension)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Vec<String>>(0), ["bootstrap", "postgres"]);
    assert_eq!(row.get::<_, Vec<String>>(1), ["public"]);
    assert_eq!(row.get::<_, i64>(2), 0);
    assert_eq!(row.get::<_, i64>(3), 0);
    assert_eq!(row.get::<_, i64>(4), 0);
    assert_eq!(row.get::<_, Vec<String>>(5), ["plpgsql"]);
    assert!(Flavor::Plain.logins().is_empty());
    assert!(cluster.login_config(Flavor::AUTH_ADMIN).is_none());
    assert!(cluster.login_config(Flavor::AUTHENTICATOR).is_none());
}
