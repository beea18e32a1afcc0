//! Logical replication for one move: a publication of the project's tables on the source, a
//! subscription on the target, and dropping both (and the slot) afterwards.

use secrecy::ExposeSecret;
use tokio_postgres::Client;

use super::catalog::Table;
use super::owner::{act_as_owner, end_acting, qualified};
use crate::ProjectName;
use crate::config::TlsMode;
use crate::ident::{quote_ident, quote_literal};
use crate::secret::DbSecret;

/// The name of the publication, the subscription and its slot: `cotenant_move_<p>`.
pub(crate) fn name(project: &ProjectName) -> String {
    format!("cotenant_move_{project}")
}

/// Creates the publication of the project's tables on the source, unless it exists.
///
/// A table list needs the tables' owner, and CREATE PUBLICATION needs CREATE on the database:
/// the admin (the database's owner) grants CREATE to `<p>_owner`, the steward lends `<p>_owner`,
/// the owner creates the publication, and both loans end before commit (under cotenant's
/// instance lock, as every change to the database's ACL) — so the publication
/// belongs to `<p>_owner`, which can only ever add its own tables to it.
pub(crate) async fn publish(
    source: &mut Client,
    project: &ProjectName,
    major: i32,
    database: &str,
    tables: &[Table],
) -> Result<(), tokio_postgres::Error> {
    let name = name(project);
    let exists: bool = source
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)",
            &[&name],
        )
        .await?
        .get(0);
    if exists {
        return Ok(());
    }
    let owner = quote_ident(&project.roles().owner);
    let database = quote_ident(database);
    let list: Vec<String> = tables.iter().map(|t| qualified(project, &t.name)).collect();
    let what = if list.is_empty() {
        String::new()
    } else {
        format!(" FOR TABLE {}", list.join(", "))
    };
    let tx = source.transaction().await?;
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock({});\nGRANT CREATE ON DATABASE {database} TO {owner};\n{}CREATE PUBLICATION {}{what};\n{}REVOKE CREATE ON DATABASE {database} FROM {owner};\n",
        crate::provision::instance_lock_key(),
        act_as_owner(project, major),
        quote_ident(&name),
        end_acting(project),
    ))
    .await?;
    tx.commit().await
}

/// Drops the publication on the source (as its owner), if it exists.
pub(crate) async fn unpublish(
    source: &mut Client,
    project: &ProjectName,
    major: i32,
) -> Result<(), tokio_postgres::Error> {
    let name = name(project);
    let exists: bool = source
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)",
            &[&name],
        )
        .await?
        .get(0);
    if exists {
        let tx = source.transaction().await?;
        tx.batch_execute(&format!(
            "{}DROP PUBLICATION IF EXISTS {};\n{}",
            act_as_owner(project, major),
            quote_ident(&name),
            end_acting(project)
        ))
        .await?;
        tx.commit().await?;
    }
    // A slot left behind by a subscription dropped without reaching the source would hold WAL
    // forever.
    source
        .execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
             WHERE slot_name = $1 AND NOT active",
            &[&name],
        )
        .await?;
    Ok(())
}

/// Whether the target has the subscription.
pub(crate) async fn subscribed(
    target: &Client,
    project: &ProjectName,
) -> Result<bool, tokio_postgres::Error> {
    Ok(target
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid \
             WHERE s.subname = $1 AND d.datname = current_database())",
            &[&name(project)],
        )
        .await?
        .get(0))
}

/// The privileges the subscription's workers need on the target for as long as it exists: on
/// 16+ they write as each table's owner, so the subscription's owner (the admin) must be able
/// to SET ROLE to `<p>_owner`; the steward grants that (SET only, no inheritance) until
/// [`unsubscribe`] revokes it. A superuser target needs nothing.
fn owner_grant(project: &ProjectName, admin: &str, grant: bool) -> String {
    let owner = quote_ident(&project.roles().owner);
    let steward = quote_ident(&crate::provision::steward_of(project));
    let admin = quote_ident(admin);
    if grant {
        format!(
            "SET LOCAL ROLE {steward};\nGRANT {owner} TO {admin} WITH INHERIT FALSE, SET TRUE;\nRESET ROLE;\n"
        )
    } else {
        format!("SET LOCAL ROLE {steward};\nREVOKE {owner} FROM {admin};\nRESET ROLE;\n")
    }
}

