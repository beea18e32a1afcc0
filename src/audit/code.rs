//! The stable codes of audit findings: `iso.*` for the isolation invariants (errors), `lint.*`
//! for the database-linter checks on project schemas. docs/audit.md describes each one.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use super::Severity;

/// What an audit finding is about. Its [`as_str`](Code::as_str) is stable: scripts and allow
/// lists name findings by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `iso.project_missing`: a project the audit was asked about has no schema with an owner
    /// role on the instance.
    ProjectMissing,
    /// `iso.role_missing`: a role of the model does not exist.
    RoleMissing,
    /// `iso.role_attribute`: a project role or steward has an attribute the model does not
    /// give it (SUPERUSER, CREATEROLE, BYPASSRLS, INHERIT, LOGIN…), or lacks one it gives.
    RoleAttribute,
    /// `iso.membership_extra`: a membership of or in a project role (or a steward) that the
    /// model does not have.
    MembershipExtra,
    /// `iso.membership_missing`: a membership of the model is missing.
    MembershipMissing,
    /// `iso.membership_options`: a membership of the model with the wrong options (ADMIN,
    /// inheritance, no SET).
    MembershipOptions,
    /// `iso.role_default`: a login's connection limit or role default (`role`, `search_path`,
    /// timeouts) is not what is declared, or a role has a default the model does not set.
    RoleDefault,
    /// `iso.foreign_privilege`: a role outside the project (PUBLIC included) holds a privilege
    /// on the project's schema or on something in it.
    ForeignPrivilege,
    /// `iso.foreign_default_privilege`: default privileges would grant what is created in the
    /// project's schema to a role outside the project.
    ForeignDefaultPrivilege,
    /// `iso.foreign_owner`: the project's schema, or something in it, is not owned by
    /// `<p>_owner`.
    ForeignOwner,
    /// `iso.definer_search_path`: a SECURITY DEFINER routine in the project does not pin its
    /// `search_path`.
    DefinerSearchPath,
    /// `iso.shared_definer_function`: a SECURITY DEFINER routine outside the projects that
    /// project roles can run, whose owner can read project data.
    SharedDefinerFunction,
    /// `iso.shared_definer_view`: a view outside the projects that project roles can read,
    /// whose owner can read project data.
    SharedDefinerView,
    /// `iso.foreign_policy_role`: a policy in the project names another project's role.
    ForeignPolicyRole,
    /// `iso.connect_role`: the role every project's logins connect through on 16+
    /// (`cotenant_connect`) holds more than CONNECT on the database: an attribute, a
    /// membership or a privilege that every login of every project would inherit.
    ConnectRole,
    /// `iso.api_role_undeclared`: a Data API role (`<p>_anon`, `<p>_authenticated`,
    /// `<p>_service`) exists that `[projects.<p>.api]` does not declare.
    ApiRoleUndeclared,
    /// `iso.api_privilege`: a project's Data API role holds a privilege in its project that
    /// the declaration does not give it (CREATE, TRUNCATE, undeclared default privileges…),
    /// or lacks one it gives (USAGE on the schema, declared default privileges).
    ApiPrivilege,
    /// `iso.storage_policy`: a policy on `storage.objects` names a project's roles but does
    /// not keep them to the project's own bucket, or names several projects' roles.
    StoragePolicy,
    /// `lint.rls_disabled`: a table others may read or write has row-level security disabled.
    RlsDisabled,
    /// `lint.policy_without_rls`: a table has policies but row-level security is disabled, so
    /// they do nothing.
    PolicyWithoutRls,
    /// `lint.rls_without_policy`: row-level security is enabled without any policy: nobody
    /// but the owner sees a row.
    RlsWithoutPolicy,
    /// `lint.function_search_path_mutable`: a function does not pin its `search_path`.
    FunctionSearchPathMutable,
    /// `lint.security_definer_view`: a view reads with its owner's rights (no
    /// `security_invoker`), bypassing the querying role's row-level security.
    SecurityDefinerView,
    /// `lint.auth_users_exposed`: a view in the project reads `auth.users` (every project's
    /// users) and roles other than its owner may read it.
    AuthUsersExposed,
    /// `lint.extension_in_project_schema`: an extension is installed in the project's schema
    /// instead of `extensions`.
    ExtensionInProjectSchema,
    /// `lint.unindexed_foreign_key`: a foreign key whose columns lead no index.
    UnindexedForeignKey,
    /// `lint.policy_per_row_call`: a policy calls `auth.uid()`, `auth.jwt()`, … or
    /// `current_setting()` directly, so it is evaluated once per row instead of once per
    /// statement.
    PolicyPerRowCall,
}

