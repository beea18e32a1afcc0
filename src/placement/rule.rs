//! The rule that places a project nobody placed: `[placement] rule`.

use std::fmt;

use serde::Deserialize;

use super::InstanceLoad;

/// How an undeclared project's instance is chosen when it is provisioned for the first time.
///
/// Evaluated on prod (the last environment in promotion order) and mirrored to the others:
/// staging puts the project on the instance of the same name. Ties are broken by instance
/// name order. Written in the config as `[placement] rule = "fewest-projects"` (the default) or
/// `"most-free-connections"`.
///
/// ```
/// use cotenant::placement::{InstanceLoad, PlacementRule};
///
/// let loads = [
///     InstanceLoad::new("a", 3, 40, 100, 0),
///     InstanceLoad::new("b", 5, 10, 100, 0),
/// ];
/// assert_eq!(PlacementRule::FewestProjects.choose(&loads), Some("a"));
/// assert_eq!(PlacementRule::MostFreeConnections.choose(&loads), Some("b"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PlacementRule {
    /// The instance with the fewest projects (schemas `x` owned by `x_owner`).
    #[default]
    FewestProjects,
    /// The instance with the most connections free: `max_connections` minus the client
    /// connections open now (and minus the connection limits of projects placed there earlier in
    /// the same run).
    MostFreeConnections,
}

impl PlacementRule {
    /// The name used in the config.
    pub const fn as_str(self) -> &'static str {
        match self {
            PlacementRule::FewestProjects => "fewest-projects",
            PlacementRule::MostFreeConnections => "most-free-connections",
        }
    }

    /// The instance of `loads` this rule picks; `None` when `loads` is empty. Ties go to the
    /// first name in order.
    pub fn choose(self, loads: &[InstanceLoad]) -> Option<&str> {
        let mut sorted: Vec<&InstanceLoad> = loads.iter().collect();
        sorted.sort_by(|a, b| a.instance.cmp(&b.instance));
        let best = match self {
            PlacementRule::FewestProjects => sorted.into_iter().min_by_key(|l| l.projects),
            // max_by_key keeps the last of equal maxima: reverse so the first name wins.
            PlacementRule::MostFreeConnections => sorted
                .into_iter()
                .rev()
                .max_by_key(|l| l.free_connections()),
        };
        best.map(|l| l.instance.as_str())
    }
}

impl fmt::Display for PlacementRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_first_name() {
        let loads = [
            InstanceLoad::new("c", 1, 0, 100, 0),
            InstanceLoad::new("b", 1, 0, 100, 0),
            InstanceLoad::new("a", 2, 0, 100, 0),
        ];
        assert_eq!(PlacementRule::FewestProjects.choose(&loads), Some("b"));
        assert_eq!(PlacementRule::MostFreeConnections.choose(&loads), Some("a"));
        assert_eq!(PlacementRule::FewestProjects.choose(&[]), None);
    }
}
