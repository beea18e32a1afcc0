//! The fleet's plan: per environment, per declared project, its provisioning plan and what
//! drifted, computed from one catalog read per environment.

use std::fmt;

use crate::declare::{Declarations, DeclareError};
use crate::placement::{self, EnvironmentSurvey, Placement, PlacementDrift};
use crate::provision::{FleetState, LoginLimits, Plan, ProjectSettings, Step};
use crate::{Cotenant, Environment, ProjectName, platform};

/// A setting of a login that differs from its declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDrift {
    /// The login: `<p>_login` or `<p>_migrator`.
    pub role: String,
    /// The setting as declarations name it: `connection_limit`, `statement_timeout`,
    /// `idle_in_transaction_timeout`.
    pub setting: &'static str,
    /// The declared value (`20`, `30s`, `off`).
    pub declared: String,
    /// The value found on the instance.
    pub found: String,
}

impl fmt::Display for SettingDrift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of `{}`: declared {}, found {}",
            self.setting, self.role, self.declared, self.found
        )
    }
}

/// One declared project on one environment: what provisioning it would change.
#[derive(Debug, Clone)]
pub struct ProjectPlan {
    instance: Option<String>,
    exists: bool,
    drift: Vec<SettingDrift>,
    plan: Plan,
}

impl ProjectPlan {
    /// The project.
    pub fn project(&self) -> &ProjectName {
        self.plan.project()
    }

    /// The instance the project is on (or is created on), on an environment with several
    /// instances; `None` with one.
    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    /// False when the project is not on the instance yet: the plan creates it.
    pub fn exists(&self) -> bool {
        self.exists
    }

    /// The settings that differ from the declaration.
    pub fn drift(&self) -> &[SettingDrift] {
        &self.drift
    }

    /// The provisioning plan: every statement, grants and memberships missing or extra
    /// included, each with why it is needed.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// True when nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.plan.is_empty()
    }

    /// The plan's steps that grant something missing (`GRANT …`).
    pub fn missing_grants(&self) -> impl Iterator<Item = &Step> {
        self.plan.steps().filter(|s| s.sql().starts_with("GRANT "))
    }

    /// The plan's steps that take away something extra (`REVOKE …`).
    pub fn extra_grants(&self) -> impl Iterator<Item = &Step> {
        self.plan.steps().filter(|s| s.sql().starts_with("REVOKE "))
    }
}

/// Every declared project on one environment, and the projects found there but not declared.
#[derive(Debug, Clone)]
pub struct EnvironmentPlan {
    environment: String,
    projects: Vec<ProjectPlan>,
    undeclared: Vec<String>,
    placement_drift: Vec<PlacementDrift>,
}

impl EnvironmentPlan {
    /// The environment's name.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// Every declared project's plan, sorted by name.
    pub fn projects(&self) -> &[ProjectPlan] {
        &self.projects
    }

    /// The plans that change something.
    pub fn to_do(&self) -> impl Iterator<Item = &ProjectPlan> {
        self.projects.iter().filter(|p| !p.is_empty())
    }

    /// Projects on the instance (a schema `x` owned by `x_owner`) that are not declared:
    /// reported, never dropped unless pruned by name.
    pub fn undeclared(&self) -> &[String] {
        &self.undeclared
    }

    /// Declared projects found on another instance than the declared one: reported, never
    /// moved by `apply` (`cotenant move` does).
    pub fn placement_drift(&self) -> &[PlacementDrift] {
        &self.placement_drift
    }

    /// True when no declared project needs a change (undeclared ones may remain).
    pub fn is_empty(&self) -> bool {
        self.to_do().next().is_none()
    }
}

/// The plan of the whole fleet: every environment, in promotion order.
#[derive(Debug, Clone)]
pub struct FleetPlan {
    environments: Vec<EnvironmentPlan>,
}

impl FleetPlan {
    /// The environments' plans, in promotion order.
    pub fn environments(&self) -> &[EnvironmentPlan] {
        &self.environments
    }

    /// True when no declared project needs a change anywhere.
    pub fn is_empty(&self) -> bool {
        self.environments.iter().all(EnvironmentPlan::is_empty)
    }
}

/// Plans every declared project on every environment, changing nothing: one catalog read
/// per environment, then each project's plan computed in memory.
pub async fn plan(
    cotenant: &Cotenant,
    declarations: &Declarations,
) -> Result<FleetPlan, DeclareError> {
    let mut environments = Vec::new();
    if cotenant.fleet().iter().all(|e| !e.config().has_instances()) {
        for env in cotenant.environments() {
            environments.push(plan_environment(env, declarations).await?);
        }
        return Ok(FleetPlan { environments });
    }
    let names: Vec<ProjectName> = declarations.names().cloned().collect();
    let surveys = cotenant.survey(&names).await?;
    let placements = place(&surveys, cotenant, declarations)?;
    for env in cotenant.environments() {
        let survey = surveys
            .iter()
            .find(|s| s.environment() == env.name())
            .expect("a survey of every environment");
        environments.push(plan_surveyed(env, survey, declarations, &placements).await?);
    }
    Ok(FleetPlan { environments })
}

