//! The provisioning plan: what must change so that one project matches the role model, as a
//! value that can be printed, reviewed as SQL and tested without a database.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::connect::CONNECT_ROLE;
use super::settings::{LoginLimits, ProjectSettings, setting_millis};
use super::state::{DefaultAcl, Membership, ProjectState, RoleState};
use super::steward;
use super::users::{LoginUser, LoginUsers};
use crate::ProjectName;
use crate::api::ApiPlan;
use crate::ident::{quote_grantee, quote_ident, quote_literal};
use crate::lock::LockKey;
use crate::platform::PlatformPlan;
use crate::room::default_privileges::{self, DefaultPrivilege, objtype_keyword};
use crate::secret::Login;

/// Which role a step runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Actor {
    /// The admin cotenant connected as (the session user).
    Admin,
    /// The project's steward: the CREATEROLE role that creates and manages its roles (on 16+,
    /// through its sub-stewards; it still does so itself for projects it created before them).
    Steward,
    /// The project's sub-steward (16+): the role that creates and manages the roles of new
    /// projects under their steward, which may act as it only while provisioning them.
    SubSteward,
    /// `<p>_owner`: the owner of the schema and of everything in it.
    Owner,
    /// The owner of schema `auth` and its tables and functions (`supabase_auth_admin` on
    /// hosted Supabase), which the admin may SET ROLE to: grants on auth objects are made
    /// by it, so that they can be revoked later.
    AuthOwner,
    /// The owner of schema `storage` and its tables (`supabase_storage_admin` on hosted
    /// Supabase), which the admin may SET ROLE to: a project's bucket, its policies on
    /// `storage.objects` and the grants its API roles get there are made by it.
    StorageOwner,
    /// `cotenant_signup`: the role that owns the signup dispatcher (see
    /// [`platform`](crate::platform)).
    SignupDispatcher,
}

