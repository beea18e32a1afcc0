//! Queries per second through the Data API path ÷ the same queries as the project's login, on
//! PostgreSQL 15 and 17.
//!
//! ```text
//! cargo run --release --example bench_api -- [--clients 4] [--seconds 2] [--rounds 5] [--versions 15,17]
//! ```
//!
//! For each version, on the prod instance of a fresh local pair (Supabase flavour) with one
//! project whose Data API is on: a table of 10,000 notes of 1,000 users behind RLS on
//! `auth.uid()` (index on `user_id`). Each transaction reads one random user's 10 notes:
//! - **API path**, what PostgREST does per request, as `authenticator`: `BEGIN`; one statement
//!   setting `role` (`<p>_authenticated`), `request.jwt.claims` (the user as `sub`) and
//!   `search_path` with `set_config(…, true)`; `SELECT … FROM notes` (RLS picks the rows);
//!   `COMMIT`.
//! - **login**: as `<p>_login` (sessions start as `<p>_app`): `BEGIN`; `SELECT … FROM notes
//!   WHERE user_id = $1`; `COMMIT`.
//!
//! `--clients` connections per arm run for `--seconds`, the arms alternating for `--rounds`
//! rounds; statements are prepared once per connection. The ratio is API ÷ login.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cotenant::api::{Api, ApiConfig};
use cotenant::platform::{Access, AccessOverride, PlatformConfig};
use cotenant::provision::ProjectSettings;
use cotenant::secret::{CachedSource, Login};
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{Flavor, MotoServer, Pair, PgVersion};
use tokio_postgres::{Client, NoTls};

const USERS: u32 = 1_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (mut clients, mut seconds, mut rounds) = (4usize, 2u64, 5usize);
    let mut versions = vec![PgVersion::V15, PgVersion::V17];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--clients" => clients = value.parse().expect("--clients N"),
            "--seconds" => seconds = value.parse().expect("--seconds N"),
            "--rounds" => rounds = value.parse().expect("--rounds N"),
            "--versions" => {
                versions = value
                    .split(',')
                    .map(|v| v.parse().unwrap_or_else(|e| panic!("--versions: {e}")))
                    .collect()
            }
            other => panic!(
                "unknown argument {other}: use --clients N --seconds N --rounds N --versions 15,17"
            ),
        }
    }
    let moto = MotoServer::start().expect("moto (run scripts/setup.sh)");
    println!("| | API path (qps) | login (qps) | API ÷ login |");
    println!("| --- | --- | --- | --- |");
    for version in versions {
        let pair = Pair::start_flavor(version, Flavor::Supabase).expect("a local pair");
        let secrets = Arc::new(CachedSource::new(
            Arc::new(moto.secrets_manager()),
            Duration::from_secs(300),
        ));
        let p: ProjectName = "bench_api".parse().expect("a valid name");
        let cotenant: Cotenant = pair
            .cotenant(&format!("benchapi{version}"), secrets)
            .await
            .expect("admin secrets")
            .with_platform(PlatformConfig::default().with_project(
                p.clone(),
                AccessOverride::from(Access::default().with_auth(true)),
            ))
            .with_api(ApiConfig::default().with_project(p.clone(), Api::enabled()));
        let env = cotenant.environment("prod").expect("prod");
        let mut settings = ProjectSettings::default();
        settings.login.connection_limit = 40;
        env.provision(&p, &settings).await.expect("provisioning");
        env.connect_login(&p, Login::Migrator)
            .await
            .expect("the migrator")
            .batch_execute(&format!(
                "CREATE TABLE notes (id serial PRIMARY KEY, user_id uuid NOT NULL, body text NOT NULL);
                 CREATE INDEX ON notes (user_id);
                 INSERT INTO notes (user_id, body)
                     SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, 'note ' || n
                     FROM generate_series(1, {USERS}) u,
                            generate_series(1, 10) n;
                 ANALYZE notes;
                 ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
                 CREATE POLICY own ON notes TO {p}_authenticated USING (user_id = (SELECT auth.uid()));
                 CREATE POLICY app ON notes TO {p}_app USING (true);
                 GRANT SELECT ON notes TO {p}_authenticated;"
            ))
            .await
            .expect("the project's table");

        let mut api_clients = Vec::new();
        let mut login_clients = Vec::new();
        for _ in 0..clients {
            let (client, connection) = pair
                .prod
                .authenticator_config()
                .connect(NoTls)
                .await
                .expect("authenticator");
            tokio::spawn(connection);
            api_clients.push(Arc::new(client));
            login_clients.push(Arc::new(
                env.connect_login(&p, Login::App).await.expect("the login"),
            ));
        }
        let (mut api, mut login) = (0u64, 0u64);
        let window = Duration::from_secs(seconds);
        for _ in 0..rounds {
            api += run(&api_clients, window, Arm::Api(p.clone())).await;
            login += run(&login_clients, window, Arm::Login).await;
        }
        let total = window.as_secs_f64() * rounds as f64;
        let (api_qps, login_qps) = (api as f64 / total, login as f64 / total);
        println!(
            "| PostgreSQL {version}, {clients} clients | {api_qps:.0} | {login_qps:.0} | {:.3} |",
            api_qps / login_qps
        );
    }
}

