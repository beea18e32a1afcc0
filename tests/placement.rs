//! Placement on real servers (the version in `COTENANT_TEST_PG`, the flavour in
//! `COTENANT_TEST_FLAVOR`): environments of three instances each, projects declared on an
//! instance or placed by the rule, staging mirroring prod, every operation routed to the
//! project's instance, and the pools connecting where the login secret says.
#![cfg(all(feature = "sqlx", feature = "deadpool"))]

mod common;

use std::sync::Arc;

use common::*;
use cotenant::audit::Scope;
use cotenant::config::Config;
use cotenant::declare::{self, ApplyOptions, DeclareError};
use cotenant::placement::PlacementError;
use cotenant::pool::PoolOptions;
use cotenant::provision::{ProjectSettings, ProvisionError};
use cotenant::rotate::Strategy;
use cotenant::secret::Login;
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Cluster, Fleet, MotoServer, test_flavor, test_version};
use secrecy::ExposeSecret;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

/// The shared fleet as a deployment configured with `extra`, its secrets under `prefix`.
async fn on_fleet(fleet: &Fleet, prefix: &str, extra: &str) -> (Config, Cotenant) {
    let secrets = Arc::new(MotoServer::shared().secrets_manager());
    let cotenant = fleet
        .cotenant(prefix, secrets, extra)
        .await
        .expect("writing the admin secrets to moto");
    (fleet.config(prefix, extra), cotenant)
}

/// Whether `cluster` has `project`'s schema, read as its admin.
async fn has_schema(cluster: &Cluster, project: &ProjectName) -> bool {
    admin(cluster)
        .await
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)",
            &[&project.as_str()],
        )
        .await
        .unwrap()
        .get(0)
}

/// The instances of `environment` that have `project`'s schema.
async fn where_is(fleet: &Fleet, environment: &str, project: &ProjectName) -> Vec<String> {
    let mut found = Vec::new();
    for name in fleet.instance_names() {
        if has_schema(fleet.instance(environment, name), project).await {
            found.push(name.to_owned());
        }
    }
    found
}

