//! The role invariants: every project role has exactly the attributes, memberships and role
//! defaults the model gives it; stewards are what provisioning made them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::catalog::{Catalog, MembershipRow, RoleRow};
use super::model::{self, RoleSpec};
use super::{Code, Finding, Scope};
use crate::api::{Api, ApiRoleKind};
use crate::ident::{quote_ident, quote_literal};
use crate::provision::{LoginLimits, parse_time, setting_millis, steward_of};
use crate::secret::Login;

/// Who a role is, as the audit sees it.
pub(super) struct Roles<'a> {
    by_name: BTreeMap<&'a str, &'a RoleRow>,
}

impl<'a> Roles<'a> {
    pub(super) fn new(catalog: &'a Catalog) -> Self {
        Roles {
            by_name: catalog.roles.iter().map(|r| (r.name.as_str(), r)).collect(),
        }
    }

    /// The project whose role `name` is, if any.
    pub(super) fn project_of(&self, name: &str) -> Option<&'a str> {
        self.by_name.get(name).and_then(|r| r.project.as_deref())
    }

    fn is_steward(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(|r| r.project.is_none())
    }

    fn get(&self, name: &str) -> Option<&'a RoleRow> {
        self.by_name.get(name).copied()
    }
}

/// The projects found on the instance, in name order.
pub(super) fn projects(catalog: &Catalog) -> BTreeSet<&str> {
    catalog
        .roles
        .iter()
        .filter_map(|r| r.project.as_deref())
        .collect()
}

pub(super) fn check(catalog: &Catalog, scope: &Scope, out: &mut Vec<Finding>) {
    let roles = Roles::new(catalog);
    let grant_options = catalog.server_major >= 16;
    let apis: BTreeMap<&str, Api> = projects(catalog)
        .into_iter()
        .filter(|p| scope.includes(p))
        .map(|p| (p, scope.api_of(p)))
        .collect();
    for (&project, api) in &apis {
        let limits = scope.settings_of(project);
        for spec in &model::ROLES {
            let name = format!("{project}{}", spec.suffix);
            let Some(role) = roles.get(&name) else {
                if spec.wanted(api) {
                    out.push(Finding::new(
                        Code::RoleMissing,
                        Some(project),
                        &name,
                        format!("role `{name}` of project `{project}` does not exist"),
                        format!("run `cotenant provision {project}`"),
                    ));
                }
                continue;
            };
            if let Some(kind) = spec.api.filter(|_| !spec.wanted(api)) {
                out.push(Finding::new(
                    Code::ApiRoleUndeclared,
                    Some(project),
                    &name,
                    format!(
                        "Data API role `{name}` exists, but [projects.{project}.api] does not declare it{}: PostgREST may switch to it unseen by the declarations",
                        if kind == ApiRoleKind::Service && api.enabled { " (`service = false`)" } else { "" }
                    ),
                    format!(
                        "run `cotenant apply` (it drops the role), or declare it in [projects.{project}.api]"
                    ),
                ));
                continue;
            }
            attributes(project, spec, role, out);
            let limits = spec.login.map(|l| match l {
                Login::App => limits.login,
                Login::Migrator => limits.migrator,
            });
            defaults(project, spec, role, limits, api, out);
        }
    }
    memberships(catalog, scope, &apis, &roles, grant_options, out);
    stewards(catalog, &roles, out);
}

