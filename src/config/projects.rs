//! `[projects.<p>]`: the declarations, in cotenant.toml or in the file its `projects = "…"`
//! names. Each room's sub-table (`platform`, …) is parsed by its own module; this one reads
//! the project's own settings (limits, timeouts, migrations) and checks the names.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::ConfigError;
use super::platform::RawOverride;
use crate::ProjectName;
use crate::declare::{Declaration, Declarations, MigrationSource};
use crate::provision::{LoginLimits, ProjectSettings};

/// The most connections a declaration may give one login: more than any instance's
/// `max_connections` in practice, so a bigger number is a typo.
pub const MAX_CONNECTION_LIMIT: i64 = 10_000;

/// The longest timeout PostgreSQL stores: `i32::MAX` milliseconds, about 24.8 days.
const MAX_TIMEOUT_MS: u128 = i32::MAX as u128;

/// `projects`: the tables themselves, or the name of the file that holds them.
pub(super) enum RawProjects {
    File(PathBuf),
    Tables(BTreeMap<String, RawProject>),
}

impl<'de> Deserialize<'de> for RawProjects {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = RawProjects;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("[projects.<name>] tables, or the name of a file holding them")
            }
            fn visit_str<E: de::Error>(self, file: &str) -> Result<RawProjects, E> {
                Ok(RawProjects::File(PathBuf::from(file)))
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<RawProjects, M::Error> {
                // Decoding the map through the same deserializer keeps the key paths of its
                // errors (`projects.reli.login.connection_limit`).
                BTreeMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawProjects::Tables)
            }
        }
        deserializer.deserialize_any(Either)
    }
}

/// The file `projects = "…"` names: `[projects.<p>]` tables and nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProjectsFile {
    #[serde(default)]
    projects: BTreeMap<String, RawProject>,
}

/// `[projects.<p>]`: one project's settings. A room that adds a key adds a sub-table here,
/// parsed by its own module.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProject {
    login: Option<RawLimits>,
    migrator: Option<RawLimits>,
    migrations: Option<PathBuf>,
    template: Option<String>,
    /// Taken out before the rest is read: read by [`super::placement::validate`].
    pub(super) instance: Option<String>,
    pub(super) platform: Option<RawOverride>,
    /// Taken out by [`super::audit::validate`] before the rest is read.
    pub(super) audit: Option<super::audit::RawAudit>,
    /// Read by [`super::api::validate`].
    pub(super) api: Option<super::api::RawApi>,
}

/// `[projects.<p>.login]`, `[projects.<p>.migrator]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    connection_limit: Option<i64>,
    statement_timeout: Option<String>,
    idle_in_transaction_timeout: Option<String>,
}

/// The projects' tables and the file they were read from, with its directory (what a
/// `migrations` path is relative to).
pub(super) struct Loaded {
    pub(super) projects: BTreeMap<String, RawProject>,
    pub(super) file: Option<PathBuf>,
    pub(super) base: PathBuf,
}

