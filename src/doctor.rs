//! `doctor`: what an environment's admin connection can do, which of PostgreSQL's
//! permissive defaults the instance still carries, and the routes into project data that
//! provisioning cannot close ([`Finding`]).

use serde::Serialize;
use tokio_postgres::Client;

mod routes;

pub(crate) use routes::find as find_routes;
pub use routes::{Finding, FindingCode, OwnerPower};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// As cotenant needs it.
    Ok,
    /// Works, but is not what a shared instance should look like; provisioning fixes some.
    Warn,
    /// cotenant cannot work like this.
    Fail,
}

/// One check of [`DoctorReport`].
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked, e.g. `admin has CREATEROLE`.
    pub name: &'static str,
    /// The plain verdict.
    pub verdict: Verdict,
    /// What was found, and what to do about it when it is not `ok`.
    pub detail: String,
}

/// What `doctor` found on one environment.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// The server's version string, e.g. `17.2`.
    pub server_version: String,
    /// The server's major version, e.g. `17`.
    pub server_major: u32,
    /// The role cotenant connected as.
    pub admin: String,
    /// The database cotenant connected to.
    pub database: String,
    /// The checks, in a fixed order.
    pub checks: Vec<Check>,
    /// The routes into project data found, each named; summed up by the check `no SECURITY
    /// DEFINER routes into project data`.
    pub findings: Vec<Finding>,
}

impl DoctorReport {
    /// The worst verdict among the checks.
    pub fn verdict(&self) -> Verdict {
        let worst = |v: Verdict| self.checks.iter().any(|c| c.verdict == v);
        if worst(Verdict::Fail) {
            Verdict::Fail
        } else if worst(Verdict::Warn) {
            Verdict::Warn
        } else {
            Verdict::Ok
        }
    }
}

/// Reads what the admin connection `client` can do and how the instance is set up.
///
/// ```no_run
/// # async fn run(client: tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
/// let report = cotenant::doctor::examine(&client).await?;
/// for check in &report.checks {
///     println!("{:?} {}: {}", check.verdict, check.name, check.detail);
/// }
/// # Ok(()) }
/// ```
pub async fn examine(client: &Client) -> Result<DoctorReport, tokio_postgres::Error> {
    let row = client
        .query_one(include_str!("../sql/doctor.sql"), &[])
        .await?;
    let admin: String = row.get("admin");
    let database: String = row.get("database");
    let version_num: i32 = row.get("server_version_num");
    let server_major = u32::try_from(version_num / 10_000).unwrap_or_default();

    let mut checks = Vec::new();
    let supported = matches!(server_major, 15..);
    checks.push(Check {
        name: "server version",
        verdict: if supported {
            Verdict::Ok
        } else {
            Verdict::Fail
        },
        detail: if supported {
            format!("PostgreSQL {server_major}")
        } else {
            format!("PostgreSQL {server_major}: cotenant needs 15 or later")
        },
    });
    checks.push(if row.get("is_superuser") {
        Check {
            name: "admin is not a superuser",
            verdict: Verdict::Warn,
            detail: format!(
                "`{admin}` is a superuser: cotenant needs only CREATEROLE and ownership of the database; connect as a less privileged admin, as hosted Supabase's `postgres` is"
            ),
        }
    } else {
        Check {
            name: "admin is not a superuser",
            verdict: Verdict::Ok,
            detail: format!("`{admin}` is not a superuser"),
        }
    });
    checks.push(if row.get("has_createrole") {
        Check {
            name: "admin has CREATEROLE",
            verdict: Verdict::Ok,
            detail: format!("`{admin}` can create roles"),
        }
    } else {
        Check {
            name: "admin has CREATEROLE",
            verdict: Verdict::Fail,
            detail: format!(
                "`{admin}` cannot create roles: run `ALTER ROLE {admin} CREATEROLE` as a superuser"
            ),
        }
    });
    let owner: String = row.get("database_owner");
    checks.push(if row.get("owns_database") {
        Check {
            name: "admin owns the database",
            verdict: Verdict::Ok,
            detail: format!("`{admin}` owns database `{database}`"),
        }
    } else {
        Check {
            name: "admin owns the database",
            verdict: Verdict::Fail,
            detail: format!(
                "database `{database}` is owned by `{owner}`, not `{admin}`: run `ALTER DATABASE {database} OWNER TO {admin}` as a superuser"
            ),
        }
    });
    checks.push(public_default(
        "PUBLIC cannot CREATE in schema public",
        row.get("public_can_create_in_public"),
        "PUBLIC can create objects in schema public (an upgraded instance's default)",
    ));
    checks.push(public_default(
        "PUBLIC cannot CONNECT to the database",
        row.get("public_can_connect"),
        "every role can connect to the database (PostgreSQL's default)",
    ));
    checks.push(public_default(
        "PUBLIC cannot create TEMP tables",
        row.get("public_can_create_temp"),
        "every role can create temporary tables (PostgreSQL's default)",
    ));
    checks.push(public_default(
        "PUBLIC cannot use schema public",
        row.get("public_can_use_public"),
        "every role can use what others keep in schema public, the admin's SECURITY DEFINER functions and views included (PostgreSQL's default)",
    ));
    checks.push(public_default(
        "the admin's new functions are not PUBLIC's",
        row.get("admin_functions_public"),
        &format!(
            "every role may execute the functions `{admin}` creates from now on (PostgreSQL's default)"
        ),
    ));
    let findings = routes::find(client).await?;
    checks.push(routes_check(&findings));

    Ok(DoctorReport {
        server_version: row.get("server_version"),
        server_major,
        admin,
        database,
        checks,
        findings,
    })
}

fn routes_check(findings: &[Finding]) -> Check {
    let name = "no SECURITY DEFINER routes into project data";
    if findings.is_empty() {
        return Check {
            name,
            verdict: Verdict::Ok,
            detail: "no project role can reach a SECURITY DEFINER function or a view run by a role that reads project data".to_owned(),
        };
    }
    let objects: Vec<String> = findings
        .iter()
        .map(|f| format!("{} (owner `{}`)", f.object, f.owner))
        .collect();
    Check {
        name,
        verdict: Verdict::Warn,
        detail: format!(
            "{} route(s) that project roles can take with their owner's rights: {}; see each finding for the fix",
            findings.len(),
            objects.join(", ")
        ),
    }
}

fn public_default(name: &'static str, still_granted: bool, what: &str) -> Check {
    if still_granted {
        Check {
            name,
            verdict: Verdict::Warn,
            detail: format!("{what}; provisioning a project revokes it"),
        }
    } else {
        Check {
            name,
            verdict: Verdict::Ok,
            detail: "revoked".to_owned(),
        }
    }
}
