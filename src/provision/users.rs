//! Which of a login's two users holds its credential: rotation with alternating users moves the
//! credential between `<p>_login` and its twin `<p>_login_clone` (and likewise for the migrator).

use crate::ProjectName;
use crate::secret::Login;

/// One of the two users a login can have.
///
/// A project's logins start with one user each (`<p>_login`, `<p>_migrator`). Rotating a login
/// with alternating users creates its twin (`<p>_login_clone`, `<p>_migrator_clone`) with the same
/// membership, role defaults, connection limit and CONNECT, and from then on each rotation sets a
/// new password on the user that does not hold the credential and moves the credential to it: the
/// other user's password keeps working until the rotation after.
///
/// ```
/// use cotenant::provision::LoginUser;
/// use cotenant::secret::Login;
///
/// let reli = "reli".parse().unwrap();
/// assert_eq!(LoginUser::Primary.name(&reli, Login::App), "reli_login");
/// assert_eq!(LoginUser::Twin.name(&reli, Login::Migrator), "reli_migrator_clone");
/// assert_eq!(LoginUser::of(&reli, Login::App, "reli_login_clone"), Some(LoginUser::Twin));
/// assert_eq!(LoginUser::of(&reli, Login::App, "other_login"), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoginUser {
    /// `<p>_login` or `<p>_migrator`.
    #[default]
    Primary,
    /// `<p>_login_clone` or `<p>_migrator_clone`.
    Twin,
}

impl LoginUser {
    /// The role name of this user of `project`'s `login`.
    pub fn name(self, project: &ProjectName, login: Login) -> String {
        let roles = project.roles();
        match (login, self) {
            (Login::App, LoginUser::Primary) => roles.login,
            (Login::App, LoginUser::Twin) => roles.login_clone,
            (Login::Migrator, LoginUser::Primary) => roles.migrator,
            (Login::Migrator, LoginUser::Twin) => roles.migrator_clone,
        }
    }

    /// Which user of `project`'s `login` the role `name` is, if it is one of them: how a secret's
    /// `username` is checked.
    pub fn of(project: &ProjectName, login: Login, name: &str) -> Option<LoginUser> {
        [LoginUser::Primary, LoginUser::Twin]
            .into_iter()
            .find(|user| user.name(project, login) == name)
    }

    /// The user that does not hold the credential: where alternating rotation moves it.
    pub fn other(self) -> LoginUser {
        match self {
            LoginUser::Primary => LoginUser::Twin,
            LoginUser::Twin => LoginUser::Primary,
        }
    }
}

/// Which user holds the credential of each of a project's logins (default: the primaries).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginUsers {
    /// The user named by the app login's secret.
    pub app: LoginUser,
    /// The user named by the migrator's secret.
    pub migrator: LoginUser,
}

impl LoginUsers {
    /// The user holding `login`'s credential.
    pub fn get(&self, login: Login) -> LoginUser {
        match login {
            Login::App => self.app,
            Login::Migrator => self.migrator,
        }
    }

    /// The same, with `login`'s credential held by `user`.
    pub fn with(mut self, login: Login, user: LoginUser) -> Self {
        match login {
            Login::App => self.app = user,
            Login::Migrator => self.migrator = user,
        }
        self
    }
}
