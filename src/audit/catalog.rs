//! The audit's catalog reads (`sql/audit/`): one statement per concept for every project at
//! once, so an audit of 1,000 projects costs the same dozen round trips as an audit of one.
//! The roles come first (they say which projects exist); everything else is read in one
//! pipelined round trip over the projects in scope.

use futures_util::future::{try_join, try_join4, try_join5};

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row};

use super::AuditError;

/// What the audit read.
pub(super) struct Catalog {
    pub(super) server_major: u32,
    /// The session user: the admin.
    pub(super) admin: String,
    /// Every project's roles and every steward, in scope or not: a policy or a membership
    /// naming a role is judged by whose role it is.
    pub(super) roles: Vec<RoleRow>,
    pub(super) memberships: Vec<MembershipRow>,
    pub(super) privileges: Vec<PrivilegeRow>,
    pub(super) owners: Vec<OwnerRow>,
    pub(super) routines: Vec<RoutineRow>,
    pub(super) policies: Vec<PolicyRow>,
    pub(super) storage_policies: Vec<StoragePolicyRow>,
    pub(super) tables: Vec<TableRow>,
    pub(super) views: Vec<ViewRow>,
    pub(super) foreign_keys: Vec<ForeignKeyRow>,
    pub(super) extensions: Vec<ExtensionRow>,
    pub(super) routes: Vec<crate::doctor::Finding>,
    /// What `cotenant_connect` holds beyond CONNECT on the database, described.
    pub(super) connect_role: Vec<String>,
}

pub(super) struct RoleRow {
    /// `None` for a steward.
    pub(super) project: Option<String>,
    pub(super) schema_oid: Option<u32>,
    pub(super) oid: u32,
    pub(super) name: String,
    pub(super) login: bool,
    pub(super) inherit: bool,
    pub(super) superuser: bool,
    pub(super) createdb: bool,
    pub(super) createrole: bool,
    pub(super) replication: bool,
    pub(super) bypassrls: bool,
    pub(super) connection_limit: i32,
    /// Role defaults for every database, as stored: `name=value`.
    pub(super) settings: Vec<String>,
    /// Role defaults for this database only.
    pub(super) database_settings: Vec<String>,
    /// How PostgreSQL stores `search_path = <project>` (quoted when needed).
    pub(super) search_path: Option<String>,
}

pub(super) struct MembershipRow {
    pub(super) role: String,
    pub(super) member: String,
    pub(super) grantor: String,
    pub(super) admin_option: bool,
    /// `None` on PostgreSQL 15.
    pub(super) inherit_option: Option<bool>,
    /// `None` on PostgreSQL 15.
    pub(super) set_option: Option<bool>,
}

pub(super) struct PrivilegeRow {
    pub(super) project: String,
    pub(super) kind: String,
    pub(super) object: String,
    pub(super) grantee: String,
    pub(super) privilege: String,
}

pub(super) struct OwnerRow {
    pub(super) project: String,
    pub(super) kind: String,
    pub(super) object: String,
    pub(super) owner: String,
}

pub(super) struct RoutineRow {
    pub(super) project: String,
    pub(super) object: String,
    pub(super) definer: bool,
    pub(super) pins_search_path: bool,
}

pub(super) struct PolicyRow {
    pub(super) project: String,
    pub(super) table: String,
    pub(super) policy: String,
    pub(super) roles: Vec<String>,
    pub(super) using_expr: Option<String>,
    pub(super) check_expr: Option<String>,
}

pub(super) struct StoragePolicyRow {
    pub(super) policy: String,
    pub(super) permissive: bool,
    pub(super) roles: Vec<String>,
    pub(super) using_expr: Option<String>,
    pub(super) check_expr: Option<String>,
}

pub(super) struct TableRow {
    pub(super) project: String,
    pub(super) object: String,
    pub(super) rls: bool,
    pub(super) policies: i64,
    pub(super) reachable: bool,
}

pub(super) struct ViewRow {
    pub(super) project: String,
    pub(super) object: String,
    pub(super) definer: bool,
    pub(super) reads_auth_users: bool,
    pub(super) readers: Vec<String>,
}

