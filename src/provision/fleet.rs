//! What the catalog says about many projects at once: one read per instance, from which each
//! project's [`ProjectState`] is cut in memory — the same state the one-project read returns,
//! so the same planner plans it.
//!
//! Read in a handful of statements whatever the number of projects (`sql/provision/fleet/`, and
//! the one-project read's statements that already take lists): what is found by name, then, in
//! one pipelined round trip, what hangs off what exists.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures_util::future::{try_join, try_join5};
use serde::Deserialize;
use tokio_postgres::GenericClient;
use tokio_postgres::types::Type as PgType;

use super::connect::CONNECT_ROLE;
use super::plan::{self, PasswordResets, Plan};
use super::settings::ProjectSettings;
use super::state::{
    self, AclEntry, DefaultAcl, ForeignGrant, FoundRole, InstanceFlags, Membership, OfRoles,
    OfSteward, ProjectState, ReadFailure, RoleState, SchemaState, fetch_json, fetch_json_if,
    found_roles_and_instance, public_users,
};
use super::steward;
use super::users::LoginUsers;
use crate::ProjectName;

const NAMES: &str = include_str!("../../sql/provision/fleet/names.sql");
const ROLES: &str = include_str!("../../sql/provision/fleet/roles.sql");
const DEFAULT_ACLS: &str = include_str!("../../sql/provision/fleet/default_acls.sql");
const SCHEMA_OBJECTS: &str = include_str!("../../sql/provision/fleet/schema_objects.sql");

