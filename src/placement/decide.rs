//! Where each project is, or goes: discovered from the surveys, declared, or chosen by the rule.

use std::fmt;

use serde::Serialize;

use super::{EnvironmentSurvey, InstanceLoad, PlacementConfig, PlacementError};
use crate::ProjectName;

/// A project's instance on one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Located {
    /// The environment.
    pub environment: String,
    /// The instance the project is on, or goes to when it is provisioned there.
    pub instance: String,
    /// True when the project's schema was found there; false when it is not provisioned on the
    /// environment yet (or the environment has one instance, which is not read to know).
    pub found: bool,
}

/// A project whose declared instance is not where it was found: reported, never moved by
/// `apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PlacementDrift {
    /// The project.
    #[serde(serialize_with = "as_str")]
    pub project: ProjectName,
    /// The environment.
    pub environment: String,
    /// The declared instance.
    pub declared: String,
    /// Where the project is.
    pub found: String,
}

impl fmt::Display for PlacementDrift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "placement of `{}` on `{}`: declared {}, found on {}: run `cotenant move {} --to {}`",
            self.project, self.environment, self.declared, self.found, self.project, self.declared
        )
    }
}

/// Where one project is on every environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Placement {
    /// The project.
    #[serde(serialize_with = "as_str")]
    pub project: ProjectName,
    /// Its `[projects.<p>] instance`, if declared.
    pub declared: Option<String>,
    /// Each environment's instance, in promotion order.
    pub environments: Vec<Located>,
}

impl Placement {
    /// The project's instance on `environment`.
    pub fn instance_on(&self, environment: &str) -> Option<&str> {
        self.environments
            .iter()
            .find(|l| l.environment == environment)
            .map(|l| l.instance.as_str())
    }

    /// Where the declared instance differs from the one the project was found on.
    pub fn drift(&self) -> Vec<PlacementDrift> {
        let Some(declared) = &self.declared else {
            return Vec::new();
        };
        self.environments
            .iter()
            .filter(|l| l.found && l.instance != *declared)
            .map(|l| PlacementDrift {
                project: self.project.clone(),
                environment: l.environment.clone(),
                declared: declared.clone(),
                found: l.instance.clone(),
            })
            .collect()
    }
}

/// The instance that serves `project` on `environment`, from the instances whose catalog has
/// its schema: none (`Ok(None)`: not provisioned there), one (it), or several — a move in
/// progress or interrupted, refused as [`PlacementError::Ambiguous`].
///
/// This is the one place that decides which copy serves when there are two: a move's own
/// record of its progress (which side its flip reached) belongs here once moves keep one.
pub fn serving(
    environment: &str,
    project: &ProjectName,
    found: &[&str],
) -> Result<Option<String>, PlacementError> {
    match found {
        [] => Ok(None),
        [one] => Ok(Some((*one).to_owned())),
        several => Err(PlacementError::Ambiguous {
            project: project.clone(),
            environment: environment.to_owned(),
            instances: several.iter().map(|s| (*s).to_owned()).collect(),
        }),
    }
}

/// Places `projects` (each with the connections its logins may open, reserved where the rule
/// puts it) on the environments `surveys` read, in promotion order (prod last).
///
/// For each project, in the order given: on every environment where its schema is found, it is
/// there ([`serving`]). Where it is not, it goes to its declared instance; else to where it is
/// found on prod, else on another environment (latest first); else to the instance
/// `config`'s rule picks on prod, counting the projects placed before it in this call. The
/// same instance name on every environment: staging mirrors prod.
pub fn decide(
    surveys: &[EnvironmentSurvey],
    config: &PlacementConfig,
    projects: &[(ProjectName, i64)],
) -> Result<Vec<Placement>, PlacementError> {
    let mut loads: Vec<InstanceLoad> = surveys.last().map(|s| s.loads()).unwrap_or_default();
    let mut placements = Vec::with_capacity(projects.len());
    for (project, reserve) in projects {
        let mut found = Vec::with_capacity(surveys.len());
        for survey in surveys {
            found.push(serving(
                survey.environment(),
                project,
                &survey.found(project),
            )?);
        }
        let declared = config.declared(project).map(str::to_owned);
        let target = match declared
            .clone()
            .or_else(|| found.iter().rev().flatten().next().cloned())
        {
            Some(target) => target,
            None => {
                let chosen = config
                    .rule()
                    .choose(&loads)
                    .map(str::to_owned)
                    .unwrap_or_default();
                if let Some(load) = loads.iter_mut().find(|l| l.instance == chosen) {
                    load.reserve(*reserve);
                }
                chosen
            }
        };
        let environments = surveys
            .iter()
            .zip(found)
            .map(|(survey, found)| Located {
                environment: survey.environment().to_owned(),
                found: found.is_some(),
                instance: found.unwrap_or_else(|| target.clone()),
            })
            .collect();
        placements.push(Placement {
            project: project.clone(),
            declared,
            environments,
        });
    }
    Ok(placements)
}

fn as_str<S: serde::Serializer>(project: &ProjectName, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(project.as_str())
}