pub(super) struct ForeignKeyRow {
    pub(super) project: String,
    pub(super) table: String,
    pub(super) constraint: String,
    pub(super) columns: Vec<String>,
}

pub(super) struct ExtensionRow {
    pub(super) project: String,
    pub(super) extension: String,
}

const INSTANCE: &str = "SELECT session_user::text AS admin, current_setting('server_version_num')::int / 10000 AS major";
const ROLES: &str = include_str!("../../sql/audit/roles.sql");
const MEMBERSHIPS: &str = include_str!("../../sql/audit/memberships.sql");
const PRIVILEGES: &str = include_str!("../../sql/audit/privileges.sql");
const OWNERS: &str = include_str!("../../sql/audit/owners.sql");
const ROUTINES: &str = include_str!("../../sql/audit/routines.sql");
const POLICIES: &str = include_str!("../../sql/audit/policies.sql");
const STORAGE_POLICIES: &str = include_str!("../../sql/audit/storage.sql");
const TABLES: &str = include_str!("../../sql/audit/tables.sql");
const VIEWS: &str = include_str!("../../sql/audit/views.sql");
const FOREIGN_KEYS: &str = include_str!("../../sql/audit/foreign_keys.sql");
const EXTENSIONS: &str = include_str!("../../sql/audit/extensions.sql");
const CONNECT_ROLE: &str = include_str!("../../sql/audit/connect_role.sql");

