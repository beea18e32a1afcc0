//! Converging the fleet: the projects that need work, environment by environment in promotion
//! order, each in its own transaction under its advisory lock, some at once.

use std::error::Error;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};

use super::plan::{EnvironmentPlan, place, plan_environment, plan_placed};
use crate::declare::{Declarations, DeclareError};
use crate::provision::{DropObjects, Plan, ProvisionError};
use crate::{Cotenant, Environment, ProjectName};

/// The check `apply` runs on each environment after converging it, before going on to the
/// next: the audit's errors. An error stops the run; the environments after it are not touched.
///
/// ```no_run
/// use cotenant::declare::FinalCheck;
/// use cotenant::{Environment, ProjectName};
///
/// struct NoOp;
///
/// #[async_trait::async_trait]
/// impl FinalCheck for NoOp {
///     async fn check(
///         &self,
///         _environment: &Environment,
///         _projects: &[ProjectName],
///     ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait FinalCheck: Send + Sync {
    /// Checks `environment`, where `projects` (every declared project) were just converged.
    async fn check(
        &self,
        environment: &Environment,
        projects: &[ProjectName],
    ) -> Result<(), Box<dyn Error + Send + Sync>>;
}

/// Called once per project that needed work, as it finishes.
pub type ProgressHook = Arc<dyn Fn(&str, &ProjectResult) + Send + Sync>;

/// How [`apply`] runs.
///
/// ```
/// use cotenant::declare::ApplyOptions;
///
/// let options = ApplyOptions::default().concurrency(4);
/// assert_eq!(options.get_concurrency(), 4);
/// ```
#[derive(Clone)]
pub struct ApplyOptions {
    concurrency: usize,
    prune: Vec<ProjectName>,
    on_progress: Option<ProgressHook>,
    final_check: Option<Arc<dyn FinalCheck>>,
}

impl Default for ApplyOptions {
    /// Four projects at once, nothing pruned, no progress hook, no final check.
    fn default() -> Self {
        Self {
            concurrency: 4,
            prune: Vec::new(),
            on_progress: None,
            final_check: None,
        }
    }
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("concurrency", &self.concurrency)
            .field("prune", &self.prune)
            .field("on_progress", &self.on_progress.is_some())
            .field("final_check", &self.final_check.is_some())
            .finish()
    }
}

impl ApplyOptions {
    /// How many projects are provisioned at once (at least one): each holds one connection.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The number of projects provisioned at once.
    pub fn get_concurrency(&self) -> usize {
        self.concurrency
    }

    /// Drops `projects` — undeclared projects found on the instances — with their schema's
    /// objects and data, prod first, once every environment converged.
    ///
    /// ### Warning
    /// Naming a project here is the confirmation `deprovision --force <project>` asks for:
    /// its tables and their rows are dropped.
    pub fn dangerous_prune(mut self, projects: Vec<ProjectName>) -> Self {
        self.prune = projects;
        self
    }

    /// Calls `hook` with the environment's name and each result, as projects finish.
    pub fn on_progress(
        mut self,
        hook: impl Fn(&str, &ProjectResult) + Send + Sync + 'static,
    ) -> Self {
        self.on_progress = Some(Arc::new(hook));
        self
    }

    /// Runs `check` on each environment after it converged
    /// ([`AuditCheck`](crate::audit::AuditCheck) is the audit's); an error stops the run.
    pub fn final_check(mut self, check: Arc<dyn FinalCheck>) -> Self {
        self.final_check = Some(check);
        self
    }
}

/// What happened to one project that needed work.
#[derive(Debug)]
pub struct ProjectResult {
    /// The project.
    pub project: ProjectName,
    /// The plan it applied, or why it failed (its transaction rolled back).
    pub outcome: Result<Plan, ProvisionError>,
}

/// One environment's run: its plan, and the result of each project that needed work.
#[derive(Debug)]
pub struct EnvironmentReport {
    /// What was planned (from the catalog read before applying).
    pub plan: EnvironmentPlan,
    /// One result per project that needed work, in the order they finished.
    pub results: Vec<ProjectResult>,
}

impl EnvironmentReport {
    /// How many projects failed.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.is_err()).count()
    }
}

/// What pruning one project did: each environment's deprovisioning plan, or why it failed.
pub type PruneOutcome = Result<Vec<(String, Plan)>, ProvisionError>;

/// What [`apply`] did, environment by environment.
#[derive(Debug)]
pub struct ApplyReport {
    /// The environments run, in promotion order; one that failed is the last.
    pub environments: Vec<EnvironmentReport>,
    /// The environments not touched because one before them failed.
    pub not_run: Vec<String>,
    /// The projects pruned, with each environment's deprovisioning plan, or why it failed
    /// (the first failure stops pruning).
    pub pruned: Vec<(ProjectName, PruneOutcome)>,
}

impl ApplyReport {
    /// True when every project converged on every environment.
    pub fn is_success(&self) -> bool {
        self.not_run.is_empty()
            && self.environments.iter().all(|e| e.failed() == 0)
            && self.pruned.iter().all(|(_, r)| r.is_ok())
    }
}

