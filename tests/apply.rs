//! `apply`: a fleet of declared projects converged from one catalog read per environment,
//! drift named and repaired, undeclared projects kept, interrupted runs finished by the next.

mod common;

use std::time::Duration;

use common::*;
use cotenant::declare::{self, ApplyOptions, Declaration, Declarations, DeclareError};
use cotenant::provision::{self, FleetState, ProjectSettings};
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Pair, test_version};

/// `n` projects `<prefix>_00`…, declared with the default settings but `custom`'s.
fn fleet(prefix: &str, n: usize) -> Declarations {
    (0..n).fold(Declarations::default(), |d, i| {
        d.with_project(project(&format!("{prefix}_{i:02}")), Declaration::default())
    })
}

async fn own_pair(prefix: &str) -> (Pair, Cotenant) {
    // A pair of its own: instance-wide state (hardening, the database's ACL) and the instance
    // lock are part of every plan.
    let pair = Pair::start(test_version()).unwrap();
    let cotenant = deployment_on(&pair, prefix).await;
    (pair, cotenant)
}

#[tokio::test]
async fn the_fleet_read_plans_what_the_one_project_read_plans() {
    let (pair, cotenant) = own_pair("same").await;
    let declarations = fleet("same", 4);
    let names: Vec<ProjectName> = declarations.names().cloned().collect();
    // Varied states: one provisioned, one provisioned then drifted, one half made (roles
    // without the schema), one not there.
    let mut limits = ProjectSettings::default();
    limits.login.connection_limit = 7;
    cotenant.provision(&names[0], &limits).await.unwrap();
    cotenant
        .provision(&names[1], &ProjectSettings::default())
        .await
        .unwrap();
    let su = superuser(&pair.staging).await;
    su.batch_execute(
        "ALTER ROLE same_01_login CONNECTION LIMIT 50;
         ALTER ROLE same_01_migrator SET statement_timeout = '1min';
         GRANT same_00_app TO same_01_login;
         CREATE TABLE same_01.notes (id int); ALTER TABLE same_01.notes OWNER TO same_01_owner;
         GRANT SELECT ON same_01.notes TO PUBLIC, same_00_login;
         CREATE ROLE same_02_owner NOLOGIN;",
    )
    .await
    .unwrap();
    let client = admin(&pair.staging).await;
    let fleet = FleetState::read(&client, &names).await.unwrap();
    for (p, settings) in [
        (&names[0], ProjectSettings::default()),
        (&names[0], limits),
        (&names[1], ProjectSettings::default()),
        (&names[2], ProjectSettings::default()),
        (&names[3], ProjectSettings::default()),
    ] {
        let one = provision::plan(&client, p, &settings).await.unwrap();
        assert_eq!(
            fleet.plan(p, &settings).to_sql(),
            one.to_sql(),
            "project `{p}`: the fleet read must plan what the one-project read plans"
        );
    }
    assert_eq!(fleet.found_projects(), ["same_00", "same_01"]);
}

