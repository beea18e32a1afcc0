//! Migrations on real servers (the version in `COTENANT_TEST_PG`): isolation of a project's
//! migrations, rollback and error positions, concurrent runners, checksums and repair, the
//! staging gate, status in one catalog pass, fan-out, and the org-app template with its RLS.

mod common;

use common::*;
use cotenant::migrate::{
    self, Fanout, Gate, GateRefusal, MigrateError, Migrations, Outcome, Position, ProjectStatus,
    Runner, StatusReport, templates,
};
use cotenant::provision::ProjectSettings;
use cotenant::secret::Login;
use cotenant::{Cotenant, ProjectName};
use tokio_postgres::error::SqlState;

fn set(files: &[(&str, &str)]) -> Migrations {
    Migrations::from_embedded(files).expect("a valid migration set")
}

async fn provisioned(cotenant: &Cotenant, names: &[&str]) -> Vec<ProjectName> {
    let mut projects = Vec::new();
    for name in names {
        let p = project(name);
        cotenant
            .provision(&p, &ProjectSettings::default())
            .await
            .unwrap_or_else(|e| panic!("provisioning {p}: {e}"));
        projects.push(p);
    }
    projects
}

async fn run_on(
    cotenant: &Cotenant,
    env: &str,
    p: &ProjectName,
    migrations: &Migrations,
) -> Result<migrate::Report, MigrateError> {
    let client = login(cotenant, env, p, Login::Migrator).await;
    Runner::new(migrations.clone())
        .run(client, p, &Gate::open())
        .await
}

async fn versions(cotenant: &Cotenant, env: &str, p: &ProjectName) -> Vec<u32> {
    let client = login(cotenant, env, p, Login::Migrator).await;
    migrate::history(&client, p)
        .await
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect()
}

async fn table_exists(env: &str, qualified: &str) -> bool {
    superuser(cluster(env))
        .await
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified])
        .await
        .unwrap()
        .get(0)
}

async fn fingerprint(env: &str, p: &ProjectName) -> Vec<String> {
    let mut admin = admin(cluster(env)).await;
    migrate::fingerprint(&mut admin, p).await.unwrap()
}

