//! The invariants on what a project's schema holds: nobody outside the project holds a
//! privilege there, `<p>_owner` owns everything, SECURITY DEFINER routines pin their
//! search_path; a project's Data API roles hold there what its declaration gives them; and
//! outside the projects, no definer route into project data (as `doctor` finds them).

use std::collections::{BTreeMap, BTreeSet};

use super::catalog::{Catalog, PrivilegeRow};
use super::roles::Roles;
use super::{Code, Finding, Scope, model};
use crate::api::{Api, ApiRoleKind, TablePrivilege};
use crate::doctor::FindingCode;
use crate::ident::quote_ident;
use crate::platform::SIGNUP_ROLE;

pub(super) fn check(catalog: &Catalog, scope: &Scope, out: &mut Vec<Finding>) {
    let roles = Roles::new(catalog);
    privileges(catalog, scope, &roles, out);
    owners(catalog, out);
    routines(catalog, out);
    routes(catalog, out);
}

/// Whether the platform's signup dispatcher holds this by design: USAGE on the schema of a
/// project with a signup hook, EXECUTE on the hook (which takes `cotenant_platform.signup_user`).
fn is_signup_dispatchers(kind: &str, object: &str, grantee: &str, privilege: &str) -> bool {
    grantee == SIGNUP_ROLE
        && match kind {
            "schema" => privilege == "USAGE",
            "function" => {
                privilege == "EXECUTE" && object.contains("cotenant_platform.signup_user")
            }
            _ => false,
        }
}

fn privileges(catalog: &Catalog, scope: &Scope, roles: &Roles<'_>, out: &mut Vec<Finding>) {
    let mut apis: BTreeMap<&str, Api> = BTreeMap::new();
    // What each project's API roles hold of what their declaration gives them.
    let mut held: BTreeSet<(&str, String, &str)> = BTreeSet::new();
    for p in &catalog.privileges {
        if is_signup_dispatchers(&p.kind, &p.object, &p.grantee, &p.privilege) {
            continue;
        }
        let project = p.project.as_str();
        let api_role = api_kind(roles, project, &p.grantee);
        if let Some(kind) = api_role {
            let api = apis.entry(project).or_insert_with(|| scope.api_of(project));
            if let Some(what) = declared(kind, api, project, p) {
                held.insert((p.grantee.as_str(), what, p.privilege.as_str()));
                continue;
            }
            if api_may_hold(p) {
                continue;
            }
        }
        let who = match roles.project_of(&p.grantee) {
            Some(other) if other == project && api_role.is_some() => format!(
                "`{}`, the project's Data API role, which [projects.{project}.api] does not give it",
                p.grantee
            ),
            Some(other) if other == project => format!(
                "`{}`, which the role model gives no privileges of its own",
                p.grantee
            ),
            Some(other) => format!("`{}` of project `{other}`", p.grantee),
            None if p.grantee == "PUBLIC" => "PUBLIC (every role)".to_owned(),
            None => format!("`{}`, a role outside the project", p.grantee),
        };
        let grantee = if p.grantee == "PUBLIC" {
            "PUBLIC".to_owned()
        } else {
            quote_ident(&p.grantee)
        };
        let owner = quote_ident(&format!("{project}_owner"));
        if p.kind == "default privileges" {
            let on = p
                .object
                .rsplit(" on ")
                .next()
                .unwrap_or("tables")
                .to_uppercase();
            let (role, in_schema) = default_acl_parts(&p.object);
            out.push(Finding::new(
                if api_role.is_some() {
                    Code::ApiPrivilege
                } else {
                    Code::ForeignDefaultPrivilege
                },
                Some(project),
                &p.object,
                format!(
                    "{}: what is created from now on grants {} to {who}",
                    p.object, p.privilege
                ),
                format!(
                    "`ALTER DEFAULT PRIVILEGES FOR ROLE {role}{in_schema} REVOKE {} ON {on} FROM {grantee}`, or run `cotenant provision {project}`",
                    p.privilege
                ),
            ));
            continue;
        }
        let revoke = match p.kind.as_str() {
            "column" => {
                let (table, column) = p.object.rsplit_once('.').unwrap_or((&p.object, ""));
                format!(
                    "REVOKE {} ({column}) ON {table} FROM {grantee}",
                    p.privilege
                )
            }
            kind => {
                let keyword = match kind {
                    "schema" | "function" | "procedure" | "type" | "sequence" => kind,
                    _ => "table",
                };
                format!(
                    "REVOKE {} ON {} {} FROM {grantee}",
                    p.privilege,
                    keyword.to_uppercase(),
                    p.object
                )
            }
        };
        out.push(Finding::new(
            if api_role.is_some() {
                Code::ApiPrivilege
            } else {
                Code::ForeignPrivilege
            },
            Some(project),
            &p.object,
            format!(
                "{} {} of project `{project}`: {} is granted to {who}",
                p.kind, p.object, p.privilege
            ),
            format!("`{revoke}` as {owner}"),
        ));
    }
    missing_api_privileges(catalog, scope, roles, &held, out);
}

