//! What can go wrong importing a project's own instance; every variant says what to do, and
//! every failure leaves the target as it was (one transaction, rolled back).

use std::fmt;
use std::path::PathBuf;

use crate::ProjectName;
use crate::relocate::blocker::Listing;
use crate::relocate::{Blocker, RelocateError};

/// Importing failed. The target's transaction was rolled back (or never opened): the shared
/// instance is exactly as it was, and the source was only read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// `--from` is neither a connection string nor a secret that could be read.
    #[error("reading the source `{from}`: {reason}")]
    Source {
        /// What was given (a secret id, or a connection string without its password).
        from: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The source could not be reached or refused the connection.
    #[error("connecting to the source: {0}")]
    SourceConnect(#[source] crate::connect::ConnectError),
    /// Reading the source failed (catalog, rows, users).
    #[error("reading the source for project `{project}`, while {step}: {source}")]
    SourceRead {
        /// The project.
        project: ProjectName,
        /// What was being read.
        step: String,
        /// The server's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The admin connection to the target could not be opened.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// No pg_dump of the source's major version was found.
    #[error(
        "no pg_dump {major} found (looked at {}): install it (scripts/setup.sh installs PostgreSQL {major}'s client tools) or set {env} to its path",
        looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoPgDump {
        /// The source's major version.
        major: u32,
        /// The variable that names it.
        env: String,
        /// Where cotenant looked.
        looked: Vec<PathBuf>,
    },
    /// pg_dump or pg_restore failed.
    #[error("running {tool} on the source for project `{project}`: {reason}")]
    Dump {
        /// The project.
        project: ProjectName,
        /// `pg_dump` or `pg_restore`, with its path.
        tool: String,
        /// Its exit status and what it wrote to stderr.
        reason: String,
    },
    /// The source's objects in public have findings of relocation's dependency analysis that no
    /// choice handles: nothing was done on the target.
    #[error(
        "importing into `{project}` is blocked by the source's objects (the target was not touched): {}",
        Listing(blockers)
    )]
    Blocked {
        /// The project.
        project: ProjectName,
        /// The unresolved blockers, as `relocate` reports them.
        blockers: Vec<Blocker>,
    },
    /// Objects the import would create in the target's `public` (or in the project's schema)
    /// already exist there.
    #[error(
        "importing into `{project}`: the target already has {} (the target was not touched); rename or drop them there first, or import into another project",
        clashes.join(", ")
    )]
    Clash {
        /// The project.
        project: ProjectName,
        /// The clashing objects, e.g. `relation public.orders`.
        clashes: Vec<String>,
    },
    /// Users of the source whose email (or id) belongs to another user of the shared instance.
    #[error(
        "importing `{project}`'s users: {} collide with users of the shared instance (the target was not touched); merge them with a users map (`--users-map FILE`: source id → target id)",
        Collisions(collisions)
    )]
    UserCollisions {
        /// The project.
        project: ProjectName,
        /// Each source user that cannot come along as it is.
        collisions: Vec<UserCollision>,
    },
    /// The users map is malformed or names users that do not exist.
    #[error("the users map {}: {reason}", path.as_ref().map_or_else(|| "given".to_owned(), |p| p.display().to_string()))]
    UsersMap {
        /// The file, when it came from one.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// The project is not provisioned on the target.
    #[error(
        "project `{project}` is not provisioned on the target ({missing}): run `cotenant provision {project}` first"
    )]
    NotProvisioned {
        /// The project.
        project: ProjectName,
        /// What is missing.
        missing: String,
    },
    /// A statement on the target failed; rolled back.
    #[error(
        "importing into `{project}`, while {step} (rolled back, the target is as before): {source}"
    )]
    Apply {
        /// The project.
        project: ProjectName,
        /// What the statement was for.
        step: String,
        /// The server's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The copied rows differ from the source's; rolled back.
    #[error(
        "verifying the import into `{project}` (rolled back, the target is as before): {}",
        mismatches.join("; ")
    )]
    Verification {
        /// The project.
        project: ProjectName,
        /// What differs.
        mismatches: Vec<String>,
    },
    /// Relocating the imported objects into the project's schema failed; rolled back.
    #[error("importing into `{project}`: {source}")]
    Relocate {
        /// The project.
        project: ProjectName,
        /// What relocation reported.
        #[source]
        source: Box<RelocateError>,
    },
}

impl ImportError {
    /// The unresolved blockers, when that is why the import stopped.
    pub fn blockers(&self) -> &[Blocker] {
        match self {
            ImportError::Blocked { blockers, .. } => blockers,
            _ => &[],
        }
    }
}

/// A user of the source that the shared instance's `auth.users` cannot take as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserCollision {
    /// The user's id on the source.
    pub source_id: String,
    /// The user's email on the source.
    pub email: Option<String>,
    /// The user of the shared instance it collides with.
    pub target_id: String,
    /// That user's email.
    pub target_email: Option<String>,
}

impl fmt::Display for UserCollision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let email = |e: &Option<String>| e.clone().unwrap_or_else(|| "no email".to_owned());
        if self.source_id == self.target_id {
            write!(
                f,
                "{} ({}) exists there with {}",
                self.source_id,
                email(&self.email),
                email(&self.target_email)
            )
        } else {
            write!(
                f,
                "{} ({}) is {} there",
                self.source_id,
                email(&self.email),
                self.target_id
            )
        }
    }
}

struct Collisions<'a>(&'a [UserCollision]);

impl fmt::Display for Collisions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} user(s): ", self.0.len())?;
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}