impl Actor {
    /// The role to `SET LOCAL ROLE` to for this actor, `None` for the admin.
    pub(crate) fn role(self, project: &ProjectName) -> Option<String> {
        match self {
            Actor::Admin => None,
            Actor::Steward => Some(steward::for_project(project)),
            Actor::SubSteward => Some(steward::sub_steward_for(project)),
            Actor::Owner => Some(project.roles().owner),
            Actor::AuthOwner => Some(crate::platform::AUTH_OWNER.to_owned()),
            Actor::StorageOwner => Some(crate::api::STORAGE_OWNER.to_owned()),
            Actor::SignupDispatcher => Some(crate::platform::SIGNUP_ROLE.to_owned()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Statement {
    Sql(String),
    /// A statement that ends with `PASSWORD <the password of login's credential>`, run on
    /// `role` (the user holding it): the password is only known at apply time and never part of
    /// the plan.
    SetsPassword {
        sql: String,
        login: Login,
        role: String,
    },
}

/// One statement of a [`Plan`] and why it is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    actor: Actor,
    statement: Statement,
    why: String,
}

impl Step {
    pub(crate) fn new(actor: Actor, sql: String, why: impl Into<String>) -> Self {
        Self {
            actor,
            statement: Statement::Sql(sql),
            why: why.into(),
        }
    }

    /// The role the statement runs as.
    pub fn actor(&self) -> Actor {
        self.actor
    }

    /// Why the step is in the plan.
    pub fn why(&self) -> &str {
        &self.why
    }

    /// The statement as SQL; a password appears as the psql variable
    /// `:'<role>_password'`, never as its value.
    pub fn sql(&self) -> String {
        match &self.statement {
            Statement::Sql(sql) => sql.clone(),
            Statement::SetsPassword { sql, role, .. } => {
                format!("{sql} PASSWORD :'{role}_password'")
            }
        }
    }

    /// The login whose password this step sets, if any.
    pub fn sets_password(&self) -> Option<Login> {
        match self.statement {
            Statement::SetsPassword { login, .. } => Some(login),
            Statement::Sql(_) => None,
        }
    }

    /// The role whose password this step sets, if any: the login or its rotation twin.
    fn password_role(&self) -> Option<&str> {
        match &self.statement {
            Statement::SetsPassword { role, .. } => Some(role),
            Statement::Sql(_) => None,
        }
    }

    /// The statement with the password's SCRAM verifier in place: what is sent to the server.
    pub(crate) fn executable_sql(&self, verifier: impl Fn(Login) -> String) -> String {
        match &self.statement {
            Statement::Sql(sql) => sql.clone(),
            Statement::SetsPassword { sql, login, .. } => {
                format!("{sql} PASSWORD {}", quote_literal(&verifier(*login)))
            }
        }
    }
}

/// What provisioning one project on one instance will change, in order.
///
/// An empty plan means the instance already matches the role model. Print it with
/// [`Display`](fmt::Display) for people, or with [`to_sql`](Plan::to_sql) as a script to
/// review and keep beside numbered SQL files.
#[derive(Debug, Clone)]
pub struct Plan {
    project: ProjectName,
    database: String,
    server_major: u32,
    /// The steps before the instance-wide ones; those follow under the instance lock.
    steps: Vec<Step>,
    instance_steps: Vec<Step>,
    /// The project's platform access, converged in the same transaction after the steps.
    platform: Option<PlatformPlan>,
    /// The project's Data API roles, converged in the same transaction after platform access.
    api: Option<ApiPlan>,
    /// The plan must take the instance lock before it reads the catalog (it creates the
    /// steward, which other projects' provisioning may be creating at the same time).
    needs_instance_lock_first: bool,
}

impl Plan {
    /// A plan of `steps`, then `instance_steps` under the instance lock.
    pub(crate) fn from_steps(
        project: &ProjectName,
        state: &ProjectState,
        steps: Vec<Step>,
        instance_steps: Vec<Step>,
    ) -> Self {
        Self {
            project: project.clone(),
            database: state.database.clone(),
            server_major: state.server_major,
            steps,
            instance_steps,
            platform: None,
            api: None,
            needs_instance_lock_first: false,
        }
    }

    /// The project the plan is for.
    pub fn project(&self) -> &ProjectName {
        &self.project
    }

    /// True when nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
            && self.instance_steps.is_empty()
            && self.platform.as_ref().is_none_or(PlatformPlan::is_empty)
            && self.api.as_ref().is_none_or(ApiPlan::is_empty)
    }

    /// The project's platform access plan, when provisioning converges it too (the
    /// configuration declares platform access).
    pub fn platform(&self) -> Option<&PlatformPlan> {
        self.platform.as_ref()
    }

    /// The plan with `platform` as its platform access part.
    pub(crate) fn with_platform(mut self, platform: PlatformPlan) -> Self {
        self.platform = Some(platform);
        self
    }

    /// The project's Data API roles plan, when provisioning converges them too.
    pub fn api(&self) -> Option<&ApiPlan> {
        self.api.as_ref()
    }

    /// The plan with `api` as its Data API part.
    pub(crate) fn with_api(mut self, api: ApiPlan) -> Self {
        self.api = Some(api);
        self
    }

    /// The number of statements that change something.
    pub fn len(&self) -> usize {
        self.steps().count()
    }

    /// The steps in the order they run, the platform access and Data API parts last.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .chain(&self.instance_steps)
            .chain(self.platform.iter().flat_map(PlatformPlan::steps))
            .chain(self.api.iter().flat_map(ApiPlan::steps))
    }

    /// The logins whose password the plan sets.
    pub fn sets_passwords(&self) -> BTreeSet<Login> {
        self.steps().filter_map(Step::sets_password).collect()
    }

    pub(crate) fn needs_instance_lock_first(&self) -> bool {
        self.needs_instance_lock_first
    }

    pub(crate) fn has_instance_steps(&self) -> bool {
        !self.instance_steps.is_empty()
    }

    /// The steps before the instance-wide ones, with the role switches they need, as
    /// statements ready to send.
    pub(crate) fn project_sql(&self, verifier: impl Fn(Login) -> String) -> String {
        self.render(&self.steps, |s| s.executable_sql(&verifier))
    }

    /// The instance-wide steps, to run under the instance lock.
    pub(crate) fn instance_sql(&self) -> String {
        self.render(&self.instance_steps, |s| {
            s.executable_sql(|_| String::new())
        })
    }

    fn render(&self, steps: &[Step], sql: impl Fn(&Step) -> String) -> String {
        let mut out = String::new();
        let mut current = Actor::Admin;
        for step in steps {
            if step.actor != current {
                out.push_str(&self.switch_to(step.actor));
                out.push_str(";\n");
                current = step.actor;
            }
            out.push_str(&sql(step));
            out.push_str(";\n");
        }
        if current != Actor::Admin {
            out.push_str("RESET ROLE;\n");
        }
        out
    }

    fn switch_to(&self, actor: Actor) -> String {
        match actor.role(&self.project) {
            None => "RESET ROLE".to_owned(),
            Some(role) => format!("SET LOCAL ROLE {}", quote_ident(&role)),
        }
    }

    /// The plan as one SQL script in one transaction, the way cotenant applies it: the
    /// project's lock, the steps with the reason for each as a comment, the instance lock
    /// before instance-wide steps. Passwords are psql variables, e.g.
    /// `psql -v ON_ERROR_STOP=1 -v reli_login_password=… -v reli_migrator_password=… -f plan.sql`.
    pub fn to_sql(&self) -> String {
        let mut out = format!(
            "-- cotenant plan: project `{}` on database `{}` (PostgreSQL {}), {} statement(s).\n",
            self.project,
            self.database,
            self.server_major,
            self.len()
        );
        if self.is_empty() {
            out.push_str("-- Nothing to do: the instance matches the role model.\n");
            return out;
        }
        let roles: BTreeSet<&str> = self.steps().filter_map(Step::password_role).collect();
        if !roles.is_empty() {
            let vars: Vec<String> = roles
                .iter()
                .map(|role| format!("-v {role}_password=…"))
                .collect();
            out.push_str(&format!(
                "-- Run with: psql -v ON_ERROR_STOP=1 {} -f <this file>\n",
                vars.join(" ")
            ));
        }
        out.push_str("BEGIN;\n");
        let lock = |key: LockKey, what: &str| {
            format!(
                "SELECT pg_advisory_xact_lock({}); -- {what}\n",
                key.as_i64()
            )
        };
        if self.needs_instance_lock_first {
            out.push_str(&lock(LockKey::instance(), "cotenant's instance-wide lock"));
        }
        out.push_str(&lock(
            LockKey::provision(&self.project),
            &format!("provisioning lock of `{}`", self.project),
        ));
        if self.steps.iter().any(|s| s.actor == Actor::SubSteward) {
            out.push_str(&lock(
                LockKey::sub_steward(&self.project),
                &format!(
                    "the lock of sub-steward `{}`'s projects",
                    steward::sub_steward_for(&self.project)
                ),
            ));
        }
        if self.server_major >= 16 {
            out.push_str("SET LOCAL createrole_self_grant = '';\n");
        }
        let mut current = Actor::Admin;
        for step in &self.steps {
            self.script_step(&mut out, &mut current, step);
        }
        if !self.instance_steps.is_empty() {
            if current != Actor::Admin {
                out.push_str("RESET ROLE;\n");
                current = Actor::Admin;
            }
            out.push_str(&lock(LockKey::instance(), "cotenant's instance-wide lock"));
            for step in &self.instance_steps {
                self.script_step(&mut out, &mut current, step);
            }
        }
        if current != Actor::Admin {
            out.push_str("RESET ROLE;\n");
        }
        if let Some(platform) = &self.platform {
            for notice in platform.notices() {
                out.push_str(&format!("-- note: {notice}\n"));
            }
            out.push_str(&platform.script_body());
        }
        if let Some(api) = &self.api {
            out.push_str(&api.script_body());
        }
        out.push_str("COMMIT;\n");
        out
    }

    fn script_step(&self, out: &mut String, current: &mut Actor, step: &Step) {
        if step.actor != *current {
            out.push_str(&self.switch_to(step.actor));
            out.push_str(";\n");
            *current = step.actor;
        }
        out.push_str(&format!("-- {}\n{};\n", step.why, step.sql()));
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let notices = self.platform.iter().flat_map(|p| p.notices());
        if self.is_empty() {
            write!(
                f,
                "project `{}` on `{}`: nothing to do",
                self.project, self.database
            )?;
            for notice in notices {
                write!(f, "\n  note: {notice}")?;
            }
            return Ok(());
        }
        writeln!(
            f,
            "project `{}` on `{}`: {} statement(s)",
            self.project,
            self.database,
            self.len()
        )?;
        for step in self.steps() {
            writeln!(f, "  - {}", step.why)?;
            writeln!(f, "      {}", step.sql())?;
        }
        for notice in notices {
            writeln!(f, "  note: {notice}")?;
        }
        Ok(())
    }
}

/// Which existing logins get their password set again, e.g. because the password in the
/// secret store no longer authenticates them. New logins always get theirs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordResets {
    /// Set the password of `<p>_login`.
    pub app: bool,
    /// Set the password of `<p>_migrator`.
    pub migrator: bool,
}

/// Compares `state` with the role model for `project` and lists what must change. `users` say
/// which user holds each login's credential: a twin that holds one is part of the model even
/// before it exists, and a reset sets the password of the holder.
pub(crate) fn compute(
    state: &ProjectState,
    project: &ProjectName,
    settings: &ProjectSettings,
    resets: PasswordResets,
    users: LoginUsers,
) -> Plan {
    Planner::new(state, project, settings, users).plan(resets)
}

struct Planner<'a> {
    state: &'a ProjectState,
    project: &'a ProjectName,
    settings: &'a ProjectSettings,
    /// The project's steward, which the admin may SET ROLE to.
    top_steward: String,
    /// The role that creates and manages the project's roles, and `actor` is it: the
    /// sub-steward on 16+, but the steward itself on 15 and for projects it created itself.
    steward: String,
    actor: Actor,
    owner: String,
    app: String,
    login: String,
    migrator: String,
    login_clone: String,
    migrator_clone: String,
    users: LoginUsers,
    db: String,
    steps: Vec<Step>,
    instance_steps: Vec<Step>,
}

/// The privileges `<p>_app` gets by default on new objects, by `pg_default_acl` object type.
const APP_DEFAULT_PRIVILEGES: &[(&str, &str, &[&str])] = &[
    ("r", "TABLES", &["DELETE", "INSERT", "SELECT", "UPDATE"]),
    ("S", "SEQUENCES", &["SELECT", "USAGE"]),
    ("f", "FUNCTIONS", &["EXECUTE"]),
    ("T", "TYPES", &["USAGE"]),
];