/// The privileges a project's API roles must hold as declared, and lack.
fn missing_api_privileges(
    catalog: &Catalog,
    scope: &Scope,
    roles: &Roles<'_>,
    held: &BTreeSet<(&str, String, &str)>,
    out: &mut Vec<Finding>,
) {
    let projects: BTreeSet<&str> = catalog
        .roles
        .iter()
        .filter_map(|r| r.project.as_deref())
        .filter(|p| scope.includes(p))
        .collect();
    for project in projects {
        let api = scope.api_of(project);
        for kind in api.kinds() {
            let role = format!("{project}_{}", kind.suffix());
            if roles.project_of(&role) != Some(project) {
                continue;
            }
            let declared = api.role(kind);
            let mut wanted = vec![("schema".to_owned(), "USAGE")];
            wanted.extend(
                declared
                    .tables
                    .iter()
                    .map(|t| ("tables".to_owned(), t.as_sql())),
            );
            wanted.extend(
                declared
                    .sequences
                    .iter()
                    .map(|s| ("sequences".to_owned(), s.as_sql())),
            );
            if declared.functions {
                wanted.push(("functions".to_owned(), "EXECUTE"));
            }
            for (what, privilege) in wanted {
                if held.contains(&(role.as_str(), what.clone(), privilege)) {
                    continue;
                }
                let (object, message, fix) = if what == "schema" {
                    (
                        project.to_owned(),
                        format!(
                            "`{role}` lacks USAGE on schema `{project}`: the Data API cannot reach the project as it"
                        ),
                        format!(
                            "`GRANT USAGE ON SCHEMA {} TO {}` as `{project}_owner`, or run `cotenant provision {project}`",
                            quote_ident(project),
                            quote_ident(&role)
                        ),
                    )
                } else {
                    (
                        format!(
                            "default privileges of {project}_owner in schema {project} on {what}"
                        ),
                        format!(
                            "[projects.{project}.api.{}] gives `{role}` {privilege} on new {what}, but the default privileges of `{project}_owner` do not",
                            api_key(kind)
                        ),
                        format!("run `cotenant provision {project}`"),
                    )
                };
                out.push(Finding::new(
                    Code::ApiPrivilege,
                    Some(project),
                    object,
                    message,
                    fix,
                ));
            }
        }
    }
}

/// The key of `kind`'s table in `[projects.<p>.api]`.
fn api_key(kind: ApiRoleKind) -> &'static str {
    match kind {
        ApiRoleKind::Service => "service_role",
        other => other.suffix(),
    }
}

/// Which Data API role of `project` `grantee` is, if it is one.
fn api_kind(roles: &Roles<'_>, project: &str, grantee: &str) -> Option<ApiRoleKind> {
    if roles.project_of(grantee) != Some(project) {
        return None;
    }
    grantee
        .strip_prefix(project)
        .and_then(model::spec)
        .and_then(|s| s.api)
}

/// For a privilege the declaration gives `kind` — USAGE on the schema, a declared default
/// privilege of the owner in the schema — what it is (`schema`, `tables`, …); `None` for
/// anything else.
fn declared(kind: ApiRoleKind, api: &Api, project: &str, p: &PrivilegeRow) -> Option<String> {
    if p.kind == "schema" {
        return (p.privilege == "USAGE" && api.kinds().any(|k| k == kind))
            .then(|| "schema".to_owned());
    }
    if p.kind != "default privileges" {
        return None;
    }
    let (role, in_schema) = default_acl_parts(&p.object);
    let what = p.object.rsplit(" on ").next().unwrap_or_default();
    let declared = api.role(kind);
    let gives = match what {
        "tables" => declared.tables.iter().any(|t| t.as_sql() == p.privilege),
        "sequences" => declared.sequences.iter().any(|s| s.as_sql() == p.privilege),
        "functions" => declared.functions && p.privilege == "EXECUTE",
        _ => false,
    };
    (gives
        && api.kinds().any(|k| k == kind)
        && role.trim_matches('"') == format!("{project}_owner")
        && !in_schema.is_empty())
    .then(|| what.to_owned())
}

