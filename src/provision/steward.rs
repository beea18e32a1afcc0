//! Stewards: the roles that create and manage projects' roles.
//!
//! PostgreSQL 16+ makes a role's creator a member (with ADMIN) of every role it creates, and
//! every check of who may manage a role walks the acting role's whole membership closure,
//! recomputed after each change to memberships. One admin creating every project's four roles
//! thus gets slower with every project (facts.md: 14 ms → 114 ms per project on PG 17 between
//! the first and the third 300 projects). cotenant spreads projects over a fixed number of
//! stewards — NOLOGIN roles with CREATEROLE that the admin can SET ROLE to but does not
//! inherit — so each steward's closure holds only its slice's roles and the admin's only the
//! stewards. A steward acts as a project's owner only inside the transaction that needs it.

use sha2::{Digest, Sha256};

use crate::ProjectName;

/// How many stewards projects are spread over. Fixed forever: a project's steward is derived
/// from its name, and a different count would move projects to stewards that do not manage them.
pub(crate) const STEWARDS: u32 = 64;

/// The steward of `project`: `cotenant_steward_00` … `cotenant_steward_63`.
pub(crate) fn for_project(project: &ProjectName) -> String {
    let digest = Sha256::digest(project.as_str().as_bytes());
    let slice = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % STEWARDS;
    format!("cotenant_steward_{slice:02}")
}
