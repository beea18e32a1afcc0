//! What one audit of one environment found.

use std::fmt;

use serde::Serialize;

use super::{Finding, Severity};

/// The findings of [`audit`](super::audit) on one instance, in a stable order (projects by
/// name, then code, then object; what all projects share last).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AuditReport {
    /// The server's major version.
    pub server_major: u32,
    /// The projects audited, by name.
    pub projects: Vec<String>,
    /// Every finding, allowed ones included (marked).
    pub findings: Vec<Finding>,
}

impl AuditReport {
    /// The findings that count (not allowed) of `severity`.
    pub fn counting(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(move |f| f.severity == severity && f.counts())
    }

    /// How many errors count: the audit passes when there are none.
    pub fn errors(&self) -> usize {
        self.counting(Severity::Error).count()
    }

    /// Whether no error counts.
    pub fn passes(&self) -> bool {
        self.errors() == 0
    }

    /// The findings an allow list accepted.
    pub fn allowed(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.counts())
    }
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            match &finding.project {
                Some(p) => write!(f, "  [{p}] ")?,
                None => write!(f, "  [shared] ")?,
            }
            writeln!(f, "{finding}")?;
        }
        writeln!(
            f,
            "  {} project(s): {} error(s), {} warning(s), {} info(s), {} allowed",
            self.projects.len(),
            self.errors(),
            self.counting(Severity::Warning).count(),
            self.counting(Severity::Info).count(),
            self.allowed().count()
        )
    }
}
