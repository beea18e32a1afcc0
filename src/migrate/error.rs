//! What can go wrong: loading a migration set ([`SourceError`]) and running it
//! ([`MigrateError`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::error::{DbError, ErrorPosition, SqlState};

use super::{Applied, Checksum, GateRefusal};
use crate::ProjectName;

/// A migration set could not be loaded: nothing was run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A directory or file could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A `.sql` file is not valid UTF-8.
    #[error("migration file `{file}` is not valid UTF-8")]
    NotUtf8 {
        /// The file name.
        file: String,
    },
    /// A file name is not `NNN_description.sql`.
    #[error("migration file `{file}` is misnamed: {reason}; name it like `001_create_users.sql`")]
    BadName {
        /// The file name.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two files have the same version.
    #[error("migration files `{first}` and `{second}` both have version {version}: renumber one")]
    Duplicate {
        /// The version.
        version: u32,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// A version is missing: the set must be 1, 2, … without gaps.
    #[error(
        "migration version {missing} is missing (the next file is `{next}`): versions run 1, 2, 3, … without gaps"
    )]
    Gap {
        /// The missing version.
        missing: u32,
        /// The first file after the gap.
        next: String,
    },
    /// A header line `-- cotenant: …` has a directive cotenant does not know.
    #[error(
        "migration file `{file}`, line {line}: unknown directive `{directive}` (the only one is `no-transaction`)"
    )]
    UnknownDirective {
        /// The file name.
        file: String,
        /// The 1-based line.
        line: usize,
        /// The unknown directive.
        directive: String,
    },
}

/// A 1-based line and column (in characters) in a migration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    /// The line, from 1.
    pub line: u32,
    /// The column in characters, from 1.
    pub column: u32,
}

impl Position {
    /// The position of the `index`-th character (0-based) of `text`.
    pub(crate) fn of_char(text: &str, index: usize) -> Self {
        let mut position = Position { line: 1, column: 1 };
        for c in text.chars().take(index) {
            if c == '\n' {
                position.line += 1;
                position.column = 1;
            } else {
                position.column += 1;
            }
        }
        position
    }

    /// The position of byte `offset` of `text` (which must be on a character boundary).
    pub(crate) fn of_byte(text: &str, offset: usize) -> Self {
        Self::of_char(text, text[..offset].chars().count())
    }