/// Reads the projects' tables: those of cotenant.toml, or those of the file it names.
pub(super) fn load(
    raw: Option<RawProjects>,
    file: Option<&Path>,
    base: &Path,
) -> Result<Loaded, ConfigError> {
    let here = |projects| Loaded {
        projects,
        file: file.map(Path::to_path_buf),
        base: base.to_path_buf(),
    };
    match raw {
        None => Ok(here(BTreeMap::new())),
        Some(RawProjects::Tables(projects)) => Ok(here(projects)),
        Some(RawProjects::File(name)) => {
            let path = base.join(&name);
            std::fs::metadata(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let raw: RawProjectsFile = Figment::from(Toml::file_exact(&path))
                .extract()
                .map_err(|e| ConfigError::from_figment(e, Some(&path)))?;
            Ok(Loaded {
                projects: raw.projects,
                base: path.parent().unwrap_or(Path::new("")).to_path_buf(),
                file: Some(path),
            })
        }
    }
}

/// Checks every declaration; returns them with each project's platform sub-table, for the
/// platform room to read.
pub(super) fn validate(
    loaded: Loaded,
) -> Result<(Declarations, Vec<(ProjectName, RawOverride)>), ConfigError> {
    let file = loaded.file.as_deref();
    let mut lowered: BTreeMap<String, &str> = BTreeMap::new();
    for name in loaded.projects.keys() {
        if let Some(other) = lowered.insert(name.to_lowercase(), name) {
            return Err(ConfigError::invalid(
                file,
                format!("projects.{name}"),
                format!(
                    "`{other}` and `{name}` are the same project once lower-cased (schema and role \
                     names are): declare it once, as `{}`",
                    name.to_lowercase()
                ),
            ));
        }
    }
    let mut declarations = Declarations::default().with_file(loaded.file.clone());
    let mut platform = Vec::new();
    for (name, raw) in loaded.projects {
        let table = format!("projects.{name}");
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(ConfigError::invalid(
                file,
                table,
                format!(
                    "project names are lowercase (they are schema and role names): write [projects.{}]",
                    name.to_lowercase()
                ),
            ));
        }
        let project: ProjectName = name
            .parse()
            .map_err(|e| ConfigError::invalid(file, &table, format!("{e}")))?;
        let defaults = ProjectSettings::default();
        let settings = ProjectSettings {
            login: limits(raw.login, defaults.login, file, &format!("{table}.login"))?,
            migrator: limits(
                raw.migrator,
                defaults.migrator,
                file,
                &format!("{table}.migrator"),
            )?,
        };
        let mut declaration = Declaration::new(settings);
        match (raw.migrations, raw.template) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    file,
                    format!("{table}.template"),
                    "a project's migrations come from one place: keep `migrations` (a directory) \
                     or `template`, not both",
                ));
            }
            (Some(dir), None) => {
                declaration =
                    declaration.with_migrations(MigrationSource::Dir(loaded.base.join(dir)));
            }
            (None, Some(template)) => {
                if !MigrationSource::TEMPLATES.contains(&template.as_str()) {
                    return Err(ConfigError::invalid(
                        file,
                        format!("{table}.template"),
                        format!(
                            "unknown template `{template}`: cotenant ships {}",
                            MigrationSource::TEMPLATES
                                .iter()
                                .map(|t| format!("`{t}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                declaration = declaration.with_migrations(MigrationSource::Template(template));
            }
            (None, None) => {}
        }
        if let Some(o) = raw.platform {
            platform.push((project.clone(), o));
        }
        declarations = declarations.with_project(project, declaration);
    }
    Ok((declarations, platform))
}

fn limits(
    raw: Option<RawLimits>,
    defaults: LoginLimits,
    file: Option<&Path>,
    table: &str,
) -> Result<LoginLimits, ConfigError> {
    let Some(raw) = raw else {
        return Ok(defaults);
    };
    let mut limits = defaults;
    if let Some(limit) = raw.connection_limit {
        if !(1..=MAX_CONNECTION_LIMIT).contains(&limit) {
            return Err(ConfigError::invalid(
                file,
                format!("{table}.connection_limit"),
                format!(
                    "is {limit}: expected 1 to {MAX_CONNECTION_LIMIT} connections (a login always \
                     has a limit, so that one project cannot take the instance's connections)"
                ),
            ));
        }
        limits.connection_limit = u32::try_from(limit).expect("checked to be in range");
    }
    for (key, value, slot) in [
        (
            "statement_timeout",
            raw.statement_timeout,
            &mut limits.statement_timeout,
        ),
        (
            "idle_in_transaction_timeout",
            raw.idle_in_transaction_timeout,
            &mut limits.idle_in_transaction_timeout,
        ),
    ] {
        if let Some(value) = value {
            *slot = timeout(&value)
                .map_err(|message| ConfigError::invalid(file, format!("{table}.{key}"), message))?;
        }
    }
    Ok(limits)
}

/// A timeout as PostgreSQL stores it: whole milliseconds up to `i32::MAX`; `off` or zero for
/// none.
pub(crate) fn timeout(value: &str) -> Result<Option<Duration>, String> {
    if value == "off" || value == "0" {
        return Ok(None);
    }
    let duration = humantime_serde::re::humantime::parse_duration(value).map_err(|error| {
        format!("`{value}`: {error}: give a duration such as \"30s\", \"1m 30s\" or \"500ms\", or \"off\"")
    })?;
    if duration.is_zero() {
        Ok(None)
    } else if duration.subsec_nanos() % 1_000_000 != 0 {
        Err(format!(
            "`{value}`: PostgreSQL counts timeouts in whole milliseconds"
        ))
    } else if duration.as_millis() > MAX_TIMEOUT_MS {
        Err(format!(
            "`{value}`: at most {MAX_TIMEOUT_MS} ms (about 24.8 days) is stored by PostgreSQL; use \"off\" for no timeout"
        ))
    } else {
        Ok(Some(duration))
    }
}