#[tokio::test]
async fn the_template_applies_on_staging_then_prod_with_rls_on_every_table() {
    let cotenant = deployment().await;
    let [p] = &provisioned(&cotenant, &["tmpl"]).await[..] else {
        unreachable!()
    };
    let runner = Runner::new(templates::org_app());
    let reports = cotenant.migrate(p, &runner).await.unwrap();
    assert_eq!(reports.len(), 2);
    for (env, report) in &reports {
        assert_eq!(
            (report.from, report.to, report.applied.len()),
            (0, 6, 6),
            "{env}: {report}"
        );
        assert!(
            !report.applied[5].transactional,
            "006 runs without a transaction"
        );
    }
    for (env, report) in cotenant.migrate(p, &runner).await.unwrap() {
        assert!(
            report.is_up_to_date(),
            "{env}: a second run applies nothing: {report}"
        );
    }
    for env in both() {
        let rls = cotenant
            .environment(env)
            .unwrap()
            .rls_report(p)
            .await
            .unwrap();
        assert!(rls.all_enabled(), "{env}: {rls}");
        // Twenty tables of the template and the history table.
        assert_eq!(rls.tables.len(), 21, "{env}: {rls}");
        assert!(
            rls.tables
                .iter()
                .filter(|t| t.table != migrate::HISTORY_TABLE)
                .all(|t| t.policies >= 1)
        );
        let status = StatusReport::new(
            env,
            &cotenant
                .environment(env)
                .unwrap()
                .migration_status()
                .await
                .unwrap(),
            runner.migrations(),
        );
        let mine = status
            .projects
            .iter()
            .find(|e| e.project == "tmpl")
            .unwrap();
        assert_eq!(mine.status, ProjectStatus::UpToDate { version: 6 });
    }
    let history = {
        let client = login(&cotenant, "prod", p, Login::Migrator).await;
        migrate::history(&client, p).await.unwrap()
    };
    assert_eq!(history.len(), 6);
    assert!(history.iter().all(|r| r.applied_by == "tmpl_migrator"));
    assert_eq!(history[5].name, "006_timeline_indexes.sql");
    for report in cotenant.parity(p).await.unwrap() {
        assert!(report.is_equal(), "{report}");
    }

    // Row-level security keeps organizations apart for the service's login.
    let owner = login(&cotenant, "prod", p, Login::Migrator).await;
    owner
        .batch_execute(
            "INSERT INTO organizations (id, name, slug) VALUES
                 ('00000000-0000-0000-0000-00000000000a', 'A', 'org-a'),
                 ('00000000-0000-0000-0000-00000000000b', 'B', 'org-b');
             INSERT INTO companies (org_id, name) VALUES
                 ('00000000-0000-0000-0000-00000000000a', 'a1'),
                 ('00000000-0000-0000-0000-00000000000a', 'a2'),
                 ('00000000-0000-0000-0000-00000000000b', 'b1');",
        )
        .await
        .unwrap();
    let mut app = login(&cotenant, "prod", p, Login::App).await;
    let tx = app.transaction().await.unwrap();
    let count = |sql: &'static str| {
        let tx = &tx;
        async move { tx.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        count("SELECT count(*) FROM companies").await,
        0,
        "no claim, no rows"
    );
    tx.batch_execute(
        r#"SELECT set_config('request.jwt.claims', '{"sub": "00000000-0000-0000-0000-0000000000ff", "org_id": "00000000-0000-0000-0000-00000000000a"}', true)"#,
    )
    .await
    .unwrap();
    assert_eq!(count("SELECT count(*) FROM companies").await, 2);
    assert_eq!(count("SELECT count(*) FROM organizations").await, 1);
    let other_org = tx
        .batch_execute(
            "INSERT INTO companies (org_id, name) VALUES ('00000000-0000-0000-0000-00000000000b', 'sneaky')",
        )
        .await
        .unwrap_err();
    assert_eq!(
        other_org.code(),
        Some(&SqlState::INSUFFICIENT_PRIVILEGE),
        "{other_org}"
    );
    drop(tx);
    // The service may not read or edit the history.
    assert_denied(&app, "tmpl_app", "SELECT * FROM cotenant_migrations").await;
    assert_denied(&app, "tmpl_app", "DELETE FROM cotenant_migrations").await;
}

#[tokio::test]
async fn a_malicious_migration_of_b_fails_with_42501_and_changes_nothing() {
    let cotenant = deployment().await;
    let projects = provisioned(&cotenant, &["mal_a", "mal_b"]).await;
    let (a, b) = (&projects[0], &projects[1]);
    let env = "staging";
    let benign_a = set(&[(
        "001_t.sql",
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);",
    )]);
    run_on(&cotenant, env, a, &benign_a).await.unwrap();
    let benign_b = set(&[("001_init.sql", "CREATE TABLE mine (id int);")]);
    run_on(&cotenant, env, b, &benign_b).await.unwrap();
    let a_before = fingerprint(env, a).await;
    let b_before = fingerprint(env, b).await;

    for evil in [
        "RESET ROLE; DROP SCHEMA mal_a CASCADE;",
        "SET ROLE mal_a_owner; DROP TABLE mal_a.t;",
        "SET ROLE NONE; DELETE FROM mal_a.t;",
        "DROP SCHEMA mal_a CASCADE;",
        "DELETE FROM mal_a.t;",
        "ALTER ROLE mal_a_login PASSWORD 'taken';",
        "GRANT mal_a_owner TO mal_b_migrator;",
        "SET SESSION AUTHORIZATION mal_a_migrator;",
        "CREATE TABLE public.squat (id int);",
        "COMMENT ON TABLE mal_a.cotenant_migrations IS 'forged summary';",
    ] {
        let file = format!(
            "-- Starts harmlessly, then reaches for project a.\nCREATE TABLE marker (id int);\n{evil}\n"
        );
        let migrations = set(&[
            ("001_init.sql", "CREATE TABLE mine (id int);"),
            ("002_evil.sql", &file),
        ]);
        let err = run_on(&cotenant, env, b, &migrations).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "`{evil}`: {err}"
        );
        assert!(
            matches!(err.cause(), MigrateError::Failed { file, transactional: true, .. } if file == "002_evil.sql"),
            "`{evil}`: {err:?}"
        );
        assert!(err.to_string().contains("rolled back"), "{err}");
        assert!(
            !table_exists(env, "mal_b.marker").await,
            "`{evil}`: b's marker must be rolled back"
        );
    }
    assert_eq!(
        fingerprint(env, a).await,
        a_before,
        "project a is unchanged"
    );
    assert_eq!(
        fingerprint(env, b).await,
        b_before,
        "project b is unchanged"
    );
    assert_eq!(versions(&cotenant, env, b).await, [1]);
    let a_rows: i64 = superuser(cluster(env))
        .await
        .query_one("SELECT count(*) FROM mal_a.t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(a_rows, 2);
}

