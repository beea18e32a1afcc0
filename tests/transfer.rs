//! `cotenant move`'s engine: a project moves between two instances of one environment (two
//! test-kit servers, secrets in moto) while a writer keeps inserting, with no row lost; a move
//! stopped after any step resumes or aborts; other projects find no route to it on either
//! instance during or after the move.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cotenant::config::Config;
use cotenant::migrate::Migrations;
use cotenant::pool::PoolOptions;
use cotenant::provision::ProjectSettings;
use cotenant::secret::{DbSecret, Login, SecretSource, Stage};
use cotenant::transfer::{
    self, Checksums, Instance, Mechanism, MoveOptions, Serving, Step, TransferError, Verification,
};
use cotenant::{Cotenant, Environment, ProjectName};
use cotenant_testkit::{Cluster, Flavor, MotoServer, Pair, PgVersion, test_version};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use common::{outcome, project, superuser};

/// The project's schema: FKs, RLS with a policy, identity and serial columns, a free-standing
/// sequence, and columns of the project's own types (an enum array, a composite), whose OIDs
/// differ between the instances.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "001_users.sql",
        "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE);\n\
         CREATE SEQUENCE invoice_numbers START 1000;",
    ),
    (
        "002_notes.sql",
        "CREATE TYPE note_state AS ENUM ('draft', 'sent');\n\
         CREATE TYPE amount AS (currency text, cents bigint);\n\
         CREATE TABLE notes (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), \
             body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), score double precision, \
             states note_state[] NOT NULL DEFAULT '{draft,sent}', price amount NOT NULL DEFAULT ('EUR', 250));\n\
         ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\n\
         CREATE POLICY notes_all ON notes USING (true) WITH CHECK (true);\n\
         CREATE INDEX notes_by_user ON notes (user_id, created_at DESC);\n\
         COMMENT ON INDEX notes_by_user IS 'whose notes, newest first';\n\
         COMMENT ON CONSTRAINT notes_user_id_fkey ON notes IS 'every note has a writer';",
    ),
];

fn migrations() -> Migrations {
    Migrations::from_embedded(MIGRATIONS).expect("valid migrations")
}

/// Two servers of one flavour standing for two instances of one environment: `a` and `b`.
struct Instances {
    pair: &'static Pair,
    /// The environment as a service embedding the crate has it: both instances configured, none
    /// chosen (its pools go where the project's secret says).
    service: Environment,
    /// The same configuration as a CLI has it.
    cotenant: Cotenant,
    a: Instance,
    b: Instance,
}

impl Instances {
    fn cluster(&self, name: &str) -> &Cluster {
        match name {
            "a" => &self.pair.prod,
            _ => &self.pair.staging,
        }
    }

    fn instance(&self, name: &str) -> &Instance {
        match name {
            "a" => &self.a,
            _ => &self.b,
        }
    }
}

async fn instances_of(pair: &'static Pair, prefix: &str) -> Instances {
    let secrets: Arc<dyn SecretSource> = Arc::new(MotoServer::shared().secrets_manager());
    let mut toml = format!("[secrets]\nprefix = \"{prefix}\"\n");
    for (name, cluster) in [("a", &pair.prod), ("b", &pair.staging)] {
        let admin_secret = format!("{prefix}/prod/{name}/admin");
        let admin = DbSecret::new(
            cluster.host(),
            cluster.port(),
            cluster.admin_user(),
            cluster.admin_password().clone(),
            cluster.database(),
        );
        secrets
            .put(&admin_secret, &admin, Stage::Current)
            .await
            .expect("writing the admin secret");
        toml.push_str(&format!(
            "[environments.prod.instances.{name}]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nadmin_secret = \"{admin_secret}\"\ntls = \"disable\"\n",
            cluster.host(),
            cluster.port(),
            cluster.database()
        ));
    }
    let config = Config::from_toml_str(&toml).expect("valid config");
    let cotenant = Cotenant::with_secrets(&config, secrets);
    let service = cotenant.environments()[0].clone();
    let on = |name: &str| Instance::new(name, service.on(name).expect("a configured instance"));
    Instances {
        pair,
        a: on("a"),
        b: on("b"),
        service,
        cotenant,
    }
}

async fn instances() -> Instances {
    instances_of(Pair::shared(), "transfer").await
}

/// A plain-flavoured pair (a self-hosted instance: the admin has no REPLICATION), whatever the
/// test flavour.
async fn plain_instances() -> Instances {
    static PLAIN: std::sync::OnceLock<Pair> = std::sync::OnceLock::new();
    let pair = PLAIN.get_or_init(|| {
        Pair::start_flavor(test_version(), Flavor::Plain).expect("starting a plain pair")
    });
    instances_of(pair, "transfer-plain").await
}

/// Provisions `p` on `env`, migrates it and adds `users` users with `notes` notes each.
async fn seeded(env: &Environment, p: &ProjectName, users: i64, notes: i64) {
    env.provision(p, &ProjectSettings::default())
        .await
        .expect("provisioning");
    let runner = cotenant::migrate::Runner::new(migrations());
    env.migrate(p, &runner, &cotenant::migrate::Gate::open())
        .await
        .expect("migrating");
    let login = env.connect_login(p, Login::App).await.expect("login");
    login
        .batch_execute(&format!(
            "INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, {users}) g;\n\
             INSERT INTO notes (user_id, body, score, states, price) SELECT u.id, 'note ' || g, g / 3.0, \
                 CASE WHEN g % 2 = 0 THEN '{{sent}}'::note_state[] ELSE '{{draft,draft}}' END, ('USD', g)::amount \
               FROM users u, generate_series(1, {notes}) g;\n\
             SELECT nextval('invoice_numbers') FROM generate_series(1, 7);"
        ))
        .await
        .expect("seeding");
}

