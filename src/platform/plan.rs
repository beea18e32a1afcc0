//! The platform plan: what must change so that a project's access to the shared Supabase
//! schemas matches its declaration, as a value that can be printed, reviewed as SQL and tested
//! without a database.

use std::collections::BTreeSet;
use std::fmt;

use super::declaration::Access;
use super::hooks::{self, Hook};
use super::state::PlatformState;
use super::{AUTH_OWNER, PlatformError, SIGNUP_ROLE};
use crate::ProjectName;
use crate::ident::quote_ident;
use crate::provision::{Actor, Step};
use crate::room::{RoomPlan, Wording};

/// The schema cotenant keeps what all hooking projects share in.
pub(crate) const PLATFORM_SCHEMA: &str = "cotenant_platform";

/// The auth functions a project with `auth` may execute.
const AUTH_FUNCTIONS: [&str; 4] = ["email", "jwt", "role", "uid"];

/// What converging one project's platform access on one instance will change, in order.
///
/// Printed with [`Display`](fmt::Display) for people or [`to_sql`](PlatformPlan::to_sql) as a
/// script. [`notices`](PlatformPlan::notices) say what the declaration asks for that cannot be
/// done yet (a hook whose function a migration has still to create).
#[derive(Debug, Clone)]
pub struct PlatformPlan(RoomPlan);

/// How a platform plan reads.
const WORDING: Wording = Wording {
    plan: "platform",
    subject: "platform access",
    converged: "platform access matches the declaration",
};

impl PlatformPlan {
    /// The project the plan is for.
    pub fn project(&self) -> &ProjectName {
        self.0.project()
    }

    /// True when nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of statements that change something.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The steps in the order they run.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.0.steps()
    }

    /// What the declaration asks for that cannot be done yet, and what to do about it.
    pub fn notices(&self) -> &[String] {
        self.0.notices()
    }

    /// The steps as a script fragment with the reason for each as a comment: what provisioning's
    /// script embeds. Changes to what all projects share (the dispatcher, the allowlist's
    /// extensions, grants on the shared schemas' objects) run under cotenant's instance lock.
    pub(crate) fn script_body(&self) -> String {
        self.0.script_body()
    }

    /// The plan as one SQL script in one transaction, the way cotenant applies it.
    pub fn to_sql(&self) -> String {
        self.0.to_sql()
    }
}

impl AsRef<RoomPlan> for PlatformPlan {
    fn as_ref(&self) -> &RoomPlan {
        &self.0
    }
}

impl fmt::Display for PlatformPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Compares `state` with `access` for `project` (and the instance's extension `allowlist`)
/// and lists what must change.
pub(crate) fn compute(
    state: &PlatformState,
    project: &ProjectName,
    access: &Access,
    allowlist: &[String],
) -> Result<PlatformPlan, PlatformError> {
    Planner::new(state, project, access, allowlist)?.plan()
}

struct Planner<'a> {
    state: &'a PlatformState,
    project: &'a ProjectName,
    access: &'a Access,
    allowlist: &'a [String],
    owner: String,
    app: String,
    schema: String,
    plan: RoomPlan,
}

impl<'a> Planner<'a> {
    fn new(
        state: &'a PlatformState,
        project: &'a ProjectName,
        access: &'a Access,
        allowlist: &'a [String],
    ) -> Result<Self, PlatformError> {
        let roles = project.roles();
        let planner = Self {
            state,
            project,
            access,
            allowlist,
            owner: roles.owner,
            app: roles.app,
            schema: quote_ident(project.as_str()),
            plan: RoomPlan::new(WORDING, project, state.server_major),
        };
        planner.check_supabase()?;
        Ok(planner)
    }

