//! `[platform]` and `[projects.<p>.platform]`: what projects may use of the shared Supabase
//! schemas.

use std::collections::BTreeMap;
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

/// `[projects.<p>]`: one project's settings. Only `platform` for now; every other key is an
/// error until it is defined.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProject {
    platform: Option<RawOverride>,
}

/// `[projects.<p>.platform]`: the keys of `[platform]` except `allow`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
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

pub(super) fn validate(
    platform: Option<RawPlatform>,
    projects: BTreeMap<String, RawProject>,
    file: Option<&Path>,
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
    for (name, project) in projects {
        let project_name: ProjectName = name
            .parse()
            .map_err(|e| ConfigError::invalid(file, format!("projects.{name}"), format!("{e}")))?;
        let Some(o) = project.platform else { continue };
        let key = |k: &str| format!("projects.{name}.platform.{k}");
        if let Some(tables) = &o.realtime {
            check_names(file, &key("realtime"), tables, "table name")?;
        }
        if let Some(hook) = &o.signup_hook {
            check_name(file, &key("signup_hook"), hook, "function name")?;
        }
        config = config.with_project(
            project_name,
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
