//! The Data API plan: what must change so that a project's API roles match its declaration,
//! as a value that can be printed, reviewed as SQL and tested without a database.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::declaration::{Api, ApiRoleKind};
use super::state::{ApiState, DefaultAcl, Membership, RoleState};
use super::{AUTHENTICATOR, ApiError, REALTIME};
use crate::ProjectName;
use crate::api::TablePrivilege;
use crate::ident::{quote_ident, quote_literal};
use crate::platform::Access;
use crate::provision::{Actor, Step};
use crate::room::default_privileges::{self, DefaultPrivilege};
use crate::room::{RoomPlan, Wording};

/// The auth functions RLS policies call; the API roles get them with platform access `auth`.
const AUTH_FUNCTIONS: [&str; 4] = ["email", "jwt", "role", "uid"];

/// What converging one project's Data API roles on one instance will change, in order.
///
/// Printed with [`Display`](fmt::Display) for people or [`to_sql`](ApiPlan::to_sql) as a
/// script.
#[derive(Debug, Clone)]
pub struct ApiPlan(RoomPlan);

/// How an API plan reads.
const WORDING: Wording = Wording {
    plan: "Data API",
    subject: "Data API roles",
    converged: "the API roles match the declaration",
};

impl ApiPlan {
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

    /// The steps as a script fragment with the reason for each as a comment: what provisioning's
    /// script embeds. Changes to ACLs all projects share (schemas `auth`, `extensions`) run
    /// under cotenant's instance lock: concurrent GRANTs on one catalog row fail.
    pub(crate) fn script_body(&self) -> String {
        self.0.script_body()
    }

    /// The plan as one SQL script in one transaction, the way cotenant applies it.
    pub fn to_sql(&self) -> String {
        self.0.to_sql()
    }
}

impl AsRef<RoomPlan> for ApiPlan {
    fn as_ref(&self) -> &RoomPlan {
        &self.0
    }
}

impl fmt::Display for ApiPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Compares `state` with `api` for `project` (whose platform access is `access`: the API roles
/// get its `auth` and `extensions` like `<p>_app`) and lists what must change.
pub(crate) fn compute(
    state: &ApiState,
    project: &ProjectName,
    api: &Api,
    access: &Access,
) -> Result<ApiPlan, ApiError> {
    Planner::new(state, project, api, access).plan()
}

struct Planner<'a> {
    state: &'a ApiState,
    project: &'a ProjectName,
    api: &'a Api,
    access: &'a Access,
    steward: String,
    owner: String,
    schema: String,
    /// The API roles the declaration wants, by name.
    wanted: BTreeMap<String, ApiRoleKind>,
    /// The API roles that exist and are to be dropped.
    dropped: Vec<String>,
    plan: RoomPlan,
}

impl<'a> Planner<'a> {
    fn new(
        state: &'a ApiState,
        project: &'a ProjectName,
        api: &'a Api,
        access: &'a Access,
    ) -> Self {
        let wanted: BTreeMap<String, ApiRoleKind> =
            api.kinds().map(|k| (k.role(project), k)).collect();
        let dropped = state
            .roles
            .iter()
            .map(|r| r.name.clone())
            .filter(|n| !wanted.contains_key(n))
            .collect();
        Self {
            state,
            project,
            api,
            access,
            steward: crate::provision::steward_of(project),
            owner: project.roles().owner,
            schema: quote_ident(project.as_str()),
            wanted,
            dropped,
            plan: RoomPlan::new(WORDING, project, state.server_major).creating_roles(),
        }
    }

    fn plan(mut self) -> Result<ApiPlan, ApiError> {
        if self.api.enabled && self.state.authenticator_oid.is_none() {
            return Err(ApiError::NoAuthenticator {
                project: self.project.clone(),
            });
        }
        if self.api.enabled && self.api.realtime && self.state.realtime_oid.is_none() {
            return Err(ApiError::NoRealtime {
                project: self.project.clone(),
            });
        }
        if self.api.enabled
            && self.api.storage
            && (self.state.storage_buckets_oid.is_none()
                || self.state.storage_objects_oid.is_none())
        {
            return Err(ApiError::NoStorage {
                project: self.project.clone(),
            });
        }
        self.check_dropped()?;
        self.plan_roles()?;
        self.plan_settings();
        self.plan_memberships();
        self.plan_owner_grants();
        self.plan_platform()?;
        self.plan_storage()?;
        for role in std::mem::take(&mut self.dropped) {
            self.push(
                Actor::Steward,
                format!("DROP ROLE {}", quote_ident(&role)),
                format!(
                    "`{role}` is not declared in [projects.{}.api]",
                    self.project
                ),
            );
        }
        Ok(ApiPlan(self.plan))
    }

