//! Which PostgreSQL major version to start.

use std::fmt;
use std::str::FromStr;

use crate::TestkitError;
use crate::env;

/// A PostgreSQL major version the testkit can start.
///
/// ```
/// use cotenant_testkit::PgVersion;
///
/// assert_eq!(PgVersion::V17.major(), 17);
/// assert_eq!("15".parse::<PgVersion>().unwrap(), PgVersion::V15);
/// assert_eq!(PgVersion::V15.to_string(), "15");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PgVersion {
    /// PostgreSQL 15: plain role memberships, a CREATEROLE close to superuser.
    V15,
    /// PostgreSQL 17: membership grant options (ADMIN, INHERIT, SET).
    V17,
}

impl PgVersion {
    /// Every supported version, oldest first.
    pub const ALL: [PgVersion; 2] = [PgVersion::V15, PgVersion::V17];

    /// The major version number.
    pub const fn major(self) -> u32 {
        match self {
            PgVersion::V15 => 15,
            PgVersion::V17 => 17,
        }
    }

    /// The version with this major number, if supported.
    pub fn from_major(major: u32) -> Option<PgVersion> {
        PgVersion::ALL
            .into_iter()
            .find(|version| version.major() == major)
    }
}

impl fmt::Display for PgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.major())
    }
}

impl FromStr for PgVersion {
    type Err = TestkitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse()
            .ok()
            .and_then(PgVersion::from_major)
            .ok_or_else(|| TestkitError::InvalidVersion(s.to_owned()))
    }
}

/// The version tests run against: `COTENANT_TEST_PG` (`15` or `17`), 15 when unset.
///
/// # Panics
/// When `COTENANT_TEST_PG` holds anything else: a typo must not silently test the wrong version.
///
/// ```no_run
/// let pair = cotenant_testkit::Pair::start(cotenant_testkit::test_version())?;
/// # Ok::<(), cotenant_testkit::TestkitError>(())
/// ```
pub fn test_version() -> PgVersion {
    match env::var(env::TEST_PG) {
        None => PgVersion::V15,
        Some(value) => value
            .parse()
            .unwrap_or_else(|error| panic!("{}: {error}", env::TEST_PG)),
    }
}
