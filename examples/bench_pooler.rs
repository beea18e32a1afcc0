//! Scoped pools against plain pools of the same login and size, both through PgBouncer in
//! transaction mode, on a local PostgreSQL.
//!
//! ```text
//! cargo run --release --example bench_pooler -- [--versions 15,17] [--workers 8] [--size 8] [--server-pool 8] [--rounds 8] [--seconds 2]
//! ```
//!
//! For each version, on a fresh local instance started by the test kit (fsync off, data on the
//! test kit's tmpfs) with the test kit's PgBouncer in front of it (`pool_mode = transaction`,
//! `auth_query` through `pgbouncer.get_auth`, `--server-pool` server connections per login), and
//! secrets in a local Secrets Manager (moto) behind a `CachedSource`: one project, a table of
//! 10,000 rows, and four pools of `--size` client connections to PgBouncer as the project's app
//! login: cotenant's `deadpool_pool` and `sqlx_pool` (through the environment's configured
//! `pooler`), and a plain `deadpool_postgres::Pool` and a plain `sqlx::PgPool` with the same user,
//! password and size pointed at PgBouncer. `--workers` tasks each loop over checkout + one
//! operation + return, in turn: a point `SELECT` by key, a one-row `UPDATE`, and a short
//! transaction (`SELECT … FOR UPDATE`, `UPDATE`, `COMMIT`), each in a form a transaction pooler
//! keeps: tokio-postgres' `query_typed` (the unnamed statement in one round trip), sqlx's
//! `raw_sql` outside a transaction and `persistent(false)` inside one. Every pool runs `--seconds`
//! per round for `--rounds` rounds, the four in an order rotated every round. Reports operations
//! per second and scoped/plain per driver (over all rounds, and the median of the rounds' ratios).

mod common;

#[cfg(not(all(feature = "sqlx", feature = "deadpool")))]
fn main() {
    eprintln!("bench_pooler needs the features `sqlx` and `deadpool`");
}

#[cfg(all(feature = "sqlx", feature = "deadpool"))]
#[tokio::main]
async fn main() {
    bench::main().await
}

#[cfg(all(feature = "sqlx", feature = "deadpool"))]
mod bench {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use cotenant::config::Config;
    use cotenant::pool::PoolOptions;
    use cotenant::provision::ProjectSettings;
    use cotenant::secret::{CachedSource, DbSecret, Login, SecretSource, Stage};
    use cotenant::{Cotenant, Environment, ProjectName};
    use cotenant_testkit::{Cluster, MotoServer, PgVersion, Pooler};
    use deadpool_postgres::{ManagerConfig, RecyclingMethod, Runtime};
    use secrecy::ExposeSecret;
    use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
    use sqlx::{Connection, Executor};
    use tokio_postgres::NoTls;
    use tokio_postgres::types::Type;

    struct Args {
        versions: Vec<PgVersion>,
        workers: usize,
        size: usize,
        server_pool: u16,
        rounds: usize,
        seconds: f64,
    }

    fn args() -> Args {
        let mut args = Args {
            versions: vec![PgVersion::V15, PgVersion::V17],
            workers: 8,
            size: 8,
            server_pool: 8,
            rounds: 8,
            seconds: 2.0,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
            let number = || -> usize { v.parse().unwrap_or_else(|_| panic!("{flag} N")) };
            match flag.as_str() {
                "--versions" => args.versions = super::common::versions(&v),
                "--workers" => args.workers = number(),
                "--size" => args.size = number(),
                "--server-pool" => args.server_pool = v.parse().expect("--server-pool N"),
                "--rounds" => args.rounds = number(),
                "--seconds" => args.seconds = v.parse().expect("--seconds S"),
                other => panic!(
                    "unknown argument {other}: use --versions 15,17 --workers N --size N --server-pool N --rounds N --seconds S"
                ),
            }
        }
        args
    }

