//! What the catalog says about one project: read in one round trip, compared against the role
//! model by [`plan`](super::plan).

use serde::Deserialize;
use tokio_postgres::{GenericClient, Statement};

use super::ProvisionError;
use crate::ProjectName;

/// The catalog as seen by one read of `sql/provision/project_state.sql`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ProjectState {
    pub(crate) server_major: u32,
    /// The session user: the admin cotenant connected as.
    pub(crate) admin: String,
    pub(crate) database: String,
    /// How PostgreSQL stores `search_path = <schema>` as a role setting (it quotes when needed).
    pub(crate) search_path_setting: String,
    /// The project's roles (rotation twins included) and its steward, where they exist.
    pub(crate) roles: Vec<RoleState>,
    pub(crate) memberships: Vec<Membership>,
    pub(crate) schema: Option<SchemaState>,
    /// The owner's default privileges for grantees other than the owner itself.
    pub(crate) default_acls: Vec<DefaultAcl>,
    /// Object types for which the owner has a global default-privileges row; without one,
    /// PostgreSQL's built-in defaults apply (PUBLIC may execute functions and use types).
    pub(crate) global_default_acl_types: Vec<String>,
    pub(crate) foreign_grants: Vec<ForeignGrant>,
    /// The names of the relations, routines and standalone types in the schema.
    pub(crate) objects: Vec<String>,
    pub(crate) admin_can_set_steward: bool,
    pub(crate) instance: InstanceState,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct RoleState {
    pub(crate) name: String,
    pub(crate) login: bool,
    pub(crate) inherit: bool,
    pub(crate) superuser: bool,
    pub(crate) createdb: bool,
    pub(crate) createrole: bool,
    pub(crate) replication: bool,
    pub(crate) bypassrls: bool,
    pub(crate) connection_limit: i32,
    /// Role defaults as PostgreSQL stores them: `name=value`.
    pub(crate) settings: Vec<String>,
}

/// One row of `pg_auth_members`. PostgreSQL 15 has neither `inherit_option` nor `set_option`:
/// there, membership always allows SET ROLE and inheritance follows the member's INHERIT.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Membership {
    pub(crate) role: String,
    pub(crate) member: String,
    pub(crate) grantor: Option<String>,
    pub(crate) admin_option: bool,
    pub(crate) inherit_option: Option<bool>,
    pub(crate) set_option: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SchemaState {
    pub(crate) owner: String,
    pub(crate) acl: Vec<AclEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct AclEntry {
    pub(crate) grantee: String,
    pub(crate) privilege: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct DefaultAcl {
    pub(crate) in_schema: bool,
    pub(crate) objtype: String,
    pub(crate) grantee: String,
    pub(crate) privilege: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ForeignGrant {
    /// `TABLE`, `SEQUENCE`, `ROUTINE` or `TYPE`: the keyword REVOKE takes.
    pub(crate) kind: String,
    pub(crate) name: String,
    /// A routine's identity arguments, as the server prints them.
    pub(crate) args: Option<String>,
    pub(crate) grantee: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct InstanceState {
    pub(crate) public_can_connect: bool,
    pub(crate) public_can_temp: bool,
    pub(crate) public_can_create_in_public: bool,
    /// Project logins that hold CONNECT on the database.
    pub(crate) can_connect: Vec<String>,
    pub(crate) logins_relying_on_public: Vec<String>,
    pub(crate) steward_can_create: bool,
}

/// The catalog query, prepared once so that a transaction that reads the state more than once
/// (before and after applying a plan) parses it once.
pub(crate) struct StateQuery(Statement);

impl StateQuery {
    /// Prepares the query on `client`. (Its plan is not worth caching: any change to a schema
    /// invalidates every cached plan, so the read after applying a plan replans anyway.)
    pub(crate) async fn prepare(
        client: &impl GenericClient,
        project: &ProjectName,
    ) -> Result<Self, ProvisionError> {
        client
            .prepare(SQL)
            .await
            .map(StateQuery)
            .map_err(|source| ProvisionError::Catalog {
                project: project.clone(),
                source,
            })
    }
}

const SQL: &str = include_str!("../../sql/provision/project_state.sql");

impl ProjectState {
    /// Reads the state of `project`, whose roles are managed by `steward`.
    pub(crate) async fn read(
        client: &impl GenericClient,
        project: &ProjectName,
        steward: &str,
    ) -> Result<Self, ProvisionError> {
        let statement = client
            .prepare(SQL)
            .await
            .map_err(|source| ProvisionError::Catalog {
                project: project.clone(),
                source,
            })?;
        Self::read_with(client, &StateQuery(statement), project, steward).await
    }

    /// [`read`](Self::read) with a prepared query.
    pub(crate) async fn read_with(
        client: &impl GenericClient,
        query: &StateQuery,
        project: &ProjectName,
        steward: &str,
    ) -> Result<Self, ProvisionError> {
        let roles = project.roles();
        let row = client
            .query_one(
                &query.0,
                &[
                    &project.as_str(),
                    &roles.owner,
                    &roles.app,
                    &roles.login,
                    &roles.migrator,
                    &steward,
                    &roles.login_clone,
                    &roles.migrator_clone,
                ],
            )
            .await
            .map_err(|source| ProvisionError::Catalog {
                project: project.clone(),
                source,
            })?;
        let json: String = row.get(0);
        serde_json::from_str(&json).map_err(|source| ProvisionError::CatalogDecode {
            project: project.clone(),
            source,
        })
    }

    pub(crate) fn role(&self, name: &str) -> Option<&RoleState> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// PostgreSQL 16 changed role management: grant options, and ADMIN for a role's creator.
    pub(crate) fn has_grant_options(&self) -> bool {
        self.server_major >= 16
    }
}