    /// Refuses access the instance cannot give: it lacks Supabase's roles or schemas.
    fn check_supabase(&self) -> Result<(), PlatformError> {
        let s = self.state;
        let mut asked = Vec::new();
        let mut missing = BTreeSet::new();
        let auth_parts = |missing: &mut BTreeSet<String>| {
            if !s.auth_admin_exists {
                missing.insert(format!("role `{AUTH_OWNER}`"));
            }
            if !s.auth_schema {
                missing.insert("schema `auth`".to_owned());
            }
            if !s.auth_users {
                missing.insert("table `auth.users`".to_owned());
            }
        };
        if self.access.auth {
            asked.push("auth");
            auth_parts(&mut missing);
        }
        if self.access.extensions || !self.allowlist.is_empty() {
            asked.push("extensions");
            if !s.extensions_schema {
                missing.insert("schema `extensions`".to_owned());
            }
        }
        if !self.access.realtime.is_empty() {
            asked.push("realtime");
            if s.publication_owner.is_none() {
                missing.insert("publication `supabase_realtime`".to_owned());
            }
        }
        if self.access.signup_hook.is_some() {
            asked.push("signup_hook");
            auth_parts(&mut missing);
            if s.auth_users {
                for column in hooks::SIGNUP_COLUMNS.iter().map(|(c, _)| c) {
                    if !s.signup_columns.iter().any(|have| have == column) {
                        missing.insert(format!("column `auth.users.{column}`"));
                    }
                }
            }
        }
        if !missing.is_empty() {
            return Err(PlatformError::NotSupabase {
                project: self.project.clone(),
                asked: asked.join(", "),
                missing: missing.into_iter().collect(),
            });
        }
        Ok(())
    }

    fn plan(mut self) -> Result<PlatformPlan, PlatformError> {
        let held = self.state.held();
        let mut wanted: BTreeSet<(String, String, String)> = BTreeSet::new();
        let mut want = |object: &str, grantee: &str, privilege: &str| {
            wanted.insert((object.to_owned(), grantee.to_owned(), privilege.to_owned()));
        };
        if self.access.auth {
            for role in [&self.owner, &self.app] {
                want("schema auth", role, "USAGE");
                for f in AUTH_FUNCTIONS {
                    want(&format!("function auth.{f}()"), role, "EXECUTE");
                }
            }
            want("column auth.users (id)", &self.owner, "REFERENCES");
        }
        if self.access.extensions {
            for role in [&self.owner, &self.app] {
                want("schema extensions", role, "USAGE");
            }
        }
        if self.access.signup_hook.is_some() {
            want(&format!("schema {PLATFORM_SCHEMA}"), &self.owner, "USAGE");
            want(
                &format!("type {PLATFORM_SCHEMA}.signup_user"),
                &self.owner,
                "USAGE",
            );
        }
        let hook = self.hook()?;
        self.plan_extensions()?;
        if self.access.signup_hook.is_some() || hook.is_some() {
            self.plan_hook_infrastructure();
        }
        // The hook is (un)registered before the grants change: naming it needs the owner's
        // USAGE on the signup type, which taking `signup_hook` off revokes.
        self.plan_registration(hook.as_ref());
        self.plan_grants(&held, &wanted)?;
        self.plan_realtime()?;
        Ok(PlatformPlan(self.plan))
    }

    fn push(&mut self, actor: Actor, sql: String, why: impl Into<String>) {
        self.plan.push(actor, sql, why);
    }

    /// The declared hook, validated; `None` (with a notice) while its function does not exist.
    fn hook(&mut self) -> Result<Option<Hook>, PlatformError> {
        let Some(function) = &self.access.signup_hook else {
            return Ok(None);
        };
        let bad = |problem: String| PlatformError::BadHook {
            project: self.project.clone(),
            function: function.clone(),
            problem,
        };
        let Some(candidate) = self
            .state
            .hook_candidates
            .iter()
            .find(|c| c.takes_signup_user)
        else {
            if let Some(other) = self.state.hook_candidates.first() {
                return Err(bad(format!(
                    "takes ({}) instead of one `{PLATFORM_SCHEMA}.signup_user`",
                    other.args
                )));
            }
            self.plan.notice(format!(
                "signup hook `{}.{function}({PLATFORM_SCHEMA}.signup_user)` does not exist yet: create it in a migration, then provision again to register it",
                self.project
            ));
            return Ok(None);
        };
        if !candidate.security_definer {
            return Err(bad("is not SECURITY DEFINER".to_owned()));
        }
        if candidate.owner != self.owner {
            return Err(bad(format!(
                "is owned by `{}`, not `{}`",
                candidate.owner, self.owner
            )));
        }
        if !candidate.pins_search_path {
            return Err(bad("does not pin its search_path".to_owned()));
        }
        if !candidate.returns_ok {
            return Err(bad(format!(
                "returns {} instead of void or {PLATFORM_SCHEMA}.signup_user",
                candidate.returns
            )));
        }
        Ok(Some(Hook {
            project: self.project.as_str().to_owned(),
            function: function.clone(),
            oid: candidate.oid,
        }))
    }

