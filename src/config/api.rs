//! `[projects.<p>.api]`: a project's Data API roles (opt-in per project).
//!
//! ```toml
//! [projects.reli.api]
//! enabled = true                 # <p>_anon and <p>_authenticated behind `authenticator`
//! service = true                 # and <p>_service (BYPASSRLS)
//! realtime = true                # Supabase Realtime may impersonate them (RLS on Postgres Changes)
//! storage = true                 # a Storage bucket `reli`, its objects reachable by reli's roles only
//! [projects.reli.api.authenticated]
//! tables = ["select", "insert", "update", "delete"]   # default privileges on new tables
//! sequences = ["usage"]
//! functions = true               # EXECUTE on new functions
//! statement_timeout = "8s"       # the default; "0s" for none
//! [projects.reli.api.anon]
//! tables = ["select"]
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use super::projects::RawProject;
use crate::api::{Api, ApiConfig, ApiRole, ApiRoleKind, SequencePrivilege, TablePrivilege};

/// `[projects.<p>.api]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    service: bool,
    #[serde(default)]
    realtime: bool,
    #[serde(default)]
    storage: bool,
    anon: Option<RawRole>,
    authenticated: Option<RawRole>,
    service_role: Option<RawRole>,
}

/// `[projects.<p>.api.<role>]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    #[serde(default)]
    tables: Vec<String>,
    #[serde(default)]
    sequences: Vec<String>,
    #[serde(default)]
    functions: bool,
    #[serde(default, with = "humantime_serde")]
    statement_timeout: Option<Duration>,
}

pub(super) fn validate(
    projects: &BTreeMap<String, RawProject>,
    file: Option<&Path>,
) -> Result<ApiConfig, ConfigError> {
    let mut config = ApiConfig::default();
    for (name, project) in projects {
        let Some(raw) = &project.api else { continue };
        let project_name = name
            .parse()
            .map_err(|e| ConfigError::invalid(file, format!("projects.{name}"), format!("{e}")))?;
        let mut api = Api::default()
            .with_service(raw.service)
            .with_realtime(raw.realtime)
            .with_storage(raw.storage);
        api.enabled = raw.enabled;
        for (kind, role, key) in [
            (ApiRoleKind::Anon, &raw.anon, "anon"),
            (
                ApiRoleKind::Authenticated,
                &raw.authenticated,
                "authenticated",
            ),
            (ApiRoleKind::Service, &raw.service_role, "service_role"),
        ] {
            let Some(role) = role else { continue };
            let key = format!("projects.{name}.api.{key}");
            let parsed = parse_role(role, api.role(kind), file, &key)?;
            api = api.with_role(kind, |_| parsed);
        }
        config = config.with_project(project_name, api);
    }
    Ok(config)
}

fn parse_role(
    raw: &RawRole,
    default: &ApiRole,
    file: Option<&Path>,
    key: &str,
) -> Result<ApiRole, ConfigError> {
    let tables = raw
        .tables
        .iter()
        .map(|p| {
            TablePrivilege::ALL
                .into_iter()
                .find(|t| t.as_sql().eq_ignore_ascii_case(p))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        file,
                        format!("{key}.tables"),
                        format!("`{p}` is not a table privilege an API role may get by default: expected select, insert, update or delete (TRUNCATE ignores row-level security)"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sequences = raw
        .sequences
        .iter()
        .map(|p| {
            SequencePrivilege::ALL
                .into_iter()
                .find(|t| t.as_sql().eq_ignore_ascii_case(p))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        file,
                        format!("{key}.sequences"),
                        format!("`{p}` is not a sequence privilege an API role may get by default: expected usage or select"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let timeout = match raw.statement_timeout {
        Some(t) if t.is_zero() => None,
        Some(t) => Some(t),
        None => default.statement_timeout,
    };
    Ok(ApiRole::default()
        .with_tables(tables)
        .with_sequences(sequences)
        .with_functions(raw.functions)
        .with_statement_timeout(timeout))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::api::{ApiRoleKind, TablePrivilege};
    use crate::config::testing::read_with_staging;

    #[test]
    fn a_projects_api_is_off_unless_declared_and_keeps_supabases_timeouts() {
        let config = read_with_staging(
            r#"
            [projects.reli.api]
            enabled = true
            service = true
            [projects.reli.api.authenticated]
            tables = ["select", "INSERT"]
            functions = true
            [projects.reli.api.anon]
            statement_timeout = "0s"
            "#,
        )
        .unwrap();
        let reli = config.api.api_of(&"reli".parse().unwrap());
        assert!(reli.enabled && reli.service);
        let authenticated = reli.role(ApiRoleKind::Authenticated);
        assert_eq!(
            authenticated.tables.iter().copied().collect::<Vec<_>>(),
            [TablePrivilege::Select, TablePrivilege::Insert]
        );
        assert!(authenticated.functions);
        assert_eq!(
            authenticated.statement_timeout,
            Some(Duration::from_secs(8))
        );
        assert_eq!(reli.role(ApiRoleKind::Anon).statement_timeout, None);
        assert!(reli.role(ApiRoleKind::Anon).tables.is_empty());
        assert!(!config.api.api_of(&"annie".parse().unwrap()).enabled);
    }

    #[test]
    fn truncate_and_unknown_keys_are_refused_naming_the_key_path() {
        let error = read_with_staging("[projects.reli.api.anon]\ntables = [\"truncate\"]\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("projects.reli.api.anon.tables"), "{error}");
        assert!(error.contains("row-level security"), "{error}");
        let error = read_with_staging("[projects.reli.api]\nenable = true\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("enable"), "{error}");
    }
}