/// The subscription's connection string to the source: libpq key/value syntax, each value
/// quoted.
fn conninfo(host: &str, port: u16, admin: &DbSecret, tls: TlsMode) -> String {
    let value = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let sslmode = match tls {
        TlsMode::Disable => "disable",
        TlsMode::Require => "require",
        TlsMode::VerifyFull => "verify-full",
    };
    format!(
        "host={} port={port} dbname={} user={} password={} sslmode={sslmode}",
        value(host),
        value(&admin.dbname),
        value(&admin.username),
        value(admin.password.expose_secret()),
    )
}

/// Where the subscription connects: the source as its admin (REPLICATION is needed to create
/// the slot and stream, SELECT on the tables for the initial copy).
pub(crate) struct Publisher<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    pub(crate) tls: TlsMode,
    pub(crate) admin: &'a DbSecret,
}

/// Creates the subscription on the target, unless it exists: the target's tables are emptied
/// first, then CREATE SUBSCRIPTION (outside a transaction: it creates the slot on the source)
/// copies every table and starts streaming.
///
/// The connection string holds the source admin's password: PostgreSQL keeps it in
/// `pg_subscription.subconninfo`, readable only by superusers, until the subscription is dropped.
pub(crate) async fn subscribe(
    target: &mut Client,
    project: &ProjectName,
    (major, admin, superuser): (i32, &str, bool),
    publisher: &Publisher<'_>,
    tables: &[Table],
) -> Result<(), tokio_postgres::Error> {
    if !superuser && major >= 16 {
        let tx = target.transaction().await?;
        tx.batch_execute(&owner_grant(project, admin, true)).await?;
        tx.commit().await?;
    }
    if subscribed(target, project).await? {
        return Ok(());
    }
    super::data::truncate(target, project, major, tables).await?;
    let name = quote_ident(&name(project));
    let connection = conninfo(
        publisher.host,
        publisher.port,
        publisher.admin,
        publisher.tls,
    );
    target
        .batch_execute(&format!(
            "CREATE SUBSCRIPTION {name} CONNECTION {} PUBLICATION {name}",
            quote_literal(&connection)
        ))
        .await
}

/// How many of the subscription's tables are still in their initial copy, and how many errors
/// its workers met.
pub(crate) async fn progress(
    target: &Client,
    project: &ProjectName,
) -> Result<(i64, i64), tokio_postgres::Error> {
    let row = target
        .query_one(
            "SELECT (SELECT count(*) FROM pg_subscription_rel r \
                     WHERE r.srsubid = s.oid AND r.srsubstate NOT IN ('r', 's')), \
                    coalesce((SELECT st.apply_error_count + st.sync_error_count \
                              FROM pg_stat_subscription_stats st WHERE st.subid = s.oid), 0) \
             FROM pg_subscription s WHERE s.subname = $1",
            &[&name(project)],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// Drops the subscription (and with it the slot on the source) and revokes the owner grant.
pub(crate) async fn unsubscribe(
    target: &mut Client,
    project: &ProjectName,
    (major, admin, superuser): (i32, &str, bool),
) -> Result<(), tokio_postgres::Error> {
    if subscribed(target, project).await? {
        target
            .batch_execute(&format!(
                "DROP SUBSCRIPTION IF EXISTS {}",
                quote_ident(&name(project))
            ))
            .await?;
    }
    let granted: bool = target
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_auth_members m \
             JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member \
             WHERE r.rolname = $1 AND u.rolname = $2)",
            &[&project.roles().owner, &admin],
        )
        .await?
        .get(0);
    if granted && !superuser && major >= 16 {
        let tx = target.transaction().await?;
        tx.batch_execute(&owner_grant(project, admin, false))
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conninfo_quotes_every_value() {
        let admin = DbSecret::new("db", 5432, "post'gres", "pa\\ss word", "postgres");
        let info = conninfo("db.example", 5432, &admin, TlsMode::Require);
        assert_eq!(
            info,
            "host='db.example' port=5432 dbname='postgres' user='post\\'gres' password='pa\\\\ss word' sslmode=require"
        );
    }
}
