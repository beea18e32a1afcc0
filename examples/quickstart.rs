//! cotenant in five minutes, on this machine: a throwaway staging + prod pair of PostgreSQL
//! servers set up like hosted Supabase instances, a local AWS Secrets Manager (moto), and one
//! project provisioned on both.
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
use cotenant::provision::ProjectSettings;
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

    // 5. Next (in progress, not in cotenant yet): relocating a project's existing tables from
    //    `public` into its schema, and running its numbered migrations as `demo_migrator`,
    //    staging first. This example will show them here.

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
