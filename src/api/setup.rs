//! What an operator sets up outside cotenant so that clients reach a project through the Data
//! API: what `cotenant api <p>` prints.

use std::fmt;

use super::declaration::{Api, ApiRoleKind};
use crate::ProjectName;

/// The steps outside cotenant that put a project behind PostgREST (and Supabase's clients),
/// for a project's declaration. A value with [`Display`](fmt::Display); nothing is read from a
/// database.
///
/// ```
/// use cotenant::api::{Api, OperatorSetup};
///
/// let setup = OperatorSetup::new(&"reli".parse()?, &Api::enabled());
/// let text = setup.to_string();
/// assert!(text.contains("Accept-Profile: reli"));
/// assert!(text.contains(r#""role": "reli_authenticated""#));
/// # Ok::<(), cotenant::NameError>(())
/// ```
#[derive(Debug, Clone)]
pub struct OperatorSetup {
    project: ProjectName,
    api: Api,
}

impl OperatorSetup {
    /// The setup for `project` with `api` declared.
    pub fn new(project: &ProjectName, api: &Api) -> Self {
        Self {
            project: project.clone(),
            api: api.clone(),
        }
    }

    /// The schema PostgREST must expose: the project's.
    pub fn exposed_schema(&self) -> &str {
        self.project.as_str()
    }

    /// The JWT `role` claim for each API role the declaration has.
    pub fn role_claims(&self) -> Vec<(ApiRoleKind, String)> {
        self.api
            .kinds()
            .map(|k| (k, k.role(&self.project)))
            .collect()
    }
}

impl fmt::Display for OperatorSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.project;
        if !self.api.enabled {
            return write!(
                f,
                "project `{p}` has no Data API: declare it under [projects.{p}.api] (enabled = true) and provision"
            );
        }
        writeln!(f, "Data API of `{p}`: what to set up outside cotenant")?;
        writeln!(f)?;
        writeln!(
            f,
            "1. Expose the schema to PostgREST: add `{p}` to `db-schemas`"
        )?;
        writeln!(
            f,
            "   (PGRST_DB_SCHEMAS; hosted Supabase: Project Settings > Data API > Exposed schemas)."
        )?;
        writeln!(
            f,
            "   Clients pick it per request: `Accept-Profile: {p}` (reads), `Content-Profile: {p}` (writes);"
        )?;
        writeln!(
            f,
            "   supabase-js: createClient(url, key, {{ db: {{ schema: '{p}' }} }})."
        )?;
        writeln!(
            f,
            "2. Signed-in users' JWTs carry `\"role\": \"{p}_authenticated\"`: set the claim in Supabase Auth's"
        )?;
        writeln!(
            f,
            "   custom access token hook for this project's users (say, from app_metadata), or sign the JWT"
        )?;
        writeln!(
            f,
            "   in the project's own backend. RLS policies `TO {p}_authenticated` read `auth.uid()` (the `sub`)."
        )?;
        writeln!(
            f,
            "3. Requests without a user: a key whose JWT says `\"role\": \"{p}_anon\"` (PostgREST's `db-anon-role`"
        )?;
        writeln!(
            f,
            "   stays the instance's shared `anon`, which holds nothing in `{p}`)."
        )?;
        if self.api.service {
            writeln!(
                f,
                "4. The project's trusted backend: a key whose JWT says `\"role\": \"{p}_service\"` (BYPASSRLS, in `{p}`"
            )?;
            writeln!(f, "   only); never give it to clients.")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "Trust boundary: `authenticator`'s password and the JWT secret are instance-wide platform credentials,"
        )?;
        writeln!(
            f,
            "not this project's: whoever holds either can act as any project's API roles (PostgREST must be able"
        )?;
        write!(
            f,
            "to SET ROLE to all of them). Keep them with the platform's operators, never in a project's secrets."
        )
    }
}
