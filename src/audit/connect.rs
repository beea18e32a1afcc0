//! The invariant on the role every project's logins connect through on 16+: it holds CONNECT
//! on the database and nothing else, since every login of every project inherits what it holds.

use super::catalog::Catalog;
use super::{Code, Finding};
use crate::provision::CONNECT_ROLE;

pub(super) fn check(catalog: &Catalog, out: &mut Vec<Finding>) {
    for extra in &catalog.connect_role {
        out.push(Finding::new(
            Code::ConnectRole,
            None,
            CONNECT_ROLE,
            format!(
                "`{CONNECT_ROLE}` holds {extra}: every project's logins inherit it, so each of them holds it too"
            ),
            format!(
                "revoke it (`REVOKE … FROM {CONNECT_ROLE}`, `ALTER ROLE {CONNECT_ROLE} NO…`): the role is for CONNECT on the database alone"
            ),
        ));
    }
}