/// Why the catalog of many projects could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetReadError {
    /// A statement failed.
    #[error("reading the catalog of every project: {0}")]
    Catalog(#[source] tokio_postgres::Error),
    /// A statement returned what cotenant did not expect.
    #[error("decoding the catalog of every project: {0}")]
    Decode(#[source] serde_json::Error),
}

/// The catalog as [`FleetState::read`] sees it: the state of every project asked for, and the
/// projects found on the instance.
#[derive(Debug, Clone)]
pub struct FleetState {
    names: Names,
    /// Indexes into `names.roles`, by role name.
    role_index: HashMap<String, usize>,
    /// Indexes into `names.schemas`, by schema name.
    schema_index: HashMap<String, usize>,
    memberships: Vec<Membership>,
    /// Indexes into `memberships`, by the name of either side.
    memberships_of: HashMap<String, Vec<usize>>,
    can_connect: BTreeSet<String>,
    default_acls: HashMap<String, Vec<DefaultAcl>>,
    global_default_acl_types: HashMap<String, Vec<String>>,
    foreign_grants: HashMap<u32, Vec<ForeignGrant>>,
    objects: HashMap<u32, Vec<String>>,
    stewards: HashMap<String, OfSteward>,
    logins_relying_on_public: Vec<String>,
    public_schema_users: Vec<String>,
    instance: InstanceFlags,
}

impl FleetState {
    /// Reads the state of every project of `projects` on the instance behind `client`, and
    /// which projects the instance has: a fixed number of statements, whatever their number.
    pub async fn read(
        client: &impl GenericClient,
        projects: &[ProjectName],
    ) -> Result<Self, FleetReadError> {
        let schemas: Vec<&str> = projects.iter().map(ProjectName::as_str).collect();
        let mut role_names: BTreeSet<String> = BTreeSet::new();
        for project in projects {
            role_names.extend(project_roles(project));
            role_names.insert(steward::for_project(project));
            role_names.insert(steward::sub_steward_for(project));
        }
        let role_names: Vec<&str> = role_names.iter().map(String::as_str).collect();
        let ((found_roles, instance), mut names): ((Vec<FoundRole>, InstanceFlags), Names) =
            try_join(
                found_roles_and_instance(client, &role_names),
                fetch_json(client, NAMES, &[(&schemas, PgType::TEXT_ARRAY)]),
            )
            .await?;
        names.roles = found_roles;
        let is_steward = |r: &&FoundRole| steward::is_steward(&r.state.name);
        let steward_oids: Vec<u32> = names
            .roles
            .iter()
            .filter(is_steward)
            .map(|r| r.oid)
            .collect();
        let project_oids: Vec<u32> = names
            .roles
            .iter()
            .filter(|r| !is_steward(r))
            .map(|r| r.oid)
            .collect();
        let oid_of: HashMap<&str, u32> = names
            .roles
            .iter()
            .map(|r| (r.state.name.as_str(), r.oid))
            .collect();
        // Each existing owner with its schema's OID (0 for none); each existing schema with the
        // OIDs of its project's roles.
        let schema_oid: HashMap<&str, u32> = names
            .schemas
            .iter()
            .map(|s| (s.name.as_str(), s.oid))
            .collect();
        let (mut owners, mut owner_schemas) = (Vec::new(), Vec::new());
        let (mut pair_schemas, mut pair_roles) = (Vec::new(), Vec::new());
        for project in projects {
            let schema = schema_oid.get(project.as_str()).copied();
            if let Some(&owner) = oid_of.get(project.roles().owner.as_str()) {
                owners.push(owner);
                owner_schemas.push(schema.unwrap_or(0));
            }
            if let Some(schema) = schema {
                for role in project_roles(project) {
                    if let Some(&oid) = oid_of.get(role.as_str()) {
                        pair_schemas.push(schema);
                        pair_roles.push(oid);
                    }
                }
            }
        }
        let schema_oids: Vec<u32> = names.schemas.iter().map(|s| s.oid).collect();
        let (of_roles, default_acls, objects, of_stewards, (public_logins, public_schema_users)): (
            OfRoles,
            BulkDefaultAcls,
            BulkObjects,
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
                !owners.is_empty(),
                client,
                DEFAULT_ACLS,
                &[
                    (&owners, PgType::OID_ARRAY),
                    (&owner_schemas, PgType::OID_ARRAY),
                ],
            ),
            fetch_json_if(
                !schema_oids.is_empty(),
                client,
                SCHEMA_OBJECTS,
                &[
                    (&schema_oids, PgType::OID_ARRAY),
                    (&pair_schemas, PgType::OID_ARRAY),
                    (&pair_roles, PgType::OID_ARRAY),
                ],
            ),
            fetch_json_if(
                !steward_oids.is_empty(),
                client,
                state::STEWARDS,
                &[
                    (&steward_oids, PgType::OID_ARRAY),
                    (&names.admin_oid, PgType::OID),
                    (&CONNECT_ROLE, PgType::TEXT),
                ],
            ),
            // Every role relying on PUBLIC, each project's own left out in memory: the same
            // lists the one-project read gets by leaving them out in SQL.
            public_users(client, &instance, &[]),
        )
        .await?;
        let mut by_owner: HashMap<String, Vec<DefaultAcl>> = HashMap::new();
        for acl in default_acls.default_acls {
            by_owner.entry(acl.owner).or_default().push(acl.acl);
        }
        let mut global_types: HashMap<String, Vec<String>> = HashMap::new();
        for row in default_acls.global_default_acl_types {
            global_types.entry(row.owner).or_default().push(row.objtype);
        }
        let mut foreign_grants: HashMap<u32, Vec<ForeignGrant>> = HashMap::new();
        for grant in objects.foreign_grants {
            foreign_grants
                .entry(grant.schema)
                .or_default()
                .push(grant.grant);
        }
        let mut labels: HashMap<u32, Vec<String>> = HashMap::new();
        for object in objects.objects {
            labels.entry(object.schema).or_default().push(object.label);
        }
        let role_index = names
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| (r.state.name.clone(), i))
            .collect();
        let schema_index = names
            .schemas
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        let mut memberships_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, m) in of_roles.memberships.iter().enumerate() {
            memberships_of.entry(m.role.clone()).or_default().push(i);
            if m.member != m.role {
                memberships_of.entry(m.member.clone()).or_default().push(i);
            }
        }
        Ok(FleetState {
            role_index,
            schema_index,
            memberships: of_roles.memberships,
            memberships_of,
            can_connect: of_roles.can_connect.into_iter().collect(),
            default_acls: by_owner,
            global_default_acl_types: global_types,
            foreign_grants,
            objects: labels,
            stewards: of_stewards
                .into_iter()
                .map(|s| (s.name.clone(), s))
                .collect(),
            logins_relying_on_public: public_logins,
            public_schema_users,
            names,
            instance,
        })
    }

    /// The projects the instance has: every schema `x` owned by a role `x_owner`, sorted.
    pub fn found_projects(&self) -> &[String] {
        &self.names.found_projects
    }

    /// Whether `project`'s owner or schema exists: whether it has been provisioned at all.
    pub fn exists(&self, project: &ProjectName) -> bool {
        self.role_index.contains_key(&project.roles().owner)
            || self.schema_index.contains_key(project.as_str())
    }

    /// The limits `project`'s logins have now; `None` if its login does not exist.
    pub fn settings_of(&self, project: &ProjectName) -> Option<ProjectSettings> {
        let state = self.project(project);
        let roles = project.roles();
        let login = state.role(&roles.login)?;
        Some(ProjectSettings::of_roles(
            Some(login),
            state.role(&roles.migrator),
        ))
    }

    /// What provisioning `project` with `settings` would change, planned in memory by the same
    /// planner as [`plan`](super::plan), from this read. `project` must be one of those read.
    pub fn plan(&self, project: &ProjectName, settings: &ProjectSettings) -> Plan {
        plan::compute(
            &self.project(project),
            project,
            settings,
            PasswordResets::default(),
            LoginUsers::default(),
        )
    }

    /// `project`'s part of the read: what [`ProjectState::read`] returns for it.
    pub(crate) fn project(&self, project: &ProjectName) -> ProjectState {
        let own: BTreeSet<String> = project_roles(project).into_iter().collect();
        let steward = steward::for_project(project);
        let sub_steward = steward::sub_steward_for(project);
        let names = &self.names;
        // Found by name, in the order the one-project read returns them (by name).
        let mut found: Vec<usize> = own
            .iter()
            .chain([&steward, &sub_steward])
            .filter_map(|name| self.role_index.get(name).copied())
            .collect();
        found.sort_by(|a, b| names.roles[*a].state.name.cmp(&names.roles[*b].state.name));
        let roles: Vec<RoleState> = found
            .into_iter()
            .map(|i| names.roles[i].state.clone())
            .collect();
        // Every membership either side of which is the project's, once, in the read's order.
        let mut rows: Vec<usize> = own
            .iter()
            .filter_map(|name| self.memberships_of.get(name))
            .flatten()
            .copied()
            .collect();
        rows.sort_unstable();
        rows.dedup();
        let memberships = rows
            .into_iter()
            .map(|i| self.memberships[i].clone())
            .collect();
        let schema = self
            .schema_index
            .get(project.as_str())
            .map(|&i| &names.schemas[i]);
        let owner = project.roles().owner;
        let owner_exists = self.role_index.contains_key(&owner);
        fn of<K: Eq + std::hash::Hash, T: Clone>(
            map: &HashMap<K, Vec<T>>,
            key: Option<K>,
        ) -> Vec<T> {
            key.and_then(|k| map.get(&k)).cloned().unwrap_or_default()
        }
        let schema_oid = schema.map(|s| s.oid);
        let owner_key = owner_exists.then(|| owner.clone());
        let of_steward = self.stewards.get(&steward);
        let not_own = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .filter(|n| !own.contains(*n))
                .cloned()
                .collect()
        };
        ProjectState {
            server_major: names.server_major,
            admin: names.admin.clone(),
            database: names.database.clone(),
            search_path_setting: names
                .search_path_settings
                .get(project.as_str())
                .cloned()
                .unwrap_or_default(),
            roles,
            memberships,
            schema: schema.map(|s| SchemaState {
                owner: s.owner.clone(),
                acl: s.acl.clone(),
            }),
            default_acls: of(&self.default_acls, owner_key.clone()),
            global_default_acl_types: of(&self.global_default_acl_types, owner_key),
            foreign_grants: of(&self.foreign_grants, schema_oid),
            objects: of(&self.objects, schema_oid),
            admin_can_set_steward: of_steward.is_some_and(|s| s.admin_can_set_steward),
            steward_administers_connect: of_steward.is_some_and(|s| s.administers_connect),
            sub_steward: self
                .stewards
                .get(&sub_steward)
                .map(|s| s.as_sub_steward_of(&steward)),
            instance: self.instance.clone().into_state(
                own.iter()
                    .filter(|n| self.can_connect.contains(*n))
                    .cloned()
                    .collect(),
                not_own(&self.logins_relying_on_public),
                not_own(&self.public_schema_users),
                of_steward.is_some_and(|s| s.steward_can_create),
            ),
        }
    }
}

