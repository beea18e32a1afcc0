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
use super::connect::CONNECT_ROLE;
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
    /// The steward holds ADMIN on the connect role (`connect.rs`).
    pub(crate) steward_administers_connect: bool,
    /// The project's sub-steward (16+), where it exists.
    pub(crate) sub_steward: Option<SubStewardState>,
    pub(crate) instance: InstanceState,
}

/// A sub-steward as the plan sees it (`steward.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubStewardState {
    /// Its steward inherits it (so holds, through it, ADMIN on its projects' roles).
    pub(crate) inherited_by_steward: bool,
    /// It may create schemas in the database.
    pub(crate) can_create: bool,
    /// It holds ADMIN on the connect role, so may grant it to its projects' logins.
    pub(crate) administers_connect: bool,
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
    /// The connect role (`connect.rs`) exists.
    pub(crate) connect_role_exists: bool,
    /// The connect role holds CONNECT on the database.
    pub(crate) connect_role_can_connect: bool,
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
        let sub_steward = super::steward::sub_steward_for(project);
        let names = [
            roles.owner.as_str(),
            &roles.app,
            &roles.login,
            &roles.migrator,
            &roles.login_clone,
            &roles.migrator_clone,
            steward,
            &sub_steward,
        ];
        let failed = |f: ReadFailure| f.of_project(project);
        let ((found_roles, shared), found): ((Vec<FoundRole>, InstanceFlags), Names) = try_join(
            found_roles_and_instance(client, &names),
            fetch_json(client, NAMES, &[(&project.as_str(), PgType::TEXT)]),
        )
        .await
        .map_err(failed)?;
        let oid_of = |name: &str| {
            found_roles
                .iter()
                .find(|r| r.state.name == name)
                .map(|r| r.oid)
        };
        let owner = oid_of(&roles.owner);
        let steward_oids: Vec<u32> = [oid_of(steward), oid_of(&sub_steward)]
            .into_iter()
            .flatten()
            .collect();
        let project_oids: Vec<u32> = found_roles
            .iter()
            .filter(|r| !steward_oids.contains(&r.oid))
            .map(|r| r.oid)
            .collect();
        let schema = found.schema.as_ref().map(|s| s.oid);
        let (of_roles, default_acls, objects, of_steward, (public_logins, public_schema_users)): (
            OfRoles,
            DefaultAcls,
            SchemaObjects,
            Vec<OfSteward>,
            _,
        ) = try_join5(
            fetch_json_if(
                !project_oids.is_empty(),
                client,
                ROLES,
                &[(&project_oids, PgType::OID_ARRAY)],
            ),
            fetch_json_if(
                owner.is_some(),
                client,
                DEFAULT_ACLS,
                &[
                    (&owner.unwrap_or(0), PgType::OID),
                    (&schema.unwrap_or(0), PgType::OID),
                ],
            ),
            fetch_json_if(
                schema.is_some(),
                client,
                SCHEMA_OBJECTS,
                &[
                    (&schema.unwrap_or(0), PgType::OID),
                    (&project_oids, PgType::OID_ARRAY),
                ],
            ),
            fetch_json_if(
                !steward_oids.is_empty(),
                client,
                STEWARDS,
                &[
                    (&steward_oids, PgType::OID_ARRAY),
                    (&found.admin_oid, PgType::OID),
                    (&CONNECT_ROLE, PgType::TEXT),
                ],
            ),
            public_users(client, &shared, &project_oids),
        )
        .await
        .map_err(failed)?;
        let of = |name: &str| of_steward.iter().find(|s| s.name == name);
        let (of_steward, of_sub) = (of(steward), of(&sub_steward));
        Ok(ProjectState {
            server_major: found.server_major,
            admin: found.admin,
            database: found.database,
            search_path_setting: found.search_path_setting,
            roles: found_roles.into_iter().map(|r| r.state).collect(),
            memberships: of_roles.memberships,
            schema: found.schema.map(|s| SchemaState {
                owner: s.owner,
                acl: s.acl,
            }),
            default_acls: default_acls.default_acls,
            global_default_acl_types: default_acls.global_default_acl_types,
            foreign_grants: objects.foreign_grants,
            objects: objects.objects,
            admin_can_set_steward: of_steward.is_some_and(|s| s.admin_can_set_steward),
            steward_administers_connect: of_steward.is_some_and(|s| s.administers_connect),
            sub_steward: of_sub.map(|s| s.as_sub_steward_of(steward)),
            instance: shared.into_state(
                of_roles.can_connect,
                public_logins,
                public_schema_users,
                of_steward.is_some_and(|s| s.steward_can_create),
            ),
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
pub(super) const STEWARDS: &str = include_str!("../../sql/provision/state/stewards.sql");
const FOUND_ROLES: &str = include_str!("../../sql/provision/state/found_roles.sql");
const INSTANCE: &str = include_str!("../../sql/provision/state/instance.sql");
const PUBLIC_LOGINS: &str = include_str!("../../sql/provision/state/public_logins.sql");
const PUBLIC_SCHEMA_USERS: &str = include_str!("../../sql/provision/state/public_schema_users.sql");

pub(super) type Params<'a> = &'a [(&'a (dyn ToSql + Sync), PgType)];

/// How one statement of a catalog read failed; the read says which read it was.
pub(super) enum ReadFailure {
    Catalog(tokio_postgres::Error),
    Decode(serde_json::Error),
}

impl ReadFailure {
    fn of_project(self, project: &ProjectName) -> ProvisionError {
        let project = project.clone();
        match self {
            ReadFailure::Catalog(source) => ProvisionError::Catalog { project, source },
            ReadFailure::Decode(source) => ProvisionError::CatalogDecode { project, source },
        }
    }
}

/// One statement's JSON document, decoded. `query_typed` sends no separate prepare: one round
/// trip, and concurrent calls are pipelined.
pub(super) async fn fetch_json<T: DeserializeOwned>(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<T, ReadFailure> {
    let row = client
        .query_typed_one(sql, params)
        .await
        .map_err(ReadFailure::Catalog)?;
    let json: String = row.get(0);
    serde_json::from_str(&json).map_err(ReadFailure::Decode)
}

/// [`fetch_json`] when `needed`; otherwise the empty document, without asking: what hangs off
/// a role or schema that does not exist is nothing.
pub(super) async fn fetch_json_if<T: DeserializeOwned + Default>(
    needed: bool,
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<T, ReadFailure> {
    if !needed {
        return Ok(T::default());
    }
    fetch_json(client, sql, params).await
}

/// The first round trip of a read: the roles found by `names` and what all projects share.
pub(super) async fn found_roles_and_instance(
    client: &impl GenericClient,
    names: &[&str],
) -> Result<(Vec<FoundRole>, InstanceFlags), ReadFailure> {
    try_join(
        fetch_json(client, FOUND_ROLES, &[(&names, PgType::TEXT_ARRAY)]),
        fetch_json(client, INSTANCE, &[(&CONNECT_ROLE, PgType::TEXT)]),
    )
    .await
}

/// The roles that rely on PUBLIC's CONNECT on the database and on its USAGE of schema `public`
/// (each read only while PUBLIC has it), those of `own` left out.
pub(super) async fn public_users(
    client: &impl GenericClient,
    instance: &InstanceFlags,
    own: &[u32],
) -> Result<(Vec<String>, Vec<String>), ReadFailure> {
    try_join(
        fetch_json_if(
            instance.public_can_connect,
            client,
            PUBLIC_LOGINS,
            &[(&own, PgType::OID_ARRAY), (&CONNECT_ROLE, PgType::TEXT)],
        ),
        fetch_json_if(
            instance.public_can_use_public,
            client,
            PUBLIC_SCHEMA_USERS,
            &[(&own, PgType::OID_ARRAY), (&CONNECT_ROLE, PgType::TEXT)],
        ),
    )
    .await
}

/// `names.sql`.
#[derive(Deserialize)]
struct Names {
    server_major: u32,
    admin: String,
    admin_oid: u32,
    database: String,
    search_path_setting: String,
    schema: Option<FoundSchema>,
}

/// `instance.sql`: what all projects share, read by the one-project read and the fleet's.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct InstanceFlags {
    pub(super) public_can_connect: bool,
    pub(super) public_can_temp: bool,
    pub(super) public_can_create_in_public: bool,
    pub(super) public_can_use_public: bool,
    pub(super) admin_public_defaults: Vec<String>,
    pub(super) connect_role_exists: bool,
    pub(super) connect_role_can_connect: bool,
}

impl InstanceFlags {
    /// The instance's state: these flags with what the read found for the project's logins
    /// and steward.
    pub(super) fn into_state(
        self,
        can_connect: Vec<String>,
        logins_relying_on_public: Vec<String>,
        public_schema_users: Vec<String>,
        steward_can_create: bool,
    ) -> InstanceState {
        InstanceState {
            public_can_connect: self.public_can_connect,
            public_can_temp: self.public_can_temp,
            public_can_create_in_public: self.public_can_create_in_public,
            public_can_use_public: self.public_can_use_public,
            can_connect,
            connect_role_exists: self.connect_role_exists,
            connect_role_can_connect: self.connect_role_can_connect,
            logins_relying_on_public,
            public_schema_users,
            admin_public_defaults: self.admin_public_defaults,
            steward_can_create,
        }
    }
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

/// `stewards.sql`: one steward or sub-steward.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct OfSteward {
    pub(super) name: String,
    pub(super) admin_can_set_steward: bool,
    pub(super) steward_can_create: bool,
    pub(super) administers_connect: bool,
    pub(super) inherited_by: Vec<String>,
}

impl OfSteward {
    /// What the plan needs of a sub-steward whose steward is `steward`.
    pub(super) fn as_sub_steward_of(&self, steward: &str) -> SubStewardState {
        SubStewardState {
            inherited_by_steward: self.inherited_by.iter().any(|m| m == steward),
            can_create: self.steward_can_create,
            administers_connect: self.administers_connect,
        }
    }
}