impl Catalog {
    /// Reads the roles of every project, then what concerns the projects `in_scope` accepts.
    pub(super) async fn read(
        client: &Client,
        in_scope: impl Fn(&str) -> bool,
    ) -> Result<Catalog, AuditError> {
        let suffixes = super::model::suffixes();
        let (instance, roles) = try_join(
            async {
                client
                    .query_typed_one(INSTANCE, &[])
                    .await
                    .map_err(|source| AuditError::Catalog {
                        what: "the server version",
                        source,
                    })
            },
            query(client, "roles", ROLES, &[(&suffixes, Type::TEXT_ARRAY)]),
        )
        .await?;
        let admin: String = instance.get("admin");
        let server_major: i32 = instance.get("major");
        let roles: Vec<RoleRow> = roles.iter().map(role_row).collect();
        let mut schemas: Vec<u32> = roles
            .iter()
            .filter(|r| r.project.as_deref().is_some_and(&in_scope))
            .filter_map(|r| r.schema_oid)
            .collect();
        schemas.sort_unstable();
        schemas.dedup();
        let role_oids: Vec<u32> = roles
            .iter()
            .filter(|r| r.project.as_deref().is_none_or(&in_scope))
            .map(|r| r.oid)
            .collect();
        let privileged = super::model::privileged_suffixes();
        let s: &(dyn ToSql + Sync) = &schemas;
        let by_schema = [(s, Type::OID_ARRAY)];
        let by_role = [(&role_oids as &(dyn ToSql + Sync), Type::OID_ARRAY)];
        let for_privileges = [(s, Type::OID_ARRAY), (&privileged, Type::TEXT_ARRAY)];
        let (
            (memberships, privileges, owners, routines, policies),
            (tables, views, fks, exts),
            (storage_policies, connect_role),
            routes,
        ) = tokio::try_join!(
            try_join5(
                query(client, "memberships", MEMBERSHIPS, &by_role),
                query(client, "privileges", PRIVILEGES, &for_privileges,),
                query(client, "owners", OWNERS, &by_schema),
                query(client, "routines", ROUTINES, &by_schema),
                query(client, "policies", POLICIES, &by_schema),
            ),
            try_join4(
                query(client, "tables", TABLES, &by_schema),
                query(client, "views", VIEWS, &by_schema),
                query(client, "foreign keys", FOREIGN_KEYS, &by_schema),
                query(client, "extensions", EXTENSIONS, &by_schema),
            ),
            try_join(
                query(client, "storage policies", STORAGE_POLICIES, &[]),
                query(client, "the connect role's privileges", CONNECT_ROLE, &[]),
            ),
            async {
                crate::doctor::find_routes(client)
                    .await
                    .map_err(|source| AuditError::Catalog {
                        what: "routes into project data",
                        source,
                    })
            },
        )?;
        Ok(Catalog {
            server_major: u32::try_from(server_major).unwrap_or_default(),
            admin,
            roles,
            memberships: memberships
                .iter()
                .map(|r| MembershipRow {
                    role: r.get("role"),
                    member: r.get("member"),
                    grantor: r.get("grantor"),
                    admin_option: r.get("admin_option"),
                    inherit_option: r.get("inherit_option"),
                    set_option: r.get("set_option"),
                })
                .collect(),
            privileges: privileges
                .iter()
                .map(|r| PrivilegeRow {
                    project: r.get("project"),
                    kind: r.get("kind"),
                    object: r.get("object"),
                    grantee: r.get("grantee"),
                    privilege: r.get("privilege"),
                })
                .collect(),
            owners: owners
                .iter()
                .map(|r| OwnerRow {
                    project: r.get("project"),
                    kind: r.get("kind"),
                    object: r.get("object"),
                    owner: r.get("owner"),
                })
                .collect(),
            routines: routines
                .iter()
                .map(|r| RoutineRow {
                    project: r.get("project"),
                    object: r.get("object"),
                    definer: r.get("definer"),
                    pins_search_path: r.get("pins_search_path"),
                })
                .collect(),
            policies: policies
                .iter()
                .map(|r| PolicyRow {
                    project: r.get("project"),
                    table: r.get("table_name"),
                    policy: r.get("policy"),
                    roles: r.get("roles"),
                    using_expr: r.get("using_expr"),
                    check_expr: r.get("check_expr"),
                })
                .collect(),
            connect_role: connect_role.iter().map(|r| r.get(0)).collect(),
            storage_policies: storage_policies
                .iter()
                .map(|r| StoragePolicyRow {
                    policy: r.get("policy"),
                    permissive: r.get("permissive"),
                    roles: r.get("roles"),
                    using_expr: r.get("using_expr"),
                    check_expr: r.get("check_expr"),
                })
                .collect(),
            tables: tables
                .iter()
                .map(|r| TableRow {
                    project: r.get("project"),
                    object: r.get("object"),
                    rls: r.get("rls"),
                    policies: r.get("policies"),
                    reachable: r.get("reachable"),
                })
                .collect(),
            views: views
                .iter()
                .map(|r| ViewRow {
                    project: r.get("project"),
                    object: r.get("object"),
                    definer: r.get("definer"),
                    reads_auth_users: r.get("reads_auth_users"),
                    readers: r.get("readers"),
                })
                .collect(),
            foreign_keys: fks
                .iter()
                .map(|r| ForeignKeyRow {
                    project: r.get("project"),
                    table: r.get("table_name"),
                    constraint: r.get("constraint_name"),
                    columns: r.get("columns"),
                })
                .collect(),
            extensions: exts
                .iter()
                .map(|r| ExtensionRow {
                    project: r.get("project"),
                    extension: r.get("extension"),
                })
                .collect(),
            routes,
        })
    }
}

fn role_row(r: &Row) -> RoleRow {
    RoleRow {
        project: r.get("project"),
        schema_oid: r.get("schema_oid"),
        oid: r.get("oid"),
        name: r.get("name"),
        login: r.get("login"),
        inherit: r.get("inherit"),
        superuser: r.get("superuser"),
        createdb: r.get("createdb"),
        createrole: r.get("createrole"),
        replication: r.get("replication"),
        bypassrls: r.get("bypassrls"),
        connection_limit: r.get("connection_limit"),
        settings: r.get("settings"),
        database_settings: r.get("database_settings"),
        search_path: r.get("search_path"),
    }
}

/// One statement, typed parameters: no separate prepare, so concurrent calls share a round trip.
async fn query(
    client: &Client,
    what: &'static str,
    sql: &str,
    params: &[(&(dyn ToSql + Sync), Type)],
) -> Result<Vec<Row>, AuditError> {
    client
        .query_typed(sql, params)
        .await
        .map_err(|source| AuditError::Catalog { what, source })
}
