//! The import plan: what comes from the source, what stands in the way, and the script — a
//! value that can be printed and reviewed before anything is changed.

use std::fmt;

use super::UserCollision;
use super::dump::Dump;
use crate::ProjectName;
use crate::ident::quote_ident;
use crate::lock::LockKey;
use crate::relocate::RelocationPlan;

/// A table whose rows are copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub(super) name: String,
    pub(super) columns: Vec<String>,
    pub(super) estimate: i64,
}

impl TableCopy {
    /// Its name in the source's `public`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The columns COPY writes (not the generated ones).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The source planner's estimate of its rows.
    pub fn estimate(&self) -> i64 {
        self.estimate
    }

    pub(super) fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What comes along of the source's `auth` (Supabase sources).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersPlan {
    pub(super) users: Vec<(String, Option<String>)>,
    pub(super) user_columns: Vec<String>,
    pub(super) identity_columns: Vec<String>,
    pub(super) already: usize,
    pub(super) mapped: Vec<(String, String)>,
    pub(super) collisions: Vec<UserCollision>,
    pub(super) references: Vec<(String, String)>,
    pub(super) triggers: Vec<String>,
}

impl UsersPlan {
    /// The source's users.
    pub fn total(&self) -> usize {
        self.users.len()
    }

    /// Those the shared instance already has, same id and same email (an earlier import).
    pub fn already_there(&self) -> usize {
        self.already
    }

    /// Source users merged into users of the shared instance by the users map (source id,
    /// target id).
    pub fn mapped(&self) -> &[(String, String)] {
        &self.mapped
    }

    /// Source users that collide with other users of the shared instance and are not mapped.
    pub fn collisions(&self) -> &[UserCollision] {
        &self.collisions
    }

    /// The columns of `auth.users` copied: those both sides have, with the same type.
    pub fn user_columns(&self) -> &[String] {
        &self.user_columns
    }

    /// The columns of `public`'s tables that reference `auth.users` (table, column): a mapped
    /// user's id is rewritten there.
    pub fn references(&self) -> &[(String, String)] {
        &self.references
    }

    /// The target's triggers on `auth.users` disabled while the users go in (they are not
    /// signups): the signup dispatcher and any other.
    pub fn disabled_triggers(&self) -> &[String] {
        &self.triggers
    }
}

/// What importing a project's own instance into the project on the shared instance will do.
///
/// Print it with [`Display`](fmt::Display) for the report (tables, users, findings of the
/// dependency analysis on the source, clashes on the target), or with
/// [`to_sql`](ImportPlan::to_sql) as the script. A [blocked](ImportPlan::is_blocked) plan is
/// refused by [`import`](super::import) before it touches the target.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    pub(super) project: ProjectName,
    pub(super) source: String,
    pub(super) source_major: u32,
    pub(super) target_database: String,
    pub(super) pg_dump: String,
    pub(super) findings: RelocationPlan,
    pub(super) tables: Vec<TableCopy>,
    pub(super) sequences: Vec<(String, i64, bool)>,
    pub(super) objects: Vec<String>,
    pub(super) clashes: Vec<String>,
    pub(super) already_imported: bool,
    pub(super) users: Option<UsersPlan>,
    pub(super) signup_triggers: Vec<(String, String)>,
    pub(super) dump: Dump,
}

impl ImportPlan {
    /// The project.
    pub fn project(&self) -> &ProjectName {
        &self.project
    }

    /// True when an earlier import brought every table already: nothing to do.
    pub fn is_empty(&self) -> bool {
        self.already_imported
    }

    /// True when something stops the import: an unresolved finding of the dependency analysis
    /// on the source, a name the target already has, or a user collision no map resolves.
    pub fn is_blocked(&self) -> bool {
        self.findings.is_blocked()
            || !self.clashes.is_empty()
            || self
                .users
                .as_ref()
                .is_some_and(|u| !u.collisions.is_empty())
    }

    /// Relocation's dependency analysis of the source's `public`: the findings `relocate`
    /// would report for the same objects, and what moves.
    pub fn findings(&self) -> &RelocationPlan {
        &self.findings
    }

    /// The tables whose rows are copied.
    pub fn tables(&self) -> &[TableCopy] {
        &self.tables
    }

    /// The sequences whose values are set: name, value, whether it was called.
    pub fn sequences(&self) -> &[(String, i64, bool)] {
        &self.sequences
    }

    /// Objects of the target (its `public`, the project's schema, triggers on `auth.users`)
    /// with the names the import needs.
    pub fn clashes(&self) -> &[String] {
        &self.clashes
    }

    /// The users that come along, for a source with an `auth` schema.
    pub fn users(&self) -> Option<&UsersPlan> {
        self.users.as_ref()
    }

    /// The source's schema as pg_dump wrote it: created before the rows.
    pub fn pre_data_sql(&self) -> &str {
        &self.dump.pre_data
    }

    /// The source's schema as pg_dump wrote it: created after the rows.
    pub fn post_data_sql(&self) -> &str {
        &self.dump.post_data
    }

