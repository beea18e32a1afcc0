//! Platform access: what a project may use of the shared Supabase schemas — auth, extensions,
//! Realtime and signup hooks — declared per project, converged like every other grant.
//!
//! [`plan`] reads the catalog and returns a [`PlatformPlan`] without changing anything;
//! [`apply`] converges in one transaction under the project's lock; [`apply_in`] does the same
//! inside a caller's transaction (provisioning's, relocation's). Taking access off the
//! declaration revokes it; [`Access::none`] is what deprovisioning converges to.
//!
//! ```no_run
//! # async fn run(mut client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::platform::{self, Access};
//!
//! let access = Access::default()
//!     .with_auth(true)
//!     .with_realtime(["notes"])
//!     .with_signup_hook(Some("handle_new_user"));
//! let plan = platform::plan(&client, &"reli".parse()?, &access, &[]).await?;
//! print!("{}", plan.to_sql());
//! platform::apply(&mut client, &"reli".parse()?, &access, &[]).await?;
//! # Ok(()) }
//! ```
//!
//! What each access grants, and why the signup hooks look the way they do, is explained in
//! `docs/design.md` ("Platform access").

mod apply;
mod declaration;
mod doctor;
mod error;
mod hooks;
mod plan;
mod state;

pub use apply::{apply, apply_in, plan};
pub use declaration::{Access, AccessOverride, PlatformConfig};
pub use doctor::examine_extensions;
pub use error::PlatformError;
pub(crate) use hooks::SIGNUP_COLUMNS;
pub(crate) use plan::PLATFORM_SCHEMA;
pub use plan::PlatformPlan;

/// The owner of schema `auth` on hosted Supabase: grants on auth objects are made as it.
pub(crate) const AUTH_OWNER: &str = "supabase_auth_admin";

/// The NOLOGIN role the signup dispatcher runs as.
pub(crate) const SIGNUP_ROLE: &str = "cotenant_signup";
