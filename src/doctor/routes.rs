//! Routes into project data that provisioning cannot close: SECURITY DEFINER routines and
//! views outside every project's schema that run with the rights of an owner who can read
//! project data, and that project roles can reach (`sql/doctor_routes.sql`).

use std::fmt;

use serde::Serialize;
use tokio_postgres::Client;

use crate::ident::quote_ident;

/// The kind of a [`Finding`], with a stable code for scripts (`shared_definer_function`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingCode {
    /// A SECURITY DEFINER function, procedure or trigger function outside project schemas.
    SharedDefinerFunction,
    /// A view or materialized view outside project schemas: it reads with its owner's rights
    /// (unless `security_invoker`).
    SharedDefinerView,
}

impl FindingCode {
    /// The stable code, as in `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::SharedDefinerFunction => "shared_definer_function",
            FindingCode::SharedDefinerView => "shared_definer_view",
        }
    }
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an object's owner can read project data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OwnerPower {
    /// The owner is a superuser.
    Superuser,
    /// The owner has the privileges of `pg_read_all_data` (hosted Supabase's `postgres` does).
    ReadAllData,
    /// The owner bypasses row-level security.
    BypassRls,
    /// The owner is the admin cotenant connects as, which can grant itself what it lacks.
    Admin,
    /// The owner, a role outside the projects, was granted USAGE on a project's schema.
    ProjectPrivileges,
}

impl OwnerPower {
    fn from_sql(power: &str) -> Option<Self> {
        Some(match power {
            "superuser" => OwnerPower::Superuser,
            "pg_read_all_data" => OwnerPower::ReadAllData,
            "bypassrls" => OwnerPower::BypassRls,
            "admin" => OwnerPower::Admin,
            "project_privileges" => OwnerPower::ProjectPrivileges,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            OwnerPower::Superuser => "a superuser",
            OwnerPower::ReadAllData => "holding pg_read_all_data",
            OwnerPower::BypassRls => "with BYPASSRLS",
            OwnerPower::Admin => "the admin",
            OwnerPower::ProjectPrivileges => "granted privileges in a project's schema",
        }
    }
}

/// One route into project data that `doctor` found: an object a project role can run or
/// query that acts with the rights of an owner who can read every project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// What kind of route it is.
    pub code: FindingCode,
    /// The object, e.g. `public.peek(integer)` or `public.all_notes`.
    pub object: String,
    /// The role that owns it, whose rights it runs with.
    pub owner: String,
    /// Why its owner can read project data.
    pub owner_power: OwnerPower,
    /// Who lets project roles run it: `PUBLIC`, or the role holding the grant.
    pub reachable_through: String,
    /// What was found and what to do about it.
    pub message: String,
    /// What to do about it alone: the statement that closes the route, or the other way out.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// The routes into project data on the instance `client` is connected to, as the admin.
pub(crate) async fn find(client: &Client) -> Result<Vec<Finding>, tokio_postgres::Error> {
    let rows = client
        .query(include_str!("../../sql/doctor_routes.sql"), &[])
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let power = OwnerPower::from_sql(row.get("power"))?;
            Some(finding(Route {
                kind: row.get("kind"),
                schema: row.get("schema"),
                name: row.get("name"),
                args: row.get("args"),
                owner: row.get("owner"),
                power,
                through: row.get("through"),
                schema_through: row.get("schema_through"),
            }))
        })
        .collect())
}

/// One row of `doctor_routes.sql`.
struct Route {
    kind: String,
    schema: String,
    name: String,
    args: Option<String>,
    owner: String,
    power: OwnerPower,
    through: String,
    schema_through: String,
}

fn finding(route: Route) -> Finding {
    let through = |who: &str| {
        if who == "PUBLIC" {
            "PUBLIC".to_owned()
        } else {
            format!("role `{who}`")
        }
    };
    let quoted = format!(
        "{}.{}",
        quote_ident(&route.schema),
        quote_ident(&route.name)
    );
    let grantee = if route.through == "PUBLIC" {
        "PUBLIC".to_owned()
    } else {
        quote_ident(&route.through)
    };
    let (code, object, runs, fix) = match &route.args {
        Some(args) => (
            FindingCode::SharedDefinerFunction,
            format!("{}.{}({args})", route.schema, route.name),
            "is SECURITY DEFINER: it runs as",
            format!(
                "revoke it (`REVOKE EXECUTE ON ROUTINE {quoted}({args}) FROM {grantee}`) and grant EXECUTE only to the roles that need it, or make it SECURITY INVOKER"
            ),
        ),
        None => (
            FindingCode::SharedDefinerView,
            format!("{}.{}", route.schema, route.name),
            "reads as",
            format!(
                "revoke it (`REVOKE ALL ON {quoted} FROM {grantee}`) and grant it only to the roles that need it, or make it `security_invoker`"
            ),
        ),
    };
    let mut message = format!(
        "{} `{object}` {runs} its owner `{}`, {}, and project roles can reach it through {} (schema `{}` through {}): whoever calls it reads with its owner's rights over every project; {fix}",
        route.kind,
        route.owner,
        route.power.describe(),
        through(&route.through),
        route.schema,
        through(&route.schema_through),
    );
    if route.schema == "public" && route.schema_through == "PUBLIC" {
        message.push_str(
            " (provisioning a project closes this one: it revokes PUBLIC's USAGE on schema public)",
        );
    }
    Finding {
        code,
        object,
        owner: route.owner,
        owner_power: route.power,
        reachable_through: route.through,
        message,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(args: Option<&str>, schema_through: &str) -> Route {
        Route {
            kind: if args.is_some() { "function" } else { "view" }.to_owned(),
            schema: "public".to_owned(),
            name: "peek".to_owned(),
            args: args.map(str::to_owned),
            owner: "postgres".to_owned(),
            power: OwnerPower::ReadAllData,
            through: "PUBLIC".to_owned(),
            schema_through: schema_through.to_owned(),
        }
    }

    #[test]
    fn a_definer_function_is_named_with_its_fix() {
        let f = finding(route(Some("id integer"), "anon"));
        assert_eq!(f.code.as_str(), "shared_definer_function");
        assert_eq!(f.object, "public.peek(id integer)");
        assert!(
            f.message
                .contains(r#"`REVOKE EXECUTE ON ROUTINE "public"."peek"(id integer) FROM PUBLIC`"#),
            "{f}"
        );
        assert!(f.message.contains("holding pg_read_all_data"), "{f}");
        assert!(
            f.message.contains("schema `public` through role `anon`"),
            "{f}"
        );
        assert!(!f.message.contains("provisioning a project closes"), "{f}");
    }

    #[test]
    fn a_view_in_public_reachable_through_public_is_one_provisioning_closes() {
        let f = finding(route(None, "PUBLIC"));
        assert_eq!(f.code, FindingCode::SharedDefinerView);
        assert_eq!(f.object, "public.peek");
        assert!(
            f.message
                .contains(r#"`REVOKE ALL ON "public"."peek" FROM PUBLIC`"#),
            "{f}"
        );
        assert!(f.message.contains("provisioning a project closes"), "{f}");
    }
}