/// Every declared project's placement on the fleet `surveys` read, each reserving its logins'
/// connection limits where the rule puts it.
pub(crate) fn place(
    surveys: &[EnvironmentSurvey],
    cotenant: &Cotenant,
    declarations: &Declarations,
) -> Result<Vec<Placement>, placement::PlacementError> {
    let projects: Vec<(ProjectName, i64)> = declarations
        .names()
        .map(|p| {
            let settings = declarations.settings_of(p);
            let reserve = i64::from(settings.login.connection_limit)
                + i64::from(settings.migrator.connection_limit);
            (p.clone(), reserve)
        })
        .collect();
    placement::decide(surveys, cotenant.placement_config(), &projects)
}

/// Plans every declared project on `env`, which has several instances, from a fresh survey of
/// them; projects not found on any go where `placements` put them.
pub(crate) async fn plan_placed(
    env: &Environment,
    declarations: &Declarations,
    placements: &[Placement],
) -> Result<EnvironmentPlan, DeclareError> {
    let names: Vec<ProjectName> = declarations.names().cloned().collect();
    let survey = EnvironmentSurvey::read(env, &names).await?;
    plan_surveyed(env, &survey, declarations, placements).await
}

/// Plans every declared project on the instances `survey` read of `env`: each on the instance
/// that has it, else on the one `placements` give it.
async fn plan_surveyed(
    env: &Environment,
    survey: &EnvironmentSurvey,
    declarations: &Declarations,
    placements: &[Placement],
) -> Result<EnvironmentPlan, DeclareError> {
    let environment = env.name().to_owned();
    let mut projects = Vec::new();
    let mut placement_drift = Vec::new();
    let mut clients = std::collections::HashMap::new();
    for project in declarations.names() {
        let recorded = survey.move_of(project);
        if let Some((source, record)) = recorded {
            let moving = placement::Moving::of(source, record);
            if moving.in_progress() {
                return Err(placement::PlacementError::Moving {
                    project: project.clone(),
                    environment: environment.clone(),
                    source_instance: moving.source,
                    target: moving.target,
                    step: moving.step,
                }
                .into());
            }
        }
        let found = placement::serving(&environment, project, &survey.found(project), recorded)?;
        let placed = placements.iter().find(|p| p.project == *project);
        let instance = match (&found, placed.and_then(|p| p.instance_on(&environment))) {
            (Some(found), _) => found.clone(),
            (None, Some(target)) => target.to_owned(),
            (None, None) => survey.instances()[0].instance().to_owned(),
        };
        if let (Some(found), Some(declared)) = (&found, declarations_instance(placed))
            && found != declared
        {
            placement_drift.push(PlacementDrift {
                project: project.clone(),
                environment: environment.clone(),
                declared: declared.to_owned(),
                found: found.clone(),
            });
        }
        let on = survey.instance(&instance).ok_or_else(|| {
            placement::PlacementError::UnknownInstance {
                environment: environment.clone(),
                instance: instance.clone(),
                known: survey
                    .instances()
                    .iter()
                    .map(|i| i.instance().to_owned())
                    .collect(),
            }
        })?;
        let access = env.platform_access(project);
        let client = if access.any() {
            if !clients.contains_key(&instance) {
                let client = on.environment().connect_admin().await.map_err(|source| {
                    DeclareError::Connect {
                        environment: environment.clone(),
                        source,
                    }
                })?;
                clients.insert(instance.clone(), client);
            }
            clients.get(&instance)
        } else {
            None
        };
        let mut plan = project_plan(env, client, on.state(), project, declarations).await?;
        plan.instance = Some(instance);
        projects.push(plan);
    }
    let undeclared = survey
        .found_projects()
        .into_iter()
        .filter(|name| {
            name.parse::<ProjectName>()
                .map_or(true, |p| declarations.get(&p).is_none())
        })
        .collect();
    Ok(EnvironmentPlan {
        environment,
        projects,
        undeclared,
        placement_drift,
    })
}

fn declarations_instance(placement: Option<&Placement>) -> Option<&str> {
    placement.and_then(|p| p.declared.as_deref())
}

/// One declared project's plan from `state`, with its platform part read through `client` when
/// its declaration gives it platform access.
async fn project_plan(
    env: &Environment,
    client: Option<&tokio_postgres::Client>,
    state: &FleetState,
    project: &ProjectName,
    declarations: &Declarations,
) -> Result<ProjectPlan, DeclareError> {
    let settings = declarations.settings_of(project);
    let mut plan = state.plan(project, &settings);
    if let Some(client) = client {
        let platform = platform::plan(
            client,
            project,
            &env.platform_access(project),
            env.platform_config().allowed_extensions(),
        )
        .await
        .map_err(|source| DeclareError::Platform {
            environment: env.name().to_owned(),
            source,
        })?;
        plan = plan.with_platform(platform);
    }
    let drift = state
        .settings_of(project)
        .map(|found| drift(project, &settings, &found))
        .unwrap_or_default();
    Ok(ProjectPlan {
        instance: None,
        exists: state.exists(project),
        drift,
        plan,
    })
}