    fn load() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "?".into())
    }

    fn us(d: Duration) -> f64 {
        d.as_secs_f64() * 1e6
    }

    fn pct(sorted: &[f64], p: f64) -> f64 {
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
    }

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    /// The four pools under test.
    #[derive(Clone)]
    enum Pool {
        Deadpool(deadpool_postgres::Pool),
        Sqlx(PgPool),
    }

    const SELECT: &str = "SELECT v, note FROM items WHERE id = $1";
    const UPDATE: &str = "UPDATE items SET v = v + 1 WHERE id = $1";
    const LOCK: &str = "SELECT v FROM items WHERE id = $1 FOR UPDATE";
    const ROWS: i32 = 10_000;

    /// One checkout, one operation of kind `n % 3`, return, in forms a transaction pooler keeps.
    /// Returns the checkout time.
    async fn operation(pool: &Pool, n: u64, id: i32) -> Duration {
        let started = Instant::now();
        match pool {
            Pool::Deadpool(pool) => {
                let mut client = pool.get().await.expect("a connection");
                let checkout = started.elapsed();
                let key = [(
                    &id as &(dyn tokio_postgres::types::ToSql + Sync),
                    Type::INT4,
                )];
                match n % 3 {
                    0 => {
                        client.query_typed(SELECT, &key).await.unwrap();
                    }
                    1 => {
                        client.query_typed(UPDATE, &key).await.unwrap();
                    }
                    _ => {
                        let tx = client.transaction().await.unwrap();
                        tx.query_typed(LOCK, &key).await.unwrap();
                        tx.query_typed(UPDATE, &key).await.unwrap();
                        tx.commit().await.unwrap();
                    }
                }
                checkout
            }
            Pool::Sqlx(pool) => {
                let mut conn = pool.acquire().await.expect("a connection");
                let checkout = started.elapsed();
                // Outside a transaction only the simple protocol is safe: the key as a literal
                // (an integer: nothing to quote), sent as a `&str` without arguments (what
                // `raw_sql` sends, in a future rustc can prove `Send`).
                let literal = |sql: &str| sql.replace("$1", &id.to_string());
                match n % 3 {
                    0 => {
                        conn.fetch_one(literal(SELECT).as_str()).await.unwrap();
                    }
                    1 => {
                        conn.execute(literal(UPDATE).as_str()).await.unwrap();
                    }
                    _ => {
                        let mut tx = conn.begin().await.unwrap();
                        sqlx::query(LOCK)
                            .bind(id)
                            .persistent(false)
                            .fetch_one(&mut *tx)
                            .await
                            .unwrap();
                        sqlx::query(UPDATE)
                            .bind(id)
                            .persistent(false)
                            .execute(&mut *tx)
                            .await
                            .unwrap();
                        tx.commit().await.unwrap();
                    }
                }
                checkout
            }
        }
    }

    /// `workers` tasks on `pool` for `seconds`: operations done and checkout times.
    async fn segment(pool: &Pool, workers: usize, seconds: f64, seed: u64) -> (u64, Vec<f64>) {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..workers)
            .map(|w| {
                let (pool, stop) = (pool.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut state = seed ^ (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    let (mut n, mut checkouts) = (0_u64, Vec::new());
                    while !stop.load(Ordering::Relaxed) {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        let id = 1 + ((state >> 33) % ROWS as u64) as i32;
                        checkouts.push(us(operation(&pool, n + w as u64, id).await));
                        n += 1;
                    }
                    (n, checkouts)
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut total = 0;
        let mut all = Vec::new();
        for task in tasks {
            let (n, checkouts) = task.await.unwrap();
            total += n;
            all.extend(checkouts);
        }
        (total, all)
    }

    async fn environment(cluster: &Cluster, pooler: &Pooler, moto: &MotoServer) -> Environment {
        let store: Arc<dyn SecretSource> = Arc::new(moto.secrets_manager());
        let admin = DbSecret::new(
            cluster.host(),
            cluster.port(),
            cluster.admin_user(),
            cluster.admin_password().clone(),
            cluster.database(),
        );
        let prefix = format!("benchpooler{}", cluster.port());
        store
            .put(&format!("{prefix}/prod/admin"), &admin, Stage::Current)
            .await
            .expect("the admin secret");
        let toml = format!(
            "[secrets]\nprefix = \"{prefix}\"\n[environments.prod]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nadmin_secret = \"{prefix}/prod/admin\"\ntls = \"disable\"\npooler = {{ host = \"{}\", port = {} }}\n",
            cluster.host(),
            cluster.port(),
            cluster.database(),
            pooler.host(),
            pooler.port(),
        );
        let config = Config::from_toml_str(&toml).expect("a valid config");
        let cached: Arc<dyn SecretSource> =
            Arc::new(CachedSource::new(store, Duration::from_secs(300)));
        let cotenant = Cotenant::with_secrets(&config, cached);
        cotenant.environment("prod").unwrap().clone()
    }

    async fn bench(version: PgVersion, moto: &MotoServer, args: &Args) {
        let cluster = Cluster::start(version).expect("a local instance");
        let pooler = Pooler::start_with_pool_size(&cluster, args.server_pool)
            .expect("PgBouncer (run scripts/setup.sh)");
        let env = environment(&cluster, &pooler, moto).await;
        let p: ProjectName = "benchpooler".parse().unwrap();
        let mut settings = ProjectSettings::default();
        settings.login.connection_limit = u32::from(args.server_pool) + 8;
        env.provision(&p, &settings).await.expect("provisioning");
        env.connect_login(&p, Login::Migrator)
            .await
            .expect("the migrator")
            .batch_execute(&format!(
                "CREATE TABLE items (id int PRIMARY KEY, v bigint NOT NULL, note text NOT NULL);
                 INSERT INTO items SELECT i, 0, md5(i::text) FROM generate_series(1, {ROWS}) i;
                 ANALYZE items;"
            ))
            .await
            .expect("the table");
        let secret = env.login_secret(&p, Login::App).await.unwrap();
        let server: String = env
            .connect_admin()
            .await
            .unwrap()
            .query_one("SELECT current_setting('server_version')", &[])
            .await
            .unwrap()
            .get(0);
        println!(
            "## PostgreSQL {server} behind PgBouncer (transaction mode, {} server connections per login): {} workers, pools of {}, {} rounds × {} s per pool; load at start {}",
            args.server_pool,
            args.workers,
            args.size,
            args.rounds,
            args.seconds,
            load()
        );

        // The pools: cotenant's go through the environment's `pooler`; the plain ones are
        // pointed at it.
        let options = PoolOptions::new().max_size(args.size);
        let scoped_deadpool = env.deadpool_pool(&p, &options).await.unwrap();
        let scoped_sqlx = env.sqlx_pool(&p, &options).await.unwrap();
        let mut config = deadpool_postgres::Config::new();
        config.host = Some(pooler.host().to_owned());
        config.port = Some(pooler.port());
        config.dbname = Some(pooler.database().to_owned());
        config.user = Some(secret.username.clone());
        config.password = Some(secret.password.expose_secret().to_owned());
        config.application_name = Some("bench-plain".to_owned());
        config.manager = Some(ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        });
        config.pool = Some(deadpool_postgres::PoolConfig::new(args.size));
        let plain_deadpool = config
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .expect("a plain deadpool");
        let plain_options = PgConnectOptions::new_without_pgpass()
            .host(pooler.host())
            .port(pooler.port())
            .database(pooler.database())
            .username(&secret.username)
            .password(secret.password.expose_secret())
            .application_name("bench-plain")
            .ssl_mode(PgSslMode::Disable);
        let plain_sqlx = PgPoolOptions::new()
            .max_connections(args.size as u32)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(plain_options);
        let pools = [
            ("deadpool, scoped", Pool::Deadpool(scoped_deadpool.clone())),
            ("deadpool, plain", Pool::Deadpool(plain_deadpool.clone())),
            ("sqlx, scoped", Pool::Sqlx(scoped_sqlx.clone())),
            ("sqlx, plain", Pool::Sqlx(plain_sqlx.clone())),
        ];

        // Warm every pool up (all client and server connections open), then rounds in rotated
        // order.
        for (_, pool) in &pools {
            segment(pool, args.workers, 1.0, 7).await;
        }
        let mut ops = [0_u64; 4];
        let mut checkouts: [Vec<f64>; 4] = Default::default();
        let mut ratios: [Vec<f64>; 2] = Default::default();
        for round in 0..args.rounds {
            let mut this_round = [0_u64; 4];
            for k in 0..pools.len() {
                let i = (k + round) % pools.len();
                let (n, c) = segment(&pools[i].1, args.workers, args.seconds, round as u64).await;
                this_round[i] = n;
                ops[i] += n;
                checkouts[i].extend(c);
            }
            ratios[0].push(this_round[0] as f64 / this_round[1] as f64);
            ratios[1].push(this_round[2] as f64 / this_round[3] as f64);
        }
        let seconds = args.seconds * args.rounds as f64;
        println!("| pool | operations/s | checkout p50 | checkout p99 |");
        println!("| --- | --- | --- | --- |");
        for (i, (label, _)) in pools.iter().enumerate() {
            let c = sorted(std::mem::take(&mut checkouts[i]));
            println!(
                "| {label} | {:.0} | {:.1} µs | {:.1} µs |",
                ops[i] as f64 / seconds,
                pct(&c, 0.5),
                pct(&c, 0.99)
            );
        }
        let [deadpool_ratios, sqlx_ratios] = ratios.map(sorted);
        println!(
            "throughput scoped/plain through PgBouncer, all rounds: deadpool {:.3}, sqlx {:.3}; median of the rounds' ratios: deadpool {:.3} (min {:.3}, max {:.3}), sqlx {:.3} (min {:.3}, max {:.3}); load now {}",
            ops[0] as f64 / ops[1] as f64,
            ops[2] as f64 / ops[3] as f64,
            pct(&deadpool_ratios, 0.5),
            deadpool_ratios[0],
            deadpool_ratios[deadpool_ratios.len() - 1],
            pct(&sqlx_ratios, 0.5),
            sqlx_ratios[0],
            sqlx_ratios[sqlx_ratios.len() - 1],
            load()
        );
        scoped_sqlx.close().await;
        plain_sqlx.close().await;
    }

    pub(super) async fn main() {
        let args = args();
        let moto = MotoServer::start().expect("moto (run scripts/setup.sh)");
        for version in &args.versions {
            bench(*version, &moto, &args).await;
        }
    }
}
