//! Rotating a project's credentials with no downtime for the services using them.
//!
//! Each login's secret names the user it is for and holds its password. A rotation follows the
//! steps AWS Secrets Manager's rotation functions take — the new credential is staged
//! `AWSPENDING`, set on the server, tested by logging in with it, and only then promoted to
//! `AWSCURRENT` (the old version becomes `AWSPREVIOUS`) — with one of two [`Strategy`]s:
//!
//! - [`Strategy::AlternatingUsers`] (the default): the login has two users, `<p>_login` and its
//!   twin `<p>_login_clone` (created by the first such rotation with the same membership, role
//!   defaults, connection limit and CONNECT). The new password is set on the user that does *not*
//!   hold the credential, and the credential moves to it. The old password keeps working until
//!   the next rotation, so sessions, caches and pools that still hold it never see a refusal.
//! - [`Strategy::SingleUser`]: the password of the user holding the credential is replaced. The
//!   old password stops working when the change commits; until the new version is promoted (a
//!   moment later) a client that reads `AWSCURRENT` still gets the old one — cotenant's pools then
//!   read `AWSPENDING` (see [`pool`](crate::pool)), other clients retry.
//!
//! The change on the server is a provisioning [`Plan`](crate::provision::Plan) applied in one
//! transaction, printable beforehand ([`Environment::plan_rotation`](crate::Environment::plan_rotation));
//! the login's limits and role defaults are kept as the instance has them. Rotations of one
//! project are serialized (a session advisory lock held throughout). An interrupted rotation is
//! finished by running it again: a pending version for the same user is reused, so the server
//! and the store agree on one new password.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::{Cotenant, config::Config, rotate::Strategy, secret::Login};
//!
//! let cotenant = Cotenant::open(Config::load("cotenant.toml")?).await?;
//! let reli = "reli".parse()?;
//! // Staging first, then prod: both logins of `reli`.
//! for rotation in cotenant.rotate(&reli, &Login::ALL, Strategy::AlternatingUsers).await? {
//!     println!("{rotation}");
//! }
//! # Ok(()) }
//! ```

mod error;
mod run;

pub use error::RotateError;
pub use run::Rotation;

use std::fmt;
use std::str::FromStr;

/// How a login's password is replaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Strategy {
    /// Set a new password on the user that does not hold the credential (creating the login's
    /// twin the first time) and move the credential to it; the old password works until the next
    /// rotation.
    #[default]
    AlternatingUsers,
    /// Replace the password of the user holding the credential; the old one stops working at
    /// once.
    SingleUser,
}

impl Strategy {
    /// `"alternating-users"` or `"single-user"`: the names the CLI takes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Strategy::AlternatingUsers => "alternating-users",
            Strategy::SingleUser => "single-user",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A strategy name that is neither `alternating-users` nor `single-user`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rotation strategy `{0}`: use `alternating-users` or `single-user`")]
pub struct UnknownStrategy(String);

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    /// ```
    /// use cotenant::rotate::Strategy;
    ///
    /// assert_eq!("single-user".parse(), Ok(Strategy::SingleUser));
    /// assert!("twice".parse::<Strategy>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "alternating-users" => Ok(Strategy::AlternatingUsers),
            "single-user" => Ok(Strategy::SingleUser),
            other => Err(UnknownStrategy(other.to_owned())),
        }
    }
}