/// A project's six roles (rotation twins included), not its steward.
fn project_roles(project: &ProjectName) -> [String; 6] {
    let r = project.roles();
    [
        r.owner,
        r.app,
        r.login,
        r.migrator,
        r.login_clone,
        r.migrator_clone,
    ]
}

impl From<ReadFailure> for FleetReadError {
    fn from(failure: ReadFailure) -> Self {
        match failure {
            ReadFailure::Catalog(source) => FleetReadError::Catalog(source),
            ReadFailure::Decode(source) => FleetReadError::Decode(source),
        }
    }
}

/// `names.sql`.
#[derive(Debug, Clone, Deserialize)]
struct Names {
    server_major: u32,
    admin: String,
    admin_oid: u32,
    database: String,
    search_path_settings: BTreeMap<String, String>,
    schemas: Vec<FoundSchema>,
    found_projects: Vec<String>,
    /// `sql/provision/state/found_roles.sql`.
    #[serde(skip)]
    roles: Vec<FoundRole>,
}

#[derive(Debug, Clone, Deserialize)]
struct FoundSchema {
    name: String,
    oid: u32,
    owner: String,
    acl: Vec<AclEntry>,
}

/// `default_acls.sql`.
#[derive(Default, Deserialize)]
struct BulkDefaultAcls {
    default_acls: Vec<OwnedDefaultAcl>,
    global_default_acl_types: Vec<OwnedType>,
}

#[derive(Deserialize)]
struct OwnedDefaultAcl {
    owner: String,
    #[serde(flatten)]
    acl: DefaultAcl,
}

#[derive(Deserialize)]
struct OwnedType {
    owner: String,
    objtype: String,
}

/// `schema_objects.sql`.
#[derive(Default, Deserialize)]
struct BulkObjects {
    foreign_grants: Vec<SchemaGrant>,
    objects: Vec<SchemaObject>,
}

#[derive(Deserialize)]
struct SchemaGrant {
    schema: u32,
    #[serde(flatten)]
    grant: ForeignGrant,
}

#[derive(Deserialize)]
struct SchemaObject {
    schema: u32,
    label: String,
}