    /// Installs the allowlist's missing extensions; refuses one the server cannot install.
    fn plan_extensions(&mut self) -> Result<(), PlatformError> {
        for ext in &self.state.extensions {
            if ext.installed_in.is_some() {
                continue;
            }
            if !ext.available {
                return Err(PlatformError::ExtensionUnavailable {
                    extension: ext.name.clone(),
                    why: "is not available on the server (not in pg_available_extensions)"
                        .to_owned(),
                });
            }
            if !ext.trusted {
                return Err(PlatformError::ExtensionUnavailable {
                    extension: ext.name.clone(),
                    why: "is not trusted, so only a superuser can create it".to_owned(),
                });
            }
            self.plan.require_instance_lock();
            self.push(
                Actor::Admin,
                format!(
                    "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA extensions",
                    quote_ident(&ext.name)
                ),
                format!(
                    "install allow-listed extension `{}` in schema extensions",
                    ext.name
                ),
            );
        }
        Ok(())
    }

    /// The dispatcher's role, the shared schema and the signup type, created once per instance.
    fn plan_hook_infrastructure(&mut self) {
        let s = self.state;
        let signup = quote_ident(SIGNUP_ROLE);
        let schema = quote_ident(PLATFORM_SCHEMA);
        let auth_owner = quote_ident(AUTH_OWNER);
        if !s.signup_role_exists {
            self.plan.require_instance_lock();
            self.push(
                Actor::Admin,
                format!("CREATE ROLE {signup} NOLOGIN NOINHERIT"),
                format!("create `{SIGNUP_ROLE}`: the role the signup dispatcher runs as"),
            );
        }
        if !s.admin_can_set_signup {
            self.plan.require_instance_lock();
            let options = if s.server_major >= 16 {
                " WITH INHERIT FALSE, SET TRUE"
            } else {
                ""
            };
            self.push(
                Actor::Admin,
                format!("GRANT {signup} TO {}{options}", quote_ident(&s.admin)),
                format!(
                    "let the admin `{}` act as `{SIGNUP_ROLE}` to write the dispatcher",
                    s.admin
                ),
            );
        }
        if !s.platform_schema {
            self.plan.require_instance_lock();
            self.push(
                Actor::Admin,
                format!("CREATE SCHEMA {schema}"),
                format!("create schema `{PLATFORM_SCHEMA}` for what hooking projects share"),
            );
            self.push(
                Actor::Admin,
                format!("GRANT USAGE ON SCHEMA {schema} TO {auth_owner}"),
                format!("`{AUTH_OWNER}` creates the trigger that calls the dispatcher"),
            );
        }
        if !s.signup_can_create {
            self.plan.require_instance_lock();
            self.push(
                Actor::Admin,
                format!("GRANT USAGE, CREATE ON SCHEMA {schema} TO {signup}"),
                format!("`{SIGNUP_ROLE}` owns the dispatcher in `{PLATFORM_SCHEMA}`"),
            );
        }
        if !s.signup_type {
            self.plan.require_instance_lock();
            let columns: Vec<String> = hooks::SIGNUP_COLUMNS
                .iter()
                .map(|(name, ty)| format!("{} {ty}", quote_ident(name)))
                .collect();
            self.push(
                Actor::Admin,
                format!(
                    "CREATE TYPE {schema}.signup_user AS ({})",
                    columns.join(", ")
                ),
                "what a signup hook sees of a new user: never its password or tokens",
            );
            self.push(
                Actor::Admin,
                format!("REVOKE USAGE ON TYPE {schema}.signup_user FROM PUBLIC"),
                "only hooking projects use the signup type",
            );
            self.push(
                Actor::Admin,
                format!("GRANT USAGE ON TYPE {schema}.signup_user TO {signup}"),
                format!("`{SIGNUP_ROLE}` passes the signup type to hooks"),
            );
        }
    }