/// A connection as `p`'s app login wherever its secret points now: what a service's pool does
/// after the server refused its login (it reads the secret again).
async fn connect_following(secrets: &dyn SecretSource, id: &str) -> Option<Client> {
    secrets.invalidate(id);
    let secret = secrets.get_current(id).await.ok()?;
    let mut config = tokio_postgres::Config::new();
    use secrecy::ExposeSecret;
    config
        .host(&secret.host)
        .port(secret.port)
        .dbname(&secret.dbname)
        .user(&secret.username)
        .password(secret.password.expose_secret())
        .connect_timeout(Duration::from_secs(2));
    let (client, connection) = config.connect(NoTls).await.ok()?;
    tokio::spawn(connection);
    Some(client)
}

/// Which of cotenant's pools a [`Writer`] writes through.
#[derive(Debug, Clone, Copy)]
enum Driver {
    Deadpool,
    /// Acquiring with [`Environment::sqlx_acquire`], which reads the secret again on a refusal.
    Sqlx,
}

/// A service's writer: inserting notes one by one through cotenant's own pool, built once on the
/// environment as the service has it and never told about the move; returns the ids it saw
/// committed, how many inserts failed (none is retried: a failed insert did not commit) and the
/// longest gap between two commits.
struct Writer {
    stop: Arc<AtomicBool>,
    /// How many inserts committed so far.
    count: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<(Vec<i64>, usize, Duration)>,
}

const INSERT: &str =
    "INSERT INTO notes (user_id, body) SELECT min(id), 'live' FROM users RETURNING id";

