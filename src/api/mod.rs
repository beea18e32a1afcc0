//! Data API roles: per-project `<p>_anon`, `<p>_authenticated` and `<p>_service` behind
//! PostgREST's `authenticator`, so that clients reach one project only.
//!
//! Each API role is NOLOGIN, granted to `authenticator` only (PostgREST `SET ROLE`s to the JWT's
//! `role` claim), a member of nothing, with USAGE on the project's schema and whatever the
//! project grants it there (default privileges only as declared: API exposure is deliberate),
//! plus what `<p>_app` has of the platform (`auth.uid()` and friends for RLS). Roles are created
//! by the project's steward, like its other roles.
//!
//! [`plan`] reads the catalog and returns an [`ApiPlan`] without changing anything; [`apply`]
//! converges in one transaction under the project's lock; [`apply_in`] does the same inside
//! provisioning's transaction. [`OperatorSetup`] is what an operator does outside cotenant
//! (`cotenant api <p>`).
//!
//! ```no_run
//! # async fn run(mut client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::api::{self, Api, ApiRoleKind, TablePrivilege};
//! use cotenant::platform::Access;
//!
//! let api = Api::enabled().with_role(ApiRoleKind::Authenticated, |r| {
//!     r.with_tables([TablePrivilege::Select, TablePrivilege::Insert])
//! });
//! let access = Access::default().with_auth(true);
//! print!("{}", api::plan(&client, &"reli".parse()?, &api, &access).await?.to_sql());
//! api::apply(&mut client, &"reli".parse()?, &api, &access).await?;
//! # Ok(()) }
//! ```
//!
//! Why the roles look the way they do, and the trust boundary around `authenticator`, is
//! explained in `docs/design.md` ("Data API roles").

mod apply;
mod declaration;
mod error;
mod plan;
mod setup;
mod state;

pub use apply::{apply, apply_in, plan};
pub use declaration::{Api, ApiConfig, ApiRole, ApiRoleKind, SequencePrivilege, TablePrivilege};
pub use error::ApiError;
pub use plan::ApiPlan;
pub use setup::OperatorSetup;

/// The role PostgREST logs in as; every API role is granted to it.
pub(crate) const AUTHENTICATOR: &str = "authenticator";

/// The owner of schema `storage` on hosted Supabase.
pub(crate) const STORAGE_OWNER: &str = "supabase_storage_admin";

/// The role Supabase Realtime runs as; with `realtime`, the API roles are granted to it too.
pub(crate) const REALTIME: &str = "supabase_realtime_admin";