    fn push(&mut self, actor: Actor, sql: String, why: impl Into<String>) {
        self.plan.push(actor, sql, why);
    }

    fn grant_options(&self, inherit: bool, set: bool) -> String {
        if self.state.server_major >= 16 {
            format!(
                " WITH INHERIT {}, SET {}",
                if inherit { "TRUE" } else { "FALSE" },
                if set { "TRUE" } else { "FALSE" }
            )
        } else {
            String::new()
        }
    }

    /// A role to be dropped must not be named by a policy: DROP ROLE would fail, and the
    /// policy is the project's migration to change.
    fn check_dropped(&self) -> Result<(), ApiError> {
        for role in &self.dropped {
            let objects: Vec<String> = self
                .state
                .named_by
                .iter()
                .filter(|n| &n.role == role)
                // Its bucket policy is this plan's to drop first.
                .filter(|n| n.object != format!("policy {role} on table storage.objects"))
                .map(|n| n.object.clone())
                .collect();
            if !objects.is_empty() {
                return Err(ApiError::StillNamed {
                    project: self.project.clone(),
                    role: role.clone(),
                    objects,
                });
            }
        }
        Ok(())
    }

    /// The roles: NOLOGIN NOINHERIT, no attribute but BYPASSRLS for `<p>_service`.
    fn plan_roles(&mut self) -> Result<(), ApiError> {
        let wanted: Vec<(String, ApiRoleKind)> =
            self.wanted.iter().map(|(n, k)| (n.clone(), *k)).collect();
        for (name, kind) in wanted {
            let quoted = quote_ident(&name);
            let bypass = kind == ApiRoleKind::Service;
            let Some(existing) = self.state.role(&name) else {
                self.push(
                    Actor::Steward,
                    format!("CREATE ROLE {quoted} NOLOGIN NOINHERIT"),
                    format!("create API role `{name}`"),
                );
                if bypass {
                    self.plan_bypassrls(&name, true)?;
                }
                continue;
            };
            let changes = attribute_changes(existing);
            if !changes.is_empty() {
                let (sql, why): (Vec<_>, Vec<_>) = changes.into_iter().unzip();
                self.push(
                    Actor::Steward,
                    format!("ALTER ROLE {quoted} {}", sql.join(" ")),
                    format!("role `{name}` drifted: {}", why.join(", ")),
                );
            }
            if existing.bypassrls != bypass {
                self.plan_bypassrls(&name, bypass)?;
            }
        }
        Ok(())
    }

    /// BYPASSRLS can be given or taken only by a superuser on 15, and on 16+ only by a role
    /// that has it (and ADMIN on the role): the admin, granted ADMIN by the steward for this
    /// transaction. The steward itself has no BYPASSRLS, so that the admin's reach into
    /// projects does not grow through it.
    fn plan_bypassrls(&mut self, role: &str, on: bool) -> Result<(), ApiError> {
        let s = self.state;
        let (clause, what) = if on {
            ("BYPASSRLS", "needs BYPASSRLS")
        } else {
            ("NOBYPASSRLS", "must lose BYPASSRLS")
        };
        let quoted = quote_ident(role);
        if s.server_major < 16 {
            let fix = if s.role(role).is_some() {
                format!("run `ALTER ROLE {quoted} {clause}`")
            } else {
                format!("run `CREATE ROLE {quoted} NOLOGIN NOINHERIT BYPASSRLS`")
            };
            return Err(ApiError::CannotBypassRls {
                project: self.project.clone(),
                role: role.to_owned(),
                why: format!(
                    "on PostgreSQL {} only a superuser can change that attribute ({what}): as a superuser, {fix} once, then provision again (cotenant adopts it); or set `service = false` in [projects.{}.api]",
                    s.server_major, self.project
                ),
            });
        }
        if !s.admin_bypassrls {
            return Err(ApiError::CannotBypassRls {
                project: self.project.clone(),
                role: role.to_owned(),
                why: format!(
                    "on PostgreSQL 16+ only a role with BYPASSRLS can change that attribute ({what}), and the admin `{admin}` has none: as a superuser, run `ALTER ROLE {} BYPASSRLS` (hosted Supabase's admin has it); or set `service = false` in [projects.{}.api]",
                    quote_ident(&s.admin),
                    self.project,
                    admin = s.admin
                ),
            });
        }
        let admin = quote_ident(&s.admin);
        self.push(
            Actor::Steward,
            format!("GRANT {quoted} TO {admin} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE"),
            format!("the admin may manage `{role}` for this transaction"),
        );
        self.push(
            Actor::Admin,
            format!("ALTER ROLE {quoted} {clause}"),
            if on {
                format!(
                    "`{role}` bypasses RLS where it holds privileges: in `{}` only",
                    self.project
                )
            } else {
                format!("`{role}` must not bypass RLS")
            },
        );
        self.push(
            Actor::Steward,
            format!("REVOKE {quoted} FROM {admin}"),
            format!("end the admin managing `{role}`"),
        );
        Ok(())
    }

