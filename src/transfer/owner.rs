//! Acting as a project's owner inside one transaction, as provisioning does: the project's
//! steward (which holds ADMIN on the owner) lends it to itself, the transaction sets the role,
//! and the loan ends before commit — or with a rollback, for reads.

use crate::ProjectName;
use crate::ident::quote_ident;

/// SQL that makes the transaction's current role `<p>_owner`.
pub(crate) fn act_as_owner(project: &ProjectName, major: i32) -> String {
    let owner = quote_ident(&project.roles().owner);
    let steward = quote_ident(&crate::provision::steward_of(project));
    let options = if major >= 16 {
        " WITH INHERIT FALSE, SET TRUE"
    } else {
        ""
    };
    format!(
        "SET LOCAL ROLE {steward};\nGRANT {owner} TO {steward}{options};\nSET LOCAL ROLE {owner};\n"
    )
}

/// SQL that ends [`act_as_owner`]'s loan and returns to the admin: before a commit.
pub(crate) fn end_acting(project: &ProjectName) -> String {
    let owner = quote_ident(&project.roles().owner);
    let steward = quote_ident(&crate::provision::steward_of(project));
    format!("SET LOCAL ROLE {steward};\nREVOKE {owner} FROM {steward};\nRESET ROLE;\n")
}

/// The settings under which a row's text is the same on every instance: what checksums read.
pub(crate) const STABLE_TEXT: &str = "SET LOCAL TimeZone = 'UTC';\nSET LOCAL DateStyle = 'ISO, MDY';\nSET LOCAL IntervalStyle = 'postgres';\nSET LOCAL extra_float_digits = 3;\nSET LOCAL bytea_output = 'hex';\n";

/// `"<p>"."<name>"`.
pub(crate) fn qualified(project: &ProjectName, name: &str) -> String {
    format!("{}.{}", quote_ident(project.as_str()), quote_ident(name))
}
