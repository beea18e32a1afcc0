//! What a move reads from the catalog of each instance.

use tokio_postgres::GenericClient;

use crate::ProjectName;

/// One table of the project, as `sql/transfer/tables.sql` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
    pub(crate) references: Vec<String>,
    pub(crate) row_security: bool,
    pub(crate) force_row_security: bool,
    pub(crate) has_replica_identity: bool,
    pub(crate) admin_can_read: bool,
    pub(crate) bytes: i64,
    pub(crate) estimated_rows: i64,
}

/// The admin's standing on one instance, as `sql/transfer/privileges.sql` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Privileges {
    pub(crate) major: i32,
    pub(crate) admin: String,
    pub(crate) superuser: bool,
    pub(crate) replication: bool,
    pub(crate) bypass_rls: bool,
    pub(crate) create_subscription: bool,
    pub(crate) create_on_database: bool,
    pub(crate) wal_level: String,
    pub(crate) free_slots: i32,
}

pub(crate) async fn tables(
    client: &impl GenericClient,
    project: &ProjectName,
) -> Result<Vec<Table>, tokio_postgres::Error> {
    let rows = client
        .query(
            include_str!("../../sql/transfer/tables.sql"),
            &[&project.as_str()],
        )
        .await?;
    let tables = rows
        .iter()
        .map(|r| Table {
            name: r.get("name"),
            columns: r.get("columns"),
            references: r.get("references"),
            row_security: r.get("row_security"),
            force_row_security: r.get("force_row_security"),
            has_replica_identity: r.get("has_replica_identity"),
            admin_can_read: r.get("admin_can_read"),
            bytes: r.get("bytes"),
            estimated_rows: r.get("estimated_rows"),
        })
        .collect();
    Ok(in_dependency_order(tables))
}

/// `tables` with every table after the tables it references, so a COPY into them never
/// meets a missing referenced row; a cycle keeps the remaining tables in name order.
fn in_dependency_order(mut tables: Vec<Table>) -> Vec<Table> {
    let mut ordered: Vec<Table> = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| {
            t.references.iter().all(|r| {
                ordered.iter().any(|o| &o.name == r) || !tables.iter().any(|x| &x.name == r)
            })
        });
        ordered.push(tables.remove(ready.unwrap_or(0)));
    }
    ordered
}

pub(crate) async fn sequences(
    client: &impl GenericClient,
    project: &ProjectName,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = client
        .query(
            include_str!("../../sql/transfer/sequences.sql"),
            &[&project.as_str()],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub(crate) async fn privileges(
    client: &impl GenericClient,
) -> Result<Privileges, tokio_postgres::Error> {
    let r = client
        .query_one(include_str!("../../sql/transfer/privileges.sql"), &[])
        .await?;
    Ok(Privileges {
        major: r.get("major"),
        admin: r.get("admin"),
        superuser: r.get("superuser"),
        replication: r.get("replication"),
        bypass_rls: r.get("bypass_rls"),
        create_subscription: r.get("create_subscription"),
        create_on_database: r.get("create_on_database"),
        wal_level: r.get("wal_level"),
        free_slots: r.get("free_slots"),
    })
}

/// Whether schema `project` exists.
pub(crate) async fn has_schema(
    client: &impl GenericClient,
    project: &ProjectName,
) -> Result<bool, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&project.as_str()],
        )
        .await?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, references: &[&str]) -> Table {
        Table {
            name: name.to_owned(),
            columns: vec![],
            references: references.iter().map(|s| (*s).to_owned()).collect(),
            row_security: false,
            force_row_security: false,
            has_replica_identity: true,
            admin_can_read: true,
            bytes: 0,
            estimated_rows: 0,
        }
    }

    #[test]
    fn referenced_tables_come_first() {
        let order = in_dependency_order(vec![
            table("comments", &["posts", "users"]),
            table("posts", &["users"]),
            table("users", &[]),
            table("a_cycle", &["b_cycle"]),
            table("b_cycle", &["a_cycle"]),
        ]);
        let names: Vec<&str> = order.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["users", "posts", "comments", "a_cycle", "b_cycle"]);
    }
}
