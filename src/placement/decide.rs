//! Where each project is, or goes: discovered from the surveys, declared, or chosen by the rule.

use std::fmt;

use serde::Serialize;

use super::{EnvironmentSurvey, InstanceLoad, PlacementConfig, PlacementError};
use crate::ProjectName;
use crate::transfer::{MoveRecord, Serving, Step};

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
    /// The move of the project recorded on this environment, if one is in progress: `instance`
    /// is then the copy the move's record says serves.
    pub moving: Option<Moving>,
}

/// A move in progress, as placement reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Moving {
    /// The instance it moves from (which records the move).
    pub source: String,
    /// The instance it moves to.
    pub target: String,
    /// The last step the move completed.
    #[serde(serialize_with = "step_name")]
    pub step: Step,
    /// Whether `--abort` is undoing it.
    pub aborting: bool,
}

impl Moving {
    /// Whether the move is still under way: not yet cleaned up after its flip, or being
    /// aborted. A complete move waits only for `--finish` to drop the source's copy, and
    /// commands go to the target meanwhile.
    pub fn in_progress(&self) -> bool {
        self.aborting || self.step < Step::CleanedUp
    }

    /// The move `record` kept on `source`.
    pub fn of(source: &str, record: &MoveRecord) -> Self {
        Moving {
            source: source.to_owned(),
            target: record.target.clone(),
            step: record.step,
            aborting: record.aborting,
        }
    }
}

fn step_name<S: serde::Serializer>(step: &Step, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(step.name())
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

    /// Refuses, with [`PlacementError::Moving`], when a move of the project is
    /// [in progress](Moving::in_progress) on any environment: what every command that would
    /// change the project checks first. Reads
    /// (status, audit, parity) go on against the serving copy.
    pub fn refuse_changes(&self) -> Result<(), PlacementError> {
        match self.environments.iter().find_map(|l| {
            l.moving
                .as_ref()
                .filter(|m| m.in_progress())
                .map(|m| (l, m))
        }) {
            None => Ok(()),
            Some((located, moving)) => Err(PlacementError::Moving {
                project: self.project.clone(),
                environment: located.environment.clone(),
                source_instance: moving.source.clone(),
                target: moving.target.clone(),
                step: moving.step,
            }),
        }
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
/// its schema and the move of it recorded there (`moving`: the instance recording it, its
/// source, and the record, from [`transfer::moves`](crate::transfer::moves)): none (`Ok(None)`:
/// not provisioned there), one (it), or two with a move recorded — the copy the record says
/// serves ([`MoveRecord::serving`]: the source until the flip, the target after it). Two or
/// more with no move recorded between them is refused as [`PlacementError::Ambiguous`].
///
/// This is the one place that decides which copy serves when there are two.
///
/// ```
/// use cotenant::placement::serving;
///
/// let reli = "reli".parse().unwrap();
/// assert_eq!(serving("prod", &reli, &["b"], None).unwrap().as_deref(), Some("b"));
/// assert!(serving("prod", &reli, &["a", "b"], None).is_err());
/// ```
pub fn serving(
    environment: &str,
    project: &ProjectName,
    found: &[&str],
    moving: Option<(&str, &MoveRecord)>,
) -> Result<Option<String>, PlacementError> {
    match (found, moving) {
        ([], _) => Ok(None),
        ([one], _) => Ok(Some((*one).to_owned())),
        ([_, _], Some((source, record)))
            if found.contains(&source) && found.contains(&record.target.as_str()) =>
        {
            Ok(Some(match record.serving() {
                Serving::Source => source.to_owned(),
                Serving::Target => record.target.clone(),
            }))
        }
        (several, _) => Err(PlacementError::Ambiguous {
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
        let mut moving = Vec::with_capacity(surveys.len());
        for survey in surveys {
            let recorded = survey.move_of(project);
            found.push(serving(
                survey.environment(),
                project,
                &survey.found(project),
                recorded,
            )?);
            moving.push(recorded.map(|(source, record)| Moving::of(source, record)));
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
            .zip(moving)
            .map(|((survey, found), moving)| Located {
                environment: survey.environment().to_owned(),
                found: found.is_some(),
                instance: found.unwrap_or_else(|| target.clone()),
                moving,
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