/// The attributes a project role must and must not have.
fn attributes(project: &str, spec: &RoleSpec, role: &RoleRow, out: &mut Vec<Finding>) {
    let login = spec.login.is_some();
    let mut wrong = Vec::new();
    for (has, attribute, clause) in [
        (role.superuser, "SUPERUSER", "NOSUPERUSER"),
        (role.createdb, "CREATEDB", "NOCREATEDB"),
        (role.createrole, "CREATEROLE", "NOCREATEROLE"),
        (role.replication, "REPLICATION", "NOREPLICATION"),
        (
            role.bypassrls && !spec.bypassrls,
            "BYPASSRLS",
            "NOBYPASSRLS",
        ),
        (role.inherit, "INHERIT", "NOINHERIT"),
    ] {
        if has {
            wrong.push((format!("has {attribute}"), clause));
        }
    }
    if spec.bypassrls && !role.bypassrls {
        wrong.push(("lacks BYPASSRLS".to_owned(), "BYPASSRLS"));
    }
    if role.login != login {
        wrong.push(if login {
            ("cannot log in".to_owned(), "LOGIN")
        } else {
            ("can log in".to_owned(), "NOLOGIN")
        });
    }
    if wrong.is_empty() {
        return;
    }
    let (what, clauses): (Vec<_>, Vec<_>) = wrong.into_iter().unzip();
    out.push(Finding::new(
        Code::RoleAttribute,
        Some(project),
        &role.name,
        format!(
            "role `{}` {}, which the role model does not allow",
            role.name,
            what.join(", ")
        ),
        format!(
            "`ALTER ROLE {} {}` as its steward `{}`, or run `cotenant provision {project}`",
            quote_ident(&role.name),
            clauses.join(" "),
            steward_of_name(project)
        ),
    ));
}

fn steward_of_name(project: &str) -> String {
    project
        .parse()
        .map_or_else(|_| "cotenant_steward_NN".to_owned(), |p| steward_of(&p))
}

/// The sub-steward that manages `project`'s roles on 16+ (the steward itself for projects it
/// created before sub-stewards).
fn sub_steward_of_name(project: &str) -> Option<String> {
    project
        .parse()
        .ok()
        .map(|p| crate::provision::sub_steward_of(&p))
}

/// A login's connection limit and role defaults as declared, an API role's statement timeout
/// as declared; no defaults on other roles.
fn defaults(
    project: &str,
    spec: &RoleSpec,
    role: &RoleRow,
    limits: Option<LoginLimits>,
    api: &Api,
    out: &mut Vec<Finding>,
) {
    let name = &role.name;
    let quoted = quote_ident(name);
    let mut drift = |message: String, fix: String| {
        out.push(Finding::new(
            Code::RoleDefault,
            Some(project),
            name,
            message,
            fix,
        ));
    };
    let wanted_limit = limits.map_or(-1, |l| i64::from(l.connection_limit));
    if i64::from(role.connection_limit) != wanted_limit {
        drift(
            format!(
                "`{name}` has connection limit {} where {wanted_limit} is declared",
                role.connection_limit
            ),
            format!(
                "`ALTER ROLE {quoted} CONNECTION LIMIT {wanted_limit}`, or run `cotenant provision {project}`"
            ),
        );
    }
    let current: BTreeMap<&str, &str> = role
        .settings
        .iter()
        .filter_map(|s| s.split_once('='))
        .collect();
    let mut wanted: BTreeMap<&str, Wanted> = BTreeMap::new();
    if let (Some(limits), Some(uses)) = (limits, spec.uses) {
        wanted.insert("role", Wanted::Text(format!("{project}{uses}")));
        wanted.insert(
            "search_path",
            Wanted::Text(role.search_path.clone().unwrap_or_default()),
        );
        wanted.insert("statement_timeout", Wanted::Time(limits.statement_timeout));
        wanted.insert(
            "idle_in_transaction_session_timeout",
            Wanted::Time(limits.idle_in_transaction_timeout),
        );
    }
    // PostgREST applies the role it switches to's settings per request.
    if let Some(timeout) = spec.api.and_then(|kind| api.role(kind).statement_timeout) {
        wanted.insert("statement_timeout", Wanted::Time(Some(timeout)));
    }
    for (key, want) in &wanted {
        let found = current.get(key).copied();
        if found.is_some_and(|value| want.matches(value)) {
            continue;
        }
        let found = found.map_or_else(|| "not set".to_owned(), |v| format!("`{v}`"));
        drift(
            format!(
                "role default `{key}` of `{name}` is {found} where `{}` is declared",
                want.shown()
            ),
            format!(
                "`ALTER ROLE {quoted} SET {key} = {}`, or run `cotenant provision {project}`",
                want.sql()
            ),
        );
    }
    for (key, value) in current.iter().filter(|(k, _)| !wanted.contains_key(*k)) {
        drift(
            format!(
                "`{name}` has a role default `{key}` = `{value}` that the role model does not set"
            ),
            format!("`ALTER ROLE {quoted} RESET {}`", quote_ident(key)),
        );
    }
    for setting in &role.database_settings {
        let key = setting.split_once('=').map_or(setting.as_str(), |(k, _)| k);
        drift(
            format!(
                "`{name}` has a role default `{setting}` for this database alone, which overrides the declared ones"
            ),
            format!(
                "`ALTER ROLE {quoted} IN DATABASE <database> RESET {}`",
                quote_ident(key)
            ),
        );
    }
}

