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
//! rounds; statements are prepared once per connection. Twice: with a round trip per statement
//! (the API path has one more: its settings), and pipelined (the statements before `COMMIT` sent
//! without waiting for each other, one round trip for either path). The ratio is API ÷ login.

mod common;

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
            "--versions" => versions = common::versions(&value),
            other => panic!(
                "unknown argument {other}: use --clients N --seconds N --rounds N --versions 15,17"
            ),
        }
    }
    let moto = MotoServer::start().expect("moto (run scripts/setup.sh)");
    println!(
        "| | API path, project roles (qps) | login (qps) | API ÷ login | API path, Supabase's shared `authenticated` (qps) | project roles ÷ shared |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
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
        // The same rows where Supabase's own API path reads them, as the admin writes apps.
        env.connect_admin()
            .await
            .expect("the admin")
            .batch_execute(&format!(
                "CREATE TABLE public.notes_shared AS SELECT * FROM {p}.notes;
                 CREATE INDEX ON public.notes_shared (user_id);
                 ANALYZE public.notes_shared;
                 ALTER TABLE public.notes_shared ENABLE ROW LEVEL SECURITY;
                 CREATE POLICY own ON public.notes_shared TO authenticated
                     USING (user_id = (SELECT auth.uid()));
                 GRANT SELECT ON public.notes_shared TO authenticated;"
            ))
            .await
            .expect("the shared table");

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
        let window = Duration::from_secs(seconds);
        for pipelined in [false, true] {
            let (mut api, mut login, mut shared) = (0u64, 0u64, 0u64);
            let arm = |kind| Arm { kind, pipelined };
            for _ in 0..rounds {
                api += run(&api_clients, window, arm(Kind::Api(p.clone()))).await;
                login += run(&login_clients, window, arm(Kind::Login)).await;
                shared += run(&api_clients, window, arm(Kind::Shared)).await;
            }
            let total = window.as_secs_f64() * rounds as f64;
            let (api_qps, login_qps) = (api as f64 / total, login as f64 / total);
            let shared_qps = shared as f64 / total;
            println!(
                "| PostgreSQL {version}, {clients} clients, {} | {api_qps:.0} | {login_qps:.0} | {:.3} | {shared_qps:.0} | {:.3} |",
                if pipelined {
                    "pipelined"
                } else {
                    "a round trip per statement"
                },
                api_qps / login_qps,
                api_qps / shared_qps
            );
        }
    }
}

#[derive(Clone)]
struct Arm {
    kind: Kind,
    /// The transaction's statements sent without waiting for each other's results (one round
    /// trip, then COMMIT), instead of one round trip each.
    pipelined: bool,
}

#[derive(Clone)]
enum Kind {
    Api(ProjectName),
    Login,
    /// The same table in `public`, behind a policy for Supabase's shared `authenticated`: the
    /// API path without per-project roles.
    Shared,
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
    let mut read = match arm.kind {
        Kind::Api(_) | Kind::Shared => None,
        Kind::Login => Some(
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
        let rows = match (&arm.kind, &read) {
            (Kind::Api(_) | Kind::Shared, Some(prepared)) => {
                let (role, schema) = arm.kind.role_and_schema();
                let claims = format!(r#"{{"sub": "{sub}", "role": "{role}"}}"#);
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
                    [&role, &claims, &schema];
                if arm.pipelined {
                    let (_, _, rows) = tokio::try_join!(
                        client.execute(&begin, &[]),
                        client.execute(&settings, &params),
                        client.query(prepared, &[]),
                    )
                    .expect("the API request");
                    rows
                } else {
                    client.execute(&begin, &[]).await.expect("BEGIN");
                    client.execute(&settings, &params).await.expect("settings");
                    client.query(prepared, &[]).await.expect("the API read")
                }
            }
            (Kind::Api(_) | Kind::Shared, None) => {
                let (role, schema) = arm.kind.role_and_schema();
                let claims = format!(r#"{{"sub": "{sub}", "role": "{role}"}}"#);
                client.execute(&begin, &[]).await.expect("BEGIN");
                client
                    .execute(&settings, &[&role, &claims, &schema])
                    .await
                    .expect("the request's settings");
                let table = if matches!(arm.kind, Kind::Shared) {
                    "notes_shared"
                } else {
                    "notes"
                };
                let prepared = client
                    .prepare(&format!("SELECT id, body FROM {table}"))
                    .await
                    .expect("preparing the API read");
                let rows = client.query(&prepared, &[]).await.expect("the API read");
                read = Some(prepared);
                rows
            }
            (Kind::Login, Some(prepared)) => {
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&sub];
                if arm.pipelined {
                    let (_, rows) = tokio::try_join!(
                        client.execute(&begin, &[]),
                        client.query(prepared, &params),
                    )
                    .expect("the login's transaction");
                    rows
                } else {
                    client.execute(&begin, &[]).await.expect("BEGIN");
                    client
                        .query(prepared, &[&sub])
                        .await
                        .expect("the login's read")
                }
            }
            (Kind::Login, None) => unreachable!("the login's read is prepared first"),
        };
        assert_eq!(rows.len(), 10, "one user's notes");
        client.execute(&commit, &[]).await.expect("COMMIT");
        done += 1;
    }
    done
}

impl Kind {
    /// The role claim and the exposed schema of an API request.
    fn role_and_schema(&self) -> (String, String) {
        match self {
            Kind::Api(p) => (format!("{p}_authenticated"), p.to_string()),
            _ => ("authenticated".to_owned(), "public".to_owned()),
        }
    }
}

/// User `u`'s id, as the table's rows have it (`uuid_sql`).
fn uuid_of(u: u32) -> String {
    format!("00000000-0000-4000-8000-{u:012x}")
}
