//! Allow lists: findings a project accepts, each with the reason.

use serde::Serialize;

use super::{Code, Finding};

/// One entry of `[projects.<p>.audit] allow`: the finding of `code` on `object` is accepted
/// for `reason`. It is still reported (as allowed), but does not count.
///
/// ```
/// use cotenant::audit::{Allowance, Code};
///
/// let allowance = Allowance::new(
///     Code::RlsDisabled,
///     "reli.countries",
///     "reference data, the same for every user",
/// );
/// assert_eq!(allowance.code(), Code::RlsDisabled);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allowance {
    code: Code,
    object: String,
    reason: String,
}

impl Allowance {
    /// Accepts the finding of `code` on `object` (as [`Finding::object`] names it).
    pub fn new(code: Code, object: impl Into<String>, reason: impl Into<String>) -> Self {
        Allowance {
            code,
            object: object.into(),
            reason: reason.into(),
        }
    }

    /// The code it accepts.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The object it accepts the finding on.
    pub fn object(&self) -> &str {
        &self.object
    }

    /// Why the project accepts it.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    pub(super) fn accepts(&self, finding: &Finding) -> bool {
        self.code == finding.code && self.object == finding.object
    }
}