/// A declared role default.
enum Wanted {
    Text(String),
    Time(Option<Duration>),
}

impl Wanted {
    fn matches(&self, stored: &str) -> bool {
        match self {
            Wanted::Text(text) => text == stored,
            Wanted::Time(time) => parse_time(stored) == Some(*time),
        }
    }

    fn shown(&self) -> String {
        match self {
            Wanted::Text(text) => text.clone(),
            Wanted::Time(time) => setting_millis(*time),
        }
    }

    fn sql(&self) -> String {
        match self {
            Wanted::Text(text) => quote_literal(text),
            Wanted::Time(time) => setting_millis(*time),
        }
    }
}

/// Every membership with a project role in scope (or a steward) on either side is one of the
/// model's, with the model's options.
fn memberships(
    catalog: &Catalog,
    scope: &Scope,
    apis: &BTreeMap<&str, Api>,
    roles: &Roles<'_>,
    grant_options: bool,
    out: &mut Vec<Finding>,
) {
    let none = Api::none();
    let in_scope = |name: &str| roles.project_of(name).filter(|p| scope.includes(p));
    let mut present: BTreeSet<(&str, &str)> = BTreeSet::new();
    for m in &catalog.memberships {
        let project = in_scope(&m.role).or_else(|| in_scope(&m.member));
        let Some(project) = project else { continue };
        let object = format!("{} granted to {}", m.role, m.member);
        let api = apis.get(project).unwrap_or(&none);
        match expectation(m, project, api, roles, &catalog.admin, grant_options) {
            Expectation::Use => {
                present.insert((&m.role, &m.member));
                if m.admin_option || m.inherit_option == Some(true) || m.set_option == Some(false) {
                    out.push(Finding::new(
                        Code::MembershipOptions,
                        Some(project),
                        object,
                        format!(
                            "`{}` is a member of `{}`{}{}{}: it must only be able to SET ROLE to it",
                            m.member,
                            m.role,
                            if m.admin_option { ", with ADMIN" } else { "" },
                            if m.inherit_option == Some(true) { ", inheriting it" } else { "" },
                            if m.set_option == Some(false) { ", without SET" } else { "" },
                        ),
                        format!("run `cotenant provision {project}`: it re-grants the membership"),
                    ));
                }
            }
            Expectation::Management => {}
            Expectation::Extra => out.push(Finding::new(
                Code::MembershipExtra,
                Some(project),
                object,
                format!(
                    "`{}` is a member of `{}` (granted by `{}`){}, which the role model does not allow: {}",
                    m.member,
                    m.role,
                    m.grantor,
                    options(m),
                    if in_scope(&m.role) == Some(project) {
                        format!("`{}` gains what project `{project}`'s role may do", m.member)
                    } else {
                        format!("project `{project}`'s role gains what `{}` may do", m.role)
                    }
                ),
                format!(
                    "`REVOKE {} FROM {}` as its grantor `{}`, or run `cotenant provision {project}`",
                    quote_ident(&m.role),
                    quote_ident(&m.member),
                    m.grantor
                ),
            )),
        }
    }
    for (&project, api) in apis {
        for spec in &model::ROLES {
            let member = format!("{project}{}", spec.suffix);
            let mut wanted: Vec<(String, String)> = spec
                .uses
                .map(|uses| (format!("{project}{uses}"), member.clone()))
                .into_iter()
                .collect();
            if spec.api.is_some() && spec.wanted(api) {
                wanted.extend(
                    spec.granted_to(api)
                        .into_iter()
                        .map(|grantee| (member.clone(), grantee.to_owned())),
                );
            }
            for (role, member) in wanted {
                // A missing role is reported as such; `authenticator` and Realtime's role are
                // not project roles, and only an API role is granted to them.
                let exist = roles.get(&role).is_some()
                    && (spec.api.is_some() || roles.get(&member).is_some());
                if !exist || present.contains(&(role.as_str(), member.as_str())) {
                    continue;
                }
                let why = if spec.api.is_some() {
                    format!(
                        "`{member}` cannot SET ROLE to `{role}`: the Data API (or Realtime) cannot act as it"
                    )
                } else {
                    format!(
                        "`{member}` is not a member of `{role}`: its sessions cannot start as `{role}` (they would run as the login itself)"
                    )
                };
                out.push(Finding::new(
                    Code::MembershipMissing,
                    Some(project),
                    format!("{role} granted to {member}"),
                    why,
                    format!("run `cotenant provision {project}`"),
                ));
            }
        }
    }
}

