//! The placement part of the configuration.

use std::collections::BTreeMap;

use super::PlacementRule;
use crate::ProjectName;

/// `[placement] rule` and the `[projects.<p>] instance` declarations.
///
/// ```
/// let config = cotenant::config::Config::from_toml_str(r#"
///     [secrets]
///     store = "file"
///     path = "secrets.json"
///     [placement]
///     rule = "most-free-connections"
///     [environments.prod.instances.a]
///     host = "db-a.example"
///     admin_secret = "cotenant/prod/a/admin"
///     [environments.prod.instances.b]
///     host = "db-b.example"
///     admin_secret = "cotenant/prod/b/admin"
///     [projects.reli]
///     instance = "b"
/// "#)?;
/// let reli = "reli".parse()?;
/// assert_eq!(config.placement.declared(&reli), Some("b"));
/// assert_eq!(config.placement.rule(), cotenant::placement::PlacementRule::MostFreeConnections);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacementConfig {
    rule: PlacementRule,
    declared: BTreeMap<ProjectName, String>,
}

impl PlacementConfig {
    /// `rule` for undeclared projects, and `declared` instances by project.
    pub fn new(rule: PlacementRule, declared: BTreeMap<ProjectName, String>) -> Self {
        Self { rule, declared }
    }

    /// The rule for projects without an `instance`.
    pub fn rule(&self) -> PlacementRule {
        self.rule
    }

    /// The instance `project` is declared on, if any.
    pub fn declared(&self, project: &ProjectName) -> Option<&str> {
        self.declared.get(project).map(String::as_str)
    }
}
