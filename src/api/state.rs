//! What the catalog says about a project's API roles: read in two small statements
//! (`sql/api/state/`), the second only when one of the roles exists.

use serde::Deserialize;
use tokio_postgres::GenericClient;
use tokio_postgres::types::{ToSql, Type as PgType};

use super::ApiError;
use super::declaration::ApiRoleKind;
use crate::ProjectName;
pub(crate) use crate::catalog::{DefaultAcl, Membership, RoleState};

/// The catalog as [`ApiState::read`] sees it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ApiState {
    pub(crate) server_major: u32,
    pub(crate) admin: String,
    pub(crate) admin_bypassrls: bool,
    pub(crate) authenticator_oid: Option<u32>,
    pub(crate) realtime_oid: Option<u32>,
    pub(crate) owner_oid: Option<u32>,
    pub(crate) schema_oid: Option<u32>,
    pub(crate) auth_oid: Option<u32>,
    pub(crate) extensions_oid: Option<u32>,
    pub(crate) storage_oid: Option<u32>,
    pub(crate) storage_objects_oid: Option<u32>,
    pub(crate) storage_buckets_oid: Option<u32>,
    pub(crate) admin_can_set_storage_admin: bool,
    pub(crate) bucket_exists: bool,
    pub(crate) bucket_objects: i64,
    /// Policies on `storage.objects` named after the project's API roles.
    pub(crate) storage_policies: Vec<StoragePolicy>,
    pub(crate) admin_can_set_auth_admin: bool,
    pub(crate) admin_can_grant_extensions: bool,
    pub(crate) role_oids: Vec<u32>,
    pub(crate) roles: Vec<RoleState>,
    pub(crate) memberships: Vec<Membership>,
    pub(crate) grants: Vec<Grant>,
    pub(crate) default_acls: Vec<DefaultAcl>,
    pub(crate) named_by: Vec<NamedBy>,
}

/// A grant to an API role on the project's schema (`schema project`) or a platform object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct Grant {
    pub(crate) object: String,
    pub(crate) grantee: String,
    pub(crate) privilege: String,
}

/// A policy on `storage.objects`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct StoragePolicy {
    pub(crate) name: String,
    /// `*` for all commands, `r` for SELECT.
    pub(crate) cmd: String,
    pub(crate) roles: Vec<String>,
    pub(crate) using: Option<String>,
    pub(crate) check: Option<String>,
}

/// An object naming an API role (a policy's `TO` list).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct NamedBy {
    pub(crate) role: String,
    pub(crate) object: String,
}

impl ApiState {
    /// Reads the state of `project`'s API roles; its Storage bucket and policies too when
    /// `storage` is declared or an API role exists.
    pub(crate) async fn read(
        client: &impl GenericClient,
        project: &ProjectName,
        storage: bool,
    ) -> Result<Self, ApiError> {
        let failed = |source| ApiError::Catalog {
            project: project.clone(),
            source,
        };
        let names: Vec<String> = ApiRoleKind::ALL.iter().map(|k| k.role(project)).collect();
        let owner = project.roles().owner;
        let mut state: ApiState = fetch(
            client,
            NAMES,
            &[
                (&project.as_str(), PgType::TEXT),
                (&owner, PgType::TEXT),
                (&names, PgType::TEXT_ARRAY),
            ],
        )
        .await
        .map_err(failed)?;
        if (storage || !state.role_oids.is_empty())
            && state.storage_buckets_oid.is_some()
            && state.storage_objects_oid.is_some()
        {
            let of_storage: ApiState = fetch(
                client,
                STORAGE,
                &[
                    (&project.as_str(), PgType::TEXT),
                    (&names, PgType::TEXT_ARRAY),
                ],
            )
            .await
            .map_err(failed)?;
            state.bucket_exists = of_storage.bucket_exists;
            state.bucket_objects = of_storage.bucket_objects;
            state.storage_policies = of_storage.storage_policies;
        }
        if state.role_oids.is_empty() {
            return Ok(state);
        }
        let oid = |o: Option<u32>| o.unwrap_or(0);
        let of_roles: ApiState = fetch(
            client,
            ROLES,
            &[
                (&state.role_oids, PgType::OID_ARRAY),
                (&oid(state.owner_oid), PgType::OID),
                (&oid(state.schema_oid), PgType::OID),
                (&oid(state.auth_oid), PgType::OID),
                (&oid(state.extensions_oid), PgType::OID),
                (&oid(state.storage_oid), PgType::OID),
                (&oid(state.storage_objects_oid), PgType::OID),
            ],
        )
        .await
        .map_err(failed)?;
        state.roles = of_roles.roles;
        state.memberships = of_roles.memberships;
        state.grants = of_roles.grants;
        state.default_acls = of_roles.default_acls;
        state.named_by = of_roles.named_by;
        Ok(state)
    }

    pub(crate) fn role(&self, name: &str) -> Option<&RoleState> {
        self.roles.iter().find(|r| r.name == name)
    }
}

const NAMES: &str = include_str!("../../sql/api/state/names.sql");
const ROLES: &str = include_str!("../../sql/api/state/roles.sql");
const STORAGE: &str = include_str!("../../sql/api/state/storage.sql");

type Params<'a> = &'a [(&'a (dyn ToSql + Sync), PgType)];

/// One statement's JSON document. `query_typed` sends no separate prepare: one round trip.
async fn fetch(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<ApiState, tokio_postgres::Error> {
    let row = client.query_typed_one(sql, params).await?;
    let json: String = row.get(0);
    Ok(serde_json::from_str(&json).expect("sql/api/state/ returns the document ApiState reads"))
}
