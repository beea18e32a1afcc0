//! Deprovisioning: drop a project's schema, objects and roles, and nothing else.

use tokio_postgres::Client;

use super::ProvisionError;
use super::plan::{Actor, Plan, Step};
use super::state::ProjectState;
use super::steward;
use crate::ProjectName;
use crate::ident::quote_ident;
use crate::lock::LockKey;

/// Whether deprovisioning may drop a schema that still holds objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropObjects {
    /// Refuse while the schema holds objects.
    Refuse,
    /// Drop them: the project's name typed again, as a confirmation that must match.
    Confirmed(String),
}

/// Returns what deprovisioning `project` would drop, changing nothing.
pub async fn plan_deprovision(
    client: &Client,
    project: &ProjectName,
) -> Result<Plan, ProvisionError> {
    let state = ProjectState::read(client, project, &steward::for_project(project)).await?;
    Ok(compute(&state, project))
}

/// Drops `project`'s schema with everything in it, its roles (rotation twins included) and their CONNECT grants, in
/// one transaction under the project's lock. Refuses while the schema holds objects unless
/// `drop_objects` confirms with the project's name. Returns the plan that was applied.
pub async fn deprovision(
    client: &mut Client,
    project: &ProjectName,
    drop_objects: &DropObjects,
) -> Result<Plan, ProvisionError> {
    if let DropObjects::Confirmed(typed) = drop_objects
        && typed != project.as_str()
    {
        return Err(ProvisionError::ConfirmationMismatch {
            project: project.clone(),
            typed: typed.clone(),
        });
    }
    let failed = |source| ProvisionError::Apply {
        project: project.clone(),
        source,
    };
    let tx = client.transaction().await.map_err(failed)?;
    LockKey::provision(project)
        .lock(&tx)
        .await
        .map_err(failed)?;
    let state = ProjectState::read(&tx, project, &steward::for_project(project)).await?;
    if !state.objects.is_empty() && *drop_objects == DropObjects::Refuse {
        return Err(ProvisionError::SchemaNotEmpty {
            project: project.clone(),
            objects: state.objects.clone(),
        });
    }
    let plan = compute(&state, project);
    if plan.is_empty() {
        return Ok(plan);
    }
    tx.batch_execute(&plan.project_sql(|_| String::new()))
        .await
        .map_err(failed)?;
    LockKey::instance().lock(&tx).await.map_err(failed)?;
    tx.batch_execute(&plan.instance_sql())
        .await
        .map_err(failed)?;
    let after = ProjectState::read(&tx, project, &steward::for_project(project)).await?;
    let left = compute(&after, project);
    if !left.is_empty() {
        return Err(ProvisionError::NotConverged {
            project: project.clone(),
            left: left.steps().map(|s| s.why().to_owned()).collect(),
        });
    }
    tx.commit().await.map_err(failed)?;
    Ok(plan)
}

fn compute(state: &ProjectState, project: &ProjectName) -> Plan {
    let roles = project.roles();
    let steward = steward::for_project(project);
    let owner = quote_ident(&roles.owner);
    let owner_exists = state.role(&roles.owner).is_some();
    let mut steps = Vec::new();
    if owner_exists {
        // The owner drops what it owns — the schema, its objects, its default privileges — so
        // nothing of another role can be caught up in it.
        steps.push(Step::new(
            Actor::Steward,
            format!(
                "GRANT {owner} TO {}{}",
                quote_ident(&steward),
                if state.has_grant_options() {
                    " WITH INHERIT FALSE, SET TRUE"
                } else {
                    ""
                }
            ),
            format!("act as `{}` for this transaction", roles.owner),
        ));
        steps.push(Step::new(
            Actor::Owner,
            format!("DROP OWNED BY {owner}"),
            match state.objects.len() {
                0 => format!("drop schema `{project}` and the default privileges of `{}`", roles.owner),
                n => format!("drop schema `{project}` with its {n} object(s) and the default privileges of `{}`", roles.owner),
            },
        ));
    } else if state.schema.is_some() {
        steps.push(Step::new(
            Actor::Admin,
            format!("DROP SCHEMA {} CASCADE", quote_ident(project.as_str())),
            format!("drop schema `{project}`"),
        ));
    }
    let mut instance_steps = Vec::new();
    if !state.instance.can_connect.is_empty() {
        let names: Vec<String> = state
            .instance
            .can_connect
            .iter()
            .map(|l| quote_ident(l))
            .collect();
        instance_steps.push(Step::new(
            Actor::Admin,
            format!(
                "REVOKE CONNECT ON DATABASE {} FROM {}",
                quote_ident(&state.database),
                names.join(", ")
            ),
            "the project's logins lose CONNECT before they are dropped",
        ));
    }
    for name in [
        &roles.login,
        &roles.login_clone,
        &roles.migrator,
        &roles.migrator_clone,
        &roles.app,
        &roles.owner,
    ] {
        if state.role(name).is_some() {
            instance_steps.push(Step::new(
                Actor::Steward,
                format!("DROP ROLE {}", quote_ident(name)),
                format!("drop role `{name}`"),
            ));
        }
    }
    Plan::from_steps(project, state, steps, instance_steps)
}
