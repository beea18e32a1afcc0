//! `[placement]` and `[projects.<p>] instance`: where projects go on environments with several
//! instances.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, EnvironmentConfig};
use crate::ProjectName;
use crate::placement::{PlacementConfig, PlacementRule};

/// `[placement]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlacement {
    #[serde(default)]
    rule: PlacementRule,
}

/// The placement configuration: the rule, and each declared `instance`, which must name an
/// instance every environment has (they all have the same ones).
pub(super) fn validate(
    raw: Option<RawPlacement>,
    declared: Vec<(String, String)>,
    environments: &[EnvironmentConfig],
    file: Option<&Path>,
    projects_file: Option<&Path>,
) -> Result<PlacementConfig, ConfigError> {
    let rule = raw.map(|r| r.rule).unwrap_or_default();
    let configured: Vec<&str> = environments
        .first()
        .map(|e| e.instance_names().collect())
        .unwrap_or_default();
    let mut instances = BTreeMap::new();
    for (project, instance) in declared {
        let key = format!("projects.{project}.instance");
        if !configured.contains(&instance.as_str()) {
            let known: Vec<String> = configured.iter().map(|n| format!("`{n}`")).collect();
            return Err(ConfigError::invalid(
                projects_file.or(file),
                key,
                format!(
                    "names instance `{instance}`, which no environment has: configured are {} \
                     (under [environments.<env>.instances])",
                    known.join(", ")
                ),
            ));
        }
        // Names are checked by the projects' own validation; an invalid one fails there.
        if let Ok(project) = project.parse::<ProjectName>() {
            instances.insert(project, instance);
        }
    }
    Ok(PlacementConfig::new(rule, instances))
}
