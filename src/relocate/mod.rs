//! Relocation: move a project's existing objects out of `public` into its schema — metadata
//! only, verified, nothing lost.
//!
//! Projects that grew up on their own instance keep their tables in `public`. Relocation moves
//! them with `ALTER … SET SCHEMA`, which rewrites no row: the tables keep their files
//! (relfilenodes), indexes, constraints, triggers, policies and owned sequences. What they need
//! comes along (the dependency closure: partitions, free-standing sequences of their defaults,
//! the enum/composite/domain types of their columns, trigger functions, views that read only
//! moved relations). Then `<p>_owner` owns everything, `<p>_app` gets its data privileges, and
//! what the objects carried from `public` (grants to PUBLIC, anon, authenticated, service_role)
//! is revoked — so afterwards provisioning finds nothing to change.
//!
//! [`plan`] reads the catalog and returns a [`RelocationPlan`]: the moves, the
//! [`Blocker`]s — anything that would break or be left half-way, each stopping the move until
//! a choice handles it (see [`Relocation`]) — and the statements, printable as SQL.
//! [`relocate`] plans again inside one transaction under the project's lock and applies it:
//!
//! ```no_run
//! # async fn run(mut client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::relocate::{self, PolicyChoice, Relocation, Selection};
//!
//! let crm = "crm".parse()?;
//! let relocation = Relocation::new(Selection::All).policies(PolicyChoice::ToApp);
//! let plan = relocate::plan(&client, &crm, &relocation).await?;
//! println!("{plan}");
//! if !plan.is_blocked() {
//!     let done = relocate::relocate(&mut client, &crm, &relocation).await?;
//!     println!("moved {} object(s), {} files unchanged", done.plan().moves().len(), done.verified().files());
//! }
//! # Ok(()) }
//! ```
//!
//! # How the move runs
//! `ALTER … SET SCHEMA` needs the object's owner and CREATE on the target schema; `ALTER … OWNER
//! TO` needs the new owner to have CREATE on the object's *current* schema — which `<p>_owner`
//! has only in `<p>`. So, in one transaction: the steward acts as `<p>_owner` for the transaction
//! (as provisioning does); `<p>_owner` lets the admin USAGE and CREATE in `<p>`; the admin, still
//! owner of the legacy objects, locks them, moves them and hands them over inside `<p>`;
//! `<p>_owner` grants and revokes, and takes the admin's temporary privileges back. Nothing
//! shared (schema `public`'s ACL, the database) changes.
//!
//! # Verification
//! Before commit, in the same transaction: every moved relation, index and TOAST table kept its
//! relfilenode (the same files: nothing was copied), every object is in `<p>`, owned by
//! `<p>_owner`, granted to nobody outside the project; by default each table's rows are counted
//! before and after, and with [`Verification::Checksums`] checksummed too. Any difference or
//! error rolls back: `public` is exactly as before.
//!
//! # Locks
//! The move needs ACCESS EXCLUSIVE locks, and a waiting exclusive lock queues every later reader
//! behind it. Each attempt waits at most [`Relocation::lock_timeout`] (2 s by default) and is
//! retried as a whole with a growing pause; after the last attempt
//! [`RelocateError::LockTimeout`] names the sessions holding the locks.

mod analysis;
mod apply;
pub(crate) mod blocker;
mod body;
mod catalog;
mod choice;
mod closure;
mod environment;
mod error;
mod object;
mod plan;
mod relocation;
mod selection;
mod statements;
mod verify;

pub(crate) use apply::relocate_in;
pub use apply::{Relocated, analyse, plan, relocate};
pub use blocker::{Blocker, BlockerKind};
pub use choice::{
    ForeignKeyChoice, FunctionChoice, PolicyChoice, PublicationChoice, SearchPathChoice,
    SharedChoice, SignupTriggerChoice, ViewChoice,
};
pub use error::{LockHolder, RelocateError};
pub use object::ObjectKind;
pub use plan::{Move, RelocationPlan, Rewrite};
pub use relocation::Relocation;
pub use selection::Selection;
pub use verify::{TableCheck, Verification, Verified};
