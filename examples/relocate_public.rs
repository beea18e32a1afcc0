//! Relocating a legacy application out of `public`, on this machine: a throwaway staging + prod
//! pair set up like hosted Supabase instances, a local Secrets Manager (moto), the legacy CRM
//! of the tests loaded into `public` on both, and its project `crm`.
//!
//! ```text
//! bash scripts/setup.sh                   # PostgreSQL 15/17 binaries and moto, once
//! cargo run --example relocate_public     # COTENANT_TEST_PG=17 for PostgreSQL 17
//! ```
//!
//! It shows the dry run (the dependency report and what stands in the way), makes the choices,
//! relocates staging then prod with checksums, and runs again to show there is nothing left.
//! Everything it starts is removed when it exits.

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;

use cotenant::ProjectName;
use cotenant::provision::ProjectSettings;
use cotenant::relocate::{
    PolicyChoice, PublicationChoice, Relocation, SearchPathChoice, Selection, Verification,
};
use cotenant::secret::Login;
use cotenant_testkit::{MotoServer, Pair, test_version};
use tokio_postgres::NoTls;

const LEGACY_CRM: &str = include_str!("../tests/fixtures/legacy_crm.sql");

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
    let version = test_version();
    println!("Starting a staging + prod pair of PostgreSQL {version} servers and moto...");
    let pair = Pair::start(version)?;
    let moto = MotoServer::start()?;
    let cotenant = pair
        .cotenant("relocate", Arc::new(moto.secrets_manager()))
        .await?;

    // The legacy application, as a one-shot copy left it: everything in public, owned by the
    // admin, granted to anon and authenticated by the hosted default privileges.
    for (_, cluster) in pair.environments() {
        let (client, connection) = cluster.admin_config().connect(NoTls).await?;
        tokio::spawn(connection);
        client.batch_execute(LEGACY_CRM).await?;
    }
    let crm: ProjectName = "crm".parse()?;
    cotenant
        .provision(&crm, &ProjectSettings::default())
        .await?;

    // 1. The dry run: what moves, and what stands in the way. Nothing changes.
    let everything = Relocation::new(Selection::All);
    for (environment, plan) in cotenant.plan_relocation(&crm, &everything).await? {
        if environment == "staging" {
            println!("\n[dry run] {environment}: {plan}");
        } else {
            let open = plan.blockers().iter().filter(|b| !b.is_resolved()).count();
            println!(
                "[dry run] {environment}: {} object(s) to move, {open} finding(s) to decide",
                plan.moves().len()
            );
        }
    }

    // 2. The choices: repoint the audit trigger's search_path, make the `authenticated`
    //    policies apply to crm_app, keep streaming notifications; and checksum every table.
    let relocation = everything
        .search_paths(SearchPathChoice::Repoint)
        .policies(PolicyChoice::ToApp)
        .publications(PublicationChoice::Keep)
        .verification(Verification::Checksums);
    let plans = cotenant.plan_relocation(&crm, &relocation).await?;
    let (_, staging_plan) = &plans[0];
    println!(
        "\n[plan] staging, as the SQL cotenant runs ({} statements):",
        staging_plan.len()
    );
    for line in staging_plan.to_sql().lines().take(24) {
        println!("  {line}");
    }
    println!("  …");

    // 3. Staging, then prod: one transaction each, verified before commit.
    for (environment, done) in cotenant.relocate(&crm, &relocation).await? {
        let verified = done.verified();
        let rows: i64 = verified.tables().iter().filter_map(|t| t.rows()).sum();
        println!(
            "\n[relocated] {environment}: {} object(s) into `crm` — {} tables with {rows} rows checksummed before and after, {} relation files unchanged",
            done.plan().moves().len(),
            verified.tables().len(),
            verified.files()
        );
    }

    // 4. The application connects as crm_login and finds its tables without a schema.
    for env in cotenant.environments() {
        let app = env.connect_login(&crm, Login::App).await?;
        app.batch_execute("SET app.org_id = '1'").await?;
        let row = app
            .query_one(
                "SELECT current_user::text, (SELECT count(*) FROM contacts), (SELECT count(*) FROM open_deals)",
                &[],
            )
            .await?;
        println!(
            "[{}] as {}: {} contacts of org 1, {} open deals",
            env.name(),
            row.get::<_, String>(0),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2)
        );
    }

    // 5. Again: nothing left to move.
    for (environment, done) in cotenant.relocate(&crm, &relocation).await? {
        println!(
            "[again] {environment}: {}",
            if done.plan().is_empty() {
                "nothing to move"
            } else {
                "moved more?"
            }
        );
    }
    Ok(())
}