    /// The import as one script in one transaction on the target, in the order cotenant runs it.
    /// The rows are streamed with COPY from the source (marked where); the relocation at the
    /// end is the plan `relocate` makes then, inside the same transaction.
    pub fn to_sql(&self) -> String {
        let mut out = format!(
            "-- cotenant import: `public` of {} (PostgreSQL {}, dumped with {}) into `{}` on database `{}`.\n",
            self.source, self.source_major, self.pg_dump, self.project, self.target_database
        );
        if self.already_imported {
            out.push_str("-- Already imported: nothing to do.\n");
            return out;
        }
        if self.is_blocked() {
            out.push_str("-- Blocked: resolve these first.\n");
            for line in self.blocking_lines() {
                out.push_str(&format!("--   {line}\n"));
            }
        }
        out.push_str("BEGIN;\n");
        out.push_str(&format!(
            "SELECT pg_advisory_xact_lock({}); -- cotenant's lock of project `{}`\n",
            LockKey::provision(&self.project).as_i64(),
            self.project
        ));
        out.push_str("-- 1. The source's schema (pg_dump, pre-data), created in public: no other session sees it before COMMIT.\n");
        out.push_str(&self.dump.pre_data);
        out.push_str("-- 2. The rows, streamed from the source's snapshot.\n");
        for t in &self.tables {
            out.push_str(&format!(
                "COPY public.{} ({}) FROM STDIN; -- ~{} row(s) from the source's COPY … TO STDOUT\n",
                quote_ident(&t.name),
                t.column_list(),
                t.estimate
            ));
        }
        for (name, value, called) in &self.sequences {
            out.push_str(&format!(
                "SELECT pg_catalog.setval('public.{}', {value}, {called});\n",
                quote_ident(name).replace('\'', "''")
            ));
        }
        if let Some(users) = &self.users {
            out.push_str(&format!(
                "-- 3. {} user(s) into the shared auth ({} already there, {} mapped); the target's triggers on auth.users are disabled around it as `supabase_auth_admin`: imported users are not signups.\n",
                users.users.len(),
                users.already,
                users.mapped.len()
            ));
            for (table, column) in users.references.iter().filter(|_| !users.mapped.is_empty()) {
                out.push_str(&format!(
                    "UPDATE public.{} SET {} = <target id> WHERE {} = <mapped source id>;\n",
                    quote_ident(table),
                    quote_ident(column),
                    quote_ident(column)
                ));
            }
            for trigger in &users.triggers {
                out.push_str(&format!(
                    "ALTER TABLE auth.users DISABLE TRIGGER {};\n",
                    quote_ident(trigger)
                ));
            }
            out.push_str("INSERT INTO auth.users (…) SELECT … FROM <the source's users> ON CONFLICT (id) DO NOTHING;\n");
            out.push_str("INSERT INTO auth.identities (…) SELECT … FROM <their identities> ON CONFLICT DO NOTHING;\n");
            for trigger in &users.triggers {
                out.push_str(&format!(
                    "ALTER TABLE auth.users ENABLE TRIGGER {};\n",
                    quote_ident(trigger)
                ));
            }
        }
        out.push_str("-- 4. The source's schema (pg_dump, post-data): constraints, indexes, triggers, policies.\n");
        out.push_str(&self.dump.post_data);
        for (_, definition) in &self.signup_triggers {
            out.push_str(&format!(
                "{definition}; -- the source's signup trigger, for relocation to turn into the project's hook\n"
            ));
        }
        out.push_str(&format!(
            "-- 5. Relocation of the {} imported object(s) into `{}` (the plan `cotenant relocate` prints, planned here inside the transaction).\n",
            self.objects.len(),
            self.project
        ));
        out.push_str("COMMIT;\n");
        out
    }

    fn blocking_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .findings
            .blockers()
            .iter()
            .filter(|b| !b.is_resolved())
            .map(ToString::to_string)
            .collect();
        lines.extend(
            self.clashes
                .iter()
                .map(|c| format!("the target already has {c}")),
        );
        if let Some(users) = &self.users {
            lines.extend(
                users
                    .collisions
                    .iter()
                    .map(|c| format!("user collision: {c}")),
            );
        }
        lines
    }
}

impl fmt::Display for ImportPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "import of {} (PostgreSQL {}) into `{}` on `{}`",
            self.source, self.source_major, self.project, self.target_database
        )?;
        if self.already_imported {
            return writeln!(f, ": already imported, nothing to do");
        }
        if self.is_blocked() {
            f.write_str(" — blocked")?;
        }
        writeln!(f)?;
        let rows: i64 = self.tables.iter().map(|t| t.estimate).sum();
        writeln!(
            f,
            "  {} table(s), ~{rows} row(s), {} sequence(s), {} object(s) to relocate",
            self.tables.len(),
            self.sequences.len(),
            self.objects.len()
        )?;
        if let Some(users) = &self.users {
            writeln!(
                f,
                "  users: {} ({} already there, {} mapped, {} colliding)",
                users.users.len(),
                users.already,
                users.mapped.len(),
                users.collisions.len()
            )?;
        }
        for line in self.blocking_lines() {
            writeln!(f, "  [BLOCKS] {line}")?;
        }
        writeln!(f, "dependency analysis on the source:")?;
        for line in self.findings.to_string().lines() {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}