#[derive(Clone)]
enum Arm {
    Api(ProjectName),
    Login,
}

/// Transactions completed by `clients` running `arm` for `window`.
async fn run(clients: &[Arc<Client>], window: Duration, arm: Arm) -> u64 {
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, client)| {
            let (client, arm) = (client.clone(), arm.clone());
            tokio::spawn(async move { transactions(&client, window, &arm, i as u32).await })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        done += task.await.expect("a client task");
    }
    done
}

async fn transactions(client: &Client, window: Duration, arm: &Arm, seed: u32) -> u64 {
    let (begin, commit) = (
        client.prepare("BEGIN").await.expect("BEGIN"),
        client.prepare("COMMIT").await.expect("COMMIT"),
    );
    let settings = client
        .prepare(
            "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true), \
             set_config('search_path', $3, true)",
        )
        .await
        .expect("preparing the settings");
    // As authenticator the table is out of reach until the role is set: prepared in the first
    // transaction, as PostgREST's statements are.
    let mut read = match arm {
        Arm::Api(_) => None,
        Arm::Login => Some(
            client
                .prepare("SELECT id, body FROM notes WHERE user_id = $1::text::uuid")
                .await
                .expect("preparing the login's read"),
        ),
    };
    let mut user = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let started = Instant::now();
    let mut done = 0;
    while started.elapsed() < window {
        user = user.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let sub = uuid_of((user >> 8) % USERS + 1);
        client.execute(&begin, &[]).await.expect("BEGIN");
        let rows = match arm {
            Arm::Api(p) => {
                let role = format!("{p}_authenticated");
                let claims = format!(r#"{{"sub": "{sub}", "role": "{role}"}}"#);
                client
                    .execute(&settings, &[&role, &claims, &p.as_str()])
                    .await
                    .expect("the request's settings");
                if read.is_none() {
                    read = Some(
                        client
                            .prepare("SELECT id, body FROM notes")
                            .await
                            .expect("preparing the API read"),
                    );
                }
                client
                    .query(read.as_ref().expect("prepared"), &[])
                    .await
                    .expect("the API read")
            }
            Arm::Login => client
                .query(read.as_ref().expect("prepared"), &[&sub])
                .await
                .expect("the login's read"),
        };
        assert_eq!(rows.len(), 10, "one user's notes");
        client.execute(&commit, &[]).await.expect("COMMIT");
        done += 1;
    }
    done
}

/// User `u`'s id, as the table's rows have it (`uuid_sql`).
fn uuid_of(u: u32) -> String {
    format!("00000000-0000-4000-8000-{u:012x}")
}
