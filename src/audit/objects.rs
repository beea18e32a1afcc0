//! The invariants on what a project's schema holds: nobody outside the project holds a
//! privilege there, `<p>_owner` owns everything, SECURITY DEFINER routines pin their
//! search_path; and outside the projects, no definer route into project data (as `doctor`
//! finds them).

use super::catalog::Catalog;
use super::roles::Roles;
use super::{Code, Finding};
use crate::doctor::FindingCode;
use crate::ident::quote_ident;
use crate::platform::SIGNUP_ROLE;

pub(super) fn check(catalog: &Catalog, out: &mut Vec<Finding>) {
    let roles = Roles::new(catalog);
    privileges(catalog, &roles, out);
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

fn privileges(catalog: &Catalog, roles: &Roles<'_>, out: &mut Vec<Finding>) {
    for p in &catalog.privileges {
        if is_signup_dispatchers(&p.kind, &p.object, &p.grantee, &p.privilege) {
            continue;
        }
        let project = p.project.as_str();
        let who = match roles.project_of(&p.grantee) {
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
                Code::ForeignDefaultPrivilege,
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
            Code::ForeignPrivilege,
            Some(project),
            &p.object,
            format!(
                "{} {} of project `{project}`: {} is granted to {who}",
                p.kind, p.object, p.privilege
            ),
            format!("`{revoke}` as {owner}"),
        ));
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