#[tokio::test]
async fn a_declared_fleet_converges_from_empty_then_plans_nothing() {
    let (_pair, cotenant) = own_pair("conv").await;
    let mut declarations = fleet("conv", 30);
    let mut tight = ProjectSettings::default();
    tight.login.connection_limit = 3;
    tight.migrator.statement_timeout = None;
    declarations = declarations.with_project(project("conv_tight"), Declaration::new(tight));

    let plan = declare::plan(&cotenant, &declarations).await.unwrap();
    for env in plan.environments() {
        assert_eq!(env.to_do().count(), 31, "{env}");
        assert!(env.to_do().all(|p| !p.exists()), "all to create: {env}");
    }
    let report = declare::apply(
        &cotenant,
        &declarations,
        &ApplyOptions::default().concurrency(4),
    )
    .await
    .unwrap();
    assert!(report.is_success(), "{report:?}");
    let names: Vec<&str> = report
        .environments
        .iter()
        .map(|e| e.plan.environment())
        .collect();
    assert_eq!(names, ["staging", "prod"], "staging first, prod after");
    for env in &report.environments {
        assert_eq!(env.results.len(), 31);
    }

    let again = declare::plan(&cotenant, &declarations).await.unwrap();
    assert!(again.is_empty(), "converged: nothing to do\n{again}");
    let report = declare::apply(&cotenant, &declarations, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(report.is_success());
    assert!(
        report.environments.iter().all(|e| e.results.is_empty()),
        "a second apply touches no project"
    );
    // The declared settings are the ones the logins have.
    let env = cotenant.environment("prod").unwrap();
    let client = env.connect_admin().await.unwrap();
    let fleet = FleetState::read(&client, &[project("conv_tight")])
        .await
        .unwrap();
    assert_eq!(fleet.settings_of(&project("conv_tight")), Some(tight));
}

#[tokio::test]
async fn drift_made_by_hand_is_named_by_the_plan_and_repaired_by_apply() {
    let (pair, cotenant) = own_pair("drift").await;
    let declarations = fleet("drift", 2);
    declare::apply(&cotenant, &declarations, &ApplyOptions::default())
        .await
        .unwrap();
    let su = superuser(&pair.staging).await;
    // A limit, a membership and a grant, changed by hand on staging. The membership is granted
    // as the project's steward, as an operator must (`provision::steward_of`): on PostgreSQL
    // 16+ only the grantor's privileges can revoke a membership, and cotenant acts as stewards.
    let steward = provision::steward_of(&project("drift_01"));
    su.batch_execute(&format!(
        "ALTER ROLE drift_00_login CONNECTION LIMIT 50;
         SET ROLE {steward}; GRANT drift_01_app TO drift_00_login; RESET ROLE;
         CREATE TABLE drift_01.notes (id int); ALTER TABLE drift_01.notes OWNER TO drift_01_owner;
         GRANT SELECT ON drift_01.notes TO drift_00_app;"
    ))
    .await
    .unwrap();
    let plan = declare::plan(&cotenant, &declarations).await.unwrap();
    let staging = &plan.environments()[0];
    assert!(plan.environments()[1].is_empty(), "prod did not drift");
    let p0 = &staging.projects()[0];
    let drift: Vec<String> = p0.drift().iter().map(ToString::to_string).collect();
    assert_eq!(
        drift,
        ["connection_limit of `drift_00_login`: declared 20, found 50"]
    );
    let extra: Vec<String> = staging
        .projects()
        .iter()
        .flat_map(|p| p.extra_grants())
        .map(|s| s.sql())
        .collect();
    assert!(
        extra.contains(&"REVOKE \"drift_01_app\" FROM \"drift_00_login\"".to_owned())
            || extra.iter().any(|s| s.starts_with("REVOKE")
                && s.contains("drift_01_app")
                && s.contains("drift_00_login")),
        "the membership is named: {extra:?}"
    );
    assert!(
        extra
            .iter()
            .any(|s| s.contains("notes") && s.contains("drift_00_app")),
        "the grant is named: {extra:?}"
    );
    let text = staging.to_string();
    assert!(text.contains("declared 20, found 50"), "{text}");

    let report = declare::apply(&cotenant, &declarations, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.environments[0].results.len(), 2);
    assert!(report.environments[1].results.is_empty(), "prod untouched");
    assert!(
        declare::plan(&cotenant, &declarations)
            .await
            .unwrap()
            .is_empty()
    );
    let limit: i32 = query_value(
        &su,
        "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'drift_00_login'",
    )
    .await;
    assert_eq!(limit, 20, "repaired to the declared limit");
}

#[tokio::test]
async fn an_undeclared_project_is_reported_and_kept_unless_pruned_by_name() {
    let (_pair, cotenant) = own_pair("stray").await;
    let declarations = fleet("kept", 1);
    let stray = project("stray_one");
    cotenant
        .provision(&stray, &ProjectSettings::default())
        .await
        .unwrap();
    let report = declare::apply(&cotenant, &declarations, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(report.is_success());
    for env in &report.environments {
        assert_eq!(env.plan.undeclared(), ["stray_one"]);
    }
    let plan = declare::plan(&cotenant, &declarations).await.unwrap();
    assert_eq!(plan.environments()[1].undeclared(), ["stray_one"], "kept");
    assert!(plan.to_string().contains("--prune stray_one"), "{plan}");

    let declared = declare::apply(
        &cotenant,
        &declarations,
        &ApplyOptions::default().dangerous_prune(vec![project("kept_00")]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(declared, DeclareError::PruneDeclared { .. }),
        "{declared}"
    );
    let unknown = declare::apply(
        &cotenant,
        &declarations,
        &ApplyOptions::default().dangerous_prune(vec![project("nowhere")]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(unknown, DeclareError::PruneNotFound { .. }),
        "{unknown}"
    );

    let report = declare::apply(
        &cotenant,
        &declarations,
        &ApplyOptions::default().dangerous_prune(vec![stray.clone()]),
    )
    .await
    .unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.pruned.len(), 1);
    let plan = declare::plan(&cotenant, &declarations).await.unwrap();
    assert!(
        plan.environments()
            .iter()
            .all(|e| e.undeclared().is_empty())
    );
}

#[tokio::test]
async fn killed_mid_apply_a_rerun_converges_and_leaves_done_projects_alone() {
    let (pair, cotenant) = own_pair("kill").await;
    let first = fleet("kill", 4);
    declare::apply(&cotenant, &first, &ApplyOptions::default())
        .await
        .unwrap();
    let declarations = fleet("kill", 10);
    // Hold cotenant's instance lock: each new project creates its roles and schema, then waits
    // for it (granting CONNECT on the database), mid-transaction.
    let holder = superuser(&pair.staging).await;
    holder
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&provision::instance_lock_key()],
        )
        .await
        .unwrap();
    let task = {
        let (cotenant, declarations) = (cotenant.clone(), declarations.clone());
        tokio::spawn(async move {
            declare::apply(
                &cotenant,
                &declarations,
                &ApplyOptions::default().concurrency(3),
            )
            .await
        })
    };
    let mut waited = 0;
    let pids: Vec<i32> = loop {
        waited += 1;
        assert!(waited < 1500, "apply never waited for the instance lock");
        let rows = holder
            .query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'cotenant'
                 AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND state = 'active'",
                &[],
            )
            .await
            .unwrap();
        if rows.len() == 3 {
            break rows.iter().map(|r| r.get(0)).collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The connections die mid-transaction, as when the process is killed; the lock is let go
    // only after, so no other project gets through.
    for pid in &pids {
        holder
            .execute("SELECT pg_terminate_backend($1)", &[pid])
            .await
            .unwrap();
    }
    task.abort();
    let _ = task.await;
    holder
        .execute(
            "SELECT pg_advisory_unlock($1)",
            &[&provision::instance_lock_key()],
        )
        .await
        .unwrap();

    let plan = declare::plan(&cotenant, &declarations).await.unwrap();
    let staging = &plan.environments()[0];
    let to_do: Vec<&str> = staging.to_do().map(|p| p.project().as_str()).collect();
    assert_eq!(
        to_do,
        [
            "kill_04", "kill_05", "kill_06", "kill_07", "kill_08", "kill_09"
        ],
        "the interrupted projects were rolled back whole; the done ones plan nothing"
    );
    assert!(
        staging.to_do().all(|p| !p.exists()),
        "nothing half made: {staging}"
    );

    let report = declare::apply(&cotenant, &declarations, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(report.is_success(), "{report:?}");
    let mut touched: Vec<&str> = report.environments[0]
        .results
        .iter()
        .map(|r| r.project.as_str())
        .collect();
    touched.sort();
    assert_eq!(touched, to_do, "only the unfinished projects are touched");
    assert!(
        declare::plan(&cotenant, &declarations)
            .await
            .unwrap()
            .is_empty()
    );
}
