//! `[platform]` and `[projects.<p>.platform]`: what projects may use of the shared Supabase
//! schemas.

use std::path::Path;

use serde::Deserialize;

use super::ConfigError;
use crate::ProjectName;
use crate::platform::{Access, AccessOverride, PlatformConfig};

/// `[platform]`: the instance default and the allowlist.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlatform {
    #[serde(default)]
    auth: bool,
    #[serde(default)]
    extensions: bool,
    #[serde(default)]
    realtime: Vec<String>,
    signup_hook: Option<String>,
    #[serde(default)]
    allow: RawAllow,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    #[serde(default)]
    extensions: Vec<String>,
}

/// `[projects.<p>.platform]`: the keys of `[platform]` except `allow`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOverride {
    auth: Option<bool>,
    extensions: Option<bool>,
    realtime: Option<Vec<String>>,
    signup_hook: Option<String>,
}

fn check_names(
    file: Option<&Path>,
    key: &str,
    names: &[String],
    what: &str,
) -> Result<(), ConfigError> {
    for name in names {
        check_name(file, key, name, what)?;
    }
    Ok(())
}

fn check_name(file: Option<&Path>, key: &str, name: &str, what: &str) -> Result<(), ConfigError> {
    if name.is_empty() || name.len() > 63 || name.contains('\0') {
        return Err(ConfigError::invalid(
            file,
            key,
            format!("`{name}` is not a {what}: expected a name of 1 to 63 bytes"),
        ));
    }
    Ok(())
}

/// `[platform]` from cotenant.toml (`file`), and the `[projects.<p>.platform]` overrides from
/// `projects_file`, where the declarations are.
pub(super) fn validate(
    platform: Option<RawPlatform>,
    projects: Vec<(ProjectName, RawOverride)>,
    file: Option<&Path>,
    projects_file: Option<&Path>,
) -> Result<PlatformConfig, ConfigError> {
    let raw = platform.unwrap_or_default();
    check_names(file, "platform.realtime", &raw.realtime, "table name")?;
    if let Some(hook) = &raw.signup_hook {
        check_name(file, "platform.signup_hook", hook, "function name")?;
    }
    check_names(
        file,
        "platform.allow.extensions",
        &raw.allow.extensions,
        "extension name",
    )?;
    let default = Access::default()
        .with_auth(raw.auth)
        .with_extensions(raw.extensions)
        .with_realtime(raw.realtime)
        .with_signup_hook(raw.signup_hook);
    let mut config = PlatformConfig::default()
        .with_default(default)
        .with_allowed_extensions(raw.allow.extensions);
    for (name, o) in projects {
        let key = |k: &str| format!("projects.{name}.platform.{k}");
        if let Some(tables) = &o.realtime {
            check_names(projects_file, &key("realtime"), tables, "table name")?;
        }
        if let Some(hook) = &o.signup_hook {
            check_name(projects_file, &key("signup_hook"), hook, "function name")?;
        }
        config = config.with_project(
            name,
            AccessOverride {
                auth: o.auth,
                extensions: o.extensions,
                realtime: o.realtime,
                signup_hook: o.signup_hook,
            },
        );
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use crate::config::testing::read_with_staging;

    #[test]
    fn the_default_and_a_project_override_merge_into_its_effective_access() {
        let config = read_with_staging(
            r#"
            [platform]
            auth = true
            extensions = true
            [platform.allow]
            extensions = ["pg_trgm", "pgcrypto", "uuid-ossp"]

            [projects.reli.platform]
            realtime = ["notes", "messages"]
            signup_hook = "handle_new_user"
            "#,
        )
        .unwrap();
        let reli = config.platform.access_of(&"reli".parse().unwrap());
        assert!(reli.auth && reli.extensions);
        assert_eq!(reli.realtime, ["messages", "notes"]);
        assert_eq!(reli.signup_hook.as_deref(), Some("handle_new_user"));
        assert_eq!(
            config.platform.allowed_extensions(),
            ["pg_trgm", "pgcrypto", "uuid-ossp"]
        );
        let annie = config.platform.access_of(&"annie".parse().unwrap());
        assert!(annie.realtime.is_empty() && annie.signup_hook.is_none());
    }

    #[test]
    fn unknown_platform_keys_are_errors_naming_the_key_path() {
        let error = read_with_staging("[projects.reli.platform]\nrealtim = [\"notes\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("projects.reli.platform") && error.contains("realtim"),
            "{error}"
        );
        let error =
            read_with_staging("[projects.reli.platform]\nallow = { extensions = [\"x\"] }\n")
                .unwrap_err()
                .to_string();
        assert!(
            error.contains("allow"),
            "the allowlist is instance-wide: {error}"
        );
        let error = read_with_staging("[projects.Bad-Name.platform]\nauth = true\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("projects.Bad-Name"), "{error}");
    }
}
