//! cotenant in five minutes, on this machine: a throwaway staging + prod pair of PostgreSQL
//! servers set up like hosted Supabase instances, a local AWS Secrets Manager (moto), and one
//! project taken through the whole job on both: provisioned, its legacy table relocated out of
//! `public`, migrated staging first with a parity check, served through a scoped pool, and its
//! credential rotated while the pool keeps working.
//!
//! ```text
//! bash scripts/setup.sh            # PostgreSQL 15/17 binaries and moto, once
//! cargo run --example quickstart   # COTENANT_TEST_PG=17 for PostgreSQL 17
//! ```
//!
//! Everything it starts is removed when it exits.

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;

use cotenant::doctor::{self, Verdict};
use cotenant::migrate::Runner;
use cotenant::pool::PoolOptions;
use cotenant::provision::ProjectSettings;
use cotenant::relocate::{Relocation, Selection};
use cotenant::rotate::Strategy;
use cotenant::secret::Login;
use cotenant::{Cotenant, ProjectName};
use cotenant_testkit::{MotoServer, Pair, test_version};

#[tokio::main]
async fn main() -> ExitCode {
    // Errors are shown with Display: their messages say where and why, and name the fix.
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    // 1. Two instances and a secret store. In production these are your hosted instances and
    //    AWS Secrets Manager, described by a cotenant.toml (see the README).
    let version = test_version();
    println!("Starting a staging + prod pair of PostgreSQL {version} servers and moto...");
    let pair = Pair::start(version)?;
    let moto = MotoServer::start()?;

    // `Pair::cotenant` writes each server's admin credential to the store as
    // `quickstart/<env>/admin` and configures the two environments, staging first. The admin is
    // `postgres`: not a superuser, but CREATEROLE and owner of the database, like hosted
    // Supabase's.
    let cotenant = pair
        .cotenant("quickstart", Arc::new(moto.secrets_manager()))
        .await?;

    // 2. doctor: what the admin may do, and which permissive defaults each instance carries.
    for env in cotenant.environments() {
        let client = env.connect_admin().await?;
        let report = doctor::examine(&client).await?;
        println!(
            "\n[doctor] {}: PostgreSQL {}, admin `{}`",
            env.name(),
            report.server_version,
            report.admin
        );
        for check in &report.checks {
            let verdict = match check.verdict {
                Verdict::Ok => "ok",
                Verdict::Warn => "warn",
                Verdict::Fail => "FAIL",
            };
            println!("  {verdict:<4}  {}: {}", check.name, check.detail);
        }
    }

    // 3. Provision the project `demo`: schema `demo`, roles demo_owner, demo_app, demo_login
    //    and demo_migrator, their grants and limits, and the two logins' secrets.
    let demo: ProjectName = "demo".parse()?;
    let settings = ProjectSettings::default();
    provision(&cotenant, &demo, &settings).await?;

    // 4. A service connects as `demo_login` with the password from its secret: its session
    //    runs as `demo_app`, in schema `demo`, and can reach nothing else.
    for env in cotenant.environments() {
        let client = env.connect_login(&demo, Login::App).await?;
        let row = client
            .query_one(
                "SELECT session_user::text, current_user::text, current_schema()::text",
                &[],
            )
            .await?;
        let (session, current, schema): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        println!(
            "\n[connect] {} as secret `{}`: session_user = {session}, current_user = {current}, current_schema() = {schema}",
            env.name(),
            env.secret_id(&demo, Login::App),
        );
    }

    // 5. Relocate: the project grew up on an instance of its own, and the one-shot copy left its
    //    table `guestbook` in `public`, granted to anon like everything there. It moves into `demo`
    //    with ALTER ... SET SCHEMA (no row is copied), owned by demo_owner, usable by demo_app.
    for env in cotenant.environments() {
        env.connect_admin()
            .await?
            .batch_execute(
                "CREATE TABLE public.guestbook (id bigserial PRIMARY KEY, body text NOT NULL);
                 INSERT INTO public.guestbook (body) VALUES ('first'), ('second');
                 GRANT ALL ON public.guestbook TO anon, authenticated",
            )
            .await?;
    }
    let relocation = Relocation::new(Selection::tables(["guestbook"]));
    for (environment, relocated) in cotenant.relocate(&demo, &relocation).await? {
        println!(
            "\n[relocate] {environment}: {} statement(s), tables locked for {:?}, rows and relfilenodes verified",
            relocated.plan().len(),
            relocated.exclusive_for()
        );
    }

    // 6. Migrate: numbered SQL files, run as demo_migrator, staging first; prod only runs what
    //    staging applied. Here the org-app template that ships with cotenant (20 tables, RLS on
    //    each, policies keyed on the organization claim); usually `Migrations::from_dir`. Then
    //    prove prod mirrors staging, and check which tables lack row-level security.
    let runner = Runner::new(cotenant::migrate::templates::org_app());
    for (environment, report) in cotenant.migrate(&demo, &runner).await? {
        println!("\n[migrate] {environment}: {report}");
    }
    for report in cotenant.parity(&demo).await? {
        print!("\n[parity] {report}");
    }
    // The legacy table came without RLS: the report names it.
    let rls = cotenant.environment("prod")?.rls_report(&demo).await?;
    println!("\n[rls] prod: {rls}");

    // 7. Serve: a deadpool-postgres pool (an sqlx one is the same call) as demo_login; every new
    //    connection is checked to run as demo_app in schema demo before it is handed out.
    let prod = cotenant.environment("prod")?;
    let pool = prod
        .deadpool_pool(&demo, &PoolOptions::new().max_size(4))
        .await?;
    let count = |pool: deadpool_postgres::Pool| async move {
        let client = pool.get().await?;
        let row = client
            .query_one("SELECT count(*), session_user::text FROM guestbook", &[])
            .await?;
        Ok::<_, Box<dyn Error>>((row.get::<_, i64>(0), row.get::<_, String>(1)))
    };
    let (notes, user) = count(pool.clone()).await?;
    println!("\n[pool] prod: {notes} guestbook entries, logged in as {user}");

    // 8. Rotate: a new password for the login, with alternating users — it goes to the twin
    //    demo_login_clone, and demo_login's keeps working until the next rotation — staged
    //    AWSPENDING, tested, promoted. The pool's next connections use it; nothing restarts.
    for rotation in cotenant
        .rotate(&demo, &[Login::App], Strategy::AlternatingUsers)
        .await?
    {
        println!("\n[rotate] {rotation}");
    }
    // Drop the open connections (they would keep working): a new one reads the credential from
    // the store and logs in as the twin.
    pool.retain(|_, _| false);
    let (notes, user) = count(pool).await?;
    println!("[pool] prod, after the rotation: {notes} guestbook entries, logged in as {user}");

    println!("\nDone: the servers and moto are removed on exit.");
    Ok(())
}

/// Plans, applies, and shows that a second run has nothing left to do.
async fn provision(
    cotenant: &Cotenant,
    project: &ProjectName,
    settings: &ProjectSettings,
) -> Result<(), Box<dyn Error>> {
    println!("\n[plan] what provisioning `{project}` will change:");
    let plans = cotenant.plan(project, settings).await?;
    // Each statement comes with the reason it is needed. Prod's plan has the same steps here:
    // the two instances start alike.
    let (first, plan) = &plans[0];
    println!("{first}: {plan}");
    for (environment, plan) in &plans[1..] {
        println!("{environment}: {} statement(s)", plan.len());
    }
    // Staging first; prod only after staging succeeded and both report the same state.
    for (environment, plan) in cotenant.provision(project, settings).await? {
        println!(
            "[provision] {environment}: applied {} statement(s)",
            plan.len()
        );
    }
    println!("\n[plan] again, after provisioning:");
    for (environment, plan) in cotenant.plan(project, settings).await? {
        println!("{environment}: {plan}");
    }
    Ok(())
}
