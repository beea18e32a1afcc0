//! Project names and the role names derived from them.

use std::fmt;
use std::str::FromStr;

/// PostgreSQL truncates identifiers beyond this many bytes (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER_BYTES: usize = 63;

/// The longest suffix a project's role names get: the migrator's, plus the `_clone` that
/// credential rotation (alternating users) appends.
const LONGEST_ROLE_SUFFIX: &str = "_migrator_clone";

/// The longest project name accepted, so that every derived role name fits in 63 bytes.
pub const MAX_PROJECT_NAME_LEN: usize = MAX_IDENTIFIER_BYTES - LONGEST_ROLE_SUFFIX.len();

/// Schema and role names that PostgreSQL or hosted Supabase already uses.
const RESERVED: &[&str] = &[
    "public",
    "information_schema",
    "postgres",
    "auth",
    "storage",
    "realtime",
    "extensions",
    "graphql",
    "graphql_public",
    "vault",
    "pgsodium",
    "pgsodium_masks",
    "net",
    "cron",
    "pgbouncer",
    "pgmq",
    "pgmq_public",
    "pgtle",
    "anon",
    "authenticated",
    "service_role",
    "authenticator",
    "dashboard_user",
    "tiger",
    "tiger_data",
    "topology",
];

/// PostgreSQL's reserved key words (appendix "SQL Key Words": "reserved" and "reserved (can be
/// function or type)"; `pg_get_keywords()` categories `R` and `T`), PostgreSQL 15 and 17
/// together. A schema or role named like one must be quoted in every statement that names it,
/// by every client and every hand-written query: a project name never is one.
const SQL_RESERVED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// Name prefixes that PostgreSQL, hosted Supabase or cotenant itself reserve.
const RESERVED_PREFIXES: &[&str] = &["pg_", "supabase_", "cotenant"];

/// A validated project name: the schema `<p>` and the roles `<p>_owner`, `<p>_app`,
/// `<p>_login` and `<p>_migrator` are derived from it.
///
/// A name starts with a lowercase ASCII letter, continues with `[a-z0-9_]`, is at most
/// [`MAX_PROJECT_NAME_LEN`] bytes long, and is none of the schemas and roles PostgreSQL
/// and hosted Supabase reserve. Validation happens before anything touches an instance.
///
/// ```
/// use cotenant::ProjectName;
///
/// let reli: ProjectName = "reli".parse()?;
/// assert_eq!(reli.roles().login, "reli_login");
/// assert!("auth".parse::<ProjectName>().is_err());
/// # Ok::<(), cotenant::NameError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectName(String);