enum Expectation {
    /// One of the model's memberships: the login's (or migrator's) way to its role.
    Use,
    /// The steward's (or the admin's) ADMIN on a project role, on 16+: management, not use;
    /// and a login's inherited membership in the connect role, which holds only CONNECT.
    Management,
    Extra,
}

fn expectation(
    m: &MembershipRow,
    project: &str,
    api: &Api,
    roles: &Roles<'_>,
    admin: &str,
    grant_options: bool,
) -> Expectation {
    fn suffix<'n>(name: &'n str, project: &str, roles: &Roles<'_>) -> Option<&'n str> {
        (roles.project_of(name) == Some(project))
            .then(|| name.strip_prefix(project))
            .flatten()
    }
    let suffix_of = |name| suffix(name, project, roles);
    // On 16+ a login may connect through the connect role, inherited, without SET or ADMIN
    // (src/provision/connect.rs): that holds only CONNECT.
    if m.role == crate::provision::CONNECT_ROLE {
        let login = suffix_of(&m.member).is_some_and(|s| {
            ["_login", "_migrator", "_login_clone", "_migrator_clone"].contains(&s)
        });
        if grant_options
            && login
            && !m.admin_option
            && m.inherit_option == Some(true)
            && m.set_option == Some(false)
        {
            return Expectation::Management;
        }
        return Expectation::Extra;
    }
    if let (Some(role), Some(member)) = (suffix_of(&m.role), suffix_of(&m.member)) {
        if model::spec(member).is_some_and(|s| s.uses == Some(role)) {
            return Expectation::Use;
        }
        return Expectation::Extra;
    }
    if let Some(role) = suffix_of(&m.role) {
        let manager = m.member == steward_of_name(project)
            || Some(&m.member) == sub_steward_of_name(project).as_ref()
            || m.member == admin;
        if grant_options
            && manager
            && m.inherit_option == Some(false)
            && m.set_option == Some(false)
        {
            return Expectation::Management;
        }
        if model::spec(role).is_some_and(|s| s.granted_to(api).contains(&m.member.as_str()))
            && !m.admin_option
            && m.inherit_option != Some(true)
        {
            return Expectation::Use;
        }
    }
    Expectation::Extra
}

