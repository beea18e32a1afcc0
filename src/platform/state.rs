//! What the catalog says about a project's platform access and the instance's shared Supabase
//! schemas, and the allowlist's extensions.
//!
//! Read in small statements (`sql/platform/state/`), like provisioning's: the roles, schemas
//! and types by name, then what hangs off those that exist, by OID, in one pipelined round
//! trip. The read runs twice in a provisioning transaction, after schema changes that
//! invalidate cached plans, so each statement is built to plan in a fraction of a millisecond.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::try_join5;
use serde::Deserialize;
use tokio_postgres::GenericClient;
use tokio_postgres::types::{ToSql, Type as PgType};

use super::PlatformError;
use crate::ProjectName;

/// The catalog as [`PlatformState::read`] sees it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PlatformState {
    pub(crate) server_major: u32,
    pub(crate) admin: String,
    pub(crate) auth_admin_exists: bool,
    pub(crate) admin_can_set_auth_admin: bool,
    pub(crate) auth_schema: bool,
    pub(crate) auth_users: bool,
    pub(crate) extensions_schema: bool,
    pub(crate) publication_owner: Option<String>,
    /// The owner of each object whose grants platform access converges, by its description
    /// (`schema auth`, `function auth.uid()`, …).
    pub(crate) owners: BTreeMap<String, String>,
    pub(crate) owner_exists: bool,
    pub(crate) grants: Vec<Grant>,
    /// The admin may grant USAGE on schema `extensions` (owns it or holds the grant option).
    pub(crate) admin_can_grant_extensions: bool,
    /// The admin holds the owner's privileges (inherits them) already.
    pub(crate) admin_inherits_owner: bool,
    /// The project's tables in `supabase_realtime`.
    pub(crate) published: Vec<String>,
    /// The declared realtime tables that exist.
    pub(crate) tables: Vec<String>,
    /// Functions of the project's schema named like the declared hook.
    pub(crate) hook_candidates: Vec<HookCandidate>,
    pub(crate) signup_role_exists: bool,
    pub(crate) admin_can_set_signup: bool,
    pub(crate) platform_schema: bool,
    pub(crate) signup_type: bool,
    pub(crate) signup_can_create: bool,
    /// Every registered hook of the instance, in project order.
    pub(crate) hooks: Vec<RegisteredHook>,
    pub(crate) signup_schema_usage: bool,
    pub(crate) dispatcher: Option<Dispatcher>,
    pub(crate) trigger: bool,
    pub(crate) signup_columns: Vec<String>,
    #[serde(skip)]
    pub(crate) extensions: Vec<ExtensionState>,
}

/// An explicit grant to one of the project's roles.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct Grant {
    pub(crate) object: String,
    pub(crate) grantee: String,
    pub(crate) privilege: String,
}

/// A function that may be the project's hook.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HookCandidate {
    pub(crate) oid: i64,
    pub(crate) args: String,
    pub(crate) takes_signup_user: bool,
    pub(crate) returns: String,
    pub(crate) returns_ok: bool,
    pub(crate) security_definer: bool,
    pub(crate) owner: String,
    pub(crate) pins_search_path: bool,
}

/// A hook the dispatcher's role may execute today.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct RegisteredHook {
    pub(crate) project: String,
    pub(crate) function: String,
    pub(crate) oid: i64,
    pub(crate) owner_oid: i64,
}

/// The dispatcher function as it is.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Dispatcher {
    pub(crate) source: String,
}

/// One allow-listed extension on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExtensionState {
    pub(crate) name: String,
    pub(crate) installed_in: Option<String>,
    pub(crate) available: bool,
    pub(crate) trusted: bool,
}