    /// Where the server's error position (1-based, in characters of the query it was sent)
    /// is in the file, when the query began at byte `offset` of the file.
    pub(crate) fn of_server_error(file: &str, offset: usize, error: &DbError) -> Option<Self> {
        match error.position()? {
            ErrorPosition::Original(at) => {
                let before = file[..offset].chars().count();
                let at = usize::try_from(*at).ok()?.checked_sub(1)?;
                Some(Self::of_char(file, before + at))
            }
            // An error inside a query the server built (e.g. a SQL function's body checked at
            // CREATE time) has no position in the file.
            ErrorPosition::Internal { .. } => None,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Running migrations failed.
///
/// Migrations applied before the failure stay applied (each committed with its history
/// row); [`applied`](MigrateError::applied) lists them, so a report can say how far the run
/// got.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The run failed after applying some migrations.
    #[error("after applying {} to `{project}`: {source}", files(applied))]
    AfterApplying {
        /// The project.
        project: ProjectName,
        /// What was applied (and committed) before the failure.
        applied: Vec<Applied>,
        /// The failure.
        #[source]
        source: Box<MigrateError>,
    },
    /// Connecting to the environment failed.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// An environment the configuration does not define.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The moves recorded on an instance could not be read (to count only the serving copy of
    /// a project being moved).
    #[error(transparent)]
    Transfer(Box<crate::transfer::TransferError>),
    /// The connection is not the project's migrator session: migrations run as `<p>_migrator`
    /// acting as `<p>_owner`, never as the admin or another project's role.
    #[error(
        "refusing to migrate `{project}` as session user `{session_user}` (current user `{current_user}`): migrations run only as `{project}_migrator` acting as `{project}_owner`"
    )]
    NotMigrator {
        /// The project.
        project: ProjectName,
        /// Who the connection logged in as.
        session_user: String,
        /// Who it acts as.
        current_user: String,
    },
    /// A statement of cotenant's own bookkeeping (lock, history, summary) failed.
    #[error("{doing} for `{project}`: {}", describe(error))]
    Bookkeeping {
        /// The project.
        project: ProjectName,
        /// What cotenant was doing.
        doing: &'static str,
        /// The server's error, which the message quotes in full (see
        /// [`MigrateError::as_db_error`]).
        error: tokio_postgres::Error,
    },
    /// A migration failed. A transactional one was rolled back: nothing of it remains.
    #[error(
        "migration `{file}` of `{project}` failed{}{}: {}{}",
        at.map(|p| format!(" at {p}")).unwrap_or_default(),
        if *transactional {
            " and was rolled back (nothing of it was applied)".to_owned()
        } else {
            format!(
                " in statement {statement} (it runs without a transaction: the statements before it stayed applied, the history row was not written; make them idempotent and run again)"
            )
        },
        describe(error),
        platform_hint(error, project)
    )]
    Failed {
        /// The project.
        project: ProjectName,
        /// The file.
        file: String,
        /// Where in the file the error is: the server's position when it gives one, else, for
        /// a no-transaction file, the start of the failing statement.
        at: Option<Position>,
        /// False for a no-transaction file.
        transactional: bool,
        /// The 1-based statement of a no-transaction file that failed.
        statement: usize,
        /// The server's error, which the message quotes in full (see
        /// [`MigrateError::as_db_error`]).
        error: tokio_postgres::Error,
    },
    /// A transactional migration ended cotenant's transaction (a `COMMIT` or `ROLLBACK` in the
    /// file): what it did before may be committed, and its history row was not written.
    #[error(
        "migration `{file}` of `{project}` ended the migration's transaction (COMMIT or ROLLBACK in the file): its history row was not written and its effects may be partly committed; remove the transaction control, or mark the file `-- cotenant: no-transaction`"
    )]
    EndedTransaction {
        /// The project.
        project: ProjectName,
        /// The file.
        file: String,
    },
    /// A no-transaction file has a SQL-standard function body, which cotenant cannot split
    /// into statements.
    #[error(
        "migration `{file}` of `{project}` runs without a transaction, and its `BEGIN ATOMIC` at {at} cannot be split into statements: move the function to a transactional migration"
    )]
    Unsplittable {
        /// The project.
        project: ProjectName,
        /// The file.
        file: String,
        /// Where the body starts.
        at: Position,
    },
    /// An applied migration's file changed since.
    #[error(
        "migration `{file}` of `{project}` was applied with checksum {} but the file now has {}: restore the file as it was applied, or re-baseline the history on purpose with `cotenant repair`",
        applied.short(), local.short()
    )]
    ChecksumMismatch {
        /// The project.
        project: ProjectName,
        /// The file.
        file: String,
        /// The checksum recorded when it was applied.
        applied: Checksum,
        /// The file's checksum now.
        local: Checksum,
    },
    /// The project's history has migrations these files do not.
    #[error(
        "`{project}` has migration(s) applied that these files lack: {}; run with the files that include them",
        unknown.join(", ")
    )]
    UnknownApplied {
        /// The project.
        project: ProjectName,
        /// The applied migrations' names, from the history.
        unknown: Vec<String>,
    },
    /// The history skips a version these files have below the last applied one (a history
    /// row deleted by hand?): running it now would run it out of order.
    #[error(
        "`{project}` has version {applied} applied but not `{missing}`: cotenant does not run migrations out of order; apply it by hand and record it, or restore its history row"
    )]
    OutOfOrder {
        /// The project.
        project: ProjectName,
        /// The first file missing from the history.
        missing: String,
        /// The last applied version.
        applied: u32,
    },
    /// The history table holds something cotenant did not write.
    #[error("the migration history of `{project}` is corrupt: {reason}")]
    HistoryCorrupt {
        /// The project.
        project: ProjectName,
        /// What is wrong.
        reason: String,
    },
    /// The staging gate refused: prod runs only what staging has applied.
    #[error("refusing to migrate `{project}`: {refusal}")]
    Gated {
        /// The project.
        project: ProjectName,
        /// What the environment before lacks.
        refusal: GateRefusal,
    },
    /// Another run of the same project held its lock for longer than the runner waits.
    #[error(
        "waited {waited:?} for another migration run of `{project}` to finish: try again later, or raise the wait with `Runner::lock_wait`"
    )]
    LockTimeout {
        /// The project.
        project: ProjectName,
        /// How long the runner waited.
        waited: Duration,
    },
    /// The projects' migration summaries could not be read from the catalog.
    #[error("reading the migration status from the catalog: {}", describe(error))]
    Status {
        /// The server's error, which the message quotes in full (see
        /// [`MigrateError::as_db_error`]).
        error: tokio_postgres::Error,
    },
    /// Reading the schema catalog for parity or the RLS check failed.
    #[error("reading the catalog of `{project}`: {}", describe(error))]
    Catalog {
        /// The project.
        project: ProjectName,
        /// The server's error, which the message quotes in full (see
        /// [`MigrateError::as_db_error`]).
        error: tokio_postgres::Error,
    },
}