impl Code {
    /// Every code, in the order docs/audit.md lists them.
    pub const ALL: [Code; 27] = [
        Code::ProjectMissing,
        Code::RoleMissing,
        Code::RoleAttribute,
        Code::MembershipExtra,
        Code::MembershipMissing,
        Code::MembershipOptions,
        Code::RoleDefault,
        Code::ForeignPrivilege,
        Code::ForeignDefaultPrivilege,
        Code::ForeignOwner,
        Code::DefinerSearchPath,
        Code::SharedDefinerFunction,
        Code::SharedDefinerView,
        Code::ForeignPolicyRole,
        Code::ConnectRole,
        Code::ApiRoleUndeclared,
        Code::ApiPrivilege,
        Code::StoragePolicy,
        Code::RlsDisabled,
        Code::PolicyWithoutRls,
        Code::RlsWithoutPolicy,
        Code::FunctionSearchPathMutable,
        Code::SecurityDefinerView,
        Code::AuthUsersExposed,
        Code::ExtensionInProjectSchema,
        Code::UnindexedForeignKey,
        Code::PolicyPerRowCall,
    ];

    /// The stable code, e.g. `iso.foreign_privilege`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ProjectMissing => "iso.project_missing",
            Code::RoleMissing => "iso.role_missing",
            Code::RoleAttribute => "iso.role_attribute",
            Code::MembershipExtra => "iso.membership_extra",
            Code::MembershipMissing => "iso.membership_missing",
            Code::MembershipOptions => "iso.membership_options",
            Code::RoleDefault => "iso.role_default",
            Code::ForeignPrivilege => "iso.foreign_privilege",
            Code::ForeignDefaultPrivilege => "iso.foreign_default_privilege",
            Code::ForeignOwner => "iso.foreign_owner",
            Code::DefinerSearchPath => "iso.definer_search_path",
            Code::SharedDefinerFunction => "iso.shared_definer_function",
            Code::SharedDefinerView => "iso.shared_definer_view",
            Code::ForeignPolicyRole => "iso.foreign_policy_role",
            Code::ConnectRole => "iso.connect_role",
            Code::ApiRoleUndeclared => "iso.api_role_undeclared",
            Code::ApiPrivilege => "iso.api_privilege",
            Code::StoragePolicy => "iso.storage_policy",
            Code::RlsDisabled => "lint.rls_disabled",
            Code::PolicyWithoutRls => "lint.policy_without_rls",
            Code::RlsWithoutPolicy => "lint.rls_without_policy",
            Code::FunctionSearchPathMutable => "lint.function_search_path_mutable",
            Code::SecurityDefinerView => "lint.security_definer_view",
            Code::AuthUsersExposed => "lint.auth_users_exposed",
            Code::ExtensionInProjectSchema => "lint.extension_in_project_schema",
            Code::UnindexedForeignKey => "lint.unindexed_foreign_key",
            Code::PolicyPerRowCall => "lint.policy_per_row_call",
        }
    }

    /// How much a finding of this code matters: every isolation invariant is an error; the
    /// lints keep the level Supabase's linter (splinter) gives them, except that a view
    /// exposing `auth.users` is an error here too (it shows every project's users), and the
    /// definer-view and RLS-disabled lints are warnings (inside one project they are a second
    /// wall, never the wall between projects).
    pub fn severity(self) -> Severity {
        match self {
            Code::RlsDisabled
            | Code::PolicyWithoutRls
            | Code::FunctionSearchPathMutable
            | Code::SecurityDefinerView
            | Code::ExtensionInProjectSchema
            | Code::PolicyPerRowCall => Severity::Warning,
            Code::RlsWithoutPolicy | Code::UnindexedForeignKey => Severity::Info,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A string that is not an audit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an audit code: docs/audit.md lists them (e.g. `iso.foreign_privilege`, `lint.rls_disabled`)"
)]
pub struct UnknownCode(pub String);

impl FromStr for Code {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Code::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_and_is_documented() {
        let docs = include_str!("../../docs/audit.md");
        for code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>(), Ok(code));
            assert!(
                docs.contains(&format!("`{code}`")),
                "docs/audit.md must describe `{code}`"
            );
        }
        assert!("iso.nope".parse::<Code>().is_err());
    }

    #[test]
    fn isolation_codes_are_errors() {
        for code in Code::ALL {
            if code.as_str().starts_with("iso.") {
                assert_eq!(code.severity(), Severity::Error, "{code}");
            }
        }
        assert_eq!(Code::AuthUsersExposed.severity(), Severity::Error);
        assert_eq!(Code::RlsDisabled.severity(), Severity::Warning);
    }
}
