//! One migration: a numbered SQL file, its checksum and how it runs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::SourceError;

/// The header line that opts a file out of the transaction, e.g. for `CREATE INDEX
/// CONCURRENTLY`, which PostgreSQL refuses inside one.
pub const NO_TRANSACTION: &str = "-- cotenant: no-transaction";

/// The prefix of every header directive; an unknown directive is an error, so that a typo
/// does not silently run a file in a transaction it was meant to avoid (or the reverse).
const DIRECTIVE_PREFIX: &str = "-- cotenant:";

/// A SHA-256 digest: of a migration file, or of a whole history (see [`Migrations`]).
///
/// Displayed and serialized as 64 lowercase hex digits; [`short`](Checksum::short) gives the
/// first 8 for messages.
///
/// [`Migrations`]: super::Migrations
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checksum([u8; 32]);

impl Checksum {
    /// The checksum of a file's contents. Line endings are normalized first (`\r\n` → `\n`),
    /// so a checkout with Windows line endings does not look like a changed migration.
    pub fn of_sql(sql: &str) -> Self {
        let mut hasher = Sha256::new();
        let mut rest = sql;
        while let Some(at) = rest.find("\r\n") {
            hasher.update(&rest.as_bytes()[..at]);
            hasher.update(b"\n");
            rest = &rest[at + 2..];
        }
        hasher.update(rest.as_bytes());
        Self(hasher.finalize().into())
    }

    pub(crate) fn from_digest(digest: Sha256) -> Self {
        Self(digest.finalize().into())
    }

    /// The first 8 hex digits, enough to tell two versions of a file apart in a message.
    pub fn short(&self) -> String {
        self.to_string()[..8].to_owned()
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({})", self.short())
    }
}

/// A checksum that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("checksum `{0}` is not 64 hex digits")]
pub struct BadChecksum(String);

impl FromStr for Checksum {
    type Err = BadChecksum;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadChecksum(s.to_owned());
        if s.len() != 64 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

impl Serialize for Checksum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Checksum {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One numbered SQL file: `NNN_description.sql`.
///
/// The file runs as the project's `<p>_migrator` login (acting as `<p>_owner`, with
/// `search_path` set to the project's schema), in one transaction together with its history
/// row — unless its leading comment block has the line [`NO_TRANSACTION`].
///
/// ```
/// use cotenant::migrate::Migration;
///
/// let m = Migration::new("002_add_email.sql", "ALTER TABLE users ADD email text;")?;
/// assert_eq!((m.version(), m.description()), (2, "add_email"));
/// assert!(m.runs_in_transaction());
/// # Ok::<(), cotenant::migrate::SourceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    version: u32,
    description: String,
    file: String,
    sql: String,
    checksum: Checksum,
    transaction: bool,
}

impl Migration {
    /// The migration in file `file` (its name, e.g. `001_init.sql`) with contents `sql`.
    ///
    /// Fails when the name is not `NNN_description.sql` (digits, `_`, then ASCII letters,
    /// digits and `_`) or the header has an unknown `-- cotenant:` directive.
    pub fn new(file: impl Into<String>, sql: impl Into<String>) -> Result<Self, SourceError> {
        let file = file.into();
        let (version, description) = parse_name(&file)?;
        let mut sql = sql.into();
        // Editors on Windows write a byte-order mark the server would take for SQL.
        if let Some(stripped) = sql.strip_prefix('\u{feff}') {
            sql = stripped.to_owned();
        }
        let transaction = !header_says_no_transaction(&file, &sql)?;
        Ok(Self {
            version,
            description,
            checksum: Checksum::of_sql(&sql),
            file,
            sql,
            transaction,
        })
    }

