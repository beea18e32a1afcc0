//! `usage` (`cotenant status --usage`) against real servers: schema sizes, connections against
//! limits, the longest-running query and, where pg_stat_statements is installed (the Supabase
//! flavour), top statements attributed to the project. PostgreSQL 15 and 17, both flavours.

mod common;

use std::time::Duration;

use common::*;
use cotenant::provision::ProjectSettings;
use cotenant::secret::Login;
use cotenant_testkit::Flavor;

#[tokio::test]
async fn each_projects_usage_is_its_own() {
    let cotenant = deployment().await;
    let (small, big) = (
        provisioned(&cotenant, "use_small", &ProjectSettings::default()).await,
        provisioned(&cotenant, "use_big", &ProjectSettings::default()).await,
    );
    let staging = cluster("staging");
    let big_login = login(&cotenant, "staging", &big, Login::App).await;
    big_login
        .batch_execute("INSERT INTO t (v) SELECT repeat('x', 200) FROM generate_series(1, 5000)")
        .await
        .unwrap();
    for _ in 0..3 {
        big_login
            .batch_execute("SELECT count(*) AS use_big_marker FROM t")
            .await
            .unwrap();
    }
    // One session idle in a transaction, one running a query: both the login's.
    let idle = login(&cotenant, "staging", &big, Login::App).await;
    idle.batch_execute("BEGIN; SELECT 1 AS use_big_idle")
        .await
        .unwrap();
    let sleeper = login(&cotenant, "staging", &big, Login::App).await;
    let sleeping = tokio::spawn(async move { sleeper.batch_execute("SELECT pg_sleep(3)").await });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let env = cotenant.environment("staging").unwrap();
    let report = env.usage(&[small.clone(), big.clone()]).await.unwrap();
    println!("{report}");
    assert_eq!(
        report
            .projects
            .iter()
            .map(|p| p.project.as_str())
            .collect::<Vec<_>>(),
        ["use_big", "use_small"]
    );
    let (b, s) = (&report.projects[0], &report.projects[1]);
    assert!(
        b.schema_bytes > s.schema_bytes && s.schema_bytes > 0,
        "{report}"
    );
    // big_login, idle and the sleeper: three sessions against the login's limit of 20.
    assert_eq!((b.app.connections, b.app.limit), (3, Some(20)), "{report}");
    assert_eq!(
        (s.app.connections, s.migrator.connections),
        (0, 0),
        "{report}"
    );
    assert_eq!(b.migrator.limit, Some(5));

    let sees_all = superuser(staging)
        .await
        .query_one(
            "SELECT pg_has_role($1, 'pg_read_all_stats', 'USAGE')",
            &[&staging.admin_user()],
        )
        .await
        .unwrap()
        .get::<_, bool>(0);
    if sees_all {
        let longest = b.longest.as_ref().unwrap_or_else(|| panic!("{report}"));
        assert_eq!(longest.role, "use_big_login");
        assert_eq!(longest.state, "idle in transaction", "{report}");
        assert!(longest.query.contains("use_big_idle"), "{report}");
        assert_eq!(b.hidden_sessions, 0);
    } else {
        eprintln!("the admin lacks pg_read_all_stats here: other users' sessions are hidden");
        assert_eq!(b.hidden_sessions, 3, "{report}");
        assert!(b.longest.is_none(), "{report}");
    }
    assert!(s.longest.is_none());

    if staging.flavor() == Flavor::Supabase {
        assert_eq!(
            report.statements, None,
            "pg_stat_statements is read: {report}"
        );
        let top = b
            .top_statements
            .iter()
            .find(|t| t.query.contains("use_big_marker"))
            .unwrap_or_else(|| panic!("the login's statement is among its top ones:\n{report}"));
        assert_eq!(
            top.role, "use_big_app",
            "a login's sessions run as its app role"
        );
        assert!(top.calls >= 3, "{report}");
        assert!(
            s.top_statements
                .iter()
                .all(|t| !t.query.contains("use_big")),
            "{report}"
        );
    } else {
        assert!(
            report
                .statements
                .as_deref()
                .is_some_and(|why| why.contains("not installed")),
            "{report}"
        );
    }
    sleeping.await.unwrap().unwrap();
    idle.batch_execute("COMMIT").await.unwrap();
}
