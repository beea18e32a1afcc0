//! Routing by placement: an environment seen on one of its instances, and a [`Cotenant`] whose
//! environments are each seen on a project's instance.

use super::{ConnectError, Cotenant, Environment};
use crate::ProjectName;
use crate::placement::{
    self, EnvironmentSurvey, Located, Placement, PlacementConfig, PlacementError,
};

impl Environment {
    /// The name of the instance this value connects to (`main` for a single-instance
    /// environment unless its `instance = "…"` names it).
    pub fn instance(&self) -> &str {
        &self.config.instance
    }

    /// The same environment seen on its instance `instance`: what to provision, migrate or pool
    /// a project placed there with.
    ///
    /// ```no_run
    /// # fn run(prod: &cotenant::Environment) -> Result<(), cotenant::placement::PlacementError> {
    /// let on_b = prod.on("b")?;
    /// assert_eq!(on_b.instance(), "b");
    /// # Ok(()) }
    /// ```
    pub fn on(&self, instance: &str) -> Result<Environment, PlacementError> {
        let config = self
            .config
            .on(instance)
            .ok_or_else(|| PlacementError::UnknownInstance {
                environment: self.name().to_owned(),
                instance: instance.to_owned(),
                known: self.config.instance_names().map(str::to_owned).collect(),
            })?;
        let mut env = self.clone();
        env.config = config;
        env.pinned = true;
        Ok(env)
    }

    /// The environment seen on each of its instances, sorted by name.
    pub fn instances(&self) -> Vec<Environment> {
        self.config
            .instance_names()
            .map(|name| self.on(name).expect("the environment's own instance"))
            .collect()
    }

    /// This environment seen on `project`'s instance: where its schema is; when it is on none,
    /// its declared instance, else the one the placement rule picks here. An environment with
    /// one instance, or already seen on a chosen one, is returned as it is, without a read.
    ///
    /// Every method of `Environment` about one project resolves it so, at the cost of one
    /// catalog read per instance; [`Cotenant::route`] resolves a project on every environment at
    /// once and mirrors prod's placement for a project not provisioned yet.
    pub async fn for_project(&self, project: &ProjectName) -> Result<Environment, PlacementError> {
        self.routed(project, false).await
    }

    /// [`for_project`](Self::for_project) for a command that changes the project: refused with
    /// [`PlacementError::Moving`] while a move of it is in progress (see
    /// [`Placement::refuse_changes`]). An environment already seen on a chosen instance is
    /// returned as it is: whoever chose it (the move itself, provisioning its target) knows.
    pub async fn for_change(&self, project: &ProjectName) -> Result<Environment, PlacementError> {
        self.routed(project, true).await
    }

    /// This environment on `project`'s instance, from one survey of the environment; with
    /// `for_change`, refused while a move of the project is in progress.
    async fn routed(
        &self,
        project: &ProjectName,
        for_change: bool,
    ) -> Result<Environment, PlacementError> {
        if self.is_routed() {
            return Ok(self.clone());
        }
        let survey = EnvironmentSurvey::read(self, std::slice::from_ref(project)).await?;
        let placement = placement::decide(
            std::slice::from_ref(&survey),
            &self.placement,
            &[(project.clone(), 0)],
        )?;
        if for_change {
            placement[0].refuse_changes()?;
        }
        let instance = placement[0]
            .instance_on(self.name())
            .expect("a placement on the environment surveyed");
        self.on(instance)
    }

    /// [`for_change`](Self::for_change), its error as a connection error.
    pub(crate) async fn routed_for_change(
        &self,
        project: &ProjectName,
    ) -> Result<Environment, crate::connect::ConnectError> {
        self.for_change(project)
            .await
            .map_err(|e| crate::connect::ConnectError::Placement(Box::new(e)))
    }

    /// [`for_project`](Self::for_project), its error as a connection error.
    pub(crate) async fn routed_for(
        &self,
        project: &ProjectName,
    ) -> Result<Environment, crate::connect::ConnectError> {
        self.for_project(project)
            .await
            .map_err(|e| crate::connect::ConnectError::Placement(Box::new(e)))
    }

    /// The placement rule and declared instances it was configured with.
    pub fn placement_config(&self) -> &PlacementConfig {
        &self.placement
    }

    /// What a read over the whole environment covers: the instance chosen, or every instance.
    pub(crate) fn instances_to_read(&self) -> Vec<Environment> {
        if self.pinned {
            vec![self.clone()]
        } else {
            self.instances()
        }
    }