    /// The number, e.g. `2` for `002_add_email.sql`.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The part of the name after the number, e.g. `add_email`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The file name, e.g. `002_add_email.sql`: what messages and the history name.
    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// The SQL, as it is sent to the server.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The SHA-256 of the file (see [`Checksum::of_sql`]).
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// False when the file opted out of the transaction with [`NO_TRANSACTION`].
    pub fn runs_in_transaction(&self) -> bool {
        self.transaction
    }
}

/// Splits `NNN_description.sql` into its version and description.
fn parse_name(file: &str) -> Result<(u32, String), SourceError> {
    let bad = |reason: &str| SourceError::BadName {
        file: file.to_owned(),
        reason: reason.to_owned(),
    };
    let stem = file
        .strip_suffix(".sql")
        .ok_or_else(|| bad("it does not end in `.sql`"))?;
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(bad("it does not start with a number"));
    }
    let (number, rest) = stem.split_at(digits);
    let description = rest
        .strip_prefix('_')
        .ok_or_else(|| bad("the number must be followed by `_` and a description"))?;
    if description.is_empty() {
        return Err(bad("the description after `_` is empty"));
    }
    if let Some(c) = description
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(bad(&format!(
            "the description has {c:?}: use ASCII letters, digits and `_`"
        )));
    }
    let version: u32 = number.parse().map_err(|_| bad("the number is too large"))?;
    if version == 0 {
        return Err(bad("versions start at 1"));
    }
    Ok((version, description.to_owned()))
}

/// Reads the directives in the leading comment block (lines that are blank or start with
/// `--`). Directives further down are not read: the header is what a reviewer sees first.
fn header_says_no_transaction(file: &str, sql: &str) -> Result<bool, SourceError> {
    let mut no_transaction = false;
    for (index, line) in sql.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with("--") {
            break;
        }
        let Some(directives) = line.strip_prefix(DIRECTIVE_PREFIX) else {
            continue;
        };
        for directive in directives.split(',').map(str::trim) {
            match directive {
                "no-transaction" => no_transaction = true,
                other => {
                    return Err(SourceError::UnknownDirective {
                        file: file.to_owned(),
                        line: index + 1,
                        directive: other.to_owned(),
                    });
                }
            }
        }
    }
    Ok(no_transaction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_number_underscore_description() {
        let m = Migration::new("007_add_index.sql", "SELECT 1").unwrap();
        assert_eq!((m.version(), m.description()), (7, "add_index"));
        for (name, reason) in [
            ("init.sql", "does not start with a number"),
            ("001-init.sql", "followed by `_`"),
            ("001_.sql", "empty"),
            ("001_init.txt", "does not end in `.sql`"),
            ("000_init.sql", "start at 1"),
            ("001_add-index.sql", "'-'"),
            ("99999999999_x.sql", "too large"),
        ] {
            let err = Migration::new(name, "").unwrap_err();
            let text = err.to_string();
            assert!(text.contains(name) && text.contains(reason), "{text}");
        }
    }

    #[test]
    fn the_header_opts_out_of_the_transaction_and_typos_are_refused() {
        let sql = format!(
            "-- Build the index without blocking writes.\n{NO_TRANSACTION}\n\nCREATE INDEX CONCURRENTLY i ON t (x);"
        );
        assert!(
            !Migration::new("002_i.sql", sql)
                .unwrap()
                .runs_in_transaction()
        );
        // A directive below the first statement is not a header.
        let late = "SELECT 1;\n-- cotenant: no-transaction\n";
        assert!(
            Migration::new("002_i.sql", late)
                .unwrap()
                .runs_in_transaction()
        );
        let err =
            Migration::new("002_i.sql", "-- cotenant: no-transactions\nSELECT 1").unwrap_err();
        assert!(
            matches!(&err, SourceError::UnknownDirective { line: 1, directive, .. } if directive == "no-transactions"),
            "{err}"
        );
    }

    #[test]
    fn checksums_ignore_line_endings_and_the_byte_order_mark() {
        let unix = Migration::new("001_a.sql", "CREATE TABLE t (id int);\nSELECT 1;\n").unwrap();
        let windows = Migration::new(
            "001_a.sql",
            "\u{feff}CREATE TABLE t (id int);\r\nSELECT 1;\r\n",
        )
        .unwrap();
        assert_eq!(unix.checksum(), windows.checksum());
        let changed =
            Migration::new("001_a.sql", "CREATE TABLE t (id bigint);\nSELECT 1;\n").unwrap();
        assert_ne!(unix.checksum(), changed.checksum());
        let hex = unix.checksum().to_string();
        assert_eq!(hex.len(), 64);
        assert_eq!(hex.parse::<Checksum>().unwrap(), unix.checksum());
        assert!("xyz".parse::<Checksum>().is_err());
    }
}