/// Converges every declared project on every environment of `cotenant`, in promotion order.
///
/// On each environment: one catalog read plans every project; those that need work are
/// provisioned (secrets created where missing, then one transaction each under the project's
/// advisory lock), `concurrency` at a time; then the final check runs. A project that fails
/// does not stop the others on its environment, but the environments after it are not
/// touched. Interrupted (killed), a run leaves each project as it was or converged: running
/// again plans nothing for the converged ones and finishes the others.
pub async fn apply(
    cotenant: &Cotenant,
    declarations: &Declarations,
    options: &ApplyOptions,
) -> Result<ApplyReport, DeclareError> {
    for project in &options.prune {
        if declarations.get(project).is_some() {
            return Err(DeclareError::PruneDeclared {
                project: project.clone(),
            });
        }
    }
    // A name to prune that no environment has is bad input: refused before anything changes.
    if !options.prune.is_empty() {
        let mut found: Vec<String> = Vec::new();
        for env in cotenant.environments() {
            found.extend_from_slice(plan_environment(env, declarations).await?.undeclared());
        }
        if let Some(project) = options
            .prune
            .iter()
            .find(|p| !found.iter().any(|f| f == p.as_str()))
        {
            return Err(DeclareError::PruneNotFound {
                project: project.clone(),
            });
        }
    }
    let projects: Vec<ProjectName> = declarations.names().cloned().collect();
    let mut report = ApplyReport {
        environments: Vec::new(),
        not_run: Vec::new(),
        pruned: Vec::new(),
    };
    // Where projects not provisioned yet go is decided once, on the whole fleet before anything
    // changes: staging then mirrors what prod will get.
    let placements = if cotenant.fleet().iter().any(|e| e.config().has_instances()) {
        let surveys = cotenant.survey(&projects).await?;
        place(&surveys, cotenant, declarations)?
    } else {
        Vec::new()
    };
    let mut stopped = false;
    for env in cotenant.environments() {
        if stopped {
            report.not_run.push(env.name().to_owned());
            continue;
        }
        let plan = if env.config().has_instances() {
            plan_placed(env, declarations, &placements).await?
        } else {
            plan_environment(env, declarations).await?
        };
        let results = converge(env, declarations, &plan, options).await;
        let environment = EnvironmentReport { plan, results };
        stopped = environment.failed() > 0;
        report.environments.push(environment);
        if !stopped && let Some(check) = &options.final_check {
            check
                .check(env, &projects)
                .await
                .map_err(|e| DeclareError::FinalCheck {
                    environment: env.name().to_owned(),
                    message: crate::error_chain(e.as_ref()),
                })?;
        }
    }
    if stopped {
        return Ok(report);
    }
    for project in &options.prune {
        let confirmed = DropObjects::Confirmed(project.as_str().to_owned());
        let result = cotenant.deprovision(project, &confirmed).await;
        let failed = result.is_err();
        report.pruned.push((project.clone(), result));
        if failed {
            break;
        }
    }
    Ok(report)
}

/// Provisions the projects of `plan` that need work on `env`, `concurrency` at once.
///
/// Two projects' plans can share a statement — a membership between their roles is in both —
/// and the same catalog row changed by two transactions at once fails one of them ("tuple
/// concurrently deleted"). So a project that fails is tried once more, alone, after the others:
/// its transaction plans again and finds the row gone. Its second outcome is the result.
async fn converge(
    env: &Environment,
    declarations: &Declarations,
    plan: &EnvironmentPlan,
    options: &ApplyOptions,
) -> Vec<ProjectResult> {
    let instance_of = |project: &ProjectName| {
        plan.projects()
            .iter()
            .find(|p| p.project() == project)
            .and_then(|p| p.instance())
    };
    let provision = |project: ProjectName| async move {
        let settings = declarations.settings_of(&project);
        let outcome = match instance_of(&project) {
            Some(instance) => match env.on(instance) {
                Ok(on) => on.provision(&project, &settings).await,
                Err(e) => Err(e.into()),
            },
            None => env.provision(&project, &settings).await,
        };
        ProjectResult { project, outcome }
    };
    let report = |result: &ProjectResult| {
        if let Some(hook) = &options.on_progress {
            hook(env.name(), result);
        }
    };
    let work: Vec<ProjectName> = plan.to_do().map(|p| p.project().clone()).collect();
    let first: Vec<ProjectResult> = stream::iter(work)
        .map(|project| async move {
            let result = provision(project).await;
            if result.outcome.is_ok() {
                report(&result);
            }
            result
        })
        .buffer_unordered(options.concurrency)
        .collect()
        .await;
    let mut results = Vec::with_capacity(first.len());
    let mut failed = Vec::new();
    for result in first {
        if result.outcome.is_ok() {
            results.push(result);
        } else {
            failed.push(result.project);
        }
    }
    failed.sort();
    for project in failed {
        tracing::debug!(target: "cotenant::declare", %project, "trying again alone");
        let result = provision(project).await;
        report(&result);
        results.push(result);
    }
    results
}