fn options(m: &MembershipRow) -> String {
    let mut options = Vec::new();
    if m.admin_option {
        options.push("ADMIN");
    }
    if m.inherit_option == Some(true) {
        options.push("INHERIT");
    }
    if m.set_option == Some(true) {
        options.push("SET");
    }
    if options.is_empty() {
        String::new()
    } else {
        format!(" with {}", options.join(", "))
    }
}

/// `cotenant_steward_NN` for the sub-steward `cotenant_steward_NN_K`; `None` for anything else.
fn sub_steward_parent(name: &str) -> Option<&str> {
    let (steward, k) = name.rsplit_once('_')?;
    (steward.len() == "cotenant_steward_NN".len() && k.bytes().all(|b| b.is_ascii_digit()))
        .then_some(steward)
}

/// Stewards (and sub-stewards): NOLOGIN NOINHERIT CREATEROLE and nothing more; members of project roles only
/// through ADMIN (checked above), of nothing else; the admin their only member.
fn stewards(catalog: &Catalog, roles: &Roles<'_>, out: &mut Vec<Finding>) {
    for steward in catalog.roles.iter().filter(|r| r.project.is_none()) {
        let mut wrong = Vec::new();
        for (bad, what, clause) in [
            (steward.superuser, "has SUPERUSER", "NOSUPERUSER"),
            (steward.createdb, "has CREATEDB", "NOCREATEDB"),
            (steward.replication, "has REPLICATION", "NOREPLICATION"),
            (steward.bypassrls, "has BYPASSRLS", "NOBYPASSRLS"),
            (steward.inherit, "has INHERIT", "NOINHERIT"),
            (steward.login, "can log in", "NOLOGIN"),
            (!steward.createrole, "lacks CREATEROLE", "CREATEROLE"),
        ] {
            if bad {
                wrong.push((what, clause));
            }
        }
        if !wrong.is_empty() {
            let (what, clauses): (Vec<_>, Vec<_>) = wrong.into_iter().unzip();
            out.push(Finding::new(
                Code::RoleAttribute,
                None,
                &steward.name,
                format!("steward `{}` {}", steward.name, what.join(", ")),
                format!(
                    "`ALTER ROLE {} {}` as the admin",
                    quote_ident(&steward.name),
                    clauses.join(" ")
                ),
            ));
        }
    }
    for m in &catalog.memberships {
        let ok = if let Some(steward) =
            sub_steward_parent(&m.role).filter(|_| roles.is_steward(&m.role))
        {
            // A sub-steward: its steward created it (ADMIN alone) and inherits it, never
            // acting as it outside the transaction that provisions one of its projects.
            m.member == steward && m.set_option != Some(true)
        } else if roles.is_steward(&m.role) {
            // The admin acts as a steward through SET ROLE, never inheriting it; on 16+ it
            // also holds ADMIN alone, as the steward's creator. A project role in a steward is
            // judged with its project.
            (m.member == catalog.admin
                && m.inherit_option != Some(true)
                && (!m.admin_option || m.set_option == Some(false)))
                || roles.project_of(&m.member).is_some()
        } else if roles.is_steward(&m.member) {
            // A steward's own memberships: ADMIN on project roles (judged with the projects),
            // and ADMIN alone on the connect role, to grant it to logins (16+).
            roles.project_of(&m.role).is_some()
                || (m.role == crate::provision::CONNECT_ROLE
                    && m.admin_option
                    && m.inherit_option == Some(false)
                    && m.set_option == Some(false))
        } else {
            true
        };
        if !ok {
            out.push(Finding::new(
                Code::MembershipExtra,
                None,
                format!("{} granted to {}", m.role, m.member),
                format!(
                    "`{}` is a member of `{}`{}: stewards hold project roles only to manage them, and only the admin may act as one",
                    m.member,
                    m.role,
                    options(m)
                ),
                format!(
                    "`REVOKE {} FROM {}` as its grantor `{}`",
                    quote_ident(&m.role),
                    quote_ident(&m.member),
                    m.grantor
                ),
            ));
        }
    }
}
