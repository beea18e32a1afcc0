//! The testkit against real servers, for the version in `COTENANT_TEST_PG` (15 by default).
//!
//! Run `scripts/setup.sh` first for PostgreSQL 17.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cotenant_testkit::{Backend, Cluster, Flavor, Pair, test_flavor, test_version};
use secrecy::ExposeSecret;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

async fn connect(config: Config) -> Client {
    let (client, connection) = config.connect(NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// The postmaster's pid and the server's directory, for a server this process started.
fn traces(cluster: &Cluster) -> Option<(u32, PathBuf)> {
    if cluster.backend() != Backend::Local {
        eprintln!("skipped: only local servers leave processes and directories to check");
        return None;
    }
    Some((cluster.pid()?, cluster.dir()?.to_owned()))
}

/// Whether the process is gone: no /proc entry at all (`allow_zombie`: or only a zombie, which is
/// what an orphan is until someone reaps it).
fn process_gone(pid: u32, allow_zombie: bool) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => allow_zombie && stat.split_whitespace().nth(2) == Some("Z"),
    }
}

#[tokio::test]
async fn a_started_pair_answers_on_both_clusters_as_the_non_superuser_admin() {
    let started = Instant::now();
    let pair = Pair::start(test_version()).expect("start a pair");
    println!(
        "PostgreSQL {} pair started in {:?} ({:?} backend)",
        test_version(),
        started.elapsed(),
        pair.prod.backend()
    );

    for (environment, cluster) in pair.environments() {
        assert_eq!(cluster.admin_user(), "postgres");
        assert_eq!(cluster.database(), "postgres");
        let admin = connect(cluster.admin_config()).await;
        let row = admin
            .query_one(
                "SELECT current_user::text, r.rolsuper, r.rolcreaterole,
                        pg_get_userbyid(d.datdba)::text,
                        current_setting('server_version_num')::int / 10000
                 FROM pg_roles r, pg_database d
                 WHERE r.rolname = current_user AND d.datname = current_database()",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "postgres", "{environment}");
        assert!(
            !row.get::<_, bool>(1),
            "{environment}: the admin must not be a superuser"
        );
        assert!(
            row.get::<_, bool>(2),
            "{environment}: the admin has CREATEROLE"
        );
        assert_eq!(
            row.get::<_, String>(3),
            "postgres",
            "{environment}: the admin owns the database"
        );
        assert_eq!(
            row.get::<_, i32>(4),
            test_version().major() as i32,
            "{environment}"
        );

        admin
            .batch_execute("CREATE ROLE testkit_probe NOLOGIN; DROP ROLE testkit_probe")
            .await
            .unwrap_or_else(|error| panic!("{environment}: the admin creates roles: {error:?}"));
    }
}

#[tokio::test]
async fn the_shared_pair_is_set_up_as_its_flavor() {
    let pair = Pair::shared();
    assert!(std::ptr::eq(pair, Pair::shared()), "one pair per process");
    assert_eq!(pair.flavor(), test_flavor());
    // A name of this test's own: other tests share the pair.
    let table = "public.testkit_flavor_defaults";

    for (environment, cluster) in pair.environments() {
        assert_eq!(cluster.flavor(), pair.flavor(), "{environment}");
        let admin = connect(cluster.admin_config()).await;
        let roles = admin
            .query(
                "SELECT rolname::text, rolcanlogin, rolinherit FROM pg_roles
                 WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator')
                 ORDER BY rolname",
                &[],
            )
            .await
            .unwrap();
        let roles: Vec<(String, bool, bool)> = roles
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect();
        let expected: Vec<(String, bool, bool)> = match pair.flavor() {
            // Hosted Supabase made the API roles INHERIT in 2023; authenticator holds nothing.
            Flavor::Supabase => vec![
                ("anon".into(), false, true),
                ("authenticated".into(), false, true),
                ("authenticator".into(), true, false),
                ("service_role".into(), false, true),
            ],
            _ => Vec::new(),
        };
        assert_eq!(roles, expected, "{environment}");

        // What the admin creates in public is granted to the API roles on Supabase, to nobody on
        // plain (PUBLIC keeps PostgreSQL's EXECUTE on functions on both).
        admin
            .batch_execute(&format!(
                "CREATE TABLE {table} (id serial PRIMARY KEY); \
                 CREATE FUNCTION public.testkit_flavor_defaults() RETURNS int LANGUAGE sql AS 'SELECT 1'"
            ))
            .await
            .unwrap();
        let granted: Vec<String> = admin
            .query(
                &format!(
                    "SELECT DISTINCT grantee::regrole::text FROM (
                         SELECT (aclexplode(relacl)).grantee FROM pg_class
                         WHERE oid IN ('{table}'::regclass, '{table}_id_seq'::regclass)
                         UNION ALL
                         SELECT (aclexplode(proacl)).grantee FROM pg_proc
                         WHERE oid = 'public.testkit_flavor_defaults()'::regprocedure
                     ) AS acl WHERE grantee <> 'postgres'::regrole AND grantee <> 0
                     ORDER BY 1"
                ),
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        admin
            .batch_execute(&format!(
                "DROP TABLE {table}; DROP FUNCTION public.testkit_flavor_defaults()"
            ))
            .await
            .unwrap();
        let expected: &[&str] = match pair.flavor() {
            Flavor::Supabase => &["anon", "authenticated", "service_role"],
            _ => &[],
        };
        assert_eq!(granted, expected, "{environment}");
    }
}

#[tokio::test]
async fn each_cluster_has_passwords_of_its_own_and_a_superuser() {
    let pair = Pair::shared();
    if pair.prod.backend() == Backend::External {
        eprintln!("skipped: external servers bring their own passwords");
        return;
    }
    assert_ne!(
        pair.prod.admin_password().expose_secret(),
        pair.staging.admin_password().expose_secret()
    );

    let mut wrong = pair.prod.admin_config();
    wrong.password(pair.staging.admin_password().expose_secret());
    let error = wrong
        .connect(NoTls)
        .await
        .err()
        .expect("staging's password must not open prod");
    assert_eq!(error.code(), Some(&SqlState::INVALID_PASSWORD));

    for (environment, cluster) in pair.environments() {
        let superuser = connect(cluster.superuser_config()).await;
        let row = superuser
            .query_one(
                "SELECT current_user::text, rolsuper FROM pg_roles WHERE rolname = current_user",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(
            row.get::<_, String>(0),
            cluster.flavor().superuser(),
            "{environment}"
        );
        assert!(row.get::<_, bool>(1), "{environment}");
    }
}

#[test]
fn debug_output_never_shows_a_password() {
    let pair = Pair::shared();
    for (_, cluster) in pair.environments() {
        let password = cluster.admin_password().expose_secret();
        for printed in [
            format!("{cluster:?}"),
            format!("{:?}", cluster.admin_config()),
            format!("{:?}", cluster.admin_password()),
        ] {
            assert!(!printed.contains(password), "{printed}");
        }
    }
}

#[tokio::test]
async fn a_dropped_cluster_leaves_no_process_and_no_directory() {
    let started = Instant::now();
    let cluster = Cluster::start(test_version()).expect("start a cluster");
    println!(
        "PostgreSQL {} server started in {:?}",
        test_version(),
        started.elapsed()
    );
    let Some((pid, dir)) = traces(&cluster) else {
        return;
    };
    // A backend too: the postmaster must take its children with it.
    let client = connect(cluster.superuser_config()).await;
    let backend: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!process_gone(pid, false) && dir.exists());

    drop(cluster);

    assert!(process_gone(pid, false), "postmaster {pid} still runs");
    assert!(
        process_gone(backend as u32, false),
        "backend {backend} still runs"
    );
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn a_cluster_dropped_during_a_panic_leaves_nothing() {
    let cluster = Cluster::start(test_version()).expect("start a cluster");
    let Some((pid, dir)) = traces(&cluster) else {
        return;
    };

    let outcome = catch_unwind(AssertUnwindSafe(move || {
        let _owned = cluster;
        panic!("a test failing while it owns a cluster");
    }));

    assert!(outcome.is_err());
    assert!(process_gone(pid, false), "postmaster {pid} still runs");
    assert!(!dir.exists(), "{} still exists", dir.display());
}

/// Set for the child process of the test below.
const EXIT_HELPER: &str = "COTENANT_TESTKIT_EXIT_HELPER";

#[test]
fn a_cluster_in_a_static_is_removed_when_the_process_exits() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_exits_while_a_static_holds_a_cluster",
            "--include-ignored",
            "--nocapture",
        ])
        .env(EXIT_HELPER, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stdout.contains("skipped") {
        return;
    }
    let traces = stdout
        .lines()
        .find_map(|line| line.strip_prefix("cluster "))
        .unwrap_or_else(|| panic!("no cluster line from the helper:\n{stdout}\n{stderr}"));
    let (pid, dir) = traces.split_once(' ').unwrap();
    let (pid, dir): (u32, &Path) = (pid.parse().unwrap(), Path::new(dir));

    // The watchdog cleans up after the process has gone: give it time.
    let deadline = Instant::now() + Duration::from_secs(20);
    let cleaned_up = || process_gone(pid, true) && !dir.exists();
    while !cleaned_up() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(process_gone(pid, true), "postmaster {pid} still runs");
    assert!(!dir.exists(), "{} still exists", dir.display());
}

/// The child of the test above: starts a cluster into a `static`, reports it, and exits without
/// any destructor running.
#[test]
#[ignore = "helper, run by a_cluster_in_a_static_is_removed_when_the_process_exits"]
fn helper_exits_while_a_static_holds_a_cluster() {
    if std::env::var_os(EXIT_HELPER).is_none() {
        return;
    }
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    let cluster = CLUSTER.get_or_init(|| Cluster::start(test_version()).expect("start a cluster"));
    match traces(cluster) {
        Some((pid, dir)) => println!("cluster {pid} {}", dir.display()),
        None => println!("skipped"),
    }
    std::process::exit(0);
}