/// Plans every declared project on `env`, changing nothing.
///
/// The provisioning part of every project comes from one read of the catalog. A project whose
/// declaration gives it platform access gets its platform part planned too, with a read of its
/// own: what a project may use of the shared Supabase schemas is converged by
/// [`provision`](crate::Environment::provision) and by `cotenant platform`.
pub async fn plan_environment(
    env: &Environment,
    declarations: &Declarations,
) -> Result<EnvironmentPlan, DeclareError> {
    if env.config().has_instances() {
        let names: Vec<ProjectName> = declarations.names().cloned().collect();
        let survey = EnvironmentSurvey::read(env, &names).await?;
        let placements = placement::decide(
            std::slice::from_ref(&survey),
            env.placement_config(),
            &names.iter().map(|p| (p.clone(), 0)).collect::<Vec<_>>(),
        )?;
        return plan_surveyed(env, &survey, declarations, &placements).await;
    }
    let environment = env.name().to_owned();
    let client = env
        .connect_admin()
        .await
        .map_err(|source| DeclareError::Connect {
            environment: environment.clone(),
            source,
        })?;
    let names: Vec<ProjectName> = declarations.names().cloned().collect();
    let state =
        FleetState::read(&client, &names)
            .await
            .map_err(|source| DeclareError::Catalog {
                environment: environment.clone(),
                source,
            })?;
    let mut projects = Vec::with_capacity(names.len());
    for project in &names {
        let client = env.platform_access(project).any().then_some(&client);
        projects.push(project_plan(env, client, &state, project, declarations).await?);
    }
    let undeclared = state
        .found_projects()
        .iter()
        .filter(|name| {
            name.parse::<ProjectName>()
                .map_or(true, |p| declarations.get(&p).is_none())
        })
        .cloned()
        .collect();
    Ok(EnvironmentPlan {
        environment,
        projects,
        undeclared,
        placement_drift: Vec::new(),
    })
}

/// The settings of `found` that differ from `declared`.
fn drift(
    project: &ProjectName,
    declared: &ProjectSettings,
    found: &ProjectSettings,
) -> Vec<SettingDrift> {
    let roles = project.roles();
    let mut out = Vec::new();
    for (role, declared, found) in [
        (roles.login, declared.login, found.login),
        (roles.migrator, declared.migrator, found.migrator),
    ] {
        for (setting, d, f) in limits_as_text(declared)
            .into_iter()
            .zip(limits_as_text(found))
            .map(|((name, d), (_, f))| (name, d, f))
        {
            if d != f {
                out.push(SettingDrift {
                    role: role.clone(),
                    setting,
                    declared: d,
                    found: f,
                });
            }
        }
    }
    out
}

/// A login's limits as declarations write them.
fn limits_as_text(limits: LoginLimits) -> [(&'static str, String); 3] {
    let timeout = |t: Option<std::time::Duration>| match t {
        None => "off".to_owned(),
        Some(d) => humantime_serde::re::humantime::format_duration(d).to_string(),
    };
    [
        ("connection_limit", limits.connection_limit.to_string()),
        ("statement_timeout", timeout(limits.statement_timeout)),
        (
            "idle_in_transaction_timeout",
            timeout(limits.idle_in_transaction_timeout),
        ),
    ]
}

impl fmt::Display for EnvironmentPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let create = self.to_do().filter(|p| !p.exists()).count();
        let change = self.to_do().filter(|p| p.exists()).count();
        let current = self.projects.len() - create - change;
        writeln!(
            f,
            "{}: {} declared project(s): {create} to create, {change} to change, {current} up to date; {} undeclared",
            self.environment,
            self.projects.len(),
            self.undeclared.len()
        )?;
        for p in self.to_do() {
            let project = p.project();
            let on = p.instance().map(|i| format!(" on {i}")).unwrap_or_default();
            if p.exists() {
                writeln!(f, "  ~ {project}{on}: {} statement(s)", p.plan().len())?;
            } else {
                writeln!(
                    f,
                    "  + {project}: create{on} ({} statement(s))",
                    p.plan().len()
                )?;
                continue;
            }
            for d in p.drift() {
                writeln!(f, "      drifted: {d}")?;
            }
            for step in p.plan().steps() {
                writeln!(f, "      - {}\n          {}", step.why(), step.sql())?;
            }
        }
        for drift in &self.placement_drift {
            writeln!(f, "  ! {drift}")?;
        }
        for name in &self.undeclared {
            writeln!(
                f,
                "  ? {name}: on the instance but not declared: kept (`--prune {name}` drops it)"
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for FleetPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for env in &self.environments {
            write!(f, "{env}")?;
        }
        Ok(())
    }
}
