//! The check every new connection passes before a pool hands it out.

use crate::ProjectName;

use super::PoolError;

/// Who and where a new session is: one row of three text columns.
pub(crate) const QUERY: &str =
    "SELECT current_user::text, session_user::text, current_schema()::text";

/// What [`QUERY`] found on a new connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Landing {
    pub(crate) current_user: String,
    pub(crate) session_user: String,
    pub(crate) current_schema: Option<String>,
}

impl Landing {
    /// Accepts the connection only if it runs as `<project>_app` with `<project>` as its current
    /// schema.
    pub(crate) fn check(self, environment: &str, project: &ProjectName) -> Result<(), PoolError> {
        if self.current_user == project.roles().app
            && self.current_schema.as_deref() == Some(project.as_str())
        {
            return Ok(());
        }
        let error = PoolError::WrongScope {
            environment: environment.to_owned(),
            project: project.clone(),
            session_user: self.session_user,
            current_user: self.current_user,
            current_schema: self.current_schema,
        };
        tracing::error!(target: super::TARGET, %error, "refusing a new connection");
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn landing(user: &str, schema: Option<&str>) -> Landing {
        Landing {
            current_user: user.to_owned(),
            session_user: "reli_login".to_owned(),
            current_schema: schema.map(str::to_owned),
        }
    }

    #[test]
    fn only_the_app_role_in_the_project_schema_passes() {
        let reli: ProjectName = "reli".parse().unwrap();
        landing("reli_app", Some("reli"))
            .check("prod", &reli)
            .unwrap();
        for (user, schema) in [
            ("reli_login", Some("reli")),
            ("reli_app", Some("public")),
            ("reli_app", None),
            ("other_app", Some("other")),
        ] {
            let err = landing(user, schema).check("prod", &reli).unwrap_err();
            assert!(
                matches!(&err, PoolError::WrongScope { current_user, .. } if current_user == user),
                "{err:?}"
            );
        }
    }

    #[test]
    fn the_refusal_names_what_was_found_and_what_to_do() {
        let reli: ProjectName = "reli".parse().unwrap();
        let err = landing("reli_login", None)
            .check("prod", &reli)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "checking a new connection to environment `prod` for project `reli`: it runs as \
             `reli_login` with current schema (none), not as `reli_app` in schema `reli` (it \
             logged in as `reli_login`); the login's role defaults are missing or did not apply: \
             provision the project again"
        );
    }
}