#[tokio::test]
async fn the_history_summary_is_a_shared_surface_and_the_history_is_not() {
    let cotenant = deployment().await;
    let projects = provisioned(&cotenant, &["surf_a", "surf_b"]).await;
    let (a, b) = (&projects[0], &projects[1]);
    let migrations = set(&[("001_t.sql", "CREATE TABLE t (id int);")]);
    run_on(&cotenant, "staging", a, &migrations).await.unwrap();
    for which in Login::ALL {
        let client = login(&cotenant, "staging", b, which).await;
        // Documented: catalog comments are readable by every role, as table names are.
        let row = client
            .query_one(
                "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'surf_a' AND c.relname = 'cotenant_migrations'",
                &[],
            )
            .await
            .unwrap();
        let summary: String = row.get(0);
        assert!(summary.contains(r#""version":1"#), "{summary}");
        // The history itself, and writing the summary, stay closed.
        let who = format!("surf_b's {which}");
        assert_denied(&client, &who, "SELECT * FROM surf_a.cotenant_migrations").await;
        assert_denied(
            &client,
            &who,
            "COMMENT ON TABLE surf_a.cotenant_migrations IS 'forged'",
        )
        .await;
    }
}

#[tokio::test]
async fn only_the_projects_own_migrator_may_run_its_migrations() {
    let cotenant = deployment().await;
    let projects = provisioned(&cotenant, &["who_a", "who_b"]).await;
    let (a, b) = (&projects[0], &projects[1]);
    let migrations = set(&[("001_t.sql", "CREATE TABLE t (id int);")]);
    let runner = Runner::new(migrations);
    for (client, as_whom) in [
        (admin(cluster("staging")).await, "the admin"),
        (
            login(&cotenant, "staging", a, Login::App).await,
            "a's service login",
        ),
        (
            login(&cotenant, "staging", b, Login::Migrator).await,
            "b's migrator",
        ),
    ] {
        let err = runner.run(client, a, &Gate::open()).await.unwrap_err();
        assert!(
            matches!(err, MigrateError::NotMigrator { .. }),
            "{as_whom}: {err}"
        );
    }
    assert!(!table_exists("staging", "who_a.cotenant_migrations").await);
}

#[tokio::test]
async fn a_failing_migration_rolls_back_and_reports_its_file_and_position() {
    let cotenant = deployment().await;
    let [p] = &provisioned(&cotenant, &["broken"]).await[..] else {
        unreachable!()
    };
    let env = "staging";
    let migrations = set(&[
        ("001_ok.sql", "CREATE TABLE kept (id int);"),
        (
            "002_broken.sql",
            "CREATE TABLE widgets (id int PRIMARY KEY);\n\nINSERT INTO widgets VALUES (1);\nSELECT nope FROM widgets;\n",
        ),
        ("003_never.sql", "CREATE TABLE never (id int);"),
    ]);
    let err = run_on(&cotenant, env, p, &migrations).await.unwrap_err();
    let text = err.to_string();
    assert_eq!(err.code(), Some(&SqlState::UNDEFINED_COLUMN), "{text}");
    match err.cause() {
        MigrateError::Failed { file, at, .. } => {
            assert_eq!(file, "002_broken.sql");
            assert_eq!(*at, Some(Position { line: 4, column: 8 }), "{text}");
        }
        other => panic!("expected a failed migration, got {other}"),
    }
    assert!(
        text.contains("after applying `001_ok.sql`")
            && text.contains("`002_broken.sql`")
            && text.contains("line 4, column 8")
            && text.contains("42703")
            && text.contains("column \"nope\" does not exist"),
        "{text}"
    );
    assert_eq!(
        err.applied().len(),
        1,
        "the report says how far the run got"
    );
    assert!(table_exists(env, "broken.kept").await);
    assert!(
        !table_exists(env, "broken.widgets").await,
        "002 was rolled back"
    );
    assert!(!table_exists(env, "broken.never").await);
    assert_eq!(versions(&cotenant, env, p).await, [1]);

    // A no-transaction file keeps the statements before the failing one, records nothing, and
    // reports the statement and its position in the file.
    let no_tx = "-- cotenant: no-transaction\nCREATE INDEX CONCURRENTLY kept_idx ON kept (id);\nCREATE INDEX CONCURRENTLY bad_idx ON kept (nope);\n";
    let migrations = set(&[
        ("001_ok.sql", "CREATE TABLE kept (id int);"),
        ("002_idx.sql", no_tx),
    ]);
    let err = run_on(&cotenant, env, p, &migrations).await.unwrap_err();
    match err.cause() {
        MigrateError::Failed {
            transactional,
            statement,
            at,
            ..
        } => {
            assert!(!transactional);
            assert_eq!(*statement, 2);
            // CREATE INDEX gives no position for a missing column: the statement's start.
            assert_eq!(*at, Some(Position { line: 3, column: 1 }), "{err}");
        }
        other => panic!("expected a failed migration, got {other}"),
    }
    assert!(
        err.to_string()
            .contains("statements before it stayed applied"),
        "{err}"
    );
    assert!(table_exists(env, "broken.kept_idx").await);
    assert_eq!(versions(&cotenant, env, p).await, [1]);
    // Fixed and made idempotent, it runs again from the top.
    let fixed = "-- cotenant: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS kept_idx ON kept (id);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS other_idx ON kept (id DESC);\n";
    let migrations = set(&[
        ("001_ok.sql", "CREATE TABLE kept (id int);"),
        ("002_idx.sql", fixed),
    ]);
    let report = run_on(&cotenant, env, p, &migrations).await.unwrap();
    assert_eq!(report.applied.len(), 1, "{report}");
    assert!(table_exists(env, "broken.other_idx").await);
    assert_eq!(versions(&cotenant, env, p).await, [1, 2]);
}

#[tokio::test]
async fn a_migration_that_ends_the_transaction_is_caught() {
    let cotenant = deployment().await;
    let [p] = &provisioned(&cotenant, &["commits"]).await[..] else {
        unreachable!()
    };
    let migrations = set(&[(
        "001_commits.sql",
        "CREATE TABLE before_commit (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE after_commit (id int);\n",
    )]);
    let err = run_on(&cotenant, "staging", p, &migrations)
        .await
        .unwrap_err();
    assert!(
        matches!(err, MigrateError::EndedTransaction { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("no-transaction"), "{err}");
    assert!(
        !table_exists("staging", "commits.after_commit").await,
        "the tail was rolled back"
    );
    assert!(
        versions(&cotenant, "staging", p).await.is_empty(),
        "nothing was recorded"
    );
}

#[tokio::test]
async fn concurrent_runners_apply_each_migration_once() {
    let cotenant = deployment().await;
    let [p] = &provisioned(&cotenant, &["racers"]).await[..] else {
        unreachable!()
    };
    let runner = Runner::new(templates::org_app());
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (cotenant, p, runner) = (cotenant.clone(), p.clone(), runner.clone());
        tasks.push(tokio::spawn(async move {
            let env = cotenant.environment("prod").unwrap();
            env.migrate(&p, &runner, &Gate::open()).await
        }));
    }
    let mut applied = Vec::new();
    for task in tasks {
        let report = task.await.unwrap().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.to, 6, "{report}");
        applied.extend(report.applied.iter().map(|a| a.version));
    }
    applied.sort_unstable();
    assert_eq!(
        applied,
        [1, 2, 3, 4, 5, 6],
        "each migration applied exactly once"
    );
    assert_eq!(versions(&cotenant, "prod", p).await, [1, 2, 3, 4, 5, 6]);
    // The catalog summary follows the history, whichever run created the table.
    let recorded = cotenant
        .environment("prod")
        .unwrap()
        .migration_status()
        .await
        .unwrap();
    let mine = recorded.iter().find(|r| r.project == "racers").unwrap();
    assert_eq!(
        mine.status(runner.migrations()),
        ProjectStatus::UpToDate { version: 6 }
    );
    // No lock is left behind: a new run takes it at once.
    let quick = runner
        .clone()
        .lock_wait(std::time::Duration::from_millis(100));
    let report = cotenant
        .environment("prod")
        .unwrap()
        .migrate(p, &quick, &Gate::open())
        .await
        .unwrap();
    assert!(report.is_up_to_date());
}

#[tokio::test]
async fn a_changed_checksum_is_refused_until_repaired_on_purpose() {
    let cotenant = deployment().await;
    let [p] = &provisioned(&cotenant, &["checks"]).await[..] else {
        unreachable!()
    };
    let env = "staging";
    let v1 = set(&[
        ("001_a.sql", "CREATE TABLE a (id int);"),
        ("002_b.sql", "CREATE TABLE b (id int);"),
    ]);
    run_on(&cotenant, env, p, &v1).await.unwrap();
    let edited = set(&[
        ("001_a.sql", "CREATE TABLE a (id int);"),
        (
            "002_b.sql",
            "CREATE TABLE b (id bigint); -- edited after it ran",
        ),
        ("003_c.sql", "CREATE TABLE c (id int);"),
    ]);
    let err = run_on(&cotenant, env, p, &edited).await.unwrap_err();
    let text = err.to_string();
    match &err {
        MigrateError::ChecksumMismatch {
            file,
            applied,
            local,
            ..
        } => {
            assert_eq!(file, "002_b.sql");
            assert_eq!(*applied, v1.get(2).unwrap().checksum());
            assert_eq!(*local, edited.get(2).unwrap().checksum());
        }
        other => panic!("expected a checksum mismatch, got {other}"),
    }
    assert!(
        text.contains("002_b.sql") && text.contains("cotenant repair"),
        "{text}"
    );
    assert!(!table_exists(env, "checks.c").await, "nothing ran");

    let client = login(&cotenant, env, p, Login::Migrator).await;
    let repaired = Runner::new(edited.clone()).repair(client, p).await.unwrap();
    assert_eq!(repaired.len(), 1);
    assert_eq!(
        (repaired[0].version, repaired[0].to),
        (2, edited.get(2).unwrap().checksum())
    );
    let report = run_on(&cotenant, env, p, &edited).await.unwrap();
    assert_eq!(report.applied.len(), 1, "{report}");
    let client = login(&cotenant, env, p, Login::Migrator).await;
    let history = migrate::history(&client, p).await.unwrap();
    assert!(history[1].repaired_at.is_some() && history[0].repaired_at.is_none());

    // A history with migrations the files lack is refused too.
    let err = run_on(&cotenant, env, p, &v1).await.unwrap_err();
    assert!(
        matches!(&err, MigrateError::UnknownApplied { unknown, .. } if unknown == &["003_c.sql"]),
        "{err}"
    );
}

#[tokio::test]
async fn prod_refuses_what_staging_lacks() {
    let cotenant = deployment().await;
    let [p] = &provisioned(&cotenant, &["gated"]).await[..] else {
        unreachable!()
    };
    let one = Runner::new(set(&[("001_a.sql", "CREATE TABLE a (id int);")]));
    let two = Runner::new(set(&[
        ("001_a.sql", "CREATE TABLE a (id int);"),
        ("002_b.sql", "CREATE TABLE b (id int);"),
    ]));
    cotenant.migrate_on("staging", p, &one).await.unwrap();
    let err = cotenant.migrate_on("prod", p, &two).await.unwrap_err();
    match &err {
        MigrateError::Gated {
            refusal:
                GateRefusal::Lacks {
                    environment,
                    missing,
                },
            ..
        } => {
            assert_eq!(environment, "staging");
            assert_eq!(missing.len(), 1);
            assert!(missing[0].starts_with("`002_b.sql`"), "{missing:?}");
        }
        other => panic!("expected the gate to refuse, got {other}"),
    }
    assert!(
        err.to_string()
            .contains("`staging` has not applied `002_b.sql`"),
        "{err}"
    );
    assert!(
        versions(&cotenant, "prod", p).await.is_empty(),
        "prod got nothing, not even 001"
    );
    // What staging has goes through: with a target now, and all of it once staging has it.
    let report = cotenant
        .migrate_on("prod", p, &two.clone().target(1))
        .await
        .unwrap();
    assert_eq!(report.to, 1);
    cotenant.migrate_on("staging", p, &two).await.unwrap();
    // Files that differ from what staging applied are refused even where versions match.
    let other = Runner::new(set(&[
        ("001_a.sql", "CREATE TABLE a (id int);"),
        ("002_b.sql", "CREATE TABLE b (id bigint);"),
        ("003_c.sql", "CREATE TABLE c (id int);"),
    ]));
    let err = cotenant.migrate_on("prod", p, &other).await.unwrap_err();
    assert!(
        matches!(
            &err,
            MigrateError::Gated {
                refusal: GateRefusal::Differs { version: 2, .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(cotenant.migrate_on("prod", p, &two).await.unwrap().to, 2);
    assert_eq!(
        cotenant.gate_for("prod").await.unwrap().upstream(),
        Some("staging")
    );
    assert_eq!(cotenant.gate_for("staging").await.unwrap().upstream(), None);
    // A prod-only view of the deployment is still gated by staging.
    let prod_only = cotenant.select(&["prod"]).unwrap();
    let three = Runner::new(set(&[
        ("001_a.sql", "CREATE TABLE a (id int);"),
        ("002_b.sql", "CREATE TABLE b (id int);"),
        ("003_c.sql", "CREATE TABLE c (id int);"),
    ]));
    assert!(cotenant.migrate_on("prod", p, &three).await.is_err());
    let gate = cotenant.gate_for("prod").await.unwrap();
    let env = prod_only.environment("prod").unwrap();
    assert!(env.migrate(p, &three, &gate).await.is_err());
}

#[tokio::test]
async fn status_reads_every_project_in_one_catalog_query() {
    let cotenant = deployment().await;
    let projects = provisioned(&cotenant, &["st_done", "st_half", "st_never"]).await;
    let migrations = set(&[
        ("001_a.sql", "CREATE TABLE a (id int);"),
        ("002_b.sql", "CREATE TABLE b (id int);"),
    ]);
    let env = "staging";
    run_on(&cotenant, env, &projects[0], &migrations)
        .await
        .unwrap();
    run_on(
        &cotenant,
        env,
        &projects[1],
        &set(&[("001_a.sql", "CREATE TABLE a (id int);")]),
    )
    .await
    .unwrap();
    let status_of = |recorded: &[migrate::Recorded], name: &str| {
        let report = StatusReport::new(env, recorded, &migrations);
        report
            .projects
            .iter()
            .find(|e| e.project == name)
            .map(|e| e.status.clone())
            .unwrap()
    };
    let recorded = cotenant
        .environment(env)
        .unwrap()
        .migration_status()
        .await
        .unwrap();
    assert_eq!(
        status_of(&recorded, "st_done"),
        ProjectStatus::UpToDate { version: 2 }
    );
    // The same answer from the project's own history, over its migrator login.
    let half = login(&cotenant, env, &projects[1], Login::Migrator).await;
    let runner = Runner::new(migrations.clone());
    let pending = runner.pending(&half, &projects[1]).await.unwrap();
    let pending: Vec<u32> = pending.iter().map(|m| m.version()).collect();
    assert_eq!(pending, [2]);
    assert_eq!(
        status_of(&recorded, "st_half"),
        ProjectStatus::Pending {
            version: 1,
            pending: vec![2]
        }
    );
    assert_eq!(
        status_of(&recorded, "st_never"),
        ProjectStatus::Pending {
            version: 0,
            pending: vec![1, 2]
        }
    );
    // The summary is a catalog comment: if someone overwrites it the status says so, and the
    // next run rewrites it from the history.
    superuser(cluster(env))
        .await
        .batch_execute("COMMENT ON TABLE st_done.cotenant_migrations IS 'scribbled'")
        .await
        .unwrap();
    let recorded = cotenant
        .environment(env)
        .unwrap()
        .migration_status()
        .await
        .unwrap();
    assert_eq!(status_of(&recorded, "st_done"), ProjectStatus::Unknown);
    assert!(
        run_on(&cotenant, env, &projects[0], &migrations)
            .await
            .unwrap()
            .is_up_to_date()
    );
    let recorded = cotenant
        .environment(env)
        .unwrap()
        .migration_status()
        .await
        .unwrap();
    assert_eq!(
        status_of(&recorded, "st_done"),
        ProjectStatus::UpToDate { version: 2 }
    );
}

#[tokio::test]
async fn a_fanout_reports_every_project_and_stops_or_continues() {
    let cotenant = deployment().await;
    let projects = provisioned(&cotenant, &["fan_bad", "fan_1", "fan_2", "fan_3"]).await;
    // fan_bad already has a table the first migration creates.
    let squatter = login(&cotenant, "staging", &projects[0], Login::Migrator).await;
    squatter
        .batch_execute("CREATE TABLE a (id int)")
        .await
        .unwrap();
    let migrations = set(&[
        ("001_a.sql", "CREATE TABLE a (id int);"),
        ("002_b.sql", "CREATE TABLE b (id int);"),
    ]);
    let staging = cotenant.environment("staging").unwrap();

    let stopping = Fanout::new(Runner::new(migrations.clone())).concurrency(1);
    let report = stopping.run(staging, &projects, &Gate::open()).await;
    assert!(!report.is_success());
    assert_eq!(
        (report.counts.failed, report.counts.not_started),
        (1, 3),
        "{report}"
    );
    assert!(report.to_string().contains("not started"), "{report}");

    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    let continuing = Fanout::new(Runner::new(migrations))
        .concurrency(3)
        .stop_on_failure(false)
        .on_progress(move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
    let report = continuing.run(staging, &projects, &Gate::open()).await;
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 4);
    assert_eq!(
        (
            report.counts.applied,
            report.counts.failed,
            report.counts.migrations
        ),
        (3, 1, 6),
        "{report}"
    );
    match &report.projects[0].result {
        Outcome::Failed { error, code, .. } => {
            assert_eq!(code.as_deref(), Some("42P07"), "{error}");
            assert!(error.to_string().contains("001_a.sql"), "{error}");
        }
        other => panic!("expected fan_bad to fail, got {other:?}"),
    }
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["counts"]["applied"], 3);
    assert_eq!(json["projects"][0]["status"], "failed");
    assert_eq!(json["projects"][1]["status"], "applied");
    assert_eq!(json["projects"][1]["applied"][1]["file"], "002_b.sql");

    // Across environments: prod follows staging, and its gate holds back fan_bad.
    let reports = cotenant.migrate_all(&projects, &continuing).await.unwrap();
    assert_eq!(reports.len(), 2);
    let prod = &reports[1];
    assert_eq!((prod.counts.applied, prod.counts.failed), (3, 1), "{prod}");
    let (_, error) = prod.failures().next().unwrap();
    assert!(matches!(error, MigrateError::Gated { .. }), "{error}");
}

#[tokio::test]
async fn parity_finds_a_column_an_index_a_grant_and_a_policy_changed_by_hand() {
    let cotenant = deployment().await;
    let [p] = &provisioned(&cotenant, &["par_t"]).await[..] else {
        unreachable!()
    };
    cotenant
        .migrate(p, &Runner::new(templates::org_app()))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let reports = cotenant.parity(p).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].is_equal(), "{}", reports[0]);
    assert!(reports[0].facts > 300, "{} facts", reports[0].facts);
    eprintln!("parity of an equal template schema: {elapsed:?}");

    superuser(cluster("prod"))
        .await
        .batch_execute(
            "ALTER TABLE par_t.contacts ADD COLUMN nickname text;
             CREATE INDEX contacts_email_idx ON par_t.contacts (email);
             REVOKE DELETE ON par_t.notes FROM par_t_app;
             ALTER POLICY deals_org ON par_t.deals USING (true);",
        )
        .await
        .unwrap();
    let report = cotenant.parity(p).await.unwrap().remove(0);
    let text = report.to_string();
    assert!(!report.is_equal());
    for expected in [
        "+ column contacts.nickname #10 text",
        "+ index CREATE INDEX contacts_email_idx ON par_t.contacts USING btree (email)",
        "- table notes grant DELETE to par_t_app",
        "- policy deals_org on deals: permissive for all to PUBLIC using ((org_id = ( SELECT par_t.current_org_id()",
        "+ policy deals_org on deals: permissive for all to PUBLIC using (true) with check ((org_id = ( SELECT par_t.current_org_id()",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert_eq!(report.differences.len(), 5, "{text}");
}

#[tokio::test]
async fn the_fingerprint_finds_every_relation_and_type_a_schema_scan_finds() {
    let cotenant = deployment().await;
    let [p] = &provisioned(&cotenant, &["every"]).await[..] else {
        unreachable!()
    };
    let migrations = set(&[(
        "001_every_kind.sql",
        "CREATE TABLE plain (id serial PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY);
         CREATE TABLE parted (id int, at date) PARTITION BY RANGE (at);
         CREATE TABLE parted_2024 PARTITION OF parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE UNLOGGED TABLE scratch (x int);
         CREATE TABLE child (extra text) INHERITS (plain);
         CREATE VIEW v AS SELECT id FROM plain;
         CREATE MATERIALIZED VIEW mv AS SELECT id FROM plain;
         CREATE SEQUENCE standalone_seq;
         CREATE TYPE mood AS ENUM ('ok', 'meh');
         CREATE DOMAIN positive AS int CHECK (VALUE > 0);
         CREATE TYPE span AS RANGE (subtype = int4);
         CREATE TYPE pair AS (a int, b text);
         CREATE FUNCTION f(x positive) RETURNS pair LANGUAGE sql AS $$ SELECT x, 'a' $$;
         CREATE AGGREGATE total(int) (sfunc = int4pl, stype = int);",
    )]);
    run_on(&cotenant, "staging", p, &migrations).await.unwrap();
    // Objects moved in from public, as relocation does.
    let su = superuser(cluster("staging")).await;
    su.batch_execute(
        "CREATE TABLE public.moved (id int); ALTER TABLE public.moved SET SCHEMA every;
         CREATE TYPE public.moved_mood AS ENUM ('x'); ALTER TYPE public.moved_mood SET SCHEMA every;
         CREATE TYPE every.later; -- a shell type: only a superuser makes one",
    )
    .await
    .unwrap();
    let lines = fingerprint("staging", p).await;
    let expected: Vec<String> = query_column(
        &su,
        "SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'
                     WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                     WHEN 'c' THEN 'composite type' END || ' ' || c.relname || ' owner '
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'every' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'c')
             UNION ALL
             SELECT 'type ' || t.typname || ' owner '
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             LEFT JOIN pg_class c ON c.oid = t.typrelid
             WHERE n.nspname = 'every' AND t.typelem = 0 AND (t.typrelid = 0 OR c.relkind = 'c')",
    )
    .await;
    // 13 relations (the history table among them) and 7 standalone types.
    assert_eq!(expected.len(), 20, "{expected:#?}");
    for prefix in &expected {
        assert!(
            lines.iter().any(|l| l.starts_with(prefix.as_str())),
            "the fingerprint lacks `{prefix}…`:\n{}",
            lines.join("\n")
        );
    }
    for line in [
        "function f(x every.positive) line 0001",
        "aggregate total(integer)",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(line)), "no `{line}`");
    }
}