impl ProjectName {
    /// Validates `name` as a project name.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        validate(&name)?;
        Ok(Self(name))
    }

    /// The name, which is also the project's schema.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The names of the project's four roles and of the two logins' rotation twins.
    pub fn roles(&self) -> RoleNames {
        RoleNames {
            owner: format!("{}_owner", self.0),
            app: format!("{}_app", self.0),
            login: format!("{}_login", self.0),
            migrator: format!("{}_migrator", self.0),
            login_clone: format!("{}_login_clone", self.0),
            migrator_clone: format!("{}_migrator_clone", self.0),
        }
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for ProjectName {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for ProjectName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The roles of one project (see the role model in the crate docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleNames {
    /// `<p>_owner`: NOLOGIN, owns the schema and every object in it.
    pub owner: String,
    /// `<p>_app`: NOLOGIN, data privileges in `<p>` only.
    pub app: String,
    /// `<p>_login`: LOGIN, member of `<p>_app` only; what services connect as.
    pub login: String,
    /// `<p>_migrator`: LOGIN, member of `<p>_owner` only; what migrations run as.
    pub migrator: String,
    /// `<p>_login_clone`: the twin of `<p>_login` that the alternating-users rotation creates,
    /// with the same membership, role defaults, connection limit and CONNECT; the app secret
    /// names one of the two.
    pub login_clone: String,
    /// `<p>_migrator_clone`: the twin of `<p>_migrator`, as `login_clone` is of `<p>_login`.
    pub migrator_clone: String,
}

impl RoleNames {
    /// The four names, owner first (not the rotation twins, which exist only once a login was
    /// rotated with alternating users).
    pub fn all(&self) -> [&str; 4] {
        [&self.owner, &self.app, &self.login, &self.migrator]
    }

    /// The rotation twins: `<p>_login_clone`, `<p>_migrator_clone`.
    pub fn clones(&self) -> [&str; 2] {
        [&self.login_clone, &self.migrator_clone]
    }
}

/// Why a project name was refused. Nothing was touched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error(
        "project name is empty: use a lowercase ASCII letter followed by [a-z0-9_], e.g. `reli`"
    )]
    Empty,
    /// The name is too long for its derived role names.
    #[error(
        "project name `{name}` is {len} bytes: at most {max} are accepted, so that `{name}{suffix}` stays within PostgreSQL's 63-byte identifier limit",
        max = MAX_PROJECT_NAME_LEN,
        suffix = LONGEST_ROLE_SUFFIX
    )]
    TooLong {
        /// The refused name.
        name: String,
        /// Its length in bytes.
        len: usize,
    },
    /// The name does not start with a lowercase ASCII letter.
    #[error(
        "project name `{name}` must start with a lowercase ASCII letter (a-z), e.g. `{suggestion}`"
    )]
    BadStart {
        /// The refused name.
        name: String,
        /// A name that would be accepted.
        suggestion: String,
    },
    /// The name has a character outside `[a-z0-9_]`.
    #[error(
        "project name `{name}` has {found:?} at byte {at}: only lowercase ASCII letters, digits and `_` are accepted, e.g. `{suggestion}`"
    )]
    BadCharacter {
        /// The refused name.
        name: String,
        /// The first character that is not accepted.
        found: char,
        /// Its byte offset.
        at: usize,
        /// A name that would be accepted.
        suggestion: String,
    },
    /// The name is one PostgreSQL or hosted Supabase reserves.
    #[error(
        "project name `{name}` is reserved: {why}; choose a name of your own (a lowercase letter, then [a-z0-9_])"
    )]
    Reserved {
        /// The refused name.
        name: String,
        /// Who reserves it.
        why: &'static str,
    },
    /// The name is one of SQL's reserved key words (`select`, `user`, `table`, …).
    #[error(
        "project name `{name}` is a reserved SQL key word: every client would have to quote the schema `{name}` in every statement that names it; choose another name, e.g. `my_{name}`"
    )]
    Keyword {
        /// The refused name.
        name: String,
    },
}

fn validate(name: &str) -> Result<(), NameError> {
    let Some(first) = name.chars().next() else {
        return Err(NameError::Empty);
    };
    if name.len() > MAX_PROJECT_NAME_LEN {
        return Err(NameError::TooLong {
            name: name.to_owned(),
            len: name.len(),
        });
    }
    if !first.is_ascii_lowercase() {
        return Err(NameError::BadStart {
            name: name.to_owned(),
            suggestion: suggest(name),
        });
    }
    if let Some((at, found)) = name
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
    {
        return Err(NameError::BadCharacter {
            name: name.to_owned(),
            found,
            at,
            suggestion: suggest(name),
        });
    }
    if SQL_RESERVED_KEYWORDS.contains(&name) {
        return Err(NameError::Keyword {
            name: name.to_owned(),
        });
    }
    if let Some(why) = reserved_by(name) {
        return Err(NameError::Reserved {
            name: name.to_owned(),
            why,
        });
    }
    Ok(())
}

fn reserved_by(name: &str) -> Option<&'static str> {
    if RESERVED.contains(&name) {
        return Some(
            if matches!(name, "public" | "information_schema" | "postgres") {
                "PostgreSQL uses this schema or role"
            } else {
                "hosted Supabase uses this schema or role"
            },
        );
    }
    RESERVED_PREFIXES.iter().find_map(|prefix| {
        name.starts_with(prefix).then_some(match *prefix {
            "pg_" => "names starting with `pg_` are reserved by PostgreSQL",
            "supabase_" => "names starting with `supabase_` are reserved by hosted Supabase",
            _ => "names starting with `cotenant` are reserved for cotenant's own roles",
        })
    })
}