/// What a project's migrations may grant its own API roles on its objects: the data
/// privileges RLS governs. Never CREATE on the schema, TRUNCATE (it ignores RLS), REFERENCES,
/// TRIGGER, or UPDATE on a sequence.
fn api_may_hold(p: &PrivilegeRow) -> bool {
    let privilege = p.privilege.as_str();
    match p.kind.as_str() {
        "table" | "view" | "materialized view" | "foreign table" => {
            TablePrivilege::ALL.iter().any(|t| t.as_sql() == privilege)
        }
        "column" => matches!(privilege, "SELECT" | "INSERT" | "UPDATE"),
        "sequence" => matches!(privilege, "USAGE" | "SELECT"),
        "function" | "procedure" => privilege == "EXECUTE",
        "type" => privilege == "USAGE",
        _ => false,
    }
}

/// `default privileges of "r" in schema "s" on tables` → (`"r"`, ` IN SCHEMA "s"`).
fn default_acl_parts(object: &str) -> (String, String) {
    let rest = object
        .strip_prefix("default privileges of ")
        .unwrap_or(object);
    let (head, _) = rest.rsplit_once(" on ").unwrap_or((rest, ""));
    match head.split_once(" in schema ") {
        Some((role, schema)) => (role.to_owned(), format!(" IN SCHEMA {schema}")),
        None => (head.to_owned(), String::new()),
    }
}

fn owners(catalog: &Catalog, out: &mut Vec<Finding>) {
    for o in &catalog.owners {
        let project = o.project.as_str();
        let owner = format!("{project}_owner");
        let keyword = match o.kind.as_str() {
            "table" | "foreign table" | "view" | "materialized view" | "sequence" => "TABLE",
            "function" => "FUNCTION",
            "procedure" => "PROCEDURE",
            "aggregate" => "AGGREGATE",
            other => other,
        }
        .to_uppercase();
        out.push(Finding::new(
            Code::ForeignOwner,
            Some(project),
            &o.object,
            format!(
                "{} {} of project `{project}` is owned by `{}`, not `{owner}`: its owner may grant it to anyone, and bypasses the project's row-level security",
                o.kind, o.object, o.owner
            ),
            format!(
                "`ALTER {keyword} {} OWNER TO {}` as `{}` (or a superuser)",
                o.object,
                quote_ident(&owner),
                o.owner
            ),
        ));
    }
}

fn routines(catalog: &Catalog, out: &mut Vec<Finding>) {
    for r in catalog.routines.iter().filter(|r| !r.pins_search_path) {
        let project = r.project.as_str();
        let pin = format!(
            "`ALTER FUNCTION {} SET search_path = {}, pg_catalog` in a migration",
            r.object,
            quote_ident(project)
        );
        if r.definer {
            out.push(Finding::new(
                Code::DefinerSearchPath,
                Some(project),
                &r.object,
                format!(
                    "SECURITY DEFINER function {} of project `{project}` does not pin its search_path: whoever calls it chooses which objects its unqualified names mean, and they run with its owner's rights",
                    r.object
                ),
                pin,
            ));
        } else {
            out.push(Finding::new(
                Code::FunctionSearchPathMutable,
                Some(project),
                &r.object,
                format!(
                    "function {} of project `{project}` resolves names through its caller's search_path",
                    r.object
                ),
                pin,
            ));
        }
    }
}

/// The routes `doctor` finds: shared by every project, reported once, without a project.
fn routes(catalog: &Catalog, out: &mut Vec<Finding>) {
    for route in &catalog.routes {
        let code = match route.code {
            FindingCode::SharedDefinerView => Code::SharedDefinerView,
            _ => Code::SharedDefinerFunction,
        };
        out.push(Finding::new(
            code,
            None,
            &route.object,
            route.message.clone(),
            route.fix.clone(),
        ));
    }
}