    /// Which instance has which project, read when `needed` (a read over several instances that
    /// must attribute projects to them).
    pub(crate) async fn survey_if(
        &self,
        needed: bool,
    ) -> Result<Option<EnvironmentSurvey>, ConnectError> {
        if !needed {
            return Ok(None);
        }
        EnvironmentSurvey::read(self, &[])
            .await
            .map(Some)
            .map_err(|e| ConnectError::Placement(Box::new(e)))
    }

    /// True when it has one instance, or the instance it is seen on was chosen: nothing to
    /// route.
    pub(crate) fn is_routed(&self) -> bool {
        self.pinned || !self.config.has_instances()
    }
}

impl Cotenant {
    pub(super) fn map_environments(mut self, f: impl Fn(Environment) -> Environment) -> Self {
        self.environments = self.environments.into_iter().map(&f).collect();
        self.fleet = self.fleet.into_iter().map(&f).collect();
        self
    }

    /// With `placement` as the rule and the declared instances (the configuration's
    /// `[placement]` and `[projects.<p>] instance`).
    pub fn with_placement(mut self, placement: PlacementConfig) -> Self {
        let placement = std::sync::Arc::new(placement);
        self.placement = placement.clone();
        self.map_environments(|mut e| {
            e.placement = placement.clone();
            e
        })
    }

    /// The placement rule and the declared instances.
    pub fn placement_config(&self) -> &PlacementConfig {
        &self.placement
    }

    /// Every configured environment, in promotion order, whatever [`select`](Self::select) kept.
    pub fn fleet(&self) -> &[Environment] {
        &self.fleet
    }

    /// Reads every instance of every configured environment for `projects` (one catalog read
    /// per instance), in promotion order.
    pub async fn survey(
        &self,
        projects: &[ProjectName],
    ) -> Result<Vec<EnvironmentSurvey>, PlacementError> {
        let mut surveys = Vec::with_capacity(self.fleet.len());
        for env in &self.fleet {
            surveys.push(EnvironmentSurvey::read(env, projects).await?);
        }
        Ok(surveys)
    }

    /// Where `project` is (or goes) on every environment selected, in promotion order (see
    /// [`placement`](crate::placement)). With one instance per environment nothing is read.
    pub async fn placement(&self, project: &ProjectName) -> Result<Placement, PlacementError> {
        let declared = self.placement.declared(project).map(str::to_owned);
        if self.fleet.iter().all(|e| !e.config.has_instances()) {
            return Ok(Placement {
                project: project.clone(),
                declared,
                environments: self
                    .environments
                    .iter()
                    .map(|e| Located {
                        environment: e.name().to_owned(),
                        instance: e.instance().to_owned(),
                        found: false,
                        moving: None,
                    })
                    .collect(),
            });
        }
        let surveys = self.survey(std::slice::from_ref(project)).await?;
        let mut placement = placement::decide(&surveys, &self.placement, &[(project.clone(), 0)])?
            .pop()
            .expect("one placement per project");
        placement
            .environments
            .retain(|l| self.environments.iter().any(|e| e.name() == l.environment));
        Ok(placement)
    }

    /// The selected environments, each seen on `project`'s instance there: what a command about
    /// one project runs on. Environments already seen on a chosen instance stay on it.
    pub async fn route(&self, project: &ProjectName) -> Result<Cotenant, PlacementError> {
        if self.environments.iter().all(Environment::is_routed) {
            return Ok(self.clone());
        }
        let placement = self.placement(project).await?;
        self.route_to(&placement)
    }

    /// [`route`](Self::route) for a command that changes the project: refused with
    /// [`PlacementError::Moving`] while a move of it is in progress on any environment.
    pub async fn route_for_change(
        &self,
        project: &ProjectName,
    ) -> Result<Cotenant, PlacementError> {
        if self.environments.iter().all(Environment::is_routed) {
            return Ok(self.clone());
        }
        let placement = self.placement(project).await?;
        placement.refuse_changes()?;
        self.route_to(&placement)
    }

    /// The selected environments, each seen on the instance `placement` names for it.
    pub fn route_to(&self, placement: &Placement) -> Result<Cotenant, PlacementError> {
        let mut routed = self.clone();
        routed.environments = self
            .environments
            .iter()
            .map(|env| match placement.instance_on(env.name()) {
                Some(instance) if !env.pinned => env.on(instance),
                _ => Ok(env.clone()),
            })
            .collect::<Result<_, _>>()?;
        Ok(routed)
    }
}
