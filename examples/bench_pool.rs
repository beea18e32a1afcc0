//! Scoped pools against plain pools with the same login and size, on a local PostgreSQL.
//!
//! ```text
//! cargo run --release --example bench_pool -- [--versions 15,17] [--workers 8] [--size 8] [--rounds 8] [--seconds 2] [--connects 200]
//! ```
//!
//! For each version, on a fresh local instance started by the test kit (fsync off, data on the
//! test kit's tmpfs), with secrets in a local Secrets Manager (moto) behind a `CachedSource`:
//! 1. **Throughput and checkout latency.** One project, a table of 10,000 rows, and four pools
//!    of `--size` connections as the project's app login: cotenant's `deadpool_pool` and
//!    `sqlx_pool`, and a plain `deadpool_postgres::Pool` (from a `Config` with the same user
//!    and password) and a plain `sqlx::PgPool`. `--workers` tasks each loop over checkout +
//!    one operation + return: a point `SELECT` by key, a one-row `UPDATE`, and a short
//!    transaction (`SELECT … FOR UPDATE`, `UPDATE`, `COMMIT`), in turn. Every pool runs
//!    `--seconds` per round for `--rounds` rounds, the four in an order rotated every round,
//!    so load drifts on the shared machine hit all of them alike. Reports operations per
//!    second, the scoped/plain ratio per driver, and checkout time p50/p99.
//! 2. **Connect time.** `--connects` new connections through each pool, scoped and plain
//!    interleaved: a connection is taken out of the pool after each checkout (deadpool
//!    `Object::take`, sqlx `detach`), so the next checkout opens a new one. Scoped includes
//!    the check query; plain is the login alone.
//! 3. **Secret lookups.** The credential read through the `CachedSource` (a hit) against a
//!    read from the store (moto).

mod common;