impl<'a> Planner<'a> {
    fn new(
        state: &'a ProjectState,
        project: &'a ProjectName,
        settings: &'a ProjectSettings,
        users: LoginUsers,
    ) -> Self {
        let roles = project.roles();
        let top_steward = steward::for_project(project);
        let sub_steward = steward::sub_steward_for(project);
        let administers = |who: &str| {
            state.memberships.iter().any(|m| {
                m.member == who
                    && m.admin_option
                    && [&roles.owner, &roles.app, &roles.login, &roles.migrator].contains(&&m.role)
            })
        };
        let by_steward =
            !state.has_grant_options() || (administers(&top_steward) && !administers(&sub_steward));
        let (actor, acting) = if by_steward {
            (Actor::Steward, top_steward.clone())
        } else {
            (Actor::SubSteward, sub_steward)
        };
        Self {
            state,
            project,
            settings,
            top_steward,
            steward: acting,
            actor,
            owner: roles.owner,
            app: roles.app,
            login: roles.login,
            migrator: roles.migrator,
            login_clone: roles.login_clone,
            migrator_clone: roles.migrator_clone,
            users,
            db: quote_ident(&state.database),
            steps: Vec::new(),
            instance_steps: Vec::new(),
        }
    }

    fn plan(mut self, resets: PasswordResets) -> Plan {
        self.plan_steward();
        self.plan_sub_steward();
        // Creating a steward and granting on the database race with other projects of the same
        // slice: those steps run under the instance lock, taken before the catalog read.
        let needs_instance_lock_first = !self.steps.is_empty();
        let first_project_step = self.steps.len();
        self.plan_adoption();
        self.plan_roles(resets);
        self.plan_memberships();
        let before_settings = self.steps.len();
        self.plan_settings();
        let settings = self.steps.split_off(before_settings);
        self.plan_schema_and_objects(settings);
        self.lend_sub_steward(first_project_step);
        self.plan_instance();
        Plan {
            project: self.project.clone(),
            database: self.state.database.clone(),
            server_major: self.state.server_major,
            steps: self.steps,
            instance_steps: self.instance_steps,
            platform: None,
            api: None,
            needs_instance_lock_first,
        }
    }

    fn grant_options(&self, inherit: bool, set: bool) -> String {
        if self.state.has_grant_options() {
            format!(" WITH INHERIT {}, SET {}", bool_sql(inherit), bool_sql(set))
        } else {
            String::new()
        }
    }

    /// The steward: created once per slice of projects, usable by the admin through SET ROLE
    /// only, allowed to create schemas.
    fn plan_steward(&mut self) {
        let steward = quote_ident(&self.top_steward);
        let admin = &self.state.admin;
        let exists = self.state.role(&self.top_steward).is_some();
        if !exists {
            self.steps.push(Step::new(
                Actor::Admin,
                format!("CREATE ROLE {steward} NOLOGIN NOINHERIT CREATEROLE"),
                format!(
                    "create steward `{}`: it creates and manages the roles of a slice of projects, so no role's membership grows with every project",
                    self.top_steward
                ),
            ));
        }
        if !exists || !self.state.admin_can_set_steward {
            self.steps.push(Step::new(
                Actor::Admin,
                format!(
                    "GRANT {steward} TO {}{}",
                    quote_ident(admin),
                    self.grant_options(false, true)
                ),
                format!(
                    "let the admin `{admin}` act as steward `{}`",
                    self.top_steward
                ),
            ));
        }
        if !exists || !self.state.instance.steward_can_create {
            self.steps.push(Step::new(
                Actor::Admin,
                format!("GRANT CREATE ON DATABASE {} TO {steward}", self.db),
                format!("let steward `{}` create project schemas", self.top_steward),
            ));
        }
        self.plan_connect_role(exists);
    }

    /// The connect role (`connect.rs`), when a login is to connect through it: created once,
    /// holding CONNECT; the steward holds ADMIN on it (from the admin) to pass on to its
    /// sub-stewards.
    fn plan_connect_role(&mut self, steward_exists: bool) {
        if self.logins_connecting_through_role().is_empty() {
            return;
        }
        let instance = &self.state.instance;
        let role = quote_ident(CONNECT_ROLE);
        if !instance.connect_role_exists {
            self.steps.push(Step::new(
                Actor::Admin,
                format!("CREATE ROLE {role} NOLOGIN NOINHERIT"),
                format!(
                    "create `{CONNECT_ROLE}`: project logins connect through it, so the database's ACL does not grow with every project"
                ),
            ));
        }
        if !instance.connect_role_exists || !instance.connect_role_can_connect {
            self.steps.push(Step::new(
                Actor::Admin,
                format!("GRANT CONNECT ON DATABASE {} TO {role}", self.db),
                format!("`{CONNECT_ROLE}` holds CONNECT, and nothing else"),
            ));
        }
        if !steward_exists || !self.state.steward_administers_connect {
            self.steps.push(Step::new(
                Actor::Admin,
                format!(
                    "GRANT {role} TO {} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE",
                    quote_ident(&self.top_steward)
                ),
                format!(
                    "let steward `{}` pass `{CONNECT_ROLE}` on to its sub-stewards",
                    self.top_steward
                ),
            ));
        }
    }

    /// The sub-steward, when it acts for the project: created by the steward once per slice,
    /// allowed to create schemas; its steward inherits it (SET FALSE), so that what other parts
    /// of cotenant do as the project's steward may manage the project's roles.
    fn plan_sub_steward(&mut self) {
        if self.actor != Actor::SubSteward {
            return;
        }
        let sub = quote_ident(&self.steward);
        let Some(existing) = self.state.sub_steward else {
            self.steps.push(Step::new(
                Actor::Steward,
                format!("CREATE ROLE {sub} NOLOGIN NOINHERIT CREATEROLE"),
                format!(
                    "create sub-steward `{}` of steward `{}`: it creates and manages the roles of a slice of the steward's projects, so that no check of the admin's memberships reads every project's",
                    self.steward, self.top_steward
                ),
            ));
            self.grant_create_to_sub_steward();
            self.grant_connect_role_to_sub_steward();
            return;
        };
        if !existing.can_create {
            self.grant_create_to_sub_steward();
        }
        if !existing.administers_connect {
            self.grant_connect_role_to_sub_steward();
        }
    }

    /// When a login is to connect through the connect role, which the sub-steward grants.
    fn grant_connect_role_to_sub_steward(&mut self) {
        if self.logins_connecting_through_role().is_empty() {
            return;
        }
        self.steps.push(Step::new(
            Actor::Steward,
            format!(
                "GRANT {} TO {} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE",
                quote_ident(CONNECT_ROLE),
                quote_ident(&self.steward)
            ),
            format!(
                "let sub-steward `{}` make its projects' logins members of `{CONNECT_ROLE}`",
                self.steward
            ),
        ));
    }

    fn grant_create_to_sub_steward(&mut self) {
        self.steps.push(Step::new(
            Actor::Admin,
            format!(
                "GRANT CREATE ON DATABASE {} TO {}",
                self.db,
                quote_ident(&self.steward)
            ),
            format!("let sub-steward `{}` create project schemas", self.steward),
        ));
    }

