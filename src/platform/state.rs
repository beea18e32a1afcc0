//! What the catalog says about a project's platform access and the instance's shared Supabase
//! schemas: one JSON document (`sql/platform/state.sql`) and the allowlist's extensions.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;

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
    /// and the allow-listed `extensions`.
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
        let state_params: [&(dyn ToSql + Sync); 5] =
            [&name, &roles.owner, &roles.app, &hook, &tables];
        let state = client
            .query_one(include_str!("../../sql/platform/state.sql"), &state_params)
            .await
            .map_err(failed)?;
        // pg_available_extensions reads every control file on disk: only when an allowed
        // extension is not installed.
        let installed: i64 = if extensions.is_empty() {
            0
        } else {
            client
                .query_one(
                    "SELECT count(*) FROM pg_extension WHERE extname = ANY ($1::text[])",
                    &[&extensions],
                )
                .await
                .map_err(failed)?
                .get(0)
        };
        let rows = if usize::try_from(installed).unwrap_or_default() == extensions.len() {
            client
                .query(
                    "SELECT e.extname::text, n.nspname::text, true, true FROM pg_extension e \
                     JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = ANY ($1::text[]) \
                     ORDER BY 1",
                    &[&extensions],
                )
                .await
                .map_err(failed)?
        } else {
            client
                .query(
                    include_str!("../../sql/platform/extensions.sql"),
                    &[&extensions],
                )
                .await
                .map_err(failed)?
        };
        let text: String = state.get(0);
        let mut state: PlatformState = serde_json::from_str(&text)
            .expect("sql/platform/state.sql returns the document PlatformState reads");
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
