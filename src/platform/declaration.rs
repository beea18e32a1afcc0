//! What a project may use of the shared Supabase schemas, as cotenant.toml declares it.

use std::collections::BTreeMap;

use crate::ProjectName;

/// The platform access of one project: what it may use of the instance's shared Supabase
/// schemas. Everything is off by default.
///
/// ```
/// use cotenant::platform::Access;
///
/// let access = Access::default().with_auth(true).with_realtime(["notes"]);
/// assert!(access.auth && !access.extensions);
/// assert_eq!(access.realtime, ["notes"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Access {
    /// USAGE on schema `auth`, EXECUTE on `auth.uid/role/email/jwt` for the owner and the app
    /// role, `REFERENCES (id)` on `auth.users` for the owner. Never SELECT on any auth table.
    pub auth: bool,
    /// USAGE on schema `extensions` for the owner and the app role.
    pub extensions: bool,
    /// Tables of the project's schema kept in publication `supabase_realtime`, sorted.
    pub realtime: Vec<String>,
    /// The function `<p>.<name>(cotenant_platform.signup_user)` called on every signup.
    pub signup_hook: Option<String>,
}

impl Access {
    /// No access at all: what deprovisioning converges to.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether any access is on.
    pub fn any(&self) -> bool {
        self.auth || self.extensions || !self.realtime.is_empty() || self.signup_hook.is_some()
    }

    /// With `auth` set.
    pub fn with_auth(mut self, auth: bool) -> Self {
        self.auth = auth;
        self
    }

    /// With `extensions` set.
    pub fn with_extensions(mut self, extensions: bool) -> Self {
        self.extensions = extensions;
        self
    }

    /// With the realtime tables set (sorted, duplicates removed).
    pub fn with_realtime<I, S>(mut self, tables: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.realtime = tables.into_iter().map(Into::into).collect();
        self.realtime.sort();
        self.realtime.dedup();
        self
    }

    /// With the signup hook set.
    pub fn with_signup_hook(mut self, function: Option<impl Into<String>>) -> Self {
        self.signup_hook = function.map(Into::into);
        self
    }
}

/// A per-project override of the instance default: every key that is `Some` replaces the
/// default's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessOverride {
    /// Replaces [`Access::auth`].
    pub auth: Option<bool>,
    /// Replaces [`Access::extensions`].
    pub extensions: Option<bool>,
    /// Replaces [`Access::realtime`].
    pub realtime: Option<Vec<String>>,
    /// Replaces [`Access::signup_hook`]; `Some(None)` cannot be written in TOML, so a hook is
    /// only ever added by an override.
    pub signup_hook: Option<String>,
}

impl From<Access> for AccessOverride {
    /// An override that sets every key to `access`'s.
    fn from(access: Access) -> Self {
        Self {
            auth: Some(access.auth),
            extensions: Some(access.extensions),
            realtime: Some(access.realtime),
            signup_hook: access.signup_hook,
        }
    }
}

/// The `[platform]` section of cotenant.toml: the instance default, the extension allowlist
/// and the per-project overrides (`[projects.<p>.platform]`).
///
/// ```
/// use cotenant::platform::{Access, PlatformConfig};
///
/// let config = PlatformConfig::default()
///     .with_default(Access::default().with_auth(true))
///     .with_allowed_extensions(["pg_trgm"]);
/// let reli = config.access_of(&"reli".parse()?);
/// assert!(reli.auth);
/// # Ok::<(), cotenant::NameError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformConfig {
    default: Access,
    allowed_extensions: Vec<String>,
    projects: BTreeMap<ProjectName, AccessOverride>,
}

impl PlatformConfig {
    /// With `default` as every project's access unless overridden.
    pub fn with_default(mut self, default: Access) -> Self {
        self.default = default;
        self
    }

    /// With the extensions cotenant installs in schema `extensions` (sorted, duplicates
    /// removed).
    pub fn with_allowed_extensions<I, S>(mut self, extensions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_extensions = extensions.into_iter().map(Into::into).collect();
        self.allowed_extensions.sort();
        self.allowed_extensions.dedup();
        self
    }

    /// With `project`'s override of the default.
    pub fn with_project(mut self, project: ProjectName, access: AccessOverride) -> Self {
        self.projects.insert(project, access);
        self
    }

    /// The instance default (`[platform]`).
    pub fn default_access(&self) -> &Access {
        &self.default
    }

    /// The extension allowlist (`[platform.allow] extensions`).
    pub fn allowed_extensions(&self) -> &[String] {
        &self.allowed_extensions
    }

    /// The effective access of `project`: the default with the project's override applied.
    pub fn access_of(&self, project: &ProjectName) -> Access {
        let mut access = self.default.clone();
        if let Some(o) = self.projects.get(project) {
            if let Some(auth) = o.auth {
                access.auth = auth;
            }
            if let Some(extensions) = o.extensions {
                access.extensions = extensions;
            }
            if let Some(realtime) = &o.realtime {
                access = access.with_realtime(realtime.iter().cloned());
            }
            if let Some(hook) = &o.signup_hook {
                access.signup_hook = Some(hook.clone());
            }
        }
        access
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_override_replaces_only_the_keys_it_sets() {
        let config = PlatformConfig::default()
            .with_default(Access::default().with_auth(true).with_extensions(true))
            .with_project(
                "reli".parse().unwrap(),
                AccessOverride {
                    extensions: Some(false),
                    realtime: Some(vec!["notes".into(), "messages".into(), "notes".into()]),
                    signup_hook: Some("handle_new_user".into()),
                    ..AccessOverride::default()
                },
            );
        let reli = config.access_of(&"reli".parse().unwrap());
        assert!(reli.auth);
        assert!(!reli.extensions);
        assert_eq!(reli.realtime, ["messages", "notes"]);
        assert_eq!(reli.signup_hook.as_deref(), Some("handle_new_user"));
        let other = config.access_of(&"annie".parse().unwrap());
        assert_eq!(
            other,
            Access::default().with_auth(true).with_extensions(true)
        );
    }
}