    /// Role defaults: the declared statement timeout, nothing else.
    fn plan_settings(&mut self) {
        let wanted: Vec<(String, ApiRoleKind)> =
            self.wanted.iter().map(|(n, k)| (n.clone(), *k)).collect();
        for (name, kind) in wanted {
            let mut want: BTreeMap<&str, String> = BTreeMap::new();
            if let Some(t) = self.api.role(kind).statement_timeout {
                want.insert("statement_timeout", t.as_millis().to_string());
            }
            let current: BTreeMap<String, String> = self
                .state
                .role(&name)
                .map(|r| {
                    r.settings
                        .iter()
                        .filter_map(|s| s.split_once('='))
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            for (key, value) in &want {
                if current.get(*key) != Some(value) {
                    self.push(
                        Actor::Steward,
                        format!("ALTER ROLE {} SET {key} = {value}", quote_ident(&name)),
                        format!("role default `{key}` of `{name}` is {value} ms"),
                    );
                }
            }
            for key in current.keys().filter(|k| !want.contains_key(k.as_str())) {
                self.push(
                    Actor::Steward,
                    format!(
                        "ALTER ROLE {} RESET {}",
                        quote_ident(&name),
                        quote_ident(key)
                    ),
                    format!(
                        "`{name}` has a role default `{key}` that the declaration does not set"
                    ),
                );
            }
        }
    }

    /// Who may SET ROLE to the API roles: `authenticator`, and with `realtime` Realtime's role.
    fn grantees(&self) -> Vec<&'static str> {
        let mut grantees = vec![AUTHENTICATOR];
        if self.api.realtime {
            grantees.push(REALTIME);
        }
        grantees
    }

    /// Each API role is granted to `authenticator` (SET, no inheritance), with `realtime` to
    /// Realtime's role too, and to nobody else, and is a member of nothing.
    fn plan_memberships(&mut self) {
        let grantees = self.grantees();
        let mut kept = BTreeSet::new();
        let state = self.state;
        for m in &state.memberships {
            // A dropped role's memberships go with it.
            if self.dropped.contains(&m.role) || self.dropped.contains(&m.member) {
                continue;
            }
            let is_wanted =
                self.wanted.contains_key(&m.role) && grantees.contains(&m.member.as_str());
            if is_wanted && self.membership_is_right(m) {
                kept.insert((m.role.clone(), m.member.clone()));
                continue;
            }
            if !is_wanted && self.is_management_edge(m) {
                continue;
            }
            let why = if is_wanted {
                format!(
                    "`{}` may use `{}` only through SET ROLE (no ADMIN, no inheritance): re-grant it",
                    m.member, m.role
                )
            } else {
                format!(
                    "`{}` is a member of `{}`, which API roles never are nor have",
                    m.member, m.role
                )
            };
            self.push(
                Actor::Steward,
                m.revoke_sql(&self.steward, state.server_major >= 16),
                why,
            );
        }
        let mut missing = Vec::new();
        for role in self.wanted.keys() {
            for grantee in &grantees {
                if !kept.contains(&(role.clone(), (*grantee).to_owned())) {
                    missing.push((role.clone(), *grantee));
                }
            }
        }
        for (role, grantee) in missing {
            let who = if grantee == AUTHENTICATOR {
                "PostgREST"
            } else {
                "Realtime"
            };
            self.push(
                Actor::Steward,
                format!(
                    "GRANT {} TO {grantee}{}",
                    quote_ident(&role),
                    self.grant_options(false, true)
                ),
                format!("{who} (`{grantee}`) may SET ROLE `{role}`"),
            );
        }
    }

    fn membership_is_right(&self, m: &Membership) -> bool {
        !m.admin_option && m.inherit_option != Some(true) && m.set_option != Some(false)
    }

    /// The steward's ADMIN on the roles it created (16+): management, not use.
    fn is_management_edge(&self, m: &Membership) -> bool {
        self.state.server_major >= 16
            && m.member == self.steward
            && m.admin_option
            && m.inherit_option == Some(false)
            && m.set_option == Some(false)
    }

    /// USAGE on the project's schema and the declared default privileges, granted by the
    /// owner (the steward acting as it for this transaction); what a dropped role held in the
    /// schema is revoked.
    fn plan_owner_grants(&mut self) {
        let schema = self.schema.clone();
        let mut owner_steps = Vec::new();
        let held: BTreeSet<(String, String)> = self
            .state
            .grants
            .iter()
            .filter(|g| g.object == "schema project")
            .map(|g| (g.grantee.clone(), g.privilege.clone()))
            .collect();
        let want: BTreeSet<(String, String)> = self
            .wanted
            .keys()
            .map(|r| (r.clone(), "USAGE".to_owned()))
            .collect();
        for (grantee, privilege) in held.difference(&want) {
            owner_steps.push(Step::new(
                Actor::Owner,
                format!(
                    "REVOKE {privilege} ON SCHEMA {schema} FROM {}",
                    quote_ident(grantee)
                ),
                format!(
                    "`{grantee}` may hold only USAGE on schema `{}`",
                    self.project
                ),
            ));
        }
        for (grantee, privilege) in want.difference(&held) {
            owner_steps.push(Step::new(
                Actor::Owner,
                format!(
                    "GRANT {privilege} ON SCHEMA {schema} TO {}",
                    quote_ident(grantee)
                ),
                format!("`{grantee}` needs {privilege} on schema `{}`", self.project),
            ));
        }
        self.plan_default_privileges(&mut owner_steps);
        if self.state.schema_oid.is_some() {
            for role in &self.dropped {
                for objects in ["TABLES", "SEQUENCES", "FUNCTIONS"] {
                    owner_steps.push(Step::new(
                        Actor::Owner,
                        format!(
                            "REVOKE ALL ON ALL {objects} IN SCHEMA {schema} FROM {}",
                            quote_ident(role)
                        ),
                        format!("`{role}` is dropped: what the project granted it goes first"),
                    ));
                }
            }
        }
        if owner_steps.is_empty() {
            return;
        }
        let owner = quote_ident(&self.owner);
        let steward = quote_ident(&self.steward);
        self.push(
            Actor::Steward,
            format!(
                "GRANT {owner} TO {steward}{}",
                self.grant_options(false, true)
            ),
            format!("act as `{}` for this transaction", self.owner),
        );
        self.plan.extend(owner_steps);
        self.push(
            Actor::Steward,
            format!("REVOKE {owner} FROM {steward}"),
            format!("end acting as `{}`", self.owner),
        );
    }

    fn plan_default_privileges(&self, steps: &mut Vec<Step>) {
        let current: BTreeSet<DefaultPrivilege> = self
            .state
            .default_acls
            .iter()
            .map(DefaultAcl::to_privilege)
            .collect();
        let mut wanted = BTreeSet::new();
        for (name, kind) in &self.wanted {
            let role = self.api.role(*kind);
            let mut add = |objtype: &str, privilege: &str| {
                wanted.insert((true, objtype.to_owned(), name.clone(), privilege.to_owned()));
            };
            for p in &role.tables {
                add("r", p.as_sql());
            }
            for p in &role.sequences {
                add("S", p.as_sql());
            }
            if role.functions {
                add("f", "EXECUTE");
            }
        }
        steps.extend(default_privileges::converge(
            &self.schema,
            &current,
            &wanted,
            |objects, grantee, privilege| {
                format!("`{grantee}` is not declared to get {privilege} on new {objects}")
            },
            |objects, grantee, privileges| {
                format!(
                    "`{grantee}` gets {privileges} on new {objects} in `{}`, as declared",
                    self.project
                )
            },
        ));
    }

    /// What the API roles use of the platform, as `<p>_app` does: USAGE on `auth` and EXECUTE
    /// on `auth.uid()` and friends (RLS policies run as the querying role), USAGE on
    /// `extensions`.
    fn plan_platform(&mut self) -> Result<(), ApiError> {
        let held: BTreeSet<(String, String, String)> = self
            .state
            .grants
            .iter()
            .filter(|g| g.object != "schema project")
            .map(|g| (g.object.clone(), g.grantee.clone(), g.privilege.clone()))
            .collect();
        let mut want = BTreeSet::new();
        for role in self.wanted.keys() {
            if self.access.auth {
                want.insert(("schema auth".to_owned(), role.clone(), "USAGE".to_owned()));
                for f in AUTH_FUNCTIONS {
                    want.insert((
                        format!("function auth.{f}()"),
                        role.clone(),
                        "EXECUTE".to_owned(),
                    ));
                }
            }
            if self.access.extensions {
                want.insert((
                    "schema extensions".to_owned(),
                    role.clone(),
                    "USAGE".to_owned(),
                ));
            }
            if self.api.storage {
                want.insert((
                    "schema storage".to_owned(),
                    role.clone(),
                    "USAGE".to_owned(),
                ));
                // Requests without a user only read the bucket.
                let privileges: &[TablePrivilege] = if role.ends_with("_anon") {
                    &[TablePrivilege::Select]
                } else {
                    &TablePrivilege::ALL
                };
                for privilege in privileges {
                    want.insert((
                        "table storage.objects".to_owned(),
                        role.clone(),
                        privilege.as_sql().to_owned(),
                    ));
                }
            }
        }
        let revoke: Vec<_> = held.difference(&want).cloned().collect();
        let grant: Vec<_> = want.difference(&held).cloned().collect();
        let mut auth_steps = Vec::new();
        let mut admin_steps = Vec::new();
        let mut storage_steps = Vec::new();
        for ((object, grantee, privilege), granting) in revoke
            .iter()
            .map(|g| (g, false))
            .chain(grant.iter().map(|g| (g, true)))
        {
            let target = if let Some(f) = object.strip_prefix("function auth.") {
                format!("FUNCTION auth.{}()", quote_ident(f.trim_end_matches("()")))
            } else if object == "table storage.objects" {
                "TABLE storage.objects".to_owned()
            } else {
                format!(
                    "SCHEMA {}",
                    quote_ident(object.trim_start_matches("schema "))
                )
            };
            let (sql, why) = if granting {
                (
                    format!("GRANT {privilege} ON {target} TO {}", quote_ident(grantee)),
                    format!("`{grantee}` uses {object} as `{}_app` does", self.project),
                )
            } else {
                (
                    format!(
                        "REVOKE {privilege} ON {target} FROM {}",
                        quote_ident(grantee)
                    ),
                    format!("`{grantee}` has no platform access to {object}"),
                )
            };
            if object == "schema extensions" {
                admin_steps.push(Step::new(Actor::Admin, sql, why));
            } else if object.contains("storage") {
                storage_steps.push(Step::new(Actor::StorageOwner, sql, why));
            } else {
                auth_steps.push(Step::new(Actor::AuthOwner, sql, why));
            }
        }
        let s = self.state;
        if !auth_steps.is_empty() && !s.admin_can_set_auth_admin {
            return Err(ApiError::CannotGrantPlatform {
                project: self.project.clone(),
                admin: s.admin.clone(),
                what: "auth (USAGE on schema auth, EXECUTE on auth.uid() and friends)".to_owned(),
                how: format!(
                    "SET ROLE to `{}`, which owns them",
                    crate::platform::AUTH_OWNER
                ),
                fix: format!(
                    "grant `{}` to `{}` (hosted Supabase does) or turn platform access `auth` off",
                    crate::platform::AUTH_OWNER,
                    s.admin
                ),
            });
        }
        if !admin_steps.is_empty() && !s.admin_can_grant_extensions {
            return Err(ApiError::CannotGrantPlatform {
                project: self.project.clone(),
                admin: s.admin.clone(),
                what: "USAGE on schema extensions".to_owned(),
                how: "grant it on (it lacks the grant option)".to_owned(),
                fix: format!(
                    "as a superuser, run `GRANT USAGE ON SCHEMA extensions TO {} WITH GRANT OPTION` once per instance, or turn platform access `extensions` off",
                    s.admin
                ),
            });
        }
        self.check_storage_owner(!storage_steps.is_empty())?;
        if !auth_steps.is_empty() || !admin_steps.is_empty() || !storage_steps.is_empty() {
            self.plan.require_instance_lock();
        }
        self.plan.extend(auth_steps);
        self.plan.extend(admin_steps);
        self.plan.extend(storage_steps);
        Ok(())
    }

    /// Refuses Storage steps the admin cannot make: they are `supabase_storage_admin`'s.
    fn check_storage_owner(&self, needed: bool) -> Result<(), ApiError> {
        let s = self.state;
        if needed && !s.admin_can_set_storage_admin {
            return Err(ApiError::CannotGrantPlatform {
                project: self.project.clone(),
                admin: s.admin.clone(),
                what: "a Storage bucket (the bucket, policies and grants on storage.objects)"
                    .to_owned(),
                how: format!("SET ROLE to `{}`, which owns them", super::STORAGE_OWNER),
                fix: format!(
                    "grant `{}` to `{}` (hosted Supabase does) or set `storage = false`",
                    super::STORAGE_OWNER,
                    s.admin
                ),
            });
        }
        Ok(())
    }

    /// The project's bucket (`storage.buckets` row `<p>`) and one policy per API role on
    /// `storage.objects`, named after the role and scoped to the bucket: the Storage API runs
    /// each request as the JWT's role, so `<p>_authenticated` reaches bucket `<p>`'s objects
    /// (and whatever else its project's own policies allow) and nothing of another bucket's.
    /// Taken off, the policies are dropped and the bucket deleted — only when it is empty.
    fn plan_storage(&mut self) -> Result<(), ApiError> {
        let s = self.state;
        let want = self.api.enabled && self.api.storage;
        let bucket = quote_literal(self.project.as_str());
        let scope = format!("(bucket_id = {bucket}::text)");
        let mut steps = Vec::new();
        if want && !s.bucket_exists {
            steps.push(Step::new(
                Actor::StorageOwner,
                format!("INSERT INTO storage.buckets (id, name) VALUES ({bucket}, {bucket})"),
                format!("Storage bucket `{}` for the project's files", self.project),
            ));
        }
        // `<p>_anon` reads the bucket; `<p>_authenticated` reads and writes it.
        let policies: Vec<(String, &str, Option<&str>)> = self
            .wanted
            .iter()
            .filter(|_| want)
            .filter_map(|(n, k)| match k {
                ApiRoleKind::Anon => Some((n.clone(), "r", None)),
                ApiRoleKind::Authenticated => Some((n.clone(), "*", Some(scope.as_str()))),
                _ => None,
            })
            .collect();
        let is_right = |p: &super::state::StoragePolicy| {
            policies.iter().any(|(name, cmd, check)| {
                &p.name == name
                    && p.cmd == *cmd
                    && p.roles == [name.clone()]
                    && p.using.as_deref() == Some(scope.as_str())
                    && p.check.as_deref() == *check
            })
        };
        for policy in &s.storage_policies {
            if !is_right(policy) {
                steps.push(Step::new(
                    Actor::StorageOwner,
                    format!(
                        "DROP POLICY {} ON storage.objects",
                        quote_ident(&policy.name)
                    ),
                    format!(
                        "policy `{}` on storage.objects is not the project's bucket scope",
                        policy.name
                    ),
                ));
            }
        }
        for (role, cmd, check) in &policies {
            let exists_right = s
                .storage_policies
                .iter()
                .any(|p| &p.name == role && is_right(p));
            if !exists_right {
                let quoted = quote_ident(role);
                let (command, with_check, what) = match (cmd, check) {
                    (&"r", _) => ("SELECT", String::new(), "reads"),
                    (_, Some(_)) => (
                        "ALL",
                        format!(" WITH CHECK (bucket_id = {bucket})"),
                        "reads and writes",
                    ),
                    _ => ("ALL", String::new(), "reads and writes"),
                };
                steps.push(Step::new(
                    Actor::StorageOwner,
                    format!(
                        "CREATE POLICY {quoted} ON storage.objects FOR {command} TO {quoted} USING (bucket_id = {bucket}){with_check}"
                    ),
                    format!("`{role}` {what} the objects of bucket `{}` only", self.project),
                ));
            }
        }
        // A bucket is deleted only where cotenant's policies show it made it.
        if !want && s.bucket_exists && !s.storage_policies.is_empty() {
            if s.bucket_objects > 0 {
                return Err(ApiError::BucketNotEmpty {
                    project: self.project.clone(),
                    objects: s.bucket_objects,
                });
            }
            steps.push(Step::new(
                Actor::StorageOwner,
                format!("DELETE FROM storage.buckets WHERE id = {bucket}"),
                format!("the project has no Storage bucket `{}`", self.project),
            ));
        }
        self.check_storage_owner(!steps.is_empty())?;
        if !steps.is_empty() {
            self.plan.require_instance_lock();
        }
        self.plan.extend(steps);
        Ok(())
    }
}

/// The attribute clauses (BYPASSRLS aside) that bring an API role to NOLOGIN NOINHERIT with
/// nothing else, with the reason for each.
fn attribute_changes(role: &RoleState) -> Vec<(String, String)> {
    let mut changes = Vec::new();
    for (has, clause, attribute) in [
        (role.superuser, "NOSUPERUSER", "SUPERUSER"),
        (role.createdb, "NOCREATEDB", "CREATEDB"),
        (role.createrole, "NOCREATEROLE", "CREATEROLE"),
        (role.replication, "NOREPLICATION", "REPLICATION"),
        (role.inherit, "NOINHERIT", "INHERIT"),
        (role.login, "NOLOGIN", "LOGIN"),
    ] {
        if has {
            changes.push((clause.to_owned(), format!("has {attribute}")));
        }
    }
    if role.connection_limit != -1 {
        changes.push((
            "CONNECTION LIMIT -1".to_owned(),
            format!("connection limit is {}", role.connection_limit),
        ));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> ProjectName {
        "reli".parse().unwrap()
    }

    /// A hosted-Supabase-like instance where `reli` is provisioned and has no API roles yet.
    fn supabase(server_major: u32) -> ApiState {
        ApiState {
            server_major,
            admin: "postgres".into(),
            admin_bypassrls: true,
            authenticator_oid: Some(10_001),
            owner_oid: Some(20_001),
            schema_oid: Some(20_002),
            auth_oid: Some(30_001),
            admin_can_set_auth_admin: true,
            ..ApiState::default()
        }
    }

    fn sql(plan: &ApiPlan) -> Vec<String> {
        plan.steps().map(Step::sql).collect()
    }

    #[test]
    fn no_api_plans_nothing_even_without_authenticator() {
        let plan = compute(
            &ApiState::default(),
            &project(),
            &Api::none(),
            &Access::none(),
        )
        .unwrap();
        assert!(plan.is_empty());
    }

    #[test]
    fn enabling_the_api_without_authenticator_is_a_plan_error() {
        let mut state = supabase(17);
        state.authenticator_oid = None;
        let error = compute(&state, &project(), &Api::enabled(), &Access::none()).unwrap_err();
        assert!(matches!(error, ApiError::NoAuthenticator { .. }), "{error}");
        assert!(error.to_string().contains("[projects.reli.api]"), "{error}");
    }

    #[test]
    fn new_api_roles_are_the_stewards_granted_to_authenticator_only_and_get_nothing_undeclared() {
        let plan = compute(&supabase(17), &project(), &Api::enabled(), &Access::none()).unwrap();
        let sql = sql(&plan);
        for statement in [
            r#"CREATE ROLE "reli_anon" NOLOGIN NOINHERIT"#,
            r#"CREATE ROLE "reli_authenticated" NOLOGIN NOINHERIT"#,
            r#"GRANT "reli_authenticated" TO authenticator WITH INHERIT FALSE, SET TRUE"#,
            r#"ALTER ROLE "reli_anon" SET statement_timeout = 3000"#,
            r#"ALTER ROLE "reli_authenticated" SET statement_timeout = 8000"#,
            r#"GRANT USAGE ON SCHEMA "reli" TO "reli_anon""#,
        ] {
            assert!(
                sql.iter().any(|s| s == statement),
                "`{statement}` in {sql:#?}"
            );
        }
        assert!(plan.steps().take(2).all(|s| s.actor() == Actor::Steward));
        assert!(
            !sql.iter().any(|s| s.contains("DEFAULT PRIVILEGES")),
            "{sql:#?}"
        );
        assert!(!sql.iter().any(|s| s.contains("reli_service")), "{sql:#?}");
        assert!(
            !plan.0.needs_instance_lock(),
            "nothing shared changes without platform access"
        );
    }

    #[test]
    fn declared_default_privileges_and_auth_are_granted_by_their_owners() {
        let api = Api::enabled().with_role(ApiRoleKind::Authenticated, |r| {
            r.with_tables([TablePrivilege::Select, TablePrivilege::Update])
        });
        let access = Access::default().with_auth(true);
        let plan = compute(&supabase(15), &project(), &api, &access).unwrap();
        let script = plan.to_sql();
        assert!(
            script.contains(r#"ALTER DEFAULT PRIVILEGES IN SCHEMA "reli" GRANT SELECT, UPDATE ON TABLES TO "reli_authenticated""#),
            "{script}"
        );
        assert!(
            script.contains(r#"GRANT "reli_anon" TO authenticator;"#),
            "15 has no grant options: {script}"
        );
        assert!(
            script.contains("SET LOCAL ROLE \"supabase_auth_admin\""),
            "{script}"
        );
        assert!(
            script.contains(r#"GRANT EXECUTE ON FUNCTION auth."uid"() TO "reli_anon""#),
            "{script}"
        );
        assert!(plan.0.needs_instance_lock(), "auth's ACLs are shared");
        assert!(!script.contains("SELECT ON auth"), "{script}");
    }

    #[test]
    fn the_service_role_gets_bypassrls_from_the_admin_on_16_and_is_refused_on_15() {
        let api = Api::enabled().with_service(true);
        let plan = compute(&supabase(17), &project(), &api, &Access::none()).unwrap();
        let sql = sql(&plan);
        let grant = sql
            .iter()
            .position(|s| s == r#"GRANT "reli_service" TO "postgres" WITH ADMIN TRUE, INHERIT FALSE, SET FALSE"#)
            .expect("the steward lends the admin ADMIN");
        assert_eq!(sql[grant + 1], r#"ALTER ROLE "reli_service" BYPASSRLS"#);
        assert_eq!(sql[grant + 2], r#"REVOKE "reli_service" FROM "postgres""#);

        let error = compute(&supabase(15), &project(), &api, &Access::none()).unwrap_err();
        assert!(matches!(error, ApiError::CannotBypassRls { .. }));
        assert!(error.to_string().contains("only a superuser"), "{error}");

        let mut plain = supabase(17);
        plain.admin_bypassrls = false;
        let error = compute(&plain, &project(), &api, &Access::none()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains(r#"ALTER ROLE "postgres" BYPASSRLS"#),
            "{error}"
        );
    }

    #[test]
    fn realtime_is_granted_the_roles_and_storage_needs_its_tables() {
        let mut state = supabase(17);
        state.realtime_oid = Some(10_002);
        let api = Api::enabled().with_realtime(true);
        let sql = sql(&compute(&state, &project(), &api, &Access::none()).unwrap());
        assert!(
            sql.iter().any(|s| s
                == r#"GRANT "reli_authenticated" TO supabase_realtime_admin WITH INHERIT FALSE, SET TRUE"#),
            "{sql:#?}"
        );
        state.realtime_oid = None;
        let error = compute(&state, &project(), &api, &Access::none()).unwrap_err();
        assert!(matches!(error, ApiError::NoRealtime { .. }), "{error}");

        let storage = Api::enabled().with_storage(true);
        let error = compute(&supabase(17), &project(), &storage, &Access::none()).unwrap_err();
        assert!(matches!(error, ApiError::NoStorage { .. }), "{error}");
        let mut state = supabase(17);
        state.storage_oid = Some(40_001);
        state.storage_objects_oid = Some(40_002);
        state.storage_buckets_oid = Some(40_003);
        state.admin_can_set_storage_admin = true;
        let plan = compute(&state, &project(), &storage, &Access::none()).unwrap();
        let script = plan.to_sql();
        for expected in [
            "SET LOCAL ROLE \"supabase_storage_admin\"",
            "INSERT INTO storage.buckets (id, name) VALUES ('reli', 'reli')",
            r#"CREATE POLICY "reli_anon" ON storage.objects FOR SELECT TO "reli_anon" USING (bucket_id = 'reli')"#,
            r#"GRANT SELECT ON TABLE storage.objects TO "reli_anon""#,
            r#"GRANT DELETE ON TABLE storage.objects TO "reli_authenticated""#,
        ] {
            assert!(script.contains(expected), "`{expected}` in {script}");
        }
        assert!(
            !script.contains(r#"INSERT ON TABLE storage.objects TO "reli_anon""#),
            "{script}"
        );
        assert!(plan.0.needs_instance_lock());
    }
}