impl PlatformState {
    /// Reads the state of `project`'s platform access, with `hook` and `tables` as declared
    /// and the allow-listed `extensions`: what is found by name, then, in one pipelined round
    /// trip, what hangs off what exists.
    pub(crate) async fn read(
        client: &impl GenericClient,
        project: &ProjectName,
        hook: Option<&str>,
        tables: &[String],
        extensions: &[String],
    ) -> Result<Self, PlatformError> {
        let failed = |source| PlatformError::Catalog {
            project: project.clone(),
            source,
        };
        let roles = project.roles();
        let name = project.as_str();
        let found = fetch(
            client,
            NAMES,
            &[
                (&name, PgType::TEXT),
                (&roles.owner, PgType::TEXT),
                (&roles.app, PgType::TEXT),
            ],
        )
        .await
        .map_err(failed)?;
        let ids: Found = serde_json::from_value(serde_json::Value::Object(found.clone()))
            .expect("sql/platform/state/names.sql returns the OIDs it names");
        let oid = |o: Option<u32>| o.unwrap_or(0);
        let schema = oid(ids.schema_oid);
        let (grants, realtime, candidates, signup, installed) = try_join5(
            fetch(
                client,
                GRANTS,
                &[
                    (&oid(ids.owner_oid), PgType::OID),
                    (&oid(ids.app_oid), PgType::OID),
                    (&oid(ids.auth_oid), PgType::OID),
                    (&oid(ids.extensions_oid), PgType::OID),
                    (&oid(ids.platform_oid), PgType::OID),
                    (&oid(ids.signup_type_oid), PgType::OID),
                    (&oid(ids.auth_users_oid), PgType::OID),
                ],
            ),
            fetch_if(
                schema != 0 && (ids.publication_oid.is_some() || !tables.is_empty()),
                client,
                REALTIME,
                &[
                    (&schema, PgType::OID),
                    (&oid(ids.publication_oid), PgType::OID),
                    (&tables, PgType::NAME_ARRAY),
                ],
            ),
            fetch_if(
                schema != 0 && hook.is_some(),
                client,
                HOOK_CANDIDATES,
                &[
                    (&schema, PgType::OID),
                    (&hook, PgType::NAME),
                    (&oid(ids.signup_type_oid), PgType::OID),
                ],
            ),
            fetch_if(
                ids.signup_oid.is_some()
                    || ids.platform_oid.is_some()
                    || ids.auth_users_oid.is_some(),
                client,
                SIGNUP,
                &[
                    (&oid(ids.signup_oid), PgType::OID),
                    (&oid(ids.signup_type_oid), PgType::OID),
                    (&schema, PgType::OID),
                    (&oid(ids.platform_oid), PgType::OID),
                    (&oid(ids.auth_users_oid), PgType::OID),
                ],
            ),
            // Installed allow-listed extensions need nothing more; pg_available_extensions
            // reads every control file on disk, so it is asked only when one is missing.
            async {
                if extensions.is_empty() {
                    return Ok(Vec::new());
                }
                client
                    .query_typed(
                        "SELECT e.extname::text, n.nspname::text, true, true FROM pg_extension e \
                         JOIN pg_namespace n ON n.oid = e.extnamespace \
                         WHERE e.extname = ANY ($1::name[]) ORDER BY 1",
                        &[(&extensions, PgType::NAME_ARRAY)],
                    )
                    .await
            },
        )
        .await
        .map_err(failed)?;
        let rows = if installed.len() == extensions.len() {
            installed
        } else {
            client
                .query(
                    include_str!("../../sql/platform/extensions.sql"),
                    &[&extensions],
                )
                .await
                .map_err(failed)?
        };
        let mut document = found;
        for part in [grants, realtime, candidates, signup] {
            document.extend(part);
        }
        let mut state: PlatformState = serde_json::from_value(serde_json::Value::Object(document))
            .expect("sql/platform/state/ returns the document PlatformState reads");
        state.extensions = rows
            .iter()
            .map(|row| ExtensionState {
                name: row.get(0),
                installed_in: row.get(1),
                available: row.get(2),
                trusted: row.get(3),
            })
            .collect();
        Ok(state)
    }

    /// The privileges `grantee` holds on `object` by explicit grant.
    pub(crate) fn held(&self) -> BTreeSet<(String, String, String)> {
        self.grants
            .iter()
            .map(|g| (g.object.clone(), g.grantee.clone(), g.privilege.clone()))
            .collect()
    }
}

const NAMES: &str = include_str!("../../sql/platform/state/names.sql");
const GRANTS: &str = include_str!("../../sql/platform/state/grants.sql");
const REALTIME: &str = include_str!("../../sql/platform/state/realtime.sql");
const HOOK_CANDIDATES: &str = include_str!("../../sql/platform/state/hook_candidates.sql");
const SIGNUP: &str = include_str!("../../sql/platform/state/signup.sql");

type Document = serde_json::Map<String, serde_json::Value>;
type Params<'a> = &'a [(&'a (dyn ToSql + Sync), PgType)];

/// The OIDs `names.sql` found, for the statements that read what hangs off them.
#[derive(Deserialize)]
struct Found {
    owner_oid: Option<u32>,
    app_oid: Option<u32>,
    signup_oid: Option<u32>,
    schema_oid: Option<u32>,
    platform_oid: Option<u32>,
    auth_oid: Option<u32>,
    extensions_oid: Option<u32>,
    signup_type_oid: Option<u32>,
    auth_users_oid: Option<u32>,
    publication_oid: Option<u32>,
}

/// One statement's JSON document: part of [`PlatformState`]'s. `query_typed` sends no separate
/// prepare: one round trip, and concurrent calls are pipelined.
async fn fetch(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Document, tokio_postgres::Error> {
    let row = client.query_typed_one(sql, params).await?;
    let json: String = row.get(0);
    Ok(serde_json::from_str(&json).expect("sql/platform/state/ returns JSON objects"))
}

/// [`fetch`] when `needed`; otherwise nothing, without asking: what hangs off an object that
/// does not exist is nothing (the state's defaults).
async fn fetch_if(
    needed: bool,
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Document, tokio_postgres::Error> {
    if !needed {
        return Ok(Document::new());
    }
    fetch(client, sql, params).await
}
