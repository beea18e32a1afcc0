//! The check every new connection passes before a pool hands it out.

use crate::ProjectName;
use crate::secret::Login;

use super::PoolError;
use super::error::expected_role;
use super::options::{DEFAULT_MAX_SIZE, PoolOptions};

/// Who and where a new session is: one row of three text columns, in one round trip. Sent
/// without parameters, so both drivers run it without leaving a named statement behind (sqlx as
/// a simple query, tokio-postgres with `query_typed`), which also keeps it valid through a
/// transaction-mode pooler.
pub(crate) const QUERY: &str =
    "SELECT current_user::text, session_user::text, current_schema()::text";

/// [`QUERY`] and the login's connection limit (`int4`, `-1`: none), for the constructors' first
/// connection, which sizes the pool. Reading `pg_roles` on a fresh backend costs about as much
/// as the rest of the check (its catalog caches are cold), so the pool's own connections are
/// checked with [`QUERY`] alone.
pub(crate) const FIRST_QUERY: &str = "SELECT current_user::text, session_user::text, current_schema()::text, \
     (SELECT rolconnlimit FROM pg_catalog.pg_roles WHERE rolname = session_user)";

/// What [`QUERY`] (or [`FIRST_QUERY`]) found on a new connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Landing {
    pub(crate) current_user: String,
    pub(crate) session_user: String,
    pub(crate) current_schema: Option<String>,
    /// The login's `rolconnlimit`, `-1` for none: read by [`FIRST_QUERY`] only.
    pub(crate) connection_limit: Option<i32>,
}

impl Landing {
    /// Accepts the connection only if it runs as the role `login` stands for (`<project>_app`
    /// or `<project>_owner`) with `<project>` as its current schema.
    pub(crate) fn check(
        &self,
        environment: &str,
        project: &ProjectName,
        login: Login,
    ) -> Result<(), PoolError> {
        if self.current_user == expected_role(project, login)
            && self.current_schema.as_deref() == Some(project.as_str())
        {
            return Ok(());
        }
        let error = PoolError::WrongScope {
            environment: environment.to_owned(),
            project: project.clone(),
            login,
            session_user: self.session_user.clone(),
            current_user: self.current_user.clone(),
            current_schema: self.current_schema.clone(),
        };
        tracing::error!(target: super::TARGET, %error, "refusing a new connection");
        Err(error)
    }

    /// The pool's size: `options`' `max_size`, which must not exceed the login's connection
    /// limit, or min(10, the limit) when unset. Through a transaction pooler (`through_pooler`)
    /// the limit bounds the pooler's connections, not the pool's: it is not applied.
    pub(crate) fn pool_size(
        &self,
        environment: &str,
        project: &ProjectName,
        options: &PoolOptions,
        through_pooler: bool,
    ) -> Result<usize, PoolError> {
        let limit = self
            .connection_limit
            .and_then(|limit| usize::try_from(limit).ok());
        let limit = limit.filter(|_| !through_pooler);
        match (options.get_max_size(), limit) {
            (Some(max_size), Some(connection_limit)) if max_size > connection_limit => {
                Err(PoolError::ExceedsConnectionLimit {
                    environment: environment.to_owned(),
                    project: project.clone(),
                    user: self.session_user.clone(),
                    max_size,
                    connection_limit,
                })
            }
            (Some(max_size), _) => Ok(max_size),
            (None, Some(limit)) => Ok(DEFAULT_MAX_SIZE.min(limit).max(1)),
            (None, None) => Ok(DEFAULT_MAX_SIZE),
        }
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
            connection_limit: Some(20),
        }
    }

    #[test]
    fn only_the_app_role_in_the_project_schema_passes() {
        let reli: ProjectName = "reli".parse().unwrap();
        landing("reli_app", Some("reli"))
            .check("prod", &reli, Login::App)
            .unwrap();
        for (user, schema) in [
            ("reli_login", Some("reli")),
            ("reli_app", Some("public")),
            ("reli_app", None),
            ("other_app", Some("other")),
            ("reli_owner", Some("reli")),
        ] {
            let err = landing(user, schema)
                .check("prod", &reli, Login::App)
                .unwrap_err();
            assert!(
                matches!(&err, PoolError::WrongScope { current_user, .. } if current_user == user),
                "{err:?}"
            );
        }
    }

    #[test]
    fn only_the_owner_in_the_project_schema_passes_for_the_migrator() {
        let reli: ProjectName = "reli".parse().unwrap();
        landing("reli_owner", Some("reli"))
            .check("prod", &reli, Login::Migrator)
            .unwrap();
        for (user, schema) in [
            ("reli_app", Some("reli")),
            ("reli_migrator", Some("reli")),
            ("reli_owner", None),
            ("other_owner", Some("other")),
        ] {
            let err = landing(user, schema)
                .check("prod", &reli, Login::Migrator)
                .unwrap_err();
            assert!(
                matches!(
                    &err,
                    PoolError::WrongScope {
                        login: Login::Migrator,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains("not as `reli_owner`"), "{err}");
        }
    }

    #[test]
    fn the_refusal_names_what_was_found_and_what_to_do() {
        let reli: ProjectName = "reli".parse().unwrap();
        let err = landing("reli_login", None)
            .check("prod", &reli, Login::App)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "checking a new connection to environment `prod` for project `reli`: it runs as \
             `reli_login` with current schema (none), not as `reli_app` in schema `reli` (it \
             logged in as `reli_login`); the login's role defaults are missing or did not apply: \
             provision the project again"
        );
    }

    #[test]
    fn the_size_is_bounded_by_the_connection_limit() {
        let reli: ProjectName = "reli".parse().unwrap();
        let limited = |limit| Landing {
            connection_limit: Some(limit),
            ..landing("reli_app", Some("reli"))
        };
        let size = |limit, options: PoolOptions| {
            let through_pooler = options.get_transaction_pooler().is_some();
            limited(limit).pool_size("prod", &reli, &options, through_pooler)
        };
        assert_eq!(size(20, PoolOptions::new()).unwrap(), 10);
        assert_eq!(size(5, PoolOptions::new()).unwrap(), 5);
        assert_eq!(size(-1, PoolOptions::new()).unwrap(), 10);
        assert_eq!(size(20, PoolOptions::new().max_size(20)).unwrap(), 20);
        assert_eq!(size(-1, PoolOptions::new().max_size(500)).unwrap(), 500);
        let err = size(20, PoolOptions::new().max_size(21)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a pool of 21 connections for project `reli` on environment `prod` exceeds the \
             connection limit of `reli_login` (20): set max_size to at most 20 (or leave it unset \
             for min(10, 20)), or raise the login's connection limit in the project's settings \
             and provision again"
        );
        // Through a transaction pooler the pool's connections are the pooler's clients.
        let pooled = PoolOptions::new()
            .max_size(50)
            .transaction_pooler("pooler", 6543);
        assert_eq!(size(20, pooled).unwrap(), 50);
    }
}
