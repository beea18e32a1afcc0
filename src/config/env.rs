//! Environment variables as configuration overrides.

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

/// The prefix of override variables.
pub(crate) const PREFIX: &str = "COTENANT_";

/// One `COTENANT_<SECTION>__<KEY>` variable, as a figment provider of one value.
///
/// One provider per variable, so that an error about its value names the variable.
pub(crate) struct EnvVar {
    name: String,
    key: String,
    value: String,
}

impl EnvVar {
    /// The override `name=value` stands for, if it is one.
    ///
    /// The name is `COTENANT_` (any case) followed by a key path whose parts are joined with `__`,
    /// e.g. `COTENANT_ENVIRONMENTS__PROD__PORT` for `environments.prod.port`. Only paths into the
    /// config's own sections count (`secrets.…`, `environments.…`, `order`), so variables such as
    /// `COTENANT_CONFIG`, `COTENANT_LOG` or `COTENANT_TEST_DATABASE_URL` are left to their owners.
    pub(crate) fn parse(name: &str, value: &str) -> Option<EnvVar> {
        let rest = name
            .get(..PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(PREFIX))
            .map(|_| &name[PREFIX.len()..])?;
        let key = rest.to_ascii_lowercase().replace("__", ".");
        if key.split('.').any(str::is_empty) {
            return None;
        }
        let ours =
            key == "order" || key.starts_with("secrets.") || key.starts_with("environments.");
        ours.then(|| EnvVar {
            name: name.to_owned(),
            key,
            value: value.to_owned(),
        })
    }
}

impl Provider for EnvVar {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("environment variable {}", self.name))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let value: Value = self
            .value
            .parse()
            .expect("parsing a figment value is infallible");
        let dict = figment::util::nest(&self.key, value)
            .into_dict()
            .expect("a non-empty key nests into a dict");
        Ok(Profile::Default.collect(dict))
    }
}

#[cfg(test)]
mod tests {
    use super::EnvVar;

    fn key(name: &str) -> Option<String> {
        EnvVar::parse(name, "x").map(|v| v.key)
    }

    #[test]
    fn only_section_paths_are_overrides() {
        assert_eq!(
            key("COTENANT_ENVIRONMENTS__PROD__ADMIN_SECRET").as_deref(),
            Some("environments.prod.admin_secret")
        );
        assert_eq!(
            key("cotenant_secrets__store").as_deref(),
            Some("secrets.store")
        );
        assert_eq!(key("COTENANT_ORDER").as_deref(), Some("order"));
        for other in [
            "COTENANT_CONFIG",
            "COTENANT_LOG",
            "COTENANT_TEST_DATABASE_URL",
            "COTENANT_SECRETS",
            "COTENANT_SECRETS_STORE",
            "COTENANT_SECRETS____STORE",
            "COTENANT_ENVIRONMENTS__",
            "COTENANTX_SECRETS__STORE",
            "AWS_REGION",
            "CO",
        ] {
            assert_eq!(key(other), None, "{other}");
        }
    }
}
