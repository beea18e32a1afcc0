//! Import: consolidate a project that still has its own instance, its data in `public`, into
//! its schema on the shared instance — the source only read.
//!
//! [`plan`] reads the source — relocation's dependency analysis of its `public` first (the
//! same findings `cotenant relocate` lists, resolved by the same choices), then, in one
//! snapshot, pg_dump of `public`'s schema and the list of tables, sequences and (on Supabase)
//! users — and the target, and returns an [`ImportPlan`], printable as a report and as SQL.
//! [`import`] applies it in one transaction on the target:
//!
//! ```no_run
//! # async fn run(mut target: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::import::{self, Import, Source, UsersMap};
//! use cotenant::relocate::{FunctionChoice, Relocation, Selection, SignupTriggerChoice};
//!
//! let source = Source::from_dsn("postgres://postgres:secret@old-crm.example/postgres")?;
//! let request = Import::new(
//!     Relocation::new(Selection::All)
//!         .signup_triggers(SignupTriggerChoice::Hook)
//!         .functions(FunctionChoice::Rewrite),
//! )
//! .users_map(UsersMap::load("users-map.csv")?);
//! let crm = "crm".parse()?;
//! let plan = import::plan(&source, &target, &crm, &request).await?;
//! println!("{plan}");
//! if !plan.is_blocked() {
//!     let done = import::import(&source, &mut target, &crm, &request).await?;
//!     println!("{} table(s), {} user(s)", done.rows().len(), done.users());
//! }
//! # Ok(()) }
//! ```
//!
//! # How it runs, and why this way
//! PostgreSQL's own tools do the schema: `pg_dump --schema-only --schema=public --no-owner
//! --no-privileges` of the source's major version, in the snapshot the rows are read in
//! (`pg_export_snapshot`), its table of contents filtered with `pg_restore --list/--use-list`
//! (schema `public` itself is the target's own), its pre-data and post-data sections run as SQL.
//! The rows go from the source's `COPY … TO STDOUT` straight into the target's `COPY … FROM
//! STDIN`, in text format (binary COPY names array element types by OID, which differ between
//! instances), each table's row count checked. All of it happens in ONE transaction on the
//! target: the objects are created in the target's `public` — invisible to every other session
//! until commit — and relocated into `<p>` by [`relocate`](crate::relocate)'s own machinery
//! before commit, so no other session ever sees them in public, and the result is what
//! provision + relocate give: owned by `<p>_owner`, `<p>_app` granted, nothing to anyone else.
//! A kill or any error anywhere rolls back: the target is as before, and running again works.
//!
//! # Users (Supabase sources)
//! `auth.users` and `auth.identities` come along into the shared auth, in the same transaction:
//! ids kept, the columns both GoTrue schemas have (same name, same type). A source user whose
//! id is already there with the same email is the same user (an earlier import, or a re-run):
//! skipped. A source user whose email belongs to another user of the shared instance (or whose
//! id does, with another email) is a collision: refused with [`ImportError::UserCollisions`]
//! listing them, unless a [`UsersMap`] maps it to a user of the shared instance — then it is
//! not imported, and every column of the imported tables that references `auth.users` is
//! rewritten to the target user before the foreign keys are created. Sessions and refresh
//! tokens do not come along: imported users log in again.
//!
//! Imported users are not signups: the signup dispatcher (and any trigger a neighbour still has
//! on `auth.users`) must not run for them. Without a superuser `session_replication_role`
//! cannot be set, but the table's owner may disable its triggers: the admin acts as
//! `supabase_auth_admin` (hosted Supabase grants it that role) to disable every enabled
//! trigger on `auth.users` around the inserts and enable them again, inside the transaction —
//! other sessions never see them disabled. The price: from then until commit the transaction
//! holds a SHARE ROW EXCLUSIVE lock on `auth.users`, so signups and logins (which update
//! `last_sign_in_at`) of every project wait for the rest of the import (post-data and the
//! relocation: index builds, seconds for millions of rows). The rows are copied before that.
//!
//! The source's `handle_new_user`-style trigger (on its `auth.users`, firing a function of its
//! `public`) is recreated on the target's `auth.users` inside the transaction, after the users
//! are in, so that relocation finds it exactly as it finds one on the shared instance and — with
//! [`SignupTriggerChoice::Hook`](crate::relocate::SignupTriggerChoice::Hook) — turns it into
//! the project's signup hook and drops the trigger: before commit it has fired for no one.
//!
//! # Limits
//! Extensions are not dumped with `--schema`: what the source's objects use of extensions must
//! exist on the target (on Supabase, in schema `extensions`). Large objects, subscriptions and
//! security labels do not come along.

mod apply;
mod dump;
mod environment;
mod error;
mod plan;
mod request;
mod source;
mod users_map;

pub use apply::{Imported, import, plan};
pub use dump::{find_pg_dump, pg_dump_candidates};
pub use error::{ImportError, UserCollision};
pub use plan::{ImportPlan, TableCopy, UsersPlan};
pub use request::Import;
pub use source::Source;
pub use users_map::UsersMap;