impl Writer {
    async fn start(env: &Environment, p: &ProjectName, driver: Driver) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let options = PoolOptions::new()
            .max_size(2)
            .acquire_timeout(Duration::from_secs(4))
            .credential_watch(None);
        let (env, p) = (env.clone(), p.clone());
        let deadpool = match driver {
            Driver::Deadpool => Some(env.deadpool_pool(&p, &options).await.expect("a pool")),
            Driver::Sqlx => None,
        };
        let sqlx = match driver {
            Driver::Sqlx => Some(env.sqlx_pool(&p, &options).await.expect("a pool")),
            Driver::Deadpool => None,
        };
        let task = tokio::spawn(async move {
            let (mut committed, mut failed) = (Vec::new(), 0usize);
            let mut longest_gap = Duration::ZERO;
            let mut last_ok = std::time::Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let inserted = match (&deadpool, &sqlx) {
                    (Some(pool), _) => match pool.get().await {
                        Ok(client) => match client.query_typed(INSERT, &[]).await {
                            Ok(rows) => Some(rows[0].get::<_, i64>(0)),
                            // A session the fence ended: closed, so deadpool's recycling
                            // drops it rather than handing it out again.
                            Err(_) => None,
                        },
                        Err(_) => None,
                    },
                    (None, Some(pool)) => match env.sqlx_acquire(&p, pool).await {
                        Ok(mut conn) => sqlx::query_scalar::<_, i64>(INSERT)
                            .fetch_one(&mut *conn)
                            .await
                            .ok(),
                        Err(_) => None,
                    },
                    (None, None) => unreachable!("one pool per writer"),
                };
                match inserted {
                    Some(id) => {
                        committed.push(id);
                        counter.fetch_add(1, Ordering::Relaxed);
                        longest_gap = longest_gap.max(last_ok.elapsed());
                        last_ok = std::time::Instant::now();
                    }
                    None => {
                        failed += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            (committed, failed, longest_gap)
        });
        Writer { stop, count, task }
    }

    /// Waits (up to 20 s: the pool backs off while the logins are fenced) until the writer has
    /// committed `more` inserts after this call; false if it did not.
    async fn commits_again(&self, more: usize) -> bool {
        let from = self.count.load(Ordering::Relaxed);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if self.count.load(Ordering::Relaxed) >= from + more {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    async fn stop(self) -> (Vec<i64>, usize, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the writer does not panic")
    }
}

async fn admin_of(cluster: &Cluster) -> Client {
    common::admin(cluster).await
}

async fn has_schema(cluster: &Cluster, p: &ProjectName) -> bool {
    admin_of(cluster)
        .await
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&p.as_str()],
        )
        .await
        .unwrap()
        .get(0)
}

/// The replication objects of `p`'s move left on either server.
async fn replication_objects(inst: &Instances, p: &ProjectName) -> Vec<String> {
    let name = format!("cotenant_move_{p}");
    let mut left = Vec::new();
    for side in ["a", "b"] {
        let su = superuser(inst.cluster(side)).await;
        for (kind, sql) in [
            (
                "publication",
                "SELECT count(*) FROM pg_publication WHERE pubname = $1",
            ),
            (
                "subscription",
                "SELECT count(*) FROM pg_subscription WHERE subname = $1",
            ),
            (
                "slot",
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1",
            ),
        ] {
            let n: i64 = su.query_one(sql, &[&name]).await.unwrap().get(0);
            if n > 0 {
                left.push(format!("{kind} on {side}"));
            }
        }
    }
    left
}

/// How many notes the copy of `p` on `cluster` holds (read as the superuser).
async fn notes_on(cluster: &Cluster, p: &ProjectName) -> usize {
    let n: i64 = superuser(cluster)
        .await
        .query_one(&format!("SELECT count(*) FROM {p}.notes"), &[])
        .await
        .unwrap()
        .get(0);
    usize::try_from(n).unwrap()
}

/// The service's pool followed the project: the target's copy has rows the fenced source's
/// never got, written through the pool built before the move.
async fn assert_the_pool_followed(inst: &Instances, p: &ProjectName, after: usize) {
    let left_behind = notes_on(inst.cluster("a"), p).await;
    assert!(
        after > left_behind,
        "the writer's pool wrote on the target after the flip ({after} rows there, {left_behind} on the source)"
    );
}

/// Notes visible to `p`'s login on the instance its secret names.
async fn notes_seen(env: &Environment, p: &ProjectName) -> Vec<i64> {
    let secrets = env.secrets().clone();
    let client = connect_following(secrets.as_ref(), &env.secret_id(p, Login::App))
        .await
        .expect("the login connects where its secret points");
    client
        .query("SELECT id FROM notes ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn expected_mechanism(inst: &Instances) -> Mechanism {
    let cluster = inst.cluster("a");
    if cluster.flavor() == Flavor::Supabase && cluster.version() != PgVersion::V15 {
        Mechanism::LogicalReplication
    } else {
        Mechanism::FenceThenCopy
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_project_moves_under_write_load_with_no_row_lost() {
    let inst = instances().await;
    let p = project("tr_load");
    seeded(inst.a.environment(), &p, 50, 40).await;
    let options = MoveOptions::new(migrations());
    let plan = transfer::plan(&inst.a, &inst.b, &p, &options)
        .await
        .unwrap();
    println!("{plan}");
    assert_eq!(plan.mechanism, expected_mechanism(&inst), "{plan}");
    assert_eq!(
        plan.tables
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["users", "notes"],
        "referenced tables first"
    );
    if plan.mechanism == Mechanism::FenceThenCopy {
        assert!(!plan.reasons.is_empty(), "the plan says why: {plan}");
    }
    let before = notes_seen(inst.a.environment(), &p).await;
    let writer = Writer::start(&inst.service, &p, Driver::Deadpool).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = transfer::run(&inst.a, &inst.b, &p, &options).await.unwrap();
    assert_eq!(report.reached, Step::CleanedUp);
    // The default compares checksums after the flip, in the snapshots taken at the fence, while
    // the writer already writes on the target.
    assert_eq!(report.checksums, Some(Checksums::Matched));
    assert!(report.steps.iter().any(|(s, _)| *s == Step::Checksummed));
    assert!(
        writer.commits_again(20).await,
        "the pool built before the move writes again after it, on the target"
    );
    let (committed, failed, longest_gap) = writer.stop().await;
    println!(
        "fenced for {:?}, longest write gap {longest_gap:?}, {} inserts, {failed} refused, {} sessions terminated",
        report.fenced_for,
        committed.len(),
        report.terminated
    );
    assert!(committed.len() > 10, "the writer wrote throughout");
    let after = notes_seen(inst.a.environment(), &p).await;
    let secret = inst
        .a
        .environment()
        .login_secret(&p, Login::App)
        .await
        .unwrap();
    assert_eq!(
        secret.port,
        inst.cluster("b").port(),
        "the secret points at the target"
    );
    for id in before.iter().chain(&committed) {
        assert!(after.binary_search(id).is_ok(), "row {id} was lost");
    }
    assert_eq!(
        after.len(),
        before.len() + committed.len(),
        "no row lost, none invented"
    );
    assert_the_pool_followed(&inst, &p, after.len()).await;
    // The sequences came along: the next invoice number continues the source's.
    let client = connect_following(
        inst.a.environment().secrets().as_ref(),
        &inst.a.environment().secret_id(&p, Login::App),
    )
    .await
    .unwrap();
    let next: i64 = client
        .query_one("SELECT nextval('invoice_numbers')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(next, 1007);
    assert!(replication_objects(&inst, &p).await.is_empty());
    // Until --finish the source keeps its (fenced) copy.
    assert!(has_schema(inst.cluster("a"), &p).await);
    let record = transfer::serving(&admin_of(inst.cluster("a")).await, &p)
        .await
        .unwrap()
        .expect("the move is recorded until --finish");
    assert_eq!(record.serving(), Serving::Target);
    transfer::finish(&inst.a, &p).await.unwrap();
    assert!(!has_schema(inst.cluster("a"), &p).await);
    assert!(
        transfer::serving(&admin_of(inst.cluster("a")).await, &p)
            .await
            .unwrap()
            .is_none()
    );
    // The project keeps working on its new instance, and can move back.
    let report = transfer::run(&inst.b, &inst.a, &p, &options).await.unwrap();
    assert_eq!(report.reached, Step::CleanedUp);
    transfer::finish(&inst.b, &p).await.unwrap();
    assert_eq!(
        notes_seen(inst.a.environment(), &p).await.len(),
        after.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_self_hosted_instance_falls_back_to_fence_then_copy_and_says_why() {
    let inst = plain_instances().await;
    let p = project("tr_plain");
    seeded(inst.a.environment(), &p, 30, 30).await;
    // Both servers come from one template and would give the project's types the same OIDs;
    // a real target has lived a life of its own. Objects made (and dropped) there first make the
    // OIDs differ, as binary COPY of the enum array and the composite would notice.
    admin_of(inst.cluster("b"))
        .await
        .batch_execute("CREATE TEMP TABLE oid_shift (a int); CREATE TEMP TABLE oid_shift_2 (a int)")
        .await
        .unwrap();
    let options = MoveOptions::new(migrations());
    let plan = transfer::plan(&inst.a, &inst.b, &p, &options)
        .await
        .unwrap();
    println!("{plan}");
    assert_eq!(plan.mechanism, Mechanism::FenceThenCopy);
    assert!(
        plan.reasons.iter().any(|r| r.contains("lacks REPLICATION")),
        "{plan}"
    );
    assert!(plan.to_string().contains("writes refused for about"));
    let before = notes_seen(inst.a.environment(), &p).await;
    let writer = Writer::start(&inst.service, &p, Driver::Sqlx).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    transfer::run(&inst.a, &inst.b, &p, &options).await.unwrap();
    assert!(
        writer.commits_again(20).await,
        "the pool built before the move writes again after it, on the target"
    );
    let (committed, _, _) = writer.stop().await;
    let after = notes_seen(inst.a.environment(), &p).await;
    assert_eq!(after.len(), before.len() + committed.len(), "no row lost");
    assert_the_pool_followed(&inst, &p, after.len()).await;
    // The project's own types came across by value although their OIDs differ.
    let mut seen = Vec::new();
    for c in ["a", "b"] {
        let row = superuser(inst.cluster(c))
            .await
            .query_one(
                "SELECT 'tr_plain.note_state[]'::regtype::oid::int8,
                        (SELECT string_agg(format('%s %s %s', id, states, price), ',' ORDER BY id)
                         FROM tr_plain.notes WHERE id <= (SELECT max(id) FROM tr_plain.notes WHERE body LIKE 'note %'))",
                &[],
            )
            .await
            .unwrap();
        seen.push((row.get::<_, i64>(0), row.get::<_, String>(1)));
    }
    assert_ne!(
        seen[0].0, seen[1].0,
        "the types' OIDs differ between the instances"
    );
    assert_eq!(
        seen[0].1, seen[1].1,
        "the enum arrays and composites are the same"
    );
    // The copy set the foreign key and the plain index aside and made them again: the same
    // ones, with their comments, enforced.
    let keys = "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
                                  || ' ' || coalesce(obj_description(oid, 'pg_constraint'), '-'), ', ' ORDER BY conname)
                FROM pg_constraint WHERE connamespace = 'tr_plain'::regnamespace
                UNION ALL
                SELECT string_agg(pg_get_indexdef(indexrelid) || ' ' || coalesce(obj_description(indexrelid, 'pg_class'), '-'), ', ' ORDER BY indexrelid::regclass::text)
                FROM pg_index WHERE indrelid::regclass::text LIKE 'tr_plain.%'";
    let on_a: Vec<String> = common::query_column(&superuser(inst.cluster("a")).await, keys).await;
    let on_b: Vec<String> = common::query_column(&superuser(inst.cluster("b")).await, keys).await;
    assert!(on_a[1].contains("whose notes, newest first"), "{on_a:?}");
    assert_eq!(on_b, on_a);
    let login = inst
        .service
        .connect_login(&p, Login::App)
        .await
        .expect("login");
    assert_eq!(
        outcome(
            &login,
            "INSERT INTO notes (user_id, body) VALUES (-1, 'orphan')"
        )
        .await,
        Some(SqlState::FOREIGN_KEY_VIOLATION)
    );
    transfer::finish(&inst.a, &p).await.unwrap();
}

/// Stops a fresh move of `p` after `step` (as a kill there would), and returns the project.
async fn stopped_after(inst: &Instances, p: &ProjectName, step: Step) {
    let options = MoveOptions::new(migrations()).stop_after(step);
    let report = transfer::run(&inst.a, &inst.b, p, &options).await.unwrap();
    assert!(report.stopped || step == Step::CleanedUp);
    assert_eq!(report.reached, step);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_move_stopped_after_any_step_resumes_or_aborts() {
    let inst = instances().await;
    let mechanism = expected_mechanism(&inst);
    let steps: Vec<Step> = Step::ALL
        .into_iter()
        .filter(|s| {
            mechanism == Mechanism::LogicalReplication
                || !matches!(s, Step::Replicating | Step::CaughtUp)
        })
        .filter(|s| *s != Step::CleanedUp)
        .collect();
    for (i, step) in steps.into_iter().enumerate() {
        let p = project(&format!("tr_kill{i}"));
        seeded(inst.a.environment(), &p, 5, 5).await;
        let rows = notes_seen(inst.a.environment(), &p).await;
        stopped_after(&inst, &p, step).await;
        let record = transfer::serving(&admin_of(inst.cluster("a")).await, &p)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.step, step);
        let options = MoveOptions::new(migrations());
        if step < Step::Flipped {
            assert_eq!(record.serving(), Serving::Source, "after {step}");
            // Refused while recorded: a second start would race the first.
            assert!(matches!(
                transfer::run(&inst.a, &inst.b, &p, &options).await,
                Err(TransferError::InProgress { .. })
            ));
            transfer::abort(&inst.a, &inst.b, &p).await.unwrap();
            assert!(!has_schema(inst.cluster("b"), &p).await, "after {step}");
            assert!(
                replication_objects(&inst, &p).await.is_empty(),
                "after {step}"
            );
            let secret = inst
                .a
                .environment()
                .login_secret(&p, Login::App)
                .await
                .unwrap();
            assert_eq!(secret.port, inst.cluster("a").port());
            assert_eq!(
                notes_seen(inst.a.environment(), &p).await,
                rows,
                "the source serves again after {step}"
            );
            // And the same stop, resumed, completes.
            stopped_after(&inst, &p, step).await;
        } else {
            assert_eq!(record.serving(), Serving::Target, "after {step}");
            assert!(matches!(
                transfer::abort(&inst.a, &inst.b, &p).await,
                Err(TransferError::PastTheFlip { .. })
            ));
        }
        let report = transfer::resume(&inst.a, &inst.b, &p, &options)
            .await
            .unwrap();
        assert_eq!(report.reached, Step::CleanedUp, "resumed after {step}");
        assert_eq!(
            notes_seen(inst.a.environment(), &p).await,
            rows,
            "after {step}"
        );
        assert!(
            replication_objects(&inst, &p).await.is_empty(),
            "after {step}"
        );
        if step == Step::Unfenced {
            // Killed once the target served, before the checksums were read: their snapshots
            // are gone, and nothing proves the copies equal.
            assert_eq!(report.checksums, Some(Checksums::Incomplete));
            assert!(matches!(
                transfer::finish(&inst.a, &p).await,
                Err(TransferError::Unverified { .. })
            ));
            assert!(
                has_schema(inst.cluster("a"), &p).await,
                "the source's copy is kept"
            );
            transfer::finish_unverified(&inst.a, &p).await.unwrap();
        } else {
            // Before the unfence (the target still frozen), a resumed run takes the snapshots
            // again; after the comparison, there is nothing left to compare.
            if step < Step::Checksummed {
                assert_eq!(report.checksums, Some(Checksums::Matched), "after {step}");
            }
            transfer::finish(&inst.a, &p).await.unwrap();
        }
        assert!(!has_schema(inst.cluster("a"), &p).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_refused_and_changes_nothing() {
    let inst = instances().await;
    let p = project("tr_bad");
    seeded(inst.a.environment(), &p, 2, 2).await;
    // Migrations that are not the ones applied.
    let other =
        Migrations::from_embedded(&[("001_users.sql", "CREATE TABLE users (id int)")]).unwrap();
    let error = transfer::run(&inst.a, &inst.b, &p, &MoveOptions::new(other))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TransferError::MigrationsDiffer { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("moving `tr_bad`: the migrations given")
    );
    // The same instance twice.
    let error = transfer::run(&inst.a, &inst.a, &p, &MoveOptions::new(migrations()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TransferError::SameInstance { .. }),
        "{error}"
    );
    // A project that is not there.
    let error = transfer::run(
        &inst.a,
        &inst.b,
        &project("tr_absent"),
        &MoveOptions::new(migrations()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, TransferError::NotOnSource { .. }),
        "{error}"
    );
    // Nothing to resume, abort or finish.
    assert!(matches!(
        transfer::resume(&inst.a, &inst.b, &p, &MoveOptions::new(migrations())).await,
        Err(TransferError::NoMove { .. })
    ));
    assert!(matches!(
        transfer::abort(&inst.a, &inst.b, &p).await,
        Err(TransferError::NoMove { .. })
    ));
    assert!(matches!(
        transfer::finish(&inst.a, &p).await,
        Err(TransferError::NoMove { .. })
    ));
    assert!(!has_schema(inst.cluster("b"), &p).await);
    assert!(
        transfer::serving(&admin_of(inst.cluster("a")).await, &p)
            .await
            .unwrap()
            .is_none()
    );
    // A table that forces row-level security on its owner: neither mechanism can write it.
    let forced = project("tr_forced");
    seeded(inst.a.environment(), &forced, 1, 1).await;
    let mut files = MIGRATIONS.to_vec();
    files.push((
        "003_force.sql",
        "ALTER TABLE notes FORCE ROW LEVEL SECURITY;",
    ));
    let with_force = Migrations::from_embedded(&files).unwrap();
    inst.a
        .environment()
        .migrate(
            &forced,
            &cotenant::migrate::Runner::new(with_force.clone()),
            &cotenant::migrate::Gate::open(),
        )
        .await
        .unwrap();
    let error = transfer::run(&inst.a, &inst.b, &forced, &MoveOptions::new(with_force))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TransferError::ForcedRowSecurity { ref tables, .. } if tables == &["notes"]),
        "{error}"
    );
    assert!(
        !has_schema(inst.cluster("b"), &forced).await,
        "refused before touching the target"
    );
    // A target that already has the project.
    seeded(inst.b.environment(), &p, 1, 1).await;
    let error = transfer::run(&inst.a, &inst.b, &p, &MoveOptions::new(migrations()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TransferError::TargetNotEmpty { .. }),
        "{error}"
    );
}

/// What another project's login may do to `p`'s move, on `cluster`: every attempt must be
/// refused by the server with 42501.
async fn attempts_by(other: &Client, p: &ProjectName) -> Vec<(String, Option<SqlState>)> {
    let name = format!("cotenant_move_{p}");
    let mut outcomes = Vec::new();
    for sql in [
        format!("SELECT * FROM {p}.notes"),
        format!("SELECT * FROM {p}.users"),
        "SELECT * FROM cotenant_transfer.moves".to_owned(),
        "UPDATE cotenant_transfer.moves SET step = 'flipped'".to_owned(),
        format!("ALTER PUBLICATION {name} ADD TABLE {p}.users"),
        format!("DROP PUBLICATION {name}"),
        format!("ALTER SUBSCRIPTION {name} DISABLE"),
        format!("DROP SUBSCRIPTION {name}"),
        "SELECT subconninfo FROM pg_subscription".to_owned(),
        format!(
            "CREATE SUBSCRIPTION steal CONNECTION 'host=127.0.0.1 dbname=postgres' PUBLICATION {name} WITH (connect = false)"
        ),
        format!("SELECT * FROM pg_logical_slot_peek_changes('{name}', NULL, NULL)"),
    ] {
        outcomes.push((sql.clone(), outcome(other, &sql).await));
    }
    outcomes
}

async fn assert_no_route(inst: &Instances, other: &ProjectName, p: &ProjectName, when: &str) {
    for side in ["a", "b"] {
        let env = inst.instance(side).environment();
        let client = env
            .connect_login(other, Login::App)
            .await
            .expect("other's login");
        for (sql, code) in attempts_by(&client, p).await {
            // A statement naming an object that does not exist (yet, or any more) on this side
            // fails earlier, with "undefined": no route either.
            let refused = matches!(
                code,
                Some(ref c) if *c == SqlState::INSUFFICIENT_PRIVILEGE
                    || *c == SqlState::UNDEFINED_OBJECT
                    || *c == SqlState::UNDEFINED_TABLE
                    || *c == SqlState::INVALID_SCHEMA_NAME
            );
            assert!(
                refused,
                "{when}, on {side}: `{sql}` as another project's login: {code:?}"
            );
            if side == "a" && sql.starts_with("SELECT * FROM tr_iso") {
                assert_eq!(
                    code,
                    Some(SqlState::INSUFFICIENT_PRIVILEGE),
                    "{when}: `{sql}`"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_other_project_finds_a_route_during_or_after_a_move() {
    let inst = instances().await;
    let p = project("tr_iso");
    let other = project("tr_iso_other");
    seeded(inst.a.environment(), &p, 3, 3).await;
    for side in ["a", "b"] {
        inst.instance(side)
            .environment()
            .provision(&other, &ProjectSettings::default())
            .await
            .unwrap();
    }
    let last = match expected_mechanism(&inst) {
        Mechanism::LogicalReplication => Step::CaughtUp,
        _ => Step::SchemaBuilt,
    };
    stopped_after(&inst, &p, last).await;
    assert_no_route(&inst, &other, &p, "during the move").await;
    // The project's own login cannot read or change the state either.
    let own = inst
        .a
        .environment()
        .connect_login(&p, Login::App)
        .await
        .unwrap();
    assert_eq!(
        outcome(&own, "SELECT * FROM cotenant_transfer.moves").await,
        Some(SqlState::INSUFFICIENT_PRIVILEGE)
    );
    // Its target copy is fenced: its login is refused there until the flip.
    let target_login = inst.b.environment().connect_login(&p, Login::App).await;
    assert!(
        target_login.is_err(),
        "the target refuses the login before the flip"
    );
    transfer::resume(&inst.a, &inst.b, &p, &MoveOptions::new(migrations()))
        .await
        .unwrap();
    assert_no_route(&inst, &other, &p, "after the move").await;
    // The source's copy is fenced until --finish: the old address refuses the login.
    assert!(
        inst.a
            .environment()
            .connect_login(&p, Login::App)
            .await
            .is_err()
    );
    transfer::finish(&inst.a, &p).await.unwrap();
}

/// Asserts that `error` is a refusal naming `p`'s move and how to end it.
fn assert_refused_mid_move(error: &dyn std::fmt::Display, p: &ProjectName, doing: &str) {
    let text = error.to_string();
    assert!(
        text.contains("is being moved from instance `a` to `b`")
            && text.contains(&format!("cotenant move {p} --resume"))
            && text.contains(&format!("cotenant move {p} --abort")),
        "{doing}: {text}"
    );
}

/// Whether `p`'s app login may log in on `cluster`.
async fn can_login(cluster: &Cluster, p: &ProjectName) -> bool {
    superuser(cluster)
        .await
        .query_one(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1",
            &[&format!("{p}_login")],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn placement_routes_to_the_copy_the_move_record_says_serves_and_refuses_changes() {
    let inst = instances().await;
    let service = &inst.service;
    let p = project("tr_route");
    seeded(inst.a.environment(), &p, 3, 3).await;
    let runner = cotenant::migrate::Runner::new(migrations());
    let options = MoveOptions::new(migrations());
    let changes_refused = |when: &'static str| {
        let (p, runner) = (p.clone(), &runner);
        async move {
            let error = service.for_change(&p).await.unwrap_err();
            assert_refused_mid_move(&error, &p, when);
            let error = service
                .provision(&p, &ProjectSettings::default())
                .await
                .unwrap_err();
            assert_refused_mid_move(&error, &p, when);
            let error = service
                .migrate(&p, runner, &cotenant::migrate::Gate::open())
                .await
                .unwrap_err();
            assert_refused_mid_move(&error, &p, when);
            let error = service
                .rotate(&p, Login::App, cotenant::rotate::Strategy::default())
                .await
                .unwrap_err();
            assert_refused_mid_move(&error, &p, when);
            let error = service
                .deprovision(
                    &p,
                    &cotenant::provision::DropObjects::Confirmed(p.to_string()),
                )
                .await
                .unwrap_err();
            assert_refused_mid_move(&error, &p, when);
        }
    };

    // Before the flip: on both instances, the source serves; reads go there.
    stopped_after(&inst, &p, Step::Verified).await;
    assert!(has_schema(inst.cluster("b"), &p).await);
    assert_eq!(service.for_project(&p).await.unwrap().instance(), "a");
    let placement = inst.cotenant.placement(&p).await.unwrap();
    let moving = placement.environments[0].moving.clone().expect("a move");
    assert_eq!((moving.source.as_str(), moving.target.as_str()), ("a", "b"));
    assert_eq!(moving.step, Step::Verified);
    service.fingerprint(&p).await.expect("reads work mid-move");
    changes_refused("before the flip").await;
    assert!(
        !can_login(inst.cluster("a"), &p).await,
        "the refused provisioning left the fenced source fenced"
    );

    // After the flip: the target serves; changes are still refused until the move ends.
    let flipped = MoveOptions::new(migrations()).stop_after(Step::Flipped);
    transfer::resume(&inst.a, &inst.b, &p, &flipped)
        .await
        .unwrap();
    assert_eq!(service.for_project(&p).await.unwrap().instance(), "b");
    changes_refused("after the flip").await;

    // Complete (the source's copy kept until --finish): commands go to the target.
    transfer::resume(&inst.a, &inst.b, &p, &options)
        .await
        .unwrap();
    assert_eq!(service.for_change(&p).await.unwrap().instance(), "b");
    let plan = service
        .provision(&p, &ProjectSettings::default())
        .await
        .unwrap();
    assert!(
        plan.is_empty(),
        "the target was provisioned by the move: {plan:?}"
    );
    assert!(
        !can_login(inst.cluster("a"), &p).await,
        "the source stays fenced"
    );
    transfer::finish(&inst.a, &p).await.unwrap();
    assert_eq!(service.for_project(&p).await.unwrap().instance(), "b");
}

/// Changes a row of `p`'s copy on `cluster` behind the move's back, as the superuser.
async fn tamper(cluster: &Cluster, p: &ProjectName) {
    superuser(cluster)
        .await
        .batch_execute(&format!(
            "UPDATE {p}.notes SET body = 'tampered' WHERE id = (SELECT min(id) FROM {p}.notes)"
        ))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checksums_after_the_flip_keep_the_source_until_they_match() {
    let inst = instances().await;
    // A row changed on the target's copy after the fence's counts, before the snapshots: the
    // counts matched, the checksums after the flip do not.
    let p = project("tr_differ");
    seeded(inst.a.environment(), &p, 4, 4).await;
    stopped_after(&inst, &p, Step::Flipped).await;
    tamper(inst.cluster("b"), &p).await;
    let error = transfer::resume(&inst.a, &inst.b, &p, &MoveOptions::new(migrations()))
        .await
        .unwrap_err();
    let TransferError::ChecksumsDiffer { ref tables, .. } = error else {
        panic!("{error}");
    };
    assert_eq!(tables.len(), 1, "{error}");
    assert!(
        tables[0].starts_with("notes: source 16 row(s), checksum "),
        "{error}"
    );
    assert!(
        error.to_string().contains("--finish --unverified"),
        "{error}"
    );
    let record = transfer::serving(&admin_of(inst.cluster("a")).await, &p)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.step, Step::CleanedUp, "the move went on to its end");
    assert_eq!(record.serving(), Serving::Target);
    assert!(matches!(record.checksums, Checksums::Differ(ref t) if t == tables));
    assert!(
        replication_objects(&inst, &p).await.is_empty(),
        "the held snapshots did not keep the cleanup from running"
    );
    assert!(matches!(
        transfer::finish(&inst.a, &p).await,
        Err(TransferError::ChecksumsDiffer { .. })
    ));
    assert!(
        has_schema(inst.cluster("a"), &p).await,
        "the source's copy is kept"
    );
    // Resuming again compares nothing more: the difference stays recorded.
    let report = transfer::resume(&inst.a, &inst.b, &p, &MoveOptions::new(migrations())).await;
    assert!(report.is_ok(), "nothing left to run: {report:?}");
    assert!(matches!(
        transfer::finish(&inst.a, &p).await,
        Err(TransferError::ChecksumsDiffer { .. })
    ));
    transfer::finish_unverified(&inst.a, &p).await.unwrap();
    assert!(!has_schema(inst.cluster("a"), &p).await);

    // A kill after the unfence, before the checksums were read.
    let p = project("tr_lost");
    seeded(inst.a.environment(), &p, 3, 3).await;
    stopped_after(&inst, &p, Step::Unfenced).await;
    let record = transfer::serving(&admin_of(inst.cluster("a")).await, &p)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.checksums, Checksums::Running);
    let report = transfer::resume(&inst.a, &inst.b, &p, &MoveOptions::new(migrations()))
        .await
        .unwrap();
    assert_eq!(report.checksums, Some(Checksums::Incomplete));
    let error = transfer::finish(&inst.a, &p).await.unwrap_err();
    assert!(matches!(error, TransferError::Unverified { .. }), "{error}");
    assert!(
        error.to_string().contains("--finish --unverified"),
        "{error}"
    );
    assert!(
        has_schema(inst.cluster("a"), &p).await,
        "the source's copy is kept"
    );
    transfer::finish_unverified(&inst.a, &p).await.unwrap();
    assert!(!has_schema(inst.cluster("a"), &p).await);

    // Checksums in the fence, as an option: the same tampering stops the move before the flip,
    // and the source serves again.
    let p = project("tr_infence");
    seeded(inst.a.environment(), &p, 3, 3).await;
    let in_fence = MoveOptions::new(migrations()).verification(Verification::ChecksumsInFence);
    let plan = transfer::plan(&inst.a, &inst.b, &p, &in_fence)
        .await
        .unwrap();
    assert!(
        plan.to_string()
            .contains("verification: counts, checksums and sequences in the fence"),
        "{plan}"
    );
    assert!(!plan.steps.iter().any(|(s, _)| *s == Step::Checksummed));
    transfer::run(
        &inst.a,
        &inst.b,
        &p,
        &in_fence.clone().stop_after(Step::SequencesSynced),
    )
    .await
    .unwrap();
    tamper(inst.cluster("b"), &p).await;
    let error = transfer::resume(&inst.a, &inst.b, &p, &MoveOptions::new(migrations()))
        .await
        .unwrap_err();
    assert!(matches!(error, TransferError::Mismatch { .. }), "{error}");
    assert!(
        can_login(inst.cluster("a"), &p).await,
        "the source serves again"
    );
    transfer::abort(&inst.a, &inst.b, &p).await.unwrap();
    let report = transfer::run(&inst.a, &inst.b, &p, &in_fence)
        .await
        .unwrap();
    assert_eq!(report.checksums, None, "nothing compared after the flip");
    assert!(!report.steps.iter().any(|(s, _)| *s == Step::Checksummed));
    transfer::finish(&inst.a, &p).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_run_of_the_same_move_is_refused_while_one_runs() {
    let inst = instances().await;
    let p = project("tr_busy");
    seeded(inst.a.environment(), &p, 3, 3).await;
    stopped_after(&inst, &p, Step::Fenced).await;
    // Hold the first run in its next step: the target's notes are locked by the test.
    let mut blocker = superuser(inst.cluster("b")).await;
    let held = blocker.transaction().await.unwrap();
    held.batch_execute(&format!("LOCK TABLE {p}.notes IN ACCESS EXCLUSIVE MODE"))
        .await
        .unwrap();
    let first = {
        let (a, b, p) = (inst.a.clone(), inst.b.clone(), p.clone());
        tokio::spawn(
            async move { transfer::resume(&a, &b, &p, &MoveOptions::new(migrations())).await },
        )
    };
    // The first run holds the move's lock once it waits on the target.
    let su = superuser(inst.cluster("b")).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = su
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE $1",
                &[&format!("%{p}%notes%")],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never reached the target"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let source = superuser(inst.cluster("a")).await;
    for (what, second) in [
        (
            "resume",
            transfer::resume(&inst.a, &inst.b, &p, &MoveOptions::new(migrations()))
                .await
                .map(|_| ()),
        ),
        ("abort", transfer::abort(&inst.a, &inst.b, &p).await),
        ("finish", transfer::finish(&inst.a, &p).await),
    ] {
        let error = second.unwrap_err();
        let TransferError::Busy { pid: Some(pid), .. } = error else {
            panic!("{what}: {error}");
        };
        // The pid named is a session of the source's admin holding an advisory lock: the
        // first run's (idle, or in the transaction that reads the fenced source for a copy).
        let holds: bool = source
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.pid = $1 \
                 AND a.usename = $2)",
                &[&pid, &inst.cluster("a").admin_user()],
            )
            .await
            .unwrap()
            .get(0);
        assert!(holds, "{what}: {error}");
        assert!(
            error
                .to_string()
                .contains("another run of this move is in progress"),
            "{error}"
        );
    }
    let record = transfer::serving(&admin_of(inst.cluster("a")).await, &p)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.step,
        Step::Fenced,
        "the refused runs changed nothing"
    );
    assert!(!record.aborting);
    held.rollback().await.unwrap();
    let report = first.await.unwrap().unwrap();
    assert_eq!(report.reached, Step::CleanedUp);
    transfer::finish(&inst.a, &p).await.unwrap();
}
