//! `[projects.<p>.audit]`: the findings a project accepts, each with its reason.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::ConfigError;
use crate::ProjectName;
use crate::audit::{AllowList, Allowance, Code};

/// `[projects.<p>.audit]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    #[serde(default)]
    allow: Vec<RawAllowance>,
}

/// One entry of `allow`: every key required, the reason not empty.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllowance {
    code: String,
    object: String,
    reason: String,
}

/// The allow lists of `audits`, by project name as written under `[projects]`.
pub(super) fn validate(
    audits: BTreeMap<String, RawAudit>,
    file: Option<&Path>,
) -> Result<AllowList, ConfigError> {
    let mut list = AllowList::default();
    for (name, audit) in audits {
        let project: ProjectName = name
            .parse()
            .map_err(|e| ConfigError::invalid(file, format!("projects.{name}"), format!("{e}")))?;
        let mut allowances = Vec::with_capacity(audit.allow.len());
        for (i, raw) in audit.allow.into_iter().enumerate() {
            let key = |k: &str| format!("projects.{name}.audit.allow[{i}].{k}");
            let code: Code = raw
                .code
                .parse()
                .map_err(|e| ConfigError::invalid(file, key("code"), format!("{e}")))?;
            if raw.object.trim().is_empty() {
                return Err(ConfigError::invalid(
                    file,
                    key("object"),
                    "is empty: name the object as `cotenant audit` prints it".to_owned(),
                ));
            }
            if raw.reason.trim().is_empty() {
                return Err(ConfigError::invalid(
                    file,
                    key("reason"),
                    "is empty: say why the project accepts this finding".to_owned(),
                ));
            }
            allowances.push(Allowance::new(code, raw.object, raw.reason));
        }
        list = list.with_project(project, allowances);
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use crate::audit::Code;
    use crate::config::testing::read_with_staging;

    #[test]
    fn allowances_are_read_per_project() {
        let config = read_with_staging(
            r#"
            [projects.reli.audit]
            allow = [{ code = "lint.rls_disabled", object = "reli.countries", reason = "reference data" }]
            "#,
        )
        .unwrap();
        let reli = config.audit.of(&"reli".parse().unwrap());
        assert_eq!(reli.len(), 1);
        assert_eq!(reli[0].code(), Code::RlsDisabled);
        assert_eq!(reli[0].object(), "reli.countries");
        assert_eq!(reli[0].reason(), "reference data");
    }

    #[test]
    fn a_reason_is_required_and_codes_are_checked() {
        for (entry, key) in [
            (
                r#"{ code = "lint.rls_disabled", object = "reli.t" }"#,
                "reason",
            ),
            (
                r#"{ code = "lint.rls_disabled", object = "reli.t", reason = " " }"#,
                "projects.reli.audit.allow[0].reason",
            ),
            (
                r#"{ code = "lint.rls_off", object = "reli.t", reason = "x" }"#,
                "projects.reli.audit.allow[0].code",
            ),
            (
                r#"{ code = "lint.rls_disabled", object = "reli.t", reason = "x", until = 1 }"#,
                "until",
            ),
        ] {
            let error = read_with_staging(&format!("[projects.reli.audit]\nallow = [{entry}]\n"))
                .unwrap_err()
                .to_string();
            assert!(error.contains(key), "{entry}: {error}");
        }
    }
}
