//! One thing the audit found, and how much it matters.

use std::fmt;

use serde::Serialize;

use super::Code;

/// How much a [`Finding`] matters. Errors make `cotenant audit` (and `apply`'s final check)
/// fail; warnings and infos are reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; often fine.
    Info,
    /// Likely a mistake inside one project; never a route between projects.
    Warning,
    /// The isolation between projects does not hold as the model promises.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding of [`audit`](super::audit): a stable code, the object it is about (as an
/// allow list names it), what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// What kind of finding it is.
    pub code: Code,
    /// How much it matters ([`Code::severity`]).
    pub severity: Severity,
    /// The project it belongs to; `None` for what all projects share (a steward, a route
    /// outside the projects).
    pub project: Option<String>,
    /// The object, as the server names it (identifiers quoted only where they need it): a
    /// role (`reli_login`), a membership (`reli_app granted to reli_login`), a schema (`reli`),
    /// a relation or type (`reli.notes`), a column (`reli.notes.body`), a routine with its
    /// arguments (`reli.peek(n integer)`), a policy (`reli.notes policy own_notes`).
    pub object: String,
    /// What was found.
    pub message: String,
    /// What to do about it (often a statement to run).
    pub fix: String,
    /// When the project's allow list accepts this finding, the reason given there: the
    /// finding is reported, not counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<String>,
}

impl Finding {
    pub(crate) fn new(
        code: Code,
        project: Option<&str>,
        object: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            code,
            severity: code.severity(),
            project: project.map(str::to_owned),
            object: object.into(),
            message: message.into(),
            fix: fix.into(),
            allowed: None,
        }
    }

    /// Whether it counts: not accepted by an allow list.
    pub fn counts(&self) -> bool {
        self.allowed.is_none()
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}: {}",
            self.severity, self.code, self.object, self.message
        )?;
        match &self.allowed {
            Some(reason) => write!(f, " (allowed: {reason})"),
            None => write!(f, "; fix: {}", self.fix),
        }
    }
}