impl MigrateError {
    /// The migrations applied (and committed) before the failure.
    pub fn applied(&self) -> &[Applied] {
        match self {
            MigrateError::AfterApplying { applied, .. } => applied,
            _ => &[],
        }
    }

    /// The failure itself, without the [`AfterApplying`](MigrateError::AfterApplying) report.
    pub fn cause(&self) -> &MigrateError {
        match self {
            MigrateError::AfterApplying { source, .. } => source.cause(),
            other => other,
        }
    }

    /// The server's SQLSTATE, when the server refused something (e.g. `42501` when a
    /// migration reached for another project).
    pub fn code(&self) -> Option<&SqlState> {
        match self.cause() {
            MigrateError::Connect(e) => e.code(),
            _ => self.server_error().and_then(tokio_postgres::Error::code),
        }
    }

    /// The server's error report (message, detail, hint, position…), when the server refused
    /// something. The message of this error already includes it.
    pub fn as_db_error(&self) -> Option<&DbError> {
        self.server_error()
            .and_then(tokio_postgres::Error::as_db_error)
    }

    fn server_error(&self) -> Option<&tokio_postgres::Error> {
        match self.cause() {
            MigrateError::Bookkeeping { error, .. }
            | MigrateError::Failed { error, .. }
            | MigrateError::Status { error, .. }
            | MigrateError::Catalog { error, .. } => Some(error),
            _ => None,
        }
    }

    pub(crate) fn after(self, project: &ProjectName, applied: &[Applied]) -> Self {
        if applied.is_empty() {
            return self;
        }
        MigrateError::AfterApplying {
            project: project.clone(),
            applied: applied.to_vec(),
            source: Box::new(self),
        }
    }
}

fn files(applied: &[Applied]) -> String {
    applied
        .iter()
        .map(|a| format!("`{}`", a.file))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The server's error as a person wants it: SQLSTATE, message, detail, hint and context. The
/// driver's own `Display` says only "db error".
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    let Some(db) = error.as_db_error() else {
        return error.to_string();
    };
    let mut out = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    if let Some(detail) = db.detail() {
        out.push_str(&format!("; detail: {detail}"));
    }
    if let Some(hint) = db.hint() {
        out.push_str(&format!("; hint: {hint}"));
    }
    if let Some(context) = db.where_() {
        out.push_str(&format!("; context: {}", context.replace('\n', " / ")));
    }
    out
}

/// What to do instead when a migration tried to change what platform access declares: the
/// Realtime publication (owned by the admin) or an extension (installed by cotenant).
fn platform_hint(error: &tokio_postgres::Error, project: &ProjectName) -> String {
    let Some(db) = error.as_db_error() else {
        return String::new();
    };
    if *db.code() != SqlState::INSUFFICIENT_PRIVILEGE {
        return String::new();
    }
    let message = db.message();
    if message.contains("publication") {
        format!(
            "; a project cannot change the publication: declare the table in `realtime` under [projects.{project}.platform] in cotenant.toml, and `cotenant provision {project}` keeps it in supabase_realtime"
        )
    } else if message.contains("create extension") || message.contains("schema extensions") {
        format!(
            "; extensions are installed by cotenant: list it in `[platform.allow] extensions` in cotenant.toml and turn on `extensions` for `{project}`, then `cotenant provision {project}`; the migration's `create extension if not exists … with schema extensions` then passes"
        )
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_and_lines_from_one() {
        let text = "SELECT 1;\nSELECT ö, x;";
        assert_eq!(Position::of_char(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::of_char(text, 10), Position { line: 2, column: 1 });
        // `x` is the 21st character but byte 22: PostgreSQL counts characters.
        assert_eq!(
            Position::of_char(text, 20),
            Position {
                line: 2,
                column: 11
            }
        );
        assert_eq!(
            Position::of_byte(text, 21),
            Position {
                line: 2,
                column: 11
            }
        );
    }
}
