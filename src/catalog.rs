//! Catalog rows that more than one room reads, as their state queries return them (JSON built
//! in `sql/*/state/`).

use serde::Deserialize;

use crate::ident::quote_ident;
use crate::room::default_privileges::DefaultPrivilege;

/// One role as `pg_roles` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct RoleState {
    pub(crate) name: String,
    pub(crate) login: bool,
    pub(crate) inherit: bool,
    pub(crate) superuser: bool,
    pub(crate) createdb: bool,
    pub(crate) createrole: bool,
    pub(crate) replication: bool,
    pub(crate) bypassrls: bool,
    pub(crate) connection_limit: i32,
    /// Role defaults as PostgreSQL stores them: `name=value`.
    pub(crate) settings: Vec<String>,
}

/// One row of `pg_auth_members`. PostgreSQL 15 has neither `inherit_option` nor `set_option`:
/// there, membership always allows SET ROLE and inheritance follows the member's INHERIT.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Membership {
    pub(crate) role: String,
    pub(crate) member: String,
    pub(crate) grantor: Option<String>,
    pub(crate) admin_option: bool,
    pub(crate) inherit_option: Option<bool>,
    pub(crate) set_option: Option<bool>,
}

impl Membership {
    /// The statement that revokes the membership, run as `steward`. On 16+ (`grant_options`)
    /// PostgreSQL keeps one grant per grantor and a plain REVOKE takes back only the revoker's:
    /// another grantor's is named with `GRANTED BY`.
    pub(crate) fn revoke_sql(&self, steward: &str, grant_options: bool) -> String {
        let granted_by = match &self.grantor {
            Some(g) if grant_options && g != steward => format!(" GRANTED BY {}", quote_ident(g)),
            _ => String::new(),
        };
        format!(
            "REVOKE {} FROM {}{granted_by}",
            quote_ident(&self.role),
            quote_ident(&self.member)
        )
    }
}

/// A default privilege of a project's owner, global or in its schema (`in_schema`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub(crate) struct DefaultAcl {
    pub(crate) in_schema: bool,
    pub(crate) objtype: String,
    pub(crate) grantee: String,
    pub(crate) privilege: String,
}

impl DefaultAcl {
    /// The privilege as the default privileges' plan compares it.
    pub(crate) fn to_privilege(&self) -> DefaultPrivilege {
        (
            self.in_schema,
            self.objtype.clone(),
            self.grantee.clone(),
            self.privilege.clone(),
        )
    }
}
