//! A project's provisioned state as comparable lines: how staging and prod are shown to agree.

use tokio_postgres::Client;

use super::ProvisionError;
use super::state::ProjectState;
use super::steward;
use crate::ProjectName;

/// Reads the project's roles, memberships, role defaults, schema ACL, default privileges and
/// foreign grants as sorted lines that do not depend on OIDs or on who granted what.
pub(crate) async fn summary(
    client: &Client,
    project: &ProjectName,
) -> Result<Vec<String>, ProvisionError> {
    let steward = steward::for_project(project);
    let state = ProjectState::read(client, project, &steward).await?;
    let roles = project.roles();
    let ours = roles.all();
    let mut lines = Vec::new();
    for role in state
        .roles
        .iter()
        .filter(|r| ours.contains(&r.name.as_str()))
    {
        let mut settings = role.settings.clone();
        settings.sort();
        lines.push(format!(
            "role {} login={} inherit={} superuser={} createdb={} createrole={} replication={} bypassrls={} connection_limit={} settings=[{}]",
            role.name, role.login, role.inherit, role.superuser, role.createdb, role.createrole,
            role.replication, role.bypassrls, role.connection_limit, settings.join(", ")
        ));
    }
    // The rotation twins are left out: whether a login was rotated with alternating users is
    // per environment, like its password.
    for m in state.memberships.iter().filter(|m| {
        m.member != steward
            && m.member != state.admin
            && !roles.clones().contains(&m.member.as_str())
    }) {
        lines.push(format!(
            "member {} of {} admin={} inherit={:?} set={:?}",
            m.member, m.role, m.admin_option, m.inherit_option, m.set_option
        ));
    }
    if let Some(schema) = &state.schema {
        lines.push(format!("schema {} owner {}", project, schema.owner));
        lines.extend(
            schema
                .acl
                .iter()
                .map(|a| format!("schema grant {} to {}", a.privilege, a.grantee)),
        );
    }
    lines.extend(state.default_acls.iter().map(|d| {
        format!(
            "default {} {} on {} to {}",
            if d.in_schema { "in schema" } else { "global" },
            d.privilege,
            d.objtype,
            d.grantee
        )
    }));
    lines.extend(
        state
            .global_default_acl_types
            .iter()
            .map(|t| format!("global default row {t}")),
    );
    lines.extend(state.foreign_grants.iter().map(|g| {
        format!(
            "foreign grant on {} {}({}) to {}",
            g.kind,
            g.name,
            g.args.as_deref().unwrap_or(""),
            g.grantee
        )
    }));
    lines.sort();
    Ok(lines)
}

/// The lines only in `first` (`- `) and only in `second` (`+ `).
pub(crate) fn differences(first: &[String], second: &[String]) -> Vec<String> {
    let only_first = first
        .iter()
        .filter(|l| !second.contains(l))
        .map(|l| format!("- {l}"));
    let only_second = second
        .iter()
        .filter(|l| !first.contains(l))
        .map(|l| format!("+ {l}"));
    only_first.chain(only_second).collect()
}
