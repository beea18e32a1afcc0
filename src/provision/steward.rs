//! Stewards: the roles that create and manage projects' roles.
//!
//! PostgreSQL 16+ makes a role's creator a member (with ADMIN) of every role it creates, and
//! every check of who may manage a role walks the acting role's whole membership closure,
//! recomputed after each change to memberships. One admin creating every project's four roles
//! thus gets slower with every project (facts.md: 14 ms → 114 ms per project on PG 17 between
//! the first and the third 300 projects). cotenant spreads projects over a fixed number of
//! stewards — NOLOGIN roles with CREATEROLE that the admin can SET ROLE to but does not
//! inherit — so the admin's closure holds only the stewards. A steward acts as a project's
//! owner only inside the transaction that needs it.
//!
//! On 16+ that is not enough past a few thousand projects: `SET ROLE` and the validation of a
//! login's `role` default walk every role the admin may SET ROLE to, so every steward, and
//! read each one's memberships — four ADMIN rows per project it created. So on 16+ each steward
//! has sub-stewards (`cotenant_steward_NN_K`), which it created and inherits (SET FALSE): a
//! project's roles are created and managed by its sub-steward, which the steward may SET ROLE
//! to only inside the transaction that provisions the project (`SET TRUE`, taken back before
//! commit). A walk from the admin then reads the stewards' few rows and one sub-steward's, and
//! a steward still holds, through inheritance, the ADMIN its sub-stewards hold: what other
//! parts of cotenant do as the project's steward keeps working. Projects whose roles a steward
//! created itself (before sub-stewards) stay with it.

use sha2::{Digest, Sha256};

use crate::ProjectName;

/// How many stewards projects are spread over. Fixed forever: a project's steward is derived
/// from its name, and a different count would move projects to stewards that do not manage them.
pub(crate) const STEWARDS: u32 = 64;

/// How many sub-stewards each steward spreads its projects over (16+). Fixed forever, like
/// [`STEWARDS`]. 64 × 8 roles keep a walk from the admin at ~1,000 rows while a sub-steward
/// holds ~100 at 10,000 projects.
pub(crate) const SUB_STEWARDS: u32 = 8;

/// The steward of `project`: `cotenant_steward_00` … `cotenant_steward_63`.
pub(crate) fn for_project(project: &ProjectName) -> String {
    let (slice, _) = slices(project);
    format!("cotenant_steward_{slice:02}")
}

/// The sub-steward of `project` (16+): `cotenant_steward_NN_0` … `cotenant_steward_NN_7`, under
/// its steward `cotenant_steward_NN`.
pub(crate) fn sub_steward_for(project: &ProjectName) -> String {
    let (slice, sub) = slices(project);
    format!("cotenant_steward_{slice:02}_{sub}")
}

/// Whether `role` is a steward or a sub-steward. Project names never start with `cotenant`.
pub(crate) fn is_steward(role: &str) -> bool {
    role.starts_with("cotenant_steward_")
}

fn slices(project: &ProjectName) -> (u32, u32) {
    let digest = Sha256::digest(project.as_str().as_bytes());
    let word =
        |i: usize| u32::from_be_bytes([digest[i], digest[i + 1], digest[i + 2], digest[i + 3]]);
    (word(0) % STEWARDS, word(4) % SUB_STEWARDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_steward_is_under_the_projects_steward() {
        for name in ["reli", "shop", "a", "billing_eu"] {
            let project: ProjectName = name.parse().unwrap();
            let sub = sub_steward_for(&project);
            let (steward, k) = sub.rsplit_once('_').unwrap();
            assert_eq!(steward, for_project(&project));
            assert!(k.parse::<u32>().unwrap() < SUB_STEWARDS);
            assert!(is_steward(&sub) && is_steward(steward));
        }
    }
}
