//! `audit`: the catalog read against the role model. Isolation invariants (`iso.*`, errors)
//! and Supabase-linter checks on project schemas (`lint.*`, warnings), each finding with a
//! stable [`Code`], a [`Severity`], the object's name and the fix; findings a project accepts
//! are allow-listed with a reason (`[projects.<p>.audit] allow` in cotenant.toml).
//!
//! [`audit`] changes nothing: a dozen catalog statements, each for every project at once, so
//! that 1,000 projects cost about what one does. docs/audit.md describes every code.
//!
//! ```no_run
//! # async fn run(client: tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use cotenant::audit::{self, Scope};
//!
//! let report = audit::audit(&client, &Scope::all()).await?;
//! for finding in &report.findings {
//!     println!("{finding}");
//! }
//! if !report.passes() {
//!     std::process::exit(1);
//! }
//! # Ok(()) }
//! ```

mod allow;
mod catalog;
mod check;
mod code;
mod connect;
mod error;
mod finding;
mod lints;
mod model;
mod objects;
mod policies;
mod report;
mod roles;
mod scope;

pub use allow::Allowance;
pub use check::{AuditCheck, ReportHook};
pub use code::{Code, UnknownCode};
pub use error::AuditError;
pub use finding::{Finding, Severity};
pub use report::AuditReport;
pub use scope::{AllowList, Scope};

use tokio_postgres::Client;

/// Audits the instance `client` is connected to (as the admin) for the projects of `scope`,
/// holding each to its declared settings and allow list.
pub async fn audit(client: &Client, scope: &Scope) -> Result<AuditReport, AuditError> {
    let catalog = catalog::Catalog::read(client, |p| scope.includes(p)).await?;
    let found = roles::projects(&catalog);
    let mut findings = Vec::new();
    for missing in scope.named().filter(|p| !found.contains(p.as_str())) {
        findings.push(Finding::new(
            Code::ProjectMissing,
            Some(missing.as_str()),
            missing.as_str(),
            format!(
                "project `{missing}` is not on this instance: no schema `{missing}` with a role `{missing}_owner`"
            ),
            format!("run `cotenant provision {missing}`, or leave it out"),
        ));
    }
    roles::check(&catalog, scope, &mut findings);
    objects::check(&catalog, scope, &mut findings);
    policies::check(&catalog, scope, &mut findings);
    connect::check(&catalog, &mut findings);
    lints::check(&catalog, &mut findings);
    for finding in &mut findings {
        if let Some(project) = &finding.project {
            finding.allowed = scope
                .allowances_of(project)
                .iter()
                .find(|a| a.accepts(finding))
                .map(|a| a.reason().to_owned());
        }
    }
    findings.sort_by(|a, b| {
        (a.project.is_none(), &a.project, a.code, &a.object).cmp(&(
            b.project.is_none(),
            &b.project,
            b.code,
            &b.object,
        ))
    });
    let mut projects: Vec<String> = found
        .into_iter()
        .filter(|p| scope.includes(p))
        .map(str::to_owned)
        .collect();
    projects.sort();
    Ok(AuditReport {
        server_major: catalog.server_major,
        projects,
        findings,
    })
}
