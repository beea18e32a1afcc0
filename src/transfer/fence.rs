//! Fencing a project's logins on one instance: NOLOGIN, then ending the sessions left.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::ProjectName;
use crate::ident::quote_ident;

/// The project's login users that exist on the instance (rotation twins included).
pub(crate) async fn logins(
    client: &Client,
    project: &ProjectName,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let roles = project.roles();
    let names = vec![
        roles.login,
        roles.login_clone,
        roles.migrator,
        roles.migrator_clone,
    ];
    let rows = client
        .query(
            "SELECT rolname::text FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1",
            &[&names],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Sets `LOGIN` (`allow`) or `NOLOGIN` on the project's logins, as its steward (which created
/// them and holds ADMIN on them), in one transaction. Sessions already open are not affected.
pub(crate) async fn set_login(
    client: &mut Client,
    project: &ProjectName,
    allow: bool,
) -> Result<(), tokio_postgres::Error> {
    let users = logins(client, project).await?;
    if users.is_empty() {
        return Ok(());
    }
    let mut sql = format!(
        "SET LOCAL ROLE {};\n",
        quote_ident(&crate::provision::steward_of(project))
    );
    for user in &users {
        sql.push_str(&format!(
            "ALTER ROLE {} {};\n",
            quote_ident(user),
            if allow { "LOGIN" } else { "NOLOGIN" }
        ));
    }
    sql.push_str("RESET ROLE;\n");
    let tx = client.transaction().await?;
    tx.batch_execute(&sql).await?;
    tx.commit().await
}

/// How many sessions the project's logins have open.
async fn sessions(client: &Client, users: &[String]) -> Result<i64, tokio_postgres::Error> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = ANY($1) AND pid <> pg_backend_pid()",
            &[&users],
        )
        .await?
        .get(0))
}

/// Waits up to `deadline` for the project's sessions to end, then ends the rest with
/// `pg_terminate_backend` and waits until they are gone. Terminating needs the privileges of the
/// sessions' role: the steward lends itself each login (it holds ADMIN on them) inside the
/// transaction, acts as it, and revokes it before commit. Returns how many sessions were
/// terminated.
pub(crate) async fn end_sessions(
    client: &mut Client,
    project: &ProjectName,
    major: i32,
    deadline: Duration,
) -> Result<i64, tokio_postgres::Error> {
    let users = logins(client, project).await?;
    if users.is_empty() {
        return Ok(0);
    }
    let started = Instant::now();
    while sessions(client, &users).await? > 0 && started.elapsed() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if sessions(client, &users).await? == 0 {
        return Ok(0);
    }
    // Acting as each login (the steward lends it to itself, SET only): a role may signal its
    // own sessions, and a NOINHERIT steward on 15 would not have the login's privileges.
    let steward = quote_ident(&crate::provision::steward_of(project));
    let options = if major >= 16 {
        " WITH INHERIT FALSE, SET TRUE"
    } else {
        ""
    };
    let tx = client.transaction().await?;
    let mut terminated = 0;
    for user in &users {
        let quoted = quote_ident(user);
        tx.batch_execute(&format!(
            "SET LOCAL ROLE {steward};\nGRANT {quoted} TO {steward}{options};\nSET LOCAL ROLE {quoted};\n"
        ))
        .await?;
        let ended: i64 = tx
            .query_one(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE usename = $1 AND pid <> pg_backend_pid()",
                &[user],
            )
            .await?
            .get(0);
        terminated += ended;
        tx.batch_execute(&format!(
            "SET LOCAL ROLE {steward};\nREVOKE {quoted} FROM {steward};\nRESET ROLE;\n"
        ))
        .await?;
    }
    tx.commit().await?;
    // pg_terminate_backend only signals: a session is gone once it left pg_stat_activity, and
    // with it any transaction it had open.
    while sessions(client, &users).await? > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(terminated)
}
