//! What a test server is set up as: hosted Supabase, or a plain self-hosted PostgreSQL.

use std::fmt;
use std::str::FromStr;

use crate::{TestkitError, env};

/// What a test server is set up as, beyond the non-superuser admin `postgres` (CREATEROLE, owner of
/// the database `postgres`) that both flavours have.
///
/// ```
/// use cotenant_testkit::Flavor;
///
/// assert_eq!("plain".parse::<Flavor>().unwrap(), Flavor::Plain);
/// assert_eq!(Flavor::default(), Flavor::Supabase);
/// assert_eq!(Flavor::Supabase.superuser(), "supabase_admin");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flavor {
    /// Hosted Supabase as its own setup scripts build it: the bootstrap superuser
    /// `supabase_admin`; `postgres` demoted (CREATEDB CREATEROLE REPLICATION BYPASSRLS) and a
    /// member of the API roles, `supabase_auth_admin`, `supabase_storage_admin`,
    /// `pg_read_all_data`, `pg_signal_backend` and `pg_monitor`; PostgREST's roles behind
    /// `authenticator`; the logins of Supabase's services; the schemas `auth`, `storage`,
    /// `extensions` (uuid-ossp, pgcrypto, pg_stat_statements), `realtime`, `graphql_public` and
    /// `pgbouncer`; default privileges to the API roles in `public`, `storage` and
    /// `graphql_public`; the publication `supabase_realtime`; PostgREST's event triggers. See the
    /// SQL in `src/setup/supabase/`, one file per part, each naming the public script it was
    /// learned from.
    #[default]
    Supabase,
    /// A self-hosted PostgreSQL: initdb's bootstrap superuser (named `bootstrap`) and the admin
    /// `postgres`, nothing else: no API roles, no platform schemas, PostgreSQL's own defaults.
    Plain,
}

/// The setup SQL of each flavour: files run in this order, in one batch.
const SUPABASE_SETUP: &[(&str, &str)] = &[
    ("01_roles.sql", include_str!("setup/supabase/01_roles.sql")),
    (
        "02_extensions.sql",
        include_str!("setup/supabase/02_extensions.sql"),
    ),
    ("03_auth.sql", include_str!("setup/supabase/03_auth.sql")),
    (
        "04_storage.sql",
        include_str!("setup/supabase/04_storage.sql"),
    ),
    (
        "05_realtime.sql",
        include_str!("setup/supabase/05_realtime.sql"),
    ),
    (
        "06_pgbouncer.sql",
        include_str!("setup/supabase/06_pgbouncer.sql"),
    ),
    (
        "07_api_schemas.sql",
        include_str!("setup/supabase/07_api_schemas.sql"),
    ),
    (
        "08_event_triggers.sql",
        include_str!("setup/supabase/08_event_triggers.sql"),
    ),
];
const PLAIN_SETUP: &[(&str, &str)] = &[("01_admin.sql", include_str!("setup/plain/01_admin.sql"))];

/// The logins of Supabase's services, each with a random password per server.
const SUPABASE_LOGINS: &[&str] = &[
    Flavor::AUTHENTICATOR,
    Flavor::AUTH_ADMIN,
    "supabase_storage_admin",
    "supabase_realtime_admin",
    "supabase_read_only_user",
    "supabase_replication_admin",
    "pgbouncer",
];

impl Flavor {
    /// Every flavour, the default first.
    pub const ALL: [Flavor; 2] = [Flavor::Supabase, Flavor::Plain];

    /// The login PostgREST connects as before it `SET ROLE`s to the request's role (Supabase).
    pub const AUTHENTICATOR: &'static str = "authenticator";

    /// The login GoTrue connects as: owner of schema `auth`; a signup is its
    /// `INSERT INTO auth.users` (Supabase).
    pub const AUTH_ADMIN: &'static str = "supabase_auth_admin";

    /// The flavour's name, as `COTENANT_TEST_FLAVOR` spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Flavor::Supabase => "supabase",
            Flavor::Plain => "plain",
        }
    }

    /// initdb's bootstrap superuser: `supabase_admin` as on hosted Supabase, `bootstrap` on plain.
    pub const fn superuser(self) -> &'static str {
        match self {
            Flavor::Supabase => "supabase_admin",
            Flavor::Plain => "bootstrap",
        }
    }

    /// The login roles besides the admin and the superuser that every server of this flavour
    /// gives a random password of its own; [`crate::Cluster::login_config`] connects as them.
    pub fn logins(self) -> &'static [&'static str] {
        match self {
            Flavor::Supabase => SUPABASE_LOGINS,
            Flavor::Plain => &[],
        }
    }

    /// The setup SQL, run once per server (per template locally) as the bootstrap superuser.
    pub(crate) fn setup_sql(self) -> String {
        let files = match self {
            Flavor::Supabase => SUPABASE_SETUP,
            Flavor::Plain => PLAIN_SETUP,
        };
        let mut sql = String::new();
        for (name, text) in files {
            sql.push_str(&format!("\n-- setup/{}/{name}\n{text}", self.name()));
        }
        sql
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Flavor {
    type Err = TestkitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flavor::ALL
            .into_iter()
            .find(|flavor| flavor.name() == s.trim())
            .ok_or_else(|| TestkitError::InvalidFlavor(s.to_owned()))
    }
}

/// The flavour tests run against: `COTENANT_TEST_FLAVOR` (`supabase` or `plain`), Supabase when
/// unset.
///
/// # Panics
/// When `COTENANT_TEST_FLAVOR` holds anything else: a typo must not silently test the wrong setup.
///
/// ```no_run
/// use cotenant_testkit::{Pair, test_flavor, test_version};
///
/// let pair = Pair::start_flavor(test_version(), test_flavor())?;
/// # Ok::<(), cotenant_testkit::TestkitError>(())
/// ```
pub fn test_flavor() -> Flavor {
    match env::var(env::TEST_FLAVOR) {
        None => Flavor::default(),
        Some(value) => value
            .parse()
            .unwrap_or_else(|error| panic!("{}: {error}", env::TEST_FLAVOR)),
    }
}
