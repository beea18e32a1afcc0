//! One catalog read per instance of an environment: which projects each has, and its load.

use futures_util::future::try_join_all;

use super::{InstanceLoad, PlacementError};
use crate::provision::FleetState;
use crate::transfer::{self, MoveRecord};
use crate::{Environment, ProjectName};

/// One instance as a survey read it.
#[derive(Debug, Clone)]
pub struct InstanceSurvey {
    environment: Environment,
    state: FleetState,
    load: InstanceLoad,
    /// The moves recorded here, of the projects asked about: this instance is their source.
    moves: Vec<MoveRecord>,
}

impl InstanceSurvey {
    /// The instance's name.
    pub fn instance(&self) -> &str {
        self.environment.instance()
    }

    /// The environment seen on this instance: what to provision or plan there with.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The catalog of the projects the survey was asked about, and the projects found there.
    pub fn state(&self) -> &FleetState {
        &self.state
    }

    /// The instance's load when it was read.
    pub fn load(&self) -> &InstanceLoad {
        &self.load
    }

    /// The moves of the projects asked about whose source is this instance (the state table
    /// `cotenant_transfer.moves` here).
    pub fn moves(&self) -> &[MoveRecord] {
        &self.moves
    }

    /// Whether the instance has `project`'s schema (owned by its owner role).
    pub fn has(&self, project: &ProjectName) -> bool {
        self.state
            .found_projects()
            .binary_search_by(|p| p.as_str().cmp(project.as_str()))
            .is_ok()
    }
}

/// Every instance of one environment, each read once.
#[derive(Debug, Clone)]
pub struct EnvironmentSurvey {
    environment: String,
    instances: Vec<InstanceSurvey>,
}

impl EnvironmentSurvey {
    /// Reads every instance of `environment` (at once, one admin connection each): the catalog
    /// of `projects` (one [`FleetState`] read), the instance's load, and the moves of `projects`
    /// it records as their source (one read of `cotenant_transfer.moves`).
    ///
    /// ```no_run
    /// # async fn run(prod: &cotenant::Environment) -> Result<(), cotenant::placement::PlacementError> {
    /// use cotenant::placement::EnvironmentSurvey;
    ///
    /// let reli = "reli".parse().unwrap();
    /// let survey = EnvironmentSurvey::read(prod, &[reli]).await?;
    /// for instance in survey.instances() {
    ///     println!("{}: {} project(s)", instance.instance(), instance.load().projects);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn read(
        environment: &Environment,
        projects: &[ProjectName],
    ) -> Result<Self, PlacementError> {
        let instances = try_join_all(environment.instances().into_iter().map(|env| async move {
            let at = |env: &Environment| (env.name().to_owned(), env.instance().to_owned());
            let client = env.connect_admin().await.map_err(|source| {
                let (environment, instance) = at(&env);
                PlacementError::Connect {
                    environment,
                    instance,
                    source: Box::new(source),
                }
            })?;
            let state = FleetState::read(&client, projects)
                .await
                .map_err(|source| {
                    let (environment, instance) = at(&env);
                    PlacementError::Catalog {
                        environment,
                        instance,
                        source: Box::new(source),
                    }
                })?;
            let load = InstanceLoad::read(&client, env.instance(), state.found_projects().len())
                .await
                .map_err(|source| {
                    let (environment, instance) = at(&env);
                    PlacementError::Load {
                        environment,
                        instance,
                        source,
                    }
                })?;
            let moves = transfer::moves(&client, projects).await.map_err(|source| {
                let (environment, instance) = at(&env);
                PlacementError::Moves {
                    environment,
                    instance,
                    source: Box::new(source),
                }
            })?;
            Ok::<_, PlacementError>(InstanceSurvey {
                environment: env,
                state,
                load,
                moves,
            })
        }))
        .await?;
        Ok(Self {
            environment: environment.name().to_owned(),
            instances,
        })
    }

    /// The environment's name.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// Every instance, sorted by name.
    pub fn instances(&self) -> &[InstanceSurvey] {
        &self.instances
    }

    /// The instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&InstanceSurvey> {
        self.instances.iter().find(|i| i.instance() == name)
    }

    /// The instances that have `project`'s schema, sorted by name.
    pub fn found(&self, project: &ProjectName) -> Vec<&str> {
        self.instances
            .iter()
            .filter(|i| i.has(project))
            .map(InstanceSurvey::instance)
            .collect()
    }

    /// The recorded move of `project`, with the instance that records it (its source), if any.
    pub fn move_of(&self, project: &ProjectName) -> Option<(&str, &MoveRecord)> {
        self.instances.iter().find_map(|i| {
            i.moves
                .iter()
                .find(|m| m.project == *project)
                .map(|m| (i.instance(), m))
        })
    }

    /// Every instance's load, sorted by instance name.
    pub fn loads(&self) -> Vec<InstanceLoad> {
        self.instances.iter().map(|i| i.load.clone()).collect()
    }

    /// The projects found on any instance, sorted, each once.
    pub fn found_projects(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .instances
            .iter()
            .flat_map(|i| i.state.found_projects().iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}
