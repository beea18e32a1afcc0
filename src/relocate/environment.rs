//! Relocation over environments: staging first, then prod, every environment planned before
//! any is changed.

use super::{RelocateError, Relocated, Relocation, RelocationPlan};
use crate::{Cotenant, Environment, ProjectName};

impl Environment {
    /// What relocating `project`'s objects here would do, with the dependency report, changing
    /// nothing.
    ///
    /// ```no_run
    /// # async fn run(env: &cotenant::Environment) -> Result<(), Box<dyn std::error::Error>> {
    /// use cotenant::relocate::{Relocation, Selection};
    ///
    /// let plan = env.plan_relocation(&"crm".parse()?, &Relocation::new(Selection::All)).await?;
    /// println!("{plan}");
    /// # Ok(()) }
    /// ```
    pub async fn plan_relocation(
        &self,
        project: &ProjectName,
        relocation: &Relocation,
    ) -> Result<RelocationPlan, RelocateError> {
        let client = self.routed_for(project).await?.connect_admin().await?;
        super::plan(
            &client,
            project,
            &self.relocation_with_platform(project, relocation),
        )
        .await
    }

    /// `relocation` with this environment's platform access of `project` unless it has its own.
    fn relocation_with_platform(
        &self,
        project: &ProjectName,
        relocation: &Relocation,
    ) -> Relocation {
        match relocation.get_platform() {
            Some(_) => relocation.clone(),
            None => relocation.clone().platform(
                self.platform_access(project),
                self.platform_allowlist().to_vec(),
            ),
        }
    }

    /// Relocates `project`'s objects here (see [`relocate`](super::relocate)).
    pub async fn relocate(
        &self,
        project: &ProjectName,
        relocation: &Relocation,
    ) -> Result<Relocated, RelocateError> {
        let mut client = self
            .routed_for_change(project)
            .await?
            .connect_admin()
            .await?;
        super::relocate(
            &mut client,
            project,
            &self.relocation_with_platform(project, relocation),
        )
        .await
    }
}

impl Cotenant {
    /// The relocation plan for `project` on every environment, changing nothing.
    pub async fn plan_relocation(
        &self,
        project: &ProjectName,
        relocation: &Relocation,
    ) -> Result<Vec<(String, RelocationPlan)>, RelocateError> {
        let mut plans = Vec::new();
        for env in self.environments() {
            let plan = env
                .plan_relocation(project, relocation)
                .await
                .map_err(|e| e.in_environment(env.name()))?;
            plans.push((env.name().to_owned(), plan));
        }
        Ok(plans)
    }

    /// Relocates `project`'s objects on every environment in promotion order (staging before
    /// prod).
    ///
    /// Every environment is planned first: when any of them is blocked, nothing is changed
    /// anywhere. Then each environment is relocated only after the one before it succeeded; the
    /// first failure stops the run, with the environment named.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use cotenant::{Cotenant, config::Config};
    /// use cotenant::relocate::{Relocation, Selection, Verification};
    ///
    /// let cotenant = Cotenant::open(Config::load("cotenant.toml")?).await?;
    /// let relocation = Relocation::new(Selection::All).verification(Verification::Checksums);
    /// for (environment, done) in cotenant.relocate(&"crm".parse()?, &relocation).await? {
    ///     println!("{environment}: {} object(s) moved", done.plan().moves().len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn relocate(
        &self,
        project: &ProjectName,
        relocation: &Relocation,
    ) -> Result<Vec<(String, Relocated)>, RelocateError> {
        for (environment, plan) in self.plan_relocation(project, relocation).await? {
            if plan.is_blocked() {
                return Err(RelocateError::Blocked {
                    project: project.clone(),
                    blockers: plan
                        .blockers()
                        .iter()
                        .filter(|b| !b.is_resolved())
                        .cloned()
                        .collect(),
                }
                .in_environment(&environment));
            }
        }
        let mut done = Vec::new();
        for env in self.environments() {
            let relocated = env
                .relocate(project, relocation)
                .await
                .map_err(|e| e.in_environment(env.name()))?;
            done.push((env.name().to_owned(), relocated));
        }
        Ok(done)
    }
}
