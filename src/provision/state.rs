//! What the catalog says about one project, compared against the role model by
//! [`plan`](super::plan).
//!
//! Read in small statements (`sql/provision/state/`): the roles and the schema by name, then
//! what hangs off those that exist, by OID, in one pipelined round trip. Provisioning reads the
//! state twice in its transaction and every schema change invalidates cached plans, so each
//! statement is built to plan in a fraction of a millisecond.

use futures_util::future::{try_join, try_join5};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio_postgres::GenericClient;
use tokio_postgres::types::{ToSql, Type as PgType};

use super::ProvisionError;
use crate::ProjectName;
pub(crate) use crate::catalog::{DefaultAcl, Membership, RoleState};

/// The catalog as [`ProjectState::read`] sees it.
#[derive(Debug, Clone)]
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

#[derive(Debug, Clone)]
pub(crate) struct SchemaState {
    pub(crate) owner: String,
    pub(crate) acl: Vec<AclEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct AclEntry {
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

#[derive(Debug, Clone)]
pub(crate) struct InstanceState {
    pub(crate) public_can_connect: bool,
    pub(crate) public_can_temp: bool,
    pub(crate) public_can_create_in_public: bool,
    pub(crate) public_can_use_public: bool,
    /// Project logins that hold CONNECT on the database.
    pub(crate) can_connect: Vec<String>,
    pub(crate) logins_relying_on_public: Vec<String>,
    /// Roles outside cotenant's that use schema `public` only through PUBLIC's USAGE
    /// (`public_schema_users.sql`); read only while PUBLIC has it.
    pub(crate) public_schema_users: Vec<String>,
    /// `f` (functions), `T` (types): what the admin's new objects still grant to PUBLIC.
    pub(crate) admin_public_defaults: Vec<String>,
    pub(crate) steward_can_create: bool,
}

impl ProjectState {
    /// Reads the state of `project`, whose roles are managed by `steward`: the roles and the
    /// schema by name, then, in one pipelined round trip, what hangs off those that exist.
    pub(crate) async fn read(
        client: &impl GenericClient,
        project: &ProjectName,
        steward: &str,
    ) -> Result<Self, ProvisionError> {
        let roles = project.roles();
        let names = [
            roles.owner.as_str(),
            &roles.app,
            &roles.login,
            &roles.migrator,
            &roles.login_clone,
            &roles.migrator_clone,
            steward,
        ];
        let found: Names = fetch(
            client,
            project,
            NAMES,
            &[
                (&project.as_str(), PgType::TEXT),
                (&&names[..], PgType::TEXT_ARRAY),
            ],
        )
        .await?;
        let oid_of = |name: &str| {
            found
                .roles
                .iter()
                .find(|r| r.state.name == name)
                .map(|r| r.oid)
        };
        let (owner, steward) = (oid_of(&roles.owner), oid_of(steward));
        let project_oids: Vec<u32> = found
            .roles
            .iter()
            .filter(|r| Some(r.oid) != steward)
            .map(|r| r.oid)
            .collect();
        let schema = found.schema.as_ref().map(|s| s.oid);
        let ((of_roles, default_acls, objects, of_steward, public_logins), public_schema_users): (
            OfExisting,
            Vec<String>,
        ) = try_join(
            try_join5(
                fetch_if(
                    !project_oids.is_empty(),
                    client,
                    project,
                    ROLES,
                    &[(&project_oids, PgType::OID_ARRAY)],
                ),
                fetch_if(
                    owner.is_some(),
                    client,
                    project,
                    DEFAULT_ACLS,
                    &[
                        (&owner.unwrap_or(0), PgType::OID),
                        (&schema.unwrap_or(0), PgType::OID),
                    ],
                ),
                fetch_if(
                    schema.is_some(),
                    client,
                    project,
                    SCHEMA_OBJECTS,
                    &[
                        (&schema.unwrap_or(0), PgType::OID),
                        (&project_oids, PgType::OID_ARRAY),
                    ],
                ),
                fetch_if(
                    steward.is_some(),
                    client,
                    project,
                    STEWARD,
                    &[
                        (&steward.unwrap_or(0), PgType::OID),
                        (&found.admin_oid, PgType::OID),
                    ],
                ),
                fetch_if(
                    found.public_can_connect,
                    client,
                    project,
                    PUBLIC_LOGINS,
                    &[(&project_oids, PgType::OID_ARRAY)],
                ),
            ),
            fetch_if(
                found.public_can_use_public,
                client,
                project,
                PUBLIC_SCHEMA_USERS,
                &[(&project_oids, PgType::OID_ARRAY)],
            ),
        )
        .await?;
        Ok(ProjectState {
            server_major: found.server_major,
            admin: found.admin,
            database: found.database,
            search_path_setting: found.search_path_setting,
            roles: found.roles.into_iter().map(|r| r.state).collect(),
            memberships: of_roles.memberships,
            schema: found.schema.map(|s| SchemaState {
                owner: s.owner,
                acl: s.acl,
            }),
            default_acls: default_acls.default_acls,
            global_default_acl_types: default_acls.global_default_acl_types,
            foreign_grants: objects.foreign_grants,
            objects: objects.objects,
            admin_can_set_steward: of_steward.admin_can_set_steward,
            instance: InstanceState {
                public_can_connect: found.public_can_connect,
                public_can_temp: found.public_can_temp,
                public_can_create_in_public: found.public_can_create_in_public,
                public_can_use_public: found.public_can_use_public,
                can_connect: of_roles.can_connect,
                logins_relying_on_public: public_logins,
                public_schema_users,
                admin_public_defaults: found.admin_public_defaults,
                steward_can_create: of_steward.steward_can_create,
            },
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

const NAMES: &str = include_str!("../../sql/provision/state/names.sql");
const ROLES: &str = include_str!("../../sql/provision/state/roles.sql");
const DEFAULT_ACLS: &str = include_str!("../../sql/provision/state/default_acls.sql");
const SCHEMA_OBJECTS: &str = include_str!("../../sql/provision/state/schema_objects.sql");
const STEWARD: &str = include_str!("../../sql/provision/state/steward.sql");
pub(super) const PUBLIC_LOGINS: &str = include_str!("../../sql/provision/state/public_logins.sql");
pub(super) const PUBLIC_SCHEMA_USERS: &str =
    include_str!("../../sql/provision/state/public_schema_users.sql");

type Params<'a> = &'a [(&'a (dyn ToSql + Sync), PgType)];

/// One statement's JSON document, decoded. `query_typed` sends no separate prepare: one round
/// trip, and concurrent calls are pipelined.
async fn fetch<T: DeserializeOwned>(
    client: &impl GenericClient,
    project: &ProjectName,
    sql: &str,
    params: Params<'_>,
) -> Result<T, ProvisionError> {
    let row = client
        .query_typed_one(sql, params)
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

/// [`fetch`] when `needed`; otherwise the empty document, without asking: what hangs off a
/// role or schema that does not exist is nothing.
async fn fetch_if<T: DeserializeOwned + Default>(
    needed: bool,
    client: &impl GenericClient,
    project: &ProjectName,
    sql: &str,
    params: Params<'_>,
) -> Result<T, ProvisionError> {
    if !needed {
        return Ok(T::default());
    }
    fetch(client, project, sql, params).await
}

/// What hangs off the roles, the schema and the steward that exist, read in one round trip.
type OfExisting = (OfRoles, DefaultAcls, SchemaObjects, OfSteward, Vec<String>);

/// `names.sql`.
#[derive(Deserialize)]
struct Names {
    server_major: u32,
    admin: String,
    admin_oid: u32,
    database: String,
    search_path_setting: String,
    roles: Vec<FoundRole>,
    schema: Option<FoundSchema>,
    public_can_connect: bool,
    public_can_temp: bool,
    public_can_create_in_public: bool,
    public_can_use_public: bool,
    admin_public_defaults: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct FoundRole {
    pub(super) oid: u32,
    #[serde(flatten)]
    pub(super) state: RoleState,
}

#[derive(Deserialize)]
struct FoundSchema {
    oid: u32,
    owner: String,
    acl: Vec<AclEntry>,
}

/// `roles.sql`.
#[derive(Default, Deserialize)]
pub(super) struct OfRoles {
    pub(super) memberships: Vec<Membership>,
    pub(super) can_connect: Vec<String>,
}

/// `default_acls.sql`.
#[derive(Default, Deserialize)]
struct DefaultAcls {
    default_acls: Vec<DefaultAcl>,
    global_default_acl_types: Vec<String>,
}

/// `schema_objects.sql`.
#[derive(Default, Deserialize)]
struct SchemaObjects {
    foreign_grants: Vec<ForeignGrant>,
    objects: Vec<String>,
}

/// `steward.sql`.
#[derive(Default, Deserialize)]
struct OfSteward {
    admin_can_set_steward: bool,
    steward_can_create: bool,
}