    /// The steward may act as the sub-steward only while the project's steps run: a lasting
    /// SET would put the sub-steward's memberships, and so every project's roles, back into
    /// every check of the admin's. Between the two steps here it is the grant the steward keeps,
    /// INHERIT TRUE, SET FALSE; that one is made here if missing.
    fn lend_sub_steward(&mut self, first_project_step: usize) {
        if self.actor != Actor::SubSteward {
            return;
        }
        let (sub, steward) = (quote_ident(&self.steward), quote_ident(&self.top_steward));
        let acts = |s: &Step| s.actor == Actor::SubSteward;
        let Some(last) = self.steps.iter().rposition(acts) else {
            if !self
                .state
                .sub_steward
                .is_some_and(|s| s.inherited_by_steward)
            {
                self.steps.push(Step::new(
                    Actor::Steward,
                    format!("GRANT {sub} TO {steward} WITH INHERIT TRUE, SET FALSE"),
                    format!(
                        "steward `{}` holds the ADMIN of its sub-steward `{}` through inheritance",
                        self.top_steward, self.steward
                    ),
                ));
            }
            return;
        };
        self.steps.insert(
            last + 1,
            Step::new(
                Actor::Steward,
                format!("REVOKE SET OPTION FOR {sub} FROM {steward}"),
                format!("end acting as sub-steward `{}`", self.steward),
            ),
        );
        let first = first_project_step
            + self.steps[first_project_step..]
                .iter()
                .position(acts)
                .unwrap_or_default();
        self.steps.insert(
            first,
            Step::new(
                Actor::Steward,
                format!("GRANT {sub} TO {steward} WITH INHERIT TRUE, SET TRUE"),
                format!(
                    "act as sub-steward `{}` for this transaction (its steward keeps inheriting it)",
                    self.steward
                ),
            ),
        );
    }

    /// On 16+ only a holder of ADMIN can manage a role: roles made outside cotenant (by the
    /// admin, say, as hand-written migrations did) are handed to the steward first.
    fn plan_adoption(&mut self) {
        if !self.state.has_grant_options() {
            return;
        }
        for name in self.project_roles().map(String::clone) {
            let name = &name;
            if self.state.role(name).is_some() && !self.steward_administers(name) {
                self.steps.push(Step::new(
                    Actor::Admin,
                    format!(
                        "GRANT {} TO {} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE",
                        quote_ident(name),
                        quote_ident(&self.steward)
                    ),
                    format!(
                        "`{name}` was created outside cotenant: let steward `{}` manage it",
                        self.steward
                    ),
                ));
            }
        }
    }

    /// Whether `role` is one of the project's Data API roles (`crate::api`).
    fn is_api_role(&self, role: &str) -> bool {
        crate::api::ApiRoleKind::ALL
            .iter()
            .any(|k| k.role(self.project) == role)
    }

    /// The project's roles, rotation twins included.
    fn project_roles(&self) -> [&String; 6] {
        [
            &self.owner,
            &self.app,
            &self.login,
            &self.migrator,
            &self.login_clone,
            &self.migrator_clone,
        ]
    }

    /// Whether `login`'s rotation twin belongs to the model: once created it is kept (and
    /// converged like its primary); a credential naming it makes it needed.
    fn twin_wanted(&self, login: Login) -> bool {
        let twin = match login {
            Login::App => &self.login_clone,
            Login::Migrator => &self.migrator_clone,
        };
        self.state.role(twin).is_some() || self.users.get(login) == LoginUser::Twin
    }

    fn steward_administers(&self, role: &str) -> bool {
        self.state
            .memberships
            .iter()
            .any(|m| m.role == role && m.member == self.steward && m.admin_option)
    }

    fn plan_roles(&mut self, resets: PasswordResets) {
        let owner = self.owner.clone();
        let app = self.app.clone();
        self.plan_role(&owner, None, false);
        self.plan_role(&app, None, false);
        for (login, limits, reset) in [
            (Login::App, self.settings.login, resets.app),
            (Login::Migrator, self.settings.migrator, resets.migrator),
        ] {
            let holder = self.users.get(login);
            let mut users = vec![LoginUser::Primary];
            if self.twin_wanted(login) {
                users.push(LoginUser::Twin);
            }
            for user in users {
                let name = user.name(self.project, login);
                let holds = user == holder;
                self.plan_role(&name, Some((login, limits, holds)), reset && holds);
            }
        }
    }

    /// `login`: for a login, which of its credential it is for and whether it holds it (only the
    /// holder is created with the credential's password).
    fn plan_role(&mut self, name: &str, login: Option<(Login, LoginLimits, bool)>, reset: bool) {
        let quoted = quote_ident(name);
        let limit = login.map_or(-1, |(_, l, _)| i64::from(l.connection_limit));
        let Some(existing) = self.state.role(name) else {
            let create_login =
                format!("CREATE ROLE {quoted} LOGIN NOINHERIT CONNECTION LIMIT {limit}");
            let step = match login {
                Some((which, _, true)) => Step {
                    actor: self.actor,
                    statement: Statement::SetsPassword {
                        sql: create_login,
                        login: which,
                        role: name.to_owned(),
                    },
                    why: format!("create login `{name}`"),
                },
                Some((which, _, false)) => Step::new(
                    self.actor,
                    create_login,
                    format!(
                        "create login `{name}` without a password: the {which} secret names its twin, and the next rotation with alternating users gives it one"
                    ),
                ),
                None => Step::new(
                    self.actor,
                    format!("CREATE ROLE {quoted} NOLOGIN NOINHERIT"),
                    format!("create role `{name}`"),
                ),
            };
            self.steps.push(step);
            return;
        };
        let changes = attribute_changes(existing, login.is_some(), limit);
        if !changes.is_empty() {
            let (sql, why): (Vec<_>, Vec<_>) = changes.into_iter().unzip();
            self.steps.push(Step::new(
                self.actor,
                format!("ALTER ROLE {quoted} {}", sql.join(" ")),
                format!("role `{name}` drifted: {}", why.join(", ")),
            ));
        }
        if let Some((which, _, _)) = login.filter(|_| reset) {
            self.steps.push(Step {
                actor: self.actor,
                statement: Statement::SetsPassword {
                    sql: format!("ALTER ROLE {quoted}"),
                    login: which,
                    role: name.to_owned(),
                },
                why: format!("set the password of `{name}` to the one its {which} secret holds"),
            });
        }
    }