/// A name in the accepted form close to `name`, for error messages.
fn suggest(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_') => c,
            _ => '_',
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert(0, 'p');
    }
    out.truncate(MAX_PROJECT_NAME_LEN);
    match reserved_by(&out) {
        Some(_) => "my_project".to_owned(),
        None if SQL_RESERVED_KEYWORDS.contains(&out.as_str()) => format!("my_{out}"),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["reli", "filmduel", "a", "kindred2", "lachesis_v2"] {
            assert_eq!(ProjectName::new(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn longest_accepted_name_keeps_every_role_within_the_identifier_limit() {
        let longest = "a".repeat(MAX_PROJECT_NAME_LEN);
        let project = ProjectName::new(&longest).unwrap();
        let clone = format!("{}_clone", project.roles().migrator);
        assert_eq!(clone.len(), MAX_IDENTIFIER_BYTES);
        let err = ProjectName::new(format!("{longest}a")).unwrap_err();
        assert!(matches!(err, NameError::TooLong { len: 49, .. }), "{err}");
        assert!(err.to_string().contains("at most 48"), "{err}");
    }

    #[test]
    fn refuses_bad_forms_and_says_what_would_be_accepted() {
        let err = ProjectName::new("Reli").unwrap_err();
        assert!(err.to_string().contains("e.g. `reli`"), "{err}");
        let err = ProjectName::new("re-li").unwrap_err();
        assert!(
            matches!(
                err,
                NameError::BadCharacter {
                    found: '-',
                    at: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("e.g. `re_li`"), "{err}");
        assert!(matches!(
            ProjectName::new("1abc"),
            Err(NameError::BadStart { .. })
        ));
        assert!(matches!(
            ProjectName::new("_x"),
            Err(NameError::BadStart { .. })
        ));
        assert!(matches!(
            ProjectName::new("é"),
            Err(NameError::BadStart { .. })
        ));
        assert!(matches!(
            ProjectName::new("ré"),
            Err(NameError::BadCharacter { .. })
        ));
        assert_eq!(ProjectName::new(""), Err(NameError::Empty));
        assert!(matches!(
            ProjectName::new("a\"; drop"),
            Err(NameError::BadCharacter { found: '"', .. })
        ));
    }

    #[test]
    fn refuses_sql_reserved_key_words_saying_why() {
        for name in [
            "select",
            "user",
            "table",
            "authorization",
            "current_schema",
            "verbose",
        ] {
            let err = ProjectName::new(name).unwrap_err();
            assert_eq!(
                err,
                NameError::Keyword {
                    name: name.to_owned()
                }
            );
            assert!(err.to_string().contains("quote"), "{err}");
        }
        // Non-reserved key words are ordinary identifiers.
        for name in ["name", "role", "schema", "data", "value"] {
            ProjectName::new(name).unwrap();
        }
        assert_eq!(suggest("SELECT"), "my_select");
    }

    #[test]
    fn refuses_reserved_names() {
        for name in [
            "public",
            "information_schema",
            "pg_catalog",
            "pg_temp_3",
            "auth",
            "storage",
            "realtime",
            "extensions",
            "graphql",
            "graphql_public",
            "vault",
            "pgsodium",
            "pgsodium_masks",
            "supabase_functions",
            "supabase_migrations",
            "net",
            "cron",
            "pgbouncer",
            "pgmq",
            "anon",
            "authenticated",
            "service_role",
            "authenticator",
            "dashboard_user",
            "postgres",
            "cotenant_steward_1",
        ] {
            let err = ProjectName::new(name).unwrap_err();
            assert!(matches!(err, NameError::Reserved { .. }), "{name}: {err}");
            assert!(err.to_string().contains("reserved"), "{err}");
        }
    }
}