    /// The explicit grants to the project's roles: revoke what is not declared, grant what is.
    fn plan_grants(
        &mut self,
        held: &BTreeSet<(String, String, String)>,
        wanted: &BTreeSet<(String, String, String)>,
    ) -> Result<(), PlatformError> {
        // Every object here is shared by all projects, and PostgreSQL rejects two concurrent
        // GRANTs on one catalog row ("tuple concurrently updated"): under the instance lock.
        if held != wanted {
            self.plan.require_instance_lock();
        }
        for (object, grantee, privilege) in held.difference(wanted) {
            let actor = self.grantor(object)?;
            self.push(
                actor,
                revoke_sql(object, privilege, grantee),
                format!("`{grantee}` holds {privilege} on {object}, which its platform access does not give"),
            );
        }
        for (object, grantee, privilege) in wanted.difference(held) {
            let actor = self.grantor(object)?;
            self.push(
                actor,
                grant_sql(object, privilege, grantee),
                format!("`{grantee}` needs {privilege} on {object}"),
            );
        }
        Ok(())
    }

    /// Who grants on `object`: its owner, which the admin must be or be able to act as.
    fn grantor(&self, object: &str) -> Result<Actor, PlatformError> {
        let s = self.state;
        if object.starts_with(&format!("schema {PLATFORM_SCHEMA}"))
            || object.starts_with(&format!("type {PLATFORM_SCHEMA}."))
        {
            return Ok(Actor::Admin);
        }
        if object == "schema extensions" {
            if s.admin_can_grant_extensions {
                return Ok(Actor::Admin);
            }
            return Err(PlatformError::CannotGrantExtensions {
                project: self.project.clone(),
                admin: s.admin.clone(),
                owner: s.owners.get(object).cloned().unwrap_or_default(),
            });
        }
        let owner = s.owners.get(object).cloned().unwrap_or_default();
        if owner == s.admin {
            return Ok(Actor::Admin);
        }
        if owner == AUTH_OWNER && s.admin_can_set_auth_admin {
            return Ok(Actor::AuthOwner);
        }
        Err(PlatformError::CannotActAs {
            project: self.project.clone(),
            admin: s.admin.clone(),
            role: if owner.is_empty() {
                AUTH_OWNER.to_owned()
            } else {
                owner
            },
            what: object.to_owned(),
        })
    }