#[cfg(not(all(feature = "sqlx", feature = "deadpool")))]
fn main() {
    eprintln!("bench_pool needs the features `sqlx` and `deadpool`");
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
    use cotenant_testkit::{Cluster, MotoServer, PgVersion};
    use deadpool_postgres::{ManagerConfig, RecyclingMethod, Runtime};
    use secrecy::ExposeSecret;
    use sqlx::Connection;
    use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
    use tokio_postgres::NoTls;

    struct Args {
        versions: Vec<PgVersion>,
        workers: usize,
        size: usize,
        rounds: usize,
        seconds: f64,
        connects: usize,
    }

    fn args() -> Args {
        let mut args = Args {
            versions: vec![PgVersion::V15, PgVersion::V17],
            workers: 8,
            size: 8,
            rounds: 8,
            seconds: 2.0,
            connects: 200,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
            let number = || -> usize { v.parse().unwrap_or_else(|_| panic!("{flag} N")) };
            match flag.as_str() {
                "--versions" => args.versions = super::common::versions(&v),
                "--workers" => args.workers = number(),
                "--size" => args.size = number(),
                "--rounds" => args.rounds = number(),
                "--seconds" => args.seconds = v.parse().expect("--seconds S"),
                "--connects" => args.connects = number(),
                other => panic!(
                    "unknown argument {other}: use --versions 15,17 --workers N --size N --rounds N --seconds S --connects N"
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

    /// One checkout, one operation of kind `n % 3`, return. Returns the checkout time.
    async fn operation(pool: &Pool, n: u64, id: i32) -> Duration {
        let started = Instant::now();
        match pool {
            Pool::Deadpool(pool) => {
                let mut client = pool.get().await.expect("a connection");
                let checkout = started.elapsed();
                match n % 3 {
                    0 => {
                        let s = client.prepare_cached(SELECT).await.unwrap();
                        client.query_one(&s, &[&id]).await.unwrap();
                    }
                    1 => {
                        let s = client.prepare_cached(UPDATE).await.unwrap();
                        client.execute(&s, &[&id]).await.unwrap();
                    }
                    _ => {
                        let tx = client.transaction().await.unwrap();
                        let lock = tx.prepare_cached(LOCK).await.unwrap();
                        let update = tx.prepare_cached(UPDATE).await.unwrap();
                        tx.query_one(&lock, &[&id]).await.unwrap();
                        tx.execute(&update, &[&id]).await.unwrap();
                        tx.commit().await.unwrap();
                    }
                }
                checkout
            }
            Pool::Sqlx(pool) => {
                let mut conn = pool.acquire().await.expect("a connection");
                let checkout = started.elapsed();
                match n % 3 {
                    0 => {
                        sqlx::query(SELECT)
                            .bind(id)
                            .fetch_one(&mut *conn)
                            .await
                            .unwrap();
                    }
                    1 => {
                        sqlx::query(UPDATE)
                            .bind(id)
                            .execute(&mut *conn)
                            .await
                            .unwrap();
                    }
                    _ => {
                        let mut tx = conn.begin().await.unwrap();
                        sqlx::query(LOCK)
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await
                            .unwrap();
                        sqlx::query(UPDATE)
                            .bind(id)
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

    async fn environment(
        cluster: &Cluster,
        moto: &MotoServer,
    ) -> (Environment, Arc<dyn SecretSource>) {
        let store: Arc<dyn SecretSource> = Arc::new(moto.secrets_manager());
        let admin = DbSecret::new(
            cluster.host(),
            cluster.port(),
            cluster.admin_user(),
            cluster.admin_password().clone(),
            cluster.database(),
        );
        let prefix = format!("bench{}", cluster.port());
        store
            .put(&format!("{prefix}/prod/admin"), &admin, Stage::Current)
            .await
            .expect("the admin secret");
        let toml = format!(
            "[secrets]\nprefix = \"{prefix}\"\n[environments.prod]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nadmin_secret = \"{prefix}/prod/admin\"\ntls = \"disable\"\n",
            cluster.host(),
            cluster.port(),
            cluster.database()
        );
        let config = Config::from_toml_str(&toml).expect("a valid config");
        let cached: Arc<dyn SecretSource> =
            Arc::new(CachedSource::new(store.clone(), Duration::from_secs(300)));
        let cotenant = Cotenant::with_secrets(&config, cached);
        (cotenant.environment("prod").unwrap().clone(), store)
    }

    async fn bench(version: PgVersion, moto: &MotoServer, args: &Args) {
        let cluster = Cluster::start(version).expect("a local instance");
        let (env, store) = environment(&cluster, moto).await;
        let p: ProjectName = "benchpool".parse().unwrap();
        // Four pools of the same login open at once, plus the connect phase's replacements.
        let mut settings = ProjectSettings::default();
        settings.login.connection_limit = u32::try_from(4 * args.size + 8).unwrap();
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
            "## PostgreSQL {server}: {} workers, pools of {}, {} rounds × {} s per pool; load at start {}",
            args.workers,
            args.size,
            args.rounds,
            args.seconds,
            load()
        );

        // The pools.
        let options = PoolOptions::new().max_size(args.size);
        let scoped_deadpool = env.deadpool_pool(&p, &options).await.unwrap();
        let scoped_sqlx = env.sqlx_pool(&p, &options).await.unwrap();
        let mut config = deadpool_postgres::Config::new();
        config.host = Some(cluster.host().to_owned());
        config.port = Some(cluster.port());
        config.dbname = Some(cluster.database().to_owned());
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
            .host(cluster.host())
            .port(cluster.port())
            .database(cluster.database())
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

        // 1. Throughput: warm every pool up (all connections open, statements cached), then
        //    rounds in rotated order.
        for (_, pool) in &pools {
            segment(pool, args.workers, 1.0, 7).await;
        }
        let mut ops = [0_u64; 4];
        let mut checkouts: [Vec<f64>; 4] = Default::default();
        // Scoped/plain within each round, for deadpool and sqlx: their median is robust to
        // a drift that lasts a round or two.
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
            "throughput scoped/plain, all rounds: deadpool {:.3}, sqlx {:.3}; median of the rounds' ratios: deadpool {:.3} (min {:.3}, max {:.3}), sqlx {:.3} (min {:.3}, max {:.3}); load now {}",
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

        // 2. Connect time: a new connection per checkout, scoped and plain interleaved; then
        //    the same with the first point SELECT on it (a fresh backend's first query pays for
        //    its cold catalog caches, which the scoped check has partly warmed).
        let mut connects: [Vec<f64>; 4] = Default::default();
        let mut first_query: [Vec<f64>; 4] = Default::default();
        // The throughput phase left `size` idle connections in each pool: use them up first.
        for _ in 0..args.connects + args.size {
            for (i, (_, pool)) in pools.iter().enumerate() {
                let started = Instant::now();
                match pool {
                    Pool::Deadpool(pool) => {
                        let client = pool.get().await.unwrap();
                        connects[i].push(us(started.elapsed()) / 1000.0);
                        let s = client.prepare_cached(SELECT).await.unwrap();
                        client.query_one(&s, &[&1_i32]).await.unwrap();
                        first_query[i].push(us(started.elapsed()) / 1000.0);
                        drop(deadpool_postgres::Object::take(client));
                    }
                    Pool::Sqlx(pool) => {
                        let mut conn = pool.acquire().await.unwrap();
                        connects[i].push(us(started.elapsed()) / 1000.0);
                        sqlx::query(SELECT)
                            .bind(1_i32)
                            .fetch_one(&mut *conn)
                            .await
                            .unwrap();
                        first_query[i].push(us(started.elapsed()) / 1000.0);
                        let _ = conn.detach().close().await;
                    }
                }
            }
        }
        println!(
            "| new connection | checkout p50 | checkout p99 | + first query p50 | + first query p99 |"
        );
        println!("| --- | --- | --- | --- | --- |");
        let (mut p50, mut q50) = ([0.0; 4], [0.0; 4]);
        for (i, (label, _)) in pools.iter().enumerate() {
            let c = sorted(connects[i].split_off(args.size));
            let q = sorted(first_query[i].split_off(args.size));
            (p50[i], q50[i]) = (pct(&c, 0.5), pct(&q, 0.5));
            println!(
                "| {label} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
                pct(&c, 0.5),
                pct(&c, 0.99),
                pct(&q, 0.5),
                pct(&q, 0.99)
            );
        }
        println!(
            "connect scoped/plain (p50): deadpool {:.3}, sqlx {:.3}; with the first query: deadpool {:.3}, sqlx {:.3}",
            p50[0] / p50[1],
            p50[2] / p50[3],
            q50[0] / q50[1],
            q50[2] / q50[3]
        );

        // 3. Secret lookups.
        let id = env.secret_id(&p, Login::App);
        let hits = 20_000;
        let started = Instant::now();
        for _ in 0..hits {
            env.login_secret(&p, Login::App).await.unwrap();
        }
        let hit = us(started.elapsed()) / hits as f64;
        let mut reads = Vec::new();
        for _ in 0..30 {
            let started = Instant::now();
            store.get_current(&id).await.unwrap();
            reads.push(us(started.elapsed()) / 1000.0);
        }
        let reads = sorted(reads);
        println!(
            "secret: cached hit {:.2} µs (mean of {hits}), store read (moto) p50 {:.2} ms, p99 {:.2} ms; ratio {:.0}×",
            hit,
            pct(&reads, 0.5),
            pct(&reads, 0.99),
            pct(&reads, 0.5) * 1000.0 / hit
        );
        println!("load at end {}", load());
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
