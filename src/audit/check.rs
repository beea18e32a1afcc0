//! The audit as `apply`'s final check: once an environment converged, its errors stop the run.

use std::error::Error;
use std::sync::Arc;

use super::{AuditError, AuditReport, Scope};
use crate::config::Config;
use crate::declare::FinalCheck;
use crate::{Environment, ProjectName};

/// Called with each environment's name and its audit report, before the check decides.
pub type ReportHook = Arc<dyn Fn(&str, &AuditReport) + Send + Sync>;

/// A [`FinalCheck`] that audits each environment `apply` converged, for the declared projects,
/// held to the declarations ([`Scope::declared`]): an error that no allow list accepts fails
/// it; warnings do not.
///
/// ```no_run
/// # async fn run(config: cotenant::config::Config) -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use cotenant::audit::AuditCheck;
/// use cotenant::declare::{self, ApplyOptions};
///
/// let cotenant = cotenant::Cotenant::open(config.clone()).await?;
/// let options = ApplyOptions::default().final_check(Arc::new(AuditCheck::new(&config)));
/// declare::apply(&cotenant, &config.projects, &options).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuditCheck {
    scope: Scope,
    on_report: Option<ReportHook>,
}

impl std::fmt::Debug for AuditCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditCheck")
            .field("scope", &self.scope)
            .field("on_report", &self.on_report.is_some())
            .finish()
    }
}

impl AuditCheck {
    /// Holds the declared projects to what `config` declares.
    pub fn new(config: &Config) -> Self {
        Self::with_scope(Scope::declared(config))
    }

    /// Holds the declared projects to `scope`'s settings, Data API roles and allow lists (its
    /// projects are replaced by the declared ones).
    pub fn with_scope(scope: Scope) -> Self {
        AuditCheck {
            scope,
            on_report: None,
        }
    }

    /// Calls `hook` with every environment's report, passing or not (to print its warnings).
    pub fn on_report(mut self, hook: impl Fn(&str, &AuditReport) + Send + Sync + 'static) -> Self {
        self.on_report = Some(Arc::new(hook));
        self
    }
}

#[async_trait::async_trait]
impl FinalCheck for AuditCheck {
    async fn check(
        &self,
        environment: &Environment,
        projects: &[ProjectName],
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        let scope = self.scope.clone().restricted_to(projects.iter().cloned());
        let report = environment.audit(&scope).await?;
        if let Some(hook) = &self.on_report {
            hook(environment.name(), &report);
        }
        if report.passes() {
            return Ok(());
        }
        Err(Box::new(AuditError::Failed {
            errors: report
                .counting(super::Severity::Error)
                .map(|f| format!("{} on `{}`", f.code, f.object))
                .collect(),
        }))
    }
}