async fn assert_only_on(fleet: &Fleet, project: &ProjectName, instance: &str) {
    for environment in ["staging", "prod"] {
        assert_eq!(
            where_is(fleet, environment, project).await,
            [instance],
            "{project} on {environment}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_projects_land_on_their_instance_and_nowhere_else() {
    let fleet = Fleet::shared();
    let (_, cotenant) = on_fleet(
        fleet,
        "pl-declared",
        "[projects.pl_on_b]\ninstance = \"b\"\n[projects.pl_on_c]\ninstance = \"c\"\n",
    )
    .await;
    for (name, instance) in [("pl_on_b", "b"), ("pl_on_c", "c")] {
        let p = project(name);
        cotenant
            .provision(&p, &ProjectSettings::default())
            .await
            .unwrap();
        assert_only_on(fleet, &p, instance).await;
        let placement = cotenant.placement(&p).await.unwrap();
        for located in &placement.environments {
            assert_eq!(
                located.instance, instance,
                "{name} on {}",
                located.environment
            );
            assert!(located.found);
        }
        assert!(placement.drift().is_empty());
        // The secrets carry the instance's address: what a service's pool connects to.
        for environment in ["staging", "prod"] {
            let cluster = fleet.instance(environment, instance);
            for login in Login::ALL {
                let secret = cotenant
                    .environment(environment)
                    .unwrap()
                    .login_secret(&p, login)
                    .await
                    .unwrap();
                assert_eq!(
                    (secret.host.as_str(), secret.port),
                    (cluster.host(), cluster.port()),
                    "{name}'s {login} secret on {environment}"
                );
            }
            assert_invariants(cluster, &p).await;
        }
        // Provisioning again finds it where it is and plans nothing.
        for (environment, plan) in cotenant
            .plan(&p, &ProjectSettings::default())
            .await
            .unwrap()
        {
            assert!(plan.is_empty(), "{name} on {environment}: {plan}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn undeclared_projects_follow_the_rule_and_staging_mirrors_prod() {
    // A fleet of its own: the rule counts every project of an instance.
    let fleet = Fleet::start(test_version(), test_flavor(), 2).unwrap();
    let (_, cotenant) = on_fleet(&fleet, "pl-rule", "").await;
    // A project on prod alone: prod's `a` now has one project, staging's instances none.
    let seed = project("pl_seed");
    cotenant
        .select(&["prod"])
        .unwrap()
        .provision(&seed, &ProjectSettings::default())
        .await
        .unwrap();
    assert_eq!(
        where_is(&fleet, "prod", &seed).await,
        ["a"],
        "a tie goes to `a`"
    );
    assert!(where_is(&fleet, "staging", &seed).await.is_empty());
    // Fewest projects on prod is `b`; staging, with none anywhere, mirrors prod.
    let second = project("pl_second");
    cotenant
        .provision(&second, &ProjectSettings::default())
        .await
        .unwrap();
    assert_only_on(&fleet, &second, "b").await;
    // One each on prod: the tie goes to `a`, on staging too.
    let third = project("pl_third");
    cotenant
        .provision(&third, &ProjectSettings::default())
        .await
        .unwrap();
    assert_only_on(&fleet, &third, "a").await;
    // Staging gets the seed where prod has it, although staging's `b` has fewer projects.
    cotenant
        .provision(&seed, &ProjectSettings::default())
        .await
        .unwrap();
    assert_only_on(&fleet, &seed, "a").await;

    // Most free connections: prod's `a` is busy with connections held open.
    let (_, by_connections) = on_fleet(
        &fleet,
        "pl-rule",
        "[placement]\nrule = \"most-free-connections\"\n",
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(admin(fleet.instance("prod", "a")).await);
    }
    let busy = project("pl_busy");
    by_connections
        .provision(&busy, &ProjectSettings::default())
        .await
        .unwrap();
    assert_only_on(&fleet, &busy, "b").await;
    drop(held);
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_from_empty_places_every_project_then_plans_nothing() {
    let fleet = Fleet::shared();
    let (config, cotenant) = on_fleet(
        fleet,
        "pl-apply",
        "[projects.pla_b]\ninstance = \"b\"\n[projects.pla_c]\ninstance = \"c\"\n\
         [projects.pla_any]\n[projects.pla_other]\n",
    )
    .await;
    let report = declare::apply(&cotenant, &config.projects, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(report.is_success(), "{report:?}");
    let plan = declare::plan(&cotenant, &config.projects).await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    for env in plan.environments() {
        assert!(env.placement_drift().is_empty(), "{env}");
    }
    assert_only_on(fleet, &project("pla_b"), "b").await;
    assert_only_on(fleet, &project("pla_c"), "c").await;
    for name in ["pla_any", "pla_other"] {
        let p = project(name);
        let prod = where_is(fleet, "prod", &p).await;
        assert_eq!(prod.len(), 1, "{name} on one prod instance: {prod:?}");
        assert_only_on(fleet, &p, &prod[0]).await;
        // The plan says where each project is.
        let on = plan.environments()[1]
            .projects()
            .iter()
            .find(|pp| pp.project() == &p)
            .and_then(|pp| pp.instance())
            .map(str::to_owned);
        assert_eq!(on.as_deref(), Some(prod[0].as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_parity_audit_rotate_and_pools_go_to_the_project_instance() {
    let fleet = Fleet::shared();
    let (_, cotenant) = on_fleet(fleet, "pl-route", "[projects.plr_c]\ninstance = \"c\"\n").await;
    let p = project("plr_c");
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    // The migrator's connection, asked of the environment, lands on `c`.
    for environment in ["staging", "prod"] {
        let migrator = login(&cotenant, environment, &p, Login::Migrator).await;
        migrator
            .batch_execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        let port: i32 = migrator
            .query_one("SELECT inet_server_port()", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(port, i32::from(fleet.instance(environment, "c").port()));
    }
    for report in cotenant.parity(&p).await.unwrap() {
        assert!(report.is_equal(), "{report}");
    }
    for environment in cotenant.environments() {
        let report = environment.audit(&Scope::only([p.clone()])).await.unwrap();
        assert_eq!(report.projects, [p.as_str()], "{}", environment.name());
        assert_eq!(report.errors(), 0, "{report:?}");
    }
    // A rotation keeps the instance's address in the secret, and the new password works there.
    cotenant
        .rotate(&p, &[Login::App], Strategy::AlternatingUsers)
        .await
        .unwrap();
    let prod = cotenant.environment("prod").unwrap();
    let secret = prod.login_secret(&p, Login::App).await.unwrap();
    assert_eq!(secret.port, fleet.instance("prod", "c").port());

    // Pools built from the environment (as a service does) connect where the secret says.
    let pool = prod.deadpool_pool(&p, &PoolOptions::new()).await.unwrap();
    let client = pool.get().await.unwrap();
    let row = client
        .query_one("SELECT inet_server_port(), count(*) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, i32>(0),
        i32::from(fleet.instance("prod", "c").port())
    );
    assert_eq!(row.get::<_, i64>(1), 1);
    let sqlx = prod.sqlx_pool(&p, &PoolOptions::new()).await.unwrap();
    let port: i32 = sqlx::query_scalar("SELECT inet_server_port()")
        .fetch_one(&sqlx)
        .await
        .unwrap();
    assert_eq!(port, i32::from(fleet.instance("prod", "c").port()));

    // Isolation across instances: the login cannot even log in to another instance.
    for other in ["a", "b"] {
        let cluster = fleet.instance("prod", other);
        let refused = tokio_postgres::Config::new()
            .host(cluster.host())
            .port(cluster.port())
            .dbname(cluster.database())
            .user(&secret.username)
            .password(secret.password.expose_secret())
            .connect(NoTls)
            .await
            .map(|_| ())
            .expect_err("the login must be refused by another instance");
        let code = refused.code().cloned();
        assert!(
            code == Some(SqlState::INVALID_PASSWORD)
                || code == Some(SqlState::INVALID_AUTHORIZATION_SPECIFICATION),
            "{p}'s login on {other}: expected 28P01 or 28000 from the server, got {refused}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn placement_drift_is_reported_and_never_moved() {
    let fleet = Fleet::shared();
    let (_, on_a) = on_fleet(fleet, "pl-drift", "[projects.pld]\ninstance = \"a\"\n").await;
    let p = project("pld");
    on_a.provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    let (config, on_b) = on_fleet(fleet, "pl-drift", "[projects.pld]\ninstance = \"b\"\n").await;
    let plan = declare::plan(&on_b, &config.projects).await.unwrap();
    for env in plan.environments() {
        let drift = env.placement_drift();
        assert_eq!(drift.len(), 1, "{env}");
        assert_eq!(
            (drift[0].declared.as_str(), drift[0].found.as_str()),
            ("b", "a")
        );
        let text = env.to_string();
        assert!(
            text.contains("declared b, found on a: run `cotenant move pld --to b`"),
            "{text}"
        );
    }
    assert!(plan.is_empty(), "drift alone is nothing to apply: {plan}");
    let report = declare::apply(&on_b, &config.projects, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(report.is_success());
    assert_only_on(fleet, &p, "a").await;
    // Commands keep routing to where the project is.
    assert_eq!(
        on_b.placement(&p).await.unwrap().drift().len(),
        2,
        "one drift per environment"
    );
    let migrator = login(&on_b, "prod", &p, Login::Migrator).await;
    let port: i32 = migrator
        .query_one("SELECT inet_server_port()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(port, i32::from(fleet.instance("prod", "a").port()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_on_two_instances_is_refused_as_ambiguous() {
    let fleet = Fleet::shared();
    let (config, cotenant) = on_fleet(fleet, "pl-ambiguous", "[projects.plam]\n").await;
    let p = project("plam");
    // As a move in progress leaves it: on prod's `a` and `b` at once.
    let prod = cotenant.environment("prod").unwrap();
    for instance in ["a", "b"] {
        prod.on(instance)
            .unwrap()
            .provision(&p, &ProjectSettings::default())
            .await
            .unwrap();
    }
    let expect_ambiguous = |error: &PlacementError| match error {
        PlacementError::Ambiguous {
            project,
            environment,
            instances,
            ..
        } => {
            assert_eq!(project, &p);
            assert_eq!(environment, "prod");
            assert_eq!(instances, &["a", "b"]);
        }
        other => panic!("expected an ambiguous placement, got {other}"),
    };
    expect_ambiguous(&cotenant.placement(&p).await.unwrap_err());
    match cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap_err()
    {
        ProvisionError::Placement(error) => expect_ambiguous(&error),
        other => panic!("expected a placement error, got {other}"),
    }
    match declare::plan(&cotenant, &config.projects)
        .await
        .unwrap_err()
    {
        DeclareError::Placement(error) => expect_ambiguous(&error),
        other => panic!("expected a placement error, got {other}"),
    }
    // Nothing was created on staging meanwhile.
    assert!(where_is(fleet, "staging", &p).await.is_empty());
    let message = cotenant.placement(&p).await.unwrap_err().to_string();
    assert!(message.contains("found on instances `a`, `b`"), "{message}");
}

/// The users a PgBouncer keeps pools for, read on its console.
async fn pooled_users(pooler: &cotenant_testkit::Pooler) -> Vec<String> {
    let (console, connection) = pooler.console_config().connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    let mut users = Vec::new();
    for message in console.simple_query("SHOW POOLS").await.unwrap() {
        if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
            let user = row
                .columns()
                .iter()
                .position(|c| c.name() == "user")
                .unwrap();
            users.push(row.get(user).unwrap_or_default().to_owned());
        }
    }
    users
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_goes_through_the_pooler_of_the_instance_its_secret_names() {
    let fleet = Fleet::shared();
    let mut poolers = Vec::new();
    for name in ["a", "b"] {
        match fleet.instance("prod", name).pooler() {
            Ok(pooler) => poolers.push((name, pooler)),
            Err(error @ cotenant_testkit::TestkitError::PoolerNotFound { .. }) => {
                eprintln!("skipped: this test needs PgBouncer: {error}");
                return;
            }
            Err(error) => panic!("starting PgBouncer in front of prod's {name}: {error}"),
        }
    }
    let prefix = "pl-pooler";
    let mut environments = fleet.environments_toml(prefix);
    for (name, pooler) in &poolers {
        let line = format!(
            "admin_secret = \"{}\"\ntls = \"disable\"\n",
            Fleet::admin_secret_id(prefix, "prod", name)
        );
        environments = environments.replace(
            &line,
            &format!(
                "{line}pooler = {{ host = \"{}\", port = {} }}\n",
                pooler.host(),
                pooler.port()
            ),
        );
    }
    let toml = format!(
        "[secrets]\nprefix = \"{prefix}\"\n{environments}\n[projects.plpool]\ninstance = \"b\"\n"
    );
    let config = Config::from_toml_str(&toml).unwrap();
    let secrets: Arc<dyn cotenant::secret::SecretSource> =
        Arc::new(MotoServer::shared().secrets_manager());
    fleet
        .write_admin_secrets(prefix, secrets.as_ref())
        .await
        .unwrap();
    let cotenant = Cotenant::with_secrets(&config, secrets);
    let p = project("plpool");
    cotenant
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    let prod = cotenant.environment("prod").unwrap();
    let pool = prod.deadpool_pool(&p, &PoolOptions::new()).await.unwrap();
    let client = pool.get().await.unwrap();
    let user: String = client
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(user, p.roles().app);
    let login = p.roles().login;
    let on_b = pooled_users(poolers[1].1).await;
    assert!(on_b.contains(&login), "b's pooler: {on_b:?}");
    let on_a = pooled_users(poolers[0].1).await;
    assert!(!on_a.contains(&login), "a's pooler: {on_a:?}");
}