    fn plan_memberships(&mut self) {
        let mut wanted = vec![
            (self.app.clone(), self.login.clone()),
            (self.owner.clone(), self.migrator.clone()),
        ];
        if self.twin_wanted(Login::App) {
            wanted.push((self.app.clone(), self.login_clone.clone()));
        }
        if self.twin_wanted(Login::Migrator) {
            wanted.push((self.owner.clone(), self.migrator_clone.clone()));
        }
        let project = self.project_roles().map(String::clone);
        let mut kept: BTreeSet<(String, String)> = BTreeSet::new();
        let connecting = self.logins_connecting_through_role();
        let state = self.state;
        for m in &state.memberships {
            if m.role == CONNECT_ROLE && connecting.contains(&m.member) {
                if is_connect_membership(m) {
                    kept.insert((m.role.clone(), m.member.clone()));
                } else {
                    self.revoke_membership(m, true);
                }
                continue;
            }
            let is_wanted = wanted.iter().any(|(r, u)| *r == m.role && *u == m.member);
            if is_wanted && self.membership_is_right(m) {
                kept.insert((m.role.clone(), m.member.clone()));
                continue;
            }
            if !is_wanted && self.is_management_edge(m, &project) {
                continue;
            }
            // Rows on the steward's side belong to other projects of its slice.
            if !project.contains(&m.role) && !project.contains(&m.member) {
                continue;
            }
            self.revoke_membership(m, is_wanted);
        }
        for (role, member) in wanted {
            if !kept.contains(&(role.clone(), member.clone())) {
                self.steps.push(Step::new(
                    self.actor,
                    format!(
                        "GRANT {} TO {}{}",
                        quote_ident(&role),
                        quote_ident(&member),
                        self.grant_options(false, true)
                    ),
                    format!("`{member}` must be able to SET ROLE `{role}`, without inheriting it"),
                ));
            }
        }
        let missing: Vec<&String> = connecting
            .iter()
            .filter(|l| !kept.contains(&(CONNECT_ROLE.to_owned(), (*l).clone())))
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|l| quote_ident(l)).collect();
            self.steps.push(Step::new(
                self.actor,
                format!(
                    "GRANT {} TO {} WITH INHERIT TRUE, SET FALSE",
                    quote_ident(CONNECT_ROLE),
                    names.join(", ")
                ),
                format!(
                    "{} must be able to connect: through `{CONNECT_ROLE}`, inherited, which holds only CONNECT",
                    missing
                        .iter()
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ));
        }
    }

    /// The project's logins (twins wanted included).
    fn logins(&self) -> Vec<&String> {
        let mut logins = vec![&self.login, &self.migrator];
        if self.twin_wanted(Login::App) {
            logins.push(&self.login_clone);
        }
        if self.twin_wanted(Login::Migrator) {
            logins.push(&self.migrator_clone);
        }
        logins
    }

    /// The logins that connect through the connect role (`connect.rs`): on 16+ those of a
    /// project its sub-steward manages, unless they hold CONNECT of their own (granted before
    /// the connect role; kept, so a re-run plans nothing).
    fn logins_connecting_through_role(&self) -> Vec<String> {
        if self.actor != Actor::SubSteward {
            return Vec::new();
        }
        self.logins()
            .into_iter()
            .filter(|l| !self.state.instance.can_connect.contains(l))
            .cloned()
            .collect()
    }

    fn membership_is_right(&self, m: &Membership) -> bool {
        !m.admin_option && m.inherit_option != Some(true) && m.set_option != Some(false)
    }

    /// The steward's ADMIN on the project's roles (16+), and the admin's own from having
    /// created them before cotenant managed them: they allow management, not use.
    fn is_management_edge(&self, m: &Membership, project: &[String]) -> bool {
        self.state.has_grant_options()
            && project.contains(&m.role)
            && (m.member == self.steward || m.member == self.state.admin)
            && m.inherit_option == Some(false)
            && m.set_option == Some(false)
    }

    fn revoke_membership(&mut self, m: &Membership, is_wanted: bool) {
        let why = if is_wanted {
            format!(
                "`{}` may use `{}` only through SET ROLE (no ADMIN, no inheritance): re-grant it",
                m.member, m.role
            )
        } else {
            format!(
                "`{}` is a member of `{}`, which the role model does not allow",
                m.member, m.role
            )
        };
        self.steps.push(Step::new(
            self.actor,
            m.revoke_sql(&self.steward, self.state.has_grant_options()),
            why,
        ));
    }

    fn plan_settings(&mut self) {
        let schema = self.state.search_path_setting.clone();
        let login_wanted = self.wanted_settings(&self.app, &schema, self.settings.login);
        let migrator_wanted = self.wanted_settings(&self.owner, &schema, self.settings.migrator);
        let (login, migrator) = (self.login.clone(), self.migrator.clone());
        let (owner, app) = (self.owner.clone(), self.app.clone());
        self.plan_role_settings(&login, &login_wanted);
        self.plan_role_settings(&migrator, &migrator_wanted);
        if self.twin_wanted(Login::App) {
            let twin = self.login_clone.clone();
            self.plan_role_settings(&twin, &login_wanted);
        }
        if self.twin_wanted(Login::Migrator) {
            let twin = self.migrator_clone.clone();
            self.plan_role_settings(&twin, &migrator_wanted);
        }
        self.plan_role_settings(&owner, &BTreeMap::new());
        self.plan_role_settings(&app, &BTreeMap::new());
    }

    /// Role defaults of a login: its sessions start as `role`, in the project's schema,
    /// under the project's timeouts. Values are given as PostgreSQL stores them.
    fn wanted_settings(
        &self,
        role: &str,
        search_path_setting: &str,
        limits: LoginLimits,
    ) -> BTreeMap<String, (String, String)> {
        let schema_value = search_path_setting
            .strip_prefix("search_path=")
            .unwrap_or_default()
            .to_owned();
        let mut wanted = BTreeMap::new();
        wanted.insert("role".to_owned(), (role.to_owned(), quote_literal(role)));
        wanted.insert(
            "search_path".to_owned(),
            (schema_value, quote_ident(self.project.as_str())),
        );
        for (name, value) in [
            ("statement_timeout", limits.statement_timeout),
            (
                "idle_in_transaction_session_timeout",
                limits.idle_in_transaction_timeout,
            ),
        ] {
            let millis = setting_millis(value);
            wanted.insert(name.to_owned(), (millis.clone(), millis));
        }
        wanted
    }

    fn plan_role_settings(&mut self, name: &str, wanted: &BTreeMap<String, (String, String)>) {
        let Some(role) = self.state.role(name) else {
            // A role created by this plan has no settings yet.
            for (key, (_, sql_value)) in wanted {
                self.set_setting(name, key, sql_value, "set");
            }
            return;
        };
        let current: BTreeMap<&str, &str> = role
            .settings
            .iter()
            .filter_map(|s| s.split_once('='))
            .collect();
        for (key, (stored, sql_value)) in wanted {
            match current.get(key.as_str()) {
                Some(value) if value == stored => {}
                Some(value) => {
                    self.set_setting(name, key, sql_value, &format!("change from `{value}` to"))
                }
                None => self.set_setting(name, key, sql_value, "set"),
            }
        }
        for key in current.keys().filter(|k| !wanted.contains_key(**k)) {
            self.steps.push(Step::new(
                self.actor,
                format!(
                    "ALTER ROLE {} RESET {}",
                    quote_ident(name),
                    quote_ident(key)
                ),
                format!("`{name}` has a role default `{key}` that the role model does not set"),
            ));
        }
    }

    fn set_setting(&mut self, role: &str, key: &str, sql_value: &str, verb: &str) {
        self.steps.push(Step::new(
            self.actor,
            format!("ALTER ROLE {} SET {key} = {sql_value}", quote_ident(role)),
            format!("{verb} role default `{key}` of `{role}`"),
        ));
    }

    /// The schema, its ACL, default privileges and grants on its objects; `settings`, the role
    /// defaults to set, go in just before the steps the owner runs.
    ///
    /// Why there: PostgreSQL 16+ checks `SET role = …` in a role default, and `SET ROLE`, against
    /// the admin's membership closure, recomputed after every change to any membership — a walk
    /// through every steward's roles, which grows with the number of projects. It keeps the last
    /// result per kind of check: with no membership change and no other such check in between
    /// (`CREATE SCHEMA … AUTHORIZATION` makes one, for the steward), validating the role defaults
    /// and the switches to the owner and back share one walk instead of three.
    fn plan_schema_and_objects(&mut self, settings: Vec<Step>) {
        let schema = quote_ident(self.project.as_str());
        let owner = quote_ident(&self.owner);
        let mut owner_steps = Vec::new();
        let mut before_owner_steps = Vec::new();

        let current_acl: BTreeSet<(String, String)> = match &self.state.schema {
            None => {
                before_owner_steps.push(Step::new(
                    self.actor,
                    format!("CREATE SCHEMA {schema} AUTHORIZATION {owner}"),
                    format!("create schema `{}` owned by `{}`", self.project, self.owner),
                ));
                [("USAGE", &self.owner), ("CREATE", &self.owner)]
                    .into_iter()
                    .map(|(p, g)| (g.clone(), p.to_owned()))
                    .collect()
            }
            Some(s) => {
                if s.owner != self.owner {
                    before_owner_steps.push(Step::new(
                        Actor::Admin,
                        format!("ALTER SCHEMA {schema} OWNER TO {owner}"),
                        format!("schema `{}` is owned by `{}`", self.project, s.owner),
                    ));
                }
                s.acl
                    .iter()
                    // The signup dispatcher's USAGE is platform access's to converge, the
                    // API roles' the Data API's.
                    .filter(|a| a.grantee != crate::platform::SIGNUP_ROLE)
                    .filter(|a| !self.is_api_role(&a.grantee))
                    .map(|a| {
                        // After the owner change, the old owner's privileges are the new owner's.
                        let grantee = if a.grantee == s.owner {
                            &self.owner
                        } else {
                            &a.grantee
                        };
                        (grantee.clone(), a.privilege.clone())
                    })
                    .collect()
            }
        };
        let wanted_acl: BTreeSet<(String, String)> = [
            (self.owner.clone(), "CREATE".to_owned()),
            (self.owner.clone(), "USAGE".to_owned()),
            (self.app.clone(), "USAGE".to_owned()),
        ]
        .into();
        for (grantee, privilege) in current_acl.difference(&wanted_acl) {
            owner_steps.push(Step::new(
                Actor::Owner,
                format!(
                    "REVOKE {privilege} ON SCHEMA {schema} FROM {}",
                    quote_grantee(grantee)
                ),
                format!(
                    "only `{}` may use schema `{}`: `{grantee}` holds {privilege}",
                    self.app, self.project
                ),
            ));
        }
        for (grantee, privilege) in wanted_acl.difference(&current_acl) {
            owner_steps.push(Step::new(
                Actor::Owner,
                format!(
                    "GRANT {privilege} ON SCHEMA {schema} TO {}",
                    quote_ident(grantee)
                ),
                format!("`{grantee}` needs {privilege} on schema `{}`", self.project),
            ));
        }

        self.plan_default_privileges(&schema, &mut owner_steps);
        self.plan_foreign_grants(&schema, &mut owner_steps);

        if before_owner_steps.is_empty() && owner_steps.is_empty() {
            self.steps.extend(settings);
            return;
        }
        // The steward acts as the owner only for this transaction: a lasting membership would
        // put every project's owner into the steward's (and so the admin's) reach for good.
        let steward = quote_ident(&self.steward);
        self.steps.push(Step::new(
            self.actor,
            format!(
                "GRANT {owner} TO {steward}{}",
                self.grant_options(false, true)
            ),
            format!("act as `{}` for this transaction", self.owner),
        ));
        self.steps.extend(before_owner_steps);
        self.steps.extend(settings);
        self.steps.extend(owner_steps);
        self.steps.push(Step::new(
            self.actor,
            format!("REVOKE {owner} FROM {steward}"),
            format!("end acting as `{}`", self.owner),
        ));
    }

    fn plan_default_privileges(&self, schema: &str, steps: &mut Vec<Step>) {
        // The API roles' default privileges are the Data API's to converge.
        let current: BTreeSet<DefaultPrivilege> = self
            .state
            .default_acls
            .iter()
            .filter(|d| !self.is_api_role(&d.grantee))
            .map(DefaultAcl::to_privilege)
            .collect();
        let mut wanted = BTreeSet::new();
        for (objtype, _, privileges) in APP_DEFAULT_PRIVILEGES {
            for privilege in *privileges {
                wanted.insert((
                    true,
                    (*objtype).to_owned(),
                    self.app.clone(),
                    (*privilege).to_owned(),
                ));
            }
        }
        steps.extend(default_privileges::converge(
            schema,
            &current,
            &wanted,
            |objects, grantee, privilege| {
                format!(
                    "new {objects} of `{}` must not grant {privilege} to `{grantee}`",
                    self.owner
                )
            },
            |objects, grantee, privileges| {
                format!(
                    "`{grantee}` gets {privileges} on new {objects} in `{}`",
                    self.project
                )
            },
        ));
        // Without a global row PostgreSQL's built-in default lets PUBLIC execute new functions
        // and use new types; a per-schema REVOKE cannot take that back, a global one can.
        for (objtype, privilege) in [("f", "EXECUTE"), ("T", "USAGE")] {
            if !self
                .state
                .global_default_acl_types
                .iter()
                .any(|t| t == objtype)
            {
                steps.push(Step::new(
                    Actor::Owner,
                    format!(
                        "ALTER DEFAULT PRIVILEGES REVOKE {privilege} ON {} FROM PUBLIC",
                        objtype_keyword(objtype)
                    ),
                    format!(
                        "PUBLIC must not get {privilege} on new {} of `{}`",
                        objtype_keyword(objtype).to_lowercase(),
                        self.owner
                    ),
                ));
            }
        }
    }

    fn plan_foreign_grants(&self, schema: &str, steps: &mut Vec<Step>) {
        // The signup dispatcher's EXECUTE on the project's hook is platform access's to converge.
        // What the project grants its own API roles is the project's business, like its grants
        // among its other roles.
        let foreign = self
            .state
            .foreign_grants
            .iter()
            .filter(|g| g.grantee != crate::platform::SIGNUP_ROLE)
            .filter(|g| !self.is_api_role(&g.grantee));
        for grant in foreign {
            let object = match &grant.args {
                Some(args) => format!("{schema}.{}({args})", quote_ident(&grant.name)),
                None => format!("{schema}.{}", quote_ident(&grant.name)),
            };
            steps.push(Step::new(
                Actor::Owner,
                format!(
                    "REVOKE ALL ON {} {object} FROM {}",
                    grant.kind,
                    quote_grantee(&grant.grantee)
                ),
                format!(
                    "`{}` is outside project `{}` yet holds privileges on {} {object}",
                    grant.grantee,
                    self.project,
                    grant.kind.to_lowercase()
                ),
            ));
        }
    }

    fn plan_instance(&mut self) {
        let instance = &self.state.instance;
        let db = &self.db;
        if instance.public_can_connect {
            if !instance.logins_relying_on_public.is_empty() {
                let logins: Vec<String> = instance
                    .logins_relying_on_public
                    .iter()
                    .map(|l| quote_ident(l))
                    .collect();
                self.instance_steps.push(Step::new(
                    Actor::Admin,
                    format!(
                        "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {}",
                        logins.join(", ")
                    ),
                    format!(
                        "logins that connect today through PUBLIC keep their access: {}",
                        instance.logins_relying_on_public.join(", ")
                    ),
                ));
            }
            self.instance_steps.push(Step::new(
                Actor::Admin,
                format!("REVOKE CONNECT ON DATABASE {db} FROM PUBLIC"),
                "a role may connect only where it is granted CONNECT",
            ));
        }
        if instance.public_can_temp {
            self.instance_steps.push(Step::new(
                Actor::Admin,
                format!("REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC"),
                "project logins must not create temporary tables",
            ));
        }
        // Logins the sub-steward manages connect through the connect role (plan_memberships).
        let logins = if self.actor == Actor::SubSteward {
            Vec::new()
        } else {
            self.logins()
        };
        let missing: Vec<&String> = logins
            .into_iter()
            .filter(|l| !instance.can_connect.contains(l))
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|l| quote_ident(l)).collect();
            self.instance_steps.push(Step::new(
                Actor::Admin,
                format!("GRANT CONNECT ON DATABASE {db} TO {}", names.join(", ")),
                format!(
                    "{} must be able to connect",
                    missing
                        .iter()
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ));
        }
        if instance.public_can_create_in_public {
            self.instance_steps.push(Step::new(
                Actor::Admin,
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_owned(),
                "no role may create objects in schema public unless granted",
            ));
        }
        self.plan_public_schema_usage();
        self.plan_admin_defaults();
    }

    /// PUBLIC's USAGE on schema `public` is what lets every project's login call the admin's
    /// SECURITY DEFINER functions and read through its views there: revoked, after the roles
    /// that use `public` today got USAGE of their own (as with CONNECT).
    fn plan_public_schema_usage(&mut self) {
        let instance = &self.state.instance;
        if !instance.public_can_use_public {
            return;
        }
        if !instance.public_schema_users.is_empty() {
            let roles: Vec<String> = instance
                .public_schema_users
                .iter()
                .map(|r| quote_ident(r))
                .collect();
            self.instance_steps.push(Step::new(
                Actor::Admin,
                format!("GRANT USAGE ON SCHEMA public TO {}", roles.join(", ")),
                format!(
                    "roles that use schema public today through PUBLIC keep their access: {}",
                    instance.public_schema_users.join(", ")
                ),
            ));
        }
        self.instance_steps.push(Step::new(
            Actor::Admin,
            "REVOKE USAGE ON SCHEMA public FROM PUBLIC".to_owned(),
            "project roles must not reach what others keep in schema public (the admin's SECURITY DEFINER functions and views run with the admin's rights)",
        ));
    }

    /// The admin's new functions and types stop being PUBLIC's by default, wherever it creates
    /// them: a SECURITY DEFINER function it adds later is executable only by whom it grants.
    fn plan_admin_defaults(&mut self) {
        let admin = quote_ident(&self.state.admin);
        for (objtype, privilege) in [("f", "EXECUTE"), ("T", "USAGE")] {
            if self
                .state
                .instance
                .admin_public_defaults
                .iter()
                .any(|t| t == objtype)
            {
                let objects = objtype_keyword(objtype);
                self.instance_steps.push(Step::new(
                    Actor::Admin,
                    format!(
                        "ALTER DEFAULT PRIVILEGES FOR ROLE {admin} REVOKE {privilege} ON {objects} FROM PUBLIC"
                    ),
                    format!(
                        "PUBLIC must not get {privilege} on new {} of the admin `{}`",
                        objects.to_lowercase(),
                        self.state.admin
                    ),
                ));
            }
        }
    }
}