    /// The project's tables in `supabase_realtime`: add the declared, drop the others.
    fn plan_realtime(&mut self) -> Result<(), PlatformError> {
        let s = self.state;
        for table in &self.access.realtime {
            if !s.tables.contains(table) {
                return Err(PlatformError::NoSuchTable {
                    project: self.project.clone(),
                    table: table.clone(),
                });
            }
        }
        let declared: BTreeSet<&String> = self.access.realtime.iter().collect();
        let published: BTreeSet<&String> = s.published.iter().collect();
        let add: Vec<&String> = declared.difference(&published).copied().collect();
        let drop: Vec<&String> = published.difference(&declared).copied().collect();
        if add.is_empty() && drop.is_empty() {
            return Ok(());
        }
        if s.publication_owner.as_deref() != Some(s.admin.as_str()) {
            return Err(PlatformError::CannotActAs {
                project: self.project.clone(),
                admin: s.admin.clone(),
                role: s.publication_owner.clone().unwrap_or_default(),
                what: "publication supabase_realtime".to_owned(),
            });
        }
        let schema = self.schema.clone();
        let tables = |names: &[&String]| {
            names
                .iter()
                .map(|t| format!("{schema}.{}", quote_ident(t)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let list = |names: &[&String]| {
            names
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // ALTER PUBLICATION needs the publication's owner (the admin) to own the tables it adds
        // and to see the schema of those it drops: the admin holds the project owner's
        // privileges for this transaction only.
        let bracket = !s.admin_inherits_owner;
        let owner = quote_ident(&self.owner);
        let admin = quote_ident(&s.admin);
        if bracket {
            let options = if s.server_major >= 16 {
                " WITH INHERIT TRUE, SET FALSE"
            } else {
                ""
            };
            self.push(
                Actor::Steward,
                format!("GRANT {owner} TO {admin}{options}"),
                format!(
                    "the admin adds `{}`'s tables to the publication as their owner, for this transaction",
                    self.project
                ),
            );
        }
        if !add.is_empty() {
            let sql = format!(
                "ALTER PUBLICATION supabase_realtime ADD TABLE {}",
                tables(&add)
            );
            self.push(
                Actor::Admin,
                sql,
                format!("Realtime streams {} of `{}`", list(&add), self.project),
            );
        }
        if !drop.is_empty() {
            let sql = format!(
                "ALTER PUBLICATION supabase_realtime DROP TABLE {}",
                tables(&drop)
            );
            self.push(
                Actor::Admin,
                sql,
                format!(
                    "{} of `{}` are not declared in `realtime`",
                    list(&drop),
                    self.project
                ),
            );
        }
        if bracket {
            self.push(
                Actor::Steward,
                format!("REVOKE {owner} FROM {admin}"),
                format!("end the admin acting as `{}`", self.owner),
            );
        }
        Ok(())
    }

    /// Registers `hook` (or unregisters the project's) and regenerates the dispatcher when the
    /// set of hooks changes.
    fn plan_registration(&mut self, hook: Option<&Hook>) {
        let s = self.state;
        let project = self.project.as_str();
        let signup = quote_ident(SIGNUP_ROLE);
        let registered: Vec<&super::state::RegisteredHook> =
            s.hooks.iter().filter(|h| h.project == project).collect();
        let mut owner_steps = Vec::new();
        for old in &registered {
            if hook.is_some_and(|h| h.oid == old.oid) {
                continue;
            }
            owner_steps.push(Step::new(
                Actor::Owner,
                format!(
                    "REVOKE EXECUTE ON FUNCTION {}.{}({PLATFORM_SCHEMA}.signup_user) FROM {signup}",
                    self.schema,
                    quote_ident(&old.function)
                ),
                format!(
                    "`{project}.{}` is no longer `{project}`'s signup hook",
                    old.function
                ),
            ));
        }
        if hook.is_none() && s.signup_schema_usage {
            owner_steps.push(Step::new(
                Actor::Owner,
                format!("REVOKE USAGE ON SCHEMA {} FROM {signup}", self.schema),
                format!("`{project}` has no signup hook"),
            ));
        }
        if let Some(hook) = hook {
            if !s.signup_schema_usage {
                owner_steps.push(Step::new(
                    Actor::Owner,
                    format!("GRANT USAGE ON SCHEMA {} TO {signup}", self.schema),
                    format!("the dispatcher reaches `{project}`'s hook"),
                ));
            }
            if !registered.iter().any(|r| r.oid == hook.oid) {
                owner_steps.push(Step::new(
                    Actor::Owner,
                    format!(
                        "GRANT EXECUTE ON FUNCTION {}.{}({PLATFORM_SCHEMA}.signup_user) TO {signup}",
                        self.schema,
                        quote_ident(&hook.function)
                    ),
                    format!(
                        "register `{project}.{}` as `{project}`'s signup hook",
                        hook.function
                    ),
                ));
            }
        }
        if !owner_steps.is_empty() {
            let owner = quote_ident(&self.owner);
            let steward = quote_ident(&crate::provision::steward_of(self.project));
            let options = if s.server_major >= 16 {
                " WITH INHERIT FALSE, SET TRUE"
            } else {
                ""
            };
            self.push(
                Actor::Steward,
                format!("GRANT {owner} TO {steward}{options}"),
                format!("act as `{}` for this transaction", self.owner),
            );
            self.plan.extend(owner_steps);
            self.push(
                Actor::Steward,
                format!("REVOKE {owner} FROM {steward}"),
                format!("end acting as `{}`", self.owner),
            );
        }

        // The instance's hooks after this plan: the others', and this project's if any.
        let mut all: Vec<Hook> = s
            .hooks
            .iter()
            .filter(|h| h.project != project)
            .map(|h| Hook {
                project: h.project.clone(),
                function: h.function.clone(),
                oid: h.oid,
            })
            .collect();
        all.extend(hook.cloned());
        all.sort();
        let body = hooks::dispatcher_body(&all);
        let current = s.dispatcher.as_ref().map(|d| d.source.as_str());
        let wants_trigger = !all.is_empty();
        if current != Some(body.as_str()) && (current.is_some() || wants_trigger) {
            self.plan.require_instance_lock();
            self.push(
                Actor::SignupDispatcher,
                hooks::dispatcher_sql(&body),
                format!(
                    "the dispatcher calls the hooks of {}",
                    if all.is_empty() {
                        "no project".to_owned()
                    } else {
                        all.iter()
                            .map(|h| format!("`{}`", h.project))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            );
            if current.is_none() {
                let function = format!("{}.dispatch_signup()", quote_ident(PLATFORM_SCHEMA));
                self.push(
                    Actor::SignupDispatcher,
                    format!("REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC"),
                    "only the trigger on auth.users runs the dispatcher",
                );
                self.push(
                    Actor::SignupDispatcher,
                    format!(
                        "GRANT EXECUTE ON FUNCTION {function} TO {}",
                        quote_ident(AUTH_OWNER)
                    ),
                    format!("`{AUTH_OWNER}` attaches the dispatcher to auth.users"),
                );
            }
        }
        if wants_trigger && !s.trigger {
            self.plan.require_instance_lock();
            self.push(
                Actor::AuthOwner,
                format!(
                    "CREATE TRIGGER {} AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION {}.dispatch_signup()",
                    quote_ident(hooks::TRIGGER),
                    quote_ident(PLATFORM_SCHEMA)
                ),
                "every signup calls the dispatcher",
            );
        }
        if !wants_trigger && s.trigger {
            self.plan.require_instance_lock();
            self.push(
                Actor::AuthOwner,
                format!("DROP TRIGGER {} ON auth.users", quote_ident(hooks::TRIGGER)),
                "no project has a signup hook",
            );
        }
    }
}

/// The SQL name of an object as `state.sql` describes it (`function auth.uid()`).
fn object_sql(object: &str) -> (String, Option<String>) {
    if let Some(name) = object.strip_prefix("schema ") {
        return (format!("SCHEMA {}", quote_ident(name)), None);
    }
    if let Some(name) = object.strip_prefix("function auth.") {
        let name = name.trim_end_matches("()");
        return (format!("FUNCTION auth.{}()", quote_ident(name)), None);
    }
    if let Some(name) = object.strip_prefix("type ") {
        let (schema, ty) = name.split_once('.').unwrap_or(("", name));
        return (
            format!("TYPE {}.{}", quote_ident(schema), quote_ident(ty)),
            None,
        );
    }
    // column auth.users (id)
    ("auth.users".to_owned(), Some("id".to_owned()))
}

fn grant_sql(object: &str, privilege: &str, grantee: &str) -> String {
    match object_sql(object) {
        (target, None) => format!("GRANT {privilege} ON {target} TO {}", quote_ident(grantee)),
        (table, Some(column)) => format!(
            "GRANT {privilege} ({}) ON {table} TO {}",
            quote_ident(&column),
            quote_ident(grantee)
        ),
    }
}

fn revoke_sql(object: &str, privilege: &str, grantee: &str) -> String {
    match object_sql(object) {
        (target, None) => format!(
            "REVOKE {privilege} ON {target} FROM {}",
            quote_ident(grantee)
        ),
        (table, Some(column)) => format!(
            "REVOKE {privilege} ({}) ON {table} FROM {}",
            quote_ident(&column),
            quote_ident(grantee)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> ProjectName {
        "reli".parse().unwrap()
    }

    /// A hosted-Supabase-like instance where `reli` is provisioned and has no platform access.
    fn supabase() -> PlatformState {
        let owners = [
            "schema auth",
            "function auth.email()",
            "function auth.jwt()",
            "function auth.role()",
            "function auth.uid()",
            "column auth.users (id)",
        ]
        .into_iter()
        .map(|o| (o.to_owned(), AUTH_OWNER.to_owned()))
        .collect();
        PlatformState {
            server_major: 17,
            admin: "postgres".into(),
            auth_admin_exists: true,
            admin_can_set_auth_admin: true,
            auth_schema: true,
            auth_users: true,
            extensions_schema: true,
            admin_can_grant_extensions: true,
            publication_owner: Some("postgres".into()),
            owners,
            owner_exists: true,
            signup_columns: hooks::SIGNUP_COLUMNS
                .iter()
                .map(|(c, _)| (*c).to_owned())
                .collect(),
            ..PlatformState::default()
        }
    }

    #[test]
    fn no_access_on_a_plain_instance_plans_nothing() {
        let plan = compute(&PlatformState::default(), &project(), &Access::none(), &[]).unwrap();
        assert!(plan.is_empty());
    }

    #[test]
    fn access_on_a_plain_instance_is_refused_naming_what_is_missing() {
        let access = Access::default().with_auth(true).with_realtime(["notes"]);
        let error = compute(&PlatformState::default(), &project(), &access, &[]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("Supabase-like"), "{message}");
        assert!(message.contains("role `supabase_auth_admin`"), "{message}");
        assert!(
            message.contains("publication `supabase_realtime`"),
            "{message}"
        );
    }

    #[test]
    fn auth_is_granted_by_the_auth_owner_and_never_as_select() {
        let plan = compute(
            &supabase(),
            &project(),
            &Access::default().with_auth(true),
            &[],
        )
        .unwrap();
        let sql = plan.to_sql();
        assert!(
            sql.contains("SET LOCAL ROLE \"supabase_auth_admin\""),
            "{sql}"
        );
        assert!(
            sql.contains("GRANT REFERENCES (\"id\") ON auth.users TO \"reli_owner\""),
            "{sql}"
        );
        assert!(
            sql.contains("GRANT EXECUTE ON FUNCTION auth.\"uid\"() TO \"reli_app\""),
            "{sql}"
        );
        assert!(!sql.contains("SELECT ON"), "{sql}");
        assert!(!sql.contains("REFERENCES (\"id\") ON auth.users TO \"reli_app\""));
        assert_eq!(plan.len(), 11);
    }

    #[test]
    fn access_taken_off_is_revoked() {
        let mut state = supabase();
        state.grants = vec![super::super::state::Grant {
            object: "schema extensions".into(),
            grantee: "reli_app".into(),
            privilege: "USAGE".into(),
        }];
        let plan = compute(&state, &project(), &Access::none(), &[]).unwrap();
        let steps: Vec<String> = plan.steps().map(Step::sql).collect();
        assert_eq!(
            steps,
            [r#"REVOKE USAGE ON SCHEMA "extensions" FROM "reli_app""#]
        );
    }

    #[test]
    fn a_declared_realtime_table_that_does_not_exist_is_a_plan_error() {
        let access = Access::default().with_realtime(["notes"]);
        match compute(&supabase(), &project(), &access, &[]) {
            Err(PlatformError::NoSuchTable { table, .. }) => assert_eq!(table, "notes"),
            other => panic!("expected NoSuchTable, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_hook_function_is_a_notice_and_prepares_the_signup_type() {
        let access = Access::default().with_signup_hook(Some("handle_new_user"));
        let plan = compute(&supabase(), &project(), &access, &[]).unwrap();
        assert_eq!(plan.notices().len(), 1);
        assert!(plan.0.needs_instance_lock());
        let sql = plan.to_sql();
        assert!(
            sql.contains("CREATE TYPE \"cotenant_platform\".signup_user"),
            "{sql}"
        );
        assert!(!sql.contains("encrypted_password"));
        assert!(
            sql.contains(
                "GRANT USAGE ON TYPE \"cotenant_platform\".\"signup_user\" TO \"reli_owner\""
            ),
            "{sql}"
        );
        assert!(
            !sql.contains("CREATE TRIGGER"),
            "no trigger while no hook exists: {sql}"
        );
    }

    #[test]
    fn extensions_without_the_grant_option_say_what_the_operator_runs() {
        let mut state = supabase();
        state.admin_can_grant_extensions = false;
        state
            .owners
            .insert("schema extensions".into(), "supabase_admin".into());
        let access = Access::default().with_extensions(true);
        let message = compute(&state, &project(), &access, &[])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("GRANT USAGE ON SCHEMA extensions TO postgres WITH GRANT OPTION"),
            "{message}"
        );
    }
}
