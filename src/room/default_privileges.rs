//! Converging an owner's default privileges (`ALTER DEFAULT PRIVILEGES`): what provisioning
//! does for `<p>_app` and the Data API for the API roles.

use std::collections::{BTreeMap, BTreeSet};

use crate::ident::{quote_grantee, quote_ident};
use crate::provision::{Actor, Step};

/// One default privilege of the owner: whether it is the project schema's (`true`) or global,
/// the object type as `pg_default_acl` spells it (`r`, `S`, `f`, `T`, `n`), the grantee and the
/// privilege.
pub(crate) type DefaultPrivilege = (bool, String, String, String);

/// The owner's steps that bring its default privileges from `current` to `wanted` in `schema`
/// (quoted): a REVOKE for each privilege too many, then one GRANT per object type and grantee
/// (a new project needs four statements, not eight). `revoked` and `granted` say why, from the
/// objects' word (`tables`), the grantee and the privilege(s).
pub(crate) fn converge(
    schema: &str,
    current: &BTreeSet<DefaultPrivilege>,
    wanted: &BTreeSet<DefaultPrivilege>,
    revoked: impl Fn(&str, &str, &str) -> String,
    granted: impl Fn(&str, &str, &str) -> String,
) -> Vec<Step> {
    let mut steps = Vec::new();
    for (in_schema, objtype, grantee, privilege) in current.difference(wanted) {
        let scope = if *in_schema {
            format!(" IN SCHEMA {schema}")
        } else {
            String::new()
        };
        steps.push(Step::new(
            Actor::Owner,
            format!(
                "ALTER DEFAULT PRIVILEGES{scope} REVOKE {privilege} ON {} FROM {}",
                objtype_keyword(objtype),
                quote_grantee(grantee)
            ),
            revoked(&objects(objtype), grantee, privilege),
        ));
    }
    let mut missing: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for (_, objtype, grantee, privilege) in wanted.difference(current) {
        missing
            .entry((objtype, grantee))
            .or_default()
            .push(privilege);
    }
    for ((objtype, grantee), privileges) in missing {
        let privileges = privileges.join(", ");
        steps.push(Step::new(
            Actor::Owner,
            format!(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {privileges} ON {} TO {}",
                objtype_keyword(objtype),
                quote_ident(grantee)
            ),
            granted(&objects(objtype), grantee, &privileges),
        ));
    }
    steps
}

/// The keyword `ALTER DEFAULT PRIVILEGES … ON <keyword>` takes for a `pg_default_acl` object
/// type.
pub(crate) fn objtype_keyword(objtype: &str) -> &'static str {
    match objtype {
        "r" => "TABLES",
        "S" => "SEQUENCES",
        "f" => "FUNCTIONS",
        "T" => "TYPES",
        "n" => "SCHEMAS",
        _ => "LARGE OBJECTS",
    }
}

/// The objects of a `pg_default_acl` object type, as a reason names them: `tables`.
fn objects(objtype: &str) -> String {
    objtype_keyword(objtype).to_lowercase()
}