/// A login's membership in the connect role as the model has it: inherited, without SET or ADMIN.
fn is_connect_membership(m: &Membership) -> bool {
    !m.admin_option && m.inherit_option == Some(true) && m.set_option == Some(false)
}

fn bool_sql(value: bool) -> &'static str {
    if value { "TRUE" } else { "FALSE" }
}

/// The attribute clauses that bring `role` to the role model, with the reason for each.
fn attribute_changes(role: &RoleState, login: bool, limit: i64) -> Vec<(String, String)> {
    let mut changes = Vec::new();
    let mut forbid = |has: bool, clause: &str, attribute: &str| {
        if has {
            changes.push((clause.to_owned(), format!("has {attribute}")));
        }
    };
    forbid(role.superuser, "NOSUPERUSER", "SUPERUSER");
    forbid(role.createdb, "NOCREATEDB", "CREATEDB");
    forbid(role.createrole, "NOCREATEROLE", "CREATEROLE");
    forbid(role.replication, "NOREPLICATION", "REPLICATION");
    forbid(role.bypassrls, "NOBYPASSRLS", "BYPASSRLS");
    forbid(role.inherit, "NOINHERIT", "INHERIT");
    if role.login != login {
        let (clause, why) = if login {
            ("LOGIN", "cannot log in")
        } else {
            ("NOLOGIN", "can log in")
        };
        changes.push((clause.to_owned(), why.to_owned()));
    }
    if i64::from(role.connection_limit) != limit {
        changes.push((
            format!("CONNECTION LIMIT {limit}"),
            format!(
                "connection limit is {} instead of {limit}",
                role.connection_limit
            ),
        ));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::state::InstanceState;

    /// A fresh instance as hosted Supabase hands it over, before any project: PostgreSQL's
    /// permissive defaults in place, the project's roles not there yet.
    fn fresh_instance() -> ProjectState {
        ProjectState {
            server_major: 17,
            admin: "postgres".to_owned(),
            database: "postgres".to_owned(),
            search_path_setting: "search_path=reli".to_owned(),
            roles: Vec::new(),
            memberships: Vec::new(),
            schema: None,
            default_acls: Vec::new(),
            global_default_acl_types: Vec::new(),
            foreign_grants: Vec::new(),
            objects: Vec::new(),
            admin_can_set_steward: false,
            steward_administers_connect: false,
            sub_steward: None,
            instance: InstanceState {
                public_can_connect: true,
                public_can_temp: true,
                public_can_create_in_public: false,
                public_can_use_public: true,
                can_connect: Vec::new(),
                connect_role_exists: false,
                connect_role_can_connect: false,
                logins_relying_on_public: vec!["authenticator".to_owned()],
                public_schema_users: vec!["authenticator".to_owned(), "dashboard_user".to_owned()],
                admin_public_defaults: vec!["T".to_owned(), "f".to_owned()],
                steward_can_create: false,
            },
        }
    }

    fn instance_sql(state: &ProjectState) -> Vec<String> {
        let project: ProjectName = "reli".parse().unwrap();
        let plan = compute(
            state,
            &project,
            &ProjectSettings::default(),
            PasswordResets::default(),
            LoginUsers::default(),
        );
        plan.instance_steps.iter().map(Step::sql).collect()
    }

    fn position(sql: &[String], statement: &str) -> usize {
        sql.iter()
            .position(|s| s == statement)
            .unwrap_or_else(|| panic!("`{statement}` is not among {sql:#?}"))
    }

    fn plan_of(state: &ProjectState) -> Plan {
        compute(
            state,
            &"reli".parse().unwrap(),
            &ProjectSettings::default(),
            PasswordResets::default(),
            LoginUsers::default(),
        )
    }

    #[test]
    fn on_16_a_new_project_is_made_by_its_sub_steward_lent_for_the_transaction() {
        let project: ProjectName = "reli".parse().unwrap();
        let (steward, sub) = (
            steward::for_project(&project),
            steward::sub_steward_for(&project),
        );
        let plan = plan_of(&fresh_instance());
        let steps: Vec<&Step> = plan.steps().collect();
        let at = |sql: &str| {
            steps
                .iter()
                .position(|s| s.sql() == sql)
                .unwrap_or_else(|| panic!("`{sql}` is not in:\n{plan}"))
        };
        let created = at(&format!(
            r#"CREATE ROLE "{sub}" NOLOGIN NOINHERIT CREATEROLE"#
        ));
        assert_eq!(steps[created].actor(), Actor::Steward);
        let lent = at(&format!(
            r#"GRANT "{sub}" TO "{steward}" WITH INHERIT TRUE, SET TRUE"#
        ));
        let returned = at(&format!(
            r#"REVOKE SET OPTION FOR "{sub}" FROM "{steward}""#
        ));
        let acting: Vec<usize> = (0..steps.len())
            .filter(|&i| steps[i].actor() == Actor::SubSteward)
            .collect();
        assert!(created < lent, "{plan}");
        assert!(acting.iter().all(|&i| lent < i && i < returned), "{plan}");
        assert_eq!(
            steps[at(r#"CREATE ROLE "reli_owner" NOLOGIN NOINHERIT"#)].actor(),
            Actor::SubSteward
        );
        assert!(plan.needs_instance_lock_first());
        let script = plan.to_sql();
        assert!(
            script.contains(&format!("SET LOCAL ROLE \"{sub}\";")),
            "{script}"
        );
    }

    #[test]
    fn on_16_a_new_projects_logins_connect_through_the_connect_role_granted_by_its_sub_steward() {
        let project: ProjectName = "reli".parse().unwrap();
        let (steward, sub) = (
            steward::for_project(&project),
            steward::sub_steward_for(&project),
        );
        let plan = plan_of(&fresh_instance());
        let steps: Vec<&Step> = plan.steps().collect();
        let at = |sql: &str| {
            steps
                .iter()
                .position(|s| s.sql() == sql)
                .unwrap_or_else(|| panic!("`{sql}` is not in:\n{plan}"))
        };
        let created = at(r#"CREATE ROLE "cotenant_connect" NOLOGIN NOINHERIT"#);
        let connect = at(r#"GRANT CONNECT ON DATABASE "postgres" TO "cotenant_connect""#);
        let to_steward = at(&format!(
            r#"GRANT "cotenant_connect" TO "{steward}" WITH ADMIN TRUE, INHERIT FALSE, SET FALSE"#
        ));
        let to_sub = at(&format!(
            r#"GRANT "cotenant_connect" TO "{sub}" WITH ADMIN TRUE, INHERIT FALSE, SET FALSE"#
        ));
        let logins = at(
            r#"GRANT "cotenant_connect" TO "reli_login", "reli_migrator" WITH INHERIT TRUE, SET FALSE"#,
        );
        assert!(
            created < connect && connect < to_steward && to_steward < to_sub && to_sub < logins
        );
        assert_eq!(steps[to_steward].actor(), Actor::Admin);
        assert_eq!(steps[to_sub].actor(), Actor::Steward);
        assert_eq!(steps[logins].actor(), Actor::SubSteward);
        assert!(
            !steps.iter().any(|s| s
                .sql()
                .starts_with("GRANT CONNECT ON DATABASE \"postgres\" TO \"reli")),
            "no CONNECT of their own:\n{plan}"
        );
        // On 15 each login holds CONNECT itself, and there is no connect role.
        let mut on_15 = fresh_instance();
        on_15.server_major = 15;
        let plan = plan_of(&on_15);
        assert!(
            !plan.to_sql().contains("cotenant_connect"),
            "{}",
            plan.to_sql()
        );
        assert!(instance_sql(&on_15).contains(
            &r#"GRANT CONNECT ON DATABASE "postgres" TO "reli_login", "reli_migrator""#.to_owned()
        ));
    }

    #[test]
    fn on_15_and_for_a_project_its_steward_made_the_steward_acts_itself() {
        let mut on_15 = fresh_instance();
        on_15.server_major = 15;
        let mut made_by_steward = fresh_instance();
        made_by_steward.memberships = vec![Membership {
            role: "reli_owner".to_owned(),
            member: steward::for_project(&"reli".parse().unwrap()),
            grantor: Some("postgres".to_owned()),
            admin_option: true,
            inherit_option: Some(false),
            set_option: Some(false),
        }];
        for state in [on_15, made_by_steward] {
            let plan = plan_of(&state);
            assert!(
                plan.steps().all(|s| s.actor() != Actor::SubSteward),
                "{plan}"
            );
            assert!(
                !plan
                    .to_sql()
                    .contains(&steward::sub_steward_for(&"reli".parse().unwrap())),
                "{plan}"
            );
        }
    }

    #[test]
    fn public_loses_usage_on_schema_public_after_its_users_got_their_own() {
        let sql = instance_sql(&fresh_instance());
        let grant = position(
            &sql,
            r#"GRANT USAGE ON SCHEMA public TO "authenticator", "dashboard_user""#,
        );
        let revoke = position(&sql, "REVOKE USAGE ON SCHEMA public FROM PUBLIC");
        assert!(grant < revoke, "{sql:#?}");
    }

    #[test]
    fn the_admins_new_functions_and_types_stop_being_publics() {
        let sql = instance_sql(&fresh_instance());
        position(
            &sql,
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "postgres" REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"#,
        );
        position(
            &sql,
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "postgres" REVOKE USAGE ON TYPES FROM PUBLIC"#,
        );
    }

    #[test]
    fn a_hardened_instance_plans_nothing_instance_wide_but_the_projects_connect() {
        let mut state = fresh_instance();
        let instance = &mut state.instance;
        instance.public_can_connect = false;
        instance.public_can_temp = false;
        instance.public_can_use_public = false;
        // Read only while PUBLIC has USAGE: what a stale list says must not matter.
        instance.public_schema_users = vec!["authenticator".to_owned()];
        instance.admin_public_defaults.clear();
        instance.can_connect = vec!["reli_login".to_owned(), "reli_migrator".to_owned()];
        assert_eq!(instance_sql(&state), Vec::<String>::new());
    }

    #[test]
    fn nobody_relying_on_public_means_a_bare_revoke() {
        let mut state = fresh_instance();
        state.instance.public_schema_users.clear();
        state.instance.admin_public_defaults = vec!["f".to_owned()];
        let sql = instance_sql(&state);
        assert!(
            !sql.iter()
                .any(|s| s.starts_with("GRANT USAGE ON SCHEMA public")),
            "{sql:#?}"
        );
        position(&sql, "REVOKE USAGE ON SCHEMA public FROM PUBLIC");
        assert!(
            !sql.iter().any(|s| s.contains("ON TYPES")),
            "types are already closed: {sql:#?}"
        );
    }

    #[test]
    fn an_admin_name_that_needs_quoting_is_quoted() {
        let mut state = fresh_instance();
        state.admin = "Ops Admin".to_owned();
        let sql = instance_sql(&state);
        position(
            &sql,
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "Ops Admin" REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"#,
        );
    }
}
