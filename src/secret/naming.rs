use std::fmt;

/// Which of a project's two logins a secret belongs to.
///
/// Every project has two login roles (see the design): services connect as `<p>_login`, whose
/// credential is the [`App`](Login::App) secret, and migrations run as `<p>_migrator`, whose
/// credential is the [`Migrator`](Login::Migrator) secret.
///
/// ```
/// use cotenant::secret::Login;
/// assert_eq!(Login::App.as_str(), "app");
/// assert_eq!("migrator".parse::<Login>(), Ok(Login::Migrator));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Login {
    /// The login services connect as (`<p>_login`); named `app` in secret ids.
    App,
    /// The login migrations run as (`<p>_migrator`); named `migrator` in secret ids.
    Migrator,
}

impl Login {
    /// Both logins, `App` first.
    pub const ALL: [Login; 2] = [Login::App, Login::Migrator];

    /// The name used for `{login}` in secret ids: `"app"` or `"migrator"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Login::App => "app",
            Login::Migrator => "migrator",
        }
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Login {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "app" => Ok(Login::App),
            "migrator" => Ok(Login::Migrator),
            other => Err(format!(
                "unknown login `{other}`: expected `app` or `migrator`"
            )),
        }
    }
}

/// A template that names the secret of one login of one project on one environment.
///
/// The template may use `{prefix}`, `{env}`, `{project}` and `{login}`; it must use the last three,
/// so that no two logins share a secret. The default is `{prefix}/{env}/{project}/{login}` with the
/// prefix `cotenant`, which names `cotenant/prod/reli/app`.
///
/// ```
/// use cotenant::secret::{Login, SecretNaming};
///
/// let naming = SecretNaming::new("acme", "{prefix}/{env}/{project}/{login}")?;
/// assert_eq!(naming.secret_id("prod", "reli", Login::App), "acme/prod/reli/app");
/// assert_eq!(SecretNaming::default().secret_id("staging", "reli", Login::Migrator),
///            "cotenant/staging/reli/migrator");
/// # Ok::<(), cotenant::secret::NamingError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretNaming {
    prefix: String,
    template: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Prefix,
    Env,
    Project,
    Login,
}

/// Why a secret naming template or prefix was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    /// The template uses a placeholder other than `{prefix}`, `{env}`, `{project}`, `{login}`.
    #[error(
        "naming template `{template}` uses unknown placeholder `{{{name}}}`: use {{prefix}}, {{env}}, {{project}} and {{login}}"
    )]
    UnknownPlaceholder {
        /// The template.
        template: String,
        /// The placeholder's name, without braces.
        name: String,
    },
    /// The template lacks a placeholder it needs to name every login apart.
    #[error(
        "naming template `{template}` lacks `{{{name}}}`: without it two logins would share one secret"
    )]
    MissingPlaceholder {
        /// The template.
        template: String,
        /// The missing placeholder's name, without braces.
        name: &'static str,
    },
    /// A `{` without its `}` or the reverse.
    #[error("naming template `{template}` has an unmatched `{{` or `}}`")]
    Unbalanced {
        /// The template.
        template: String,
    },
    /// The prefix or the template's literal text has a character AWS does not allow in secret names.
    #[error(
        "{what} `{text}` contains {found:?}: secret names allow only ASCII letters, digits and / _ + = . @ -"
    )]
    InvalidCharacter {
        /// `"prefix"` or `"naming template"`.
        what: &'static str,
        /// The prefix or template.
        text: String,
        /// The refused character.
        found: char,
    },
}

/// Whether AWS Secrets Manager accepts `c` in a secret name.
pub(crate) fn is_secret_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

impl SecretNaming {
    /// The default template, `{prefix}/{env}/{project}/{login}`.
    pub const DEFAULT_TEMPLATE: &'static str = "{prefix}/{env}/{project}/{login}";
    /// The default prefix, `cotenant`.
    pub const DEFAULT_PREFIX: &'static str = "cotenant";

    /// Parses `template` and checks it and `prefix`.
    ///
    /// ```
    /// use cotenant::secret::SecretNaming;
    /// assert!(SecretNaming::new("acme", "{prefix}/{project}/{login}").is_err()); // no {env}
    /// ```
    pub fn new(
        prefix: impl Into<String>,
        template: impl Into<String>,
    ) -> Result<Self, NamingError> {
        let prefix = prefix.into();
        let template = template.into();
        if let Some(found) = prefix.chars().find(|c| !is_secret_name_char(*c)) {
            return Err(NamingError::InvalidCharacter {
                what: "prefix",
                text: prefix,
                found,
            });
        }
        let parts = parse_template(&template)?;
        for (part, name) in [
            (Part::Env, "env"),
            (Part::Project, "project"),
            (Part::Login, "login"),
        ] {
            if !parts.contains(&part) {
                return Err(NamingError::MissingPlaceholder { template, name });
            }
        }
        Ok(SecretNaming {
            prefix,
            template,
            parts,
        })
    }

    /// The prefix that `{prefix}` stands for.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The template as written.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The secret id of `login` of `project` on environment `env`.
    ///
    /// `env` and `project` are used as given: cotenant checks project and environment names before
    /// they get here.
    pub fn secret_id(&self, env: &str, project: &str, login: Login) -> String {
        let mut id = String::with_capacity(self.template.len() + 32);
        for part in &self.parts {
            match part {
                Part::Literal(text) => id.push_str(text),
                Part::Prefix => id.push_str(&self.prefix),
                Part::Env => id.push_str(env),
                Part::Project => id.push_str(project),
                Part::Login => id.push_str(login.as_str()),
            }
        }
        id
    }
}

impl Default for SecretNaming {
    fn default() -> Self {
        SecretNaming::new(Self::DEFAULT_PREFIX, Self::DEFAULT_TEMPLATE)
            .expect("the default naming is valid")
    }
}

fn parse_template(template: &str) -> Result<Vec<Part>, NamingError> {
    let mut parts = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            None => {
                parts.push(literal(template, rest)?);
                break;
            }
            Some(at) => {
                if at > 0 {
                    parts.push(literal(template, &rest[..at])?);
                }
                if rest[at..].starts_with('}') {
                    return Err(NamingError::Unbalanced {
                        template: template.to_owned(),
                    });
                }
                let after = &rest[at + 1..];
                let end = after.find('}').ok_or_else(|| NamingError::Unbalanced {
                    template: template.to_owned(),
                })?;
                let name = &after[..end];
                if name.contains('{') {
                    return Err(NamingError::Unbalanced {
                        template: template.to_owned(),
                    });
                }
                parts.push(match name {
                    "prefix" => Part::Prefix,
                    "env" => Part::Env,
                    "project" => Part::Project,
                    "login" => Part::Login,
                    other => {
                        return Err(NamingError::UnknownPlaceholder {
                            template: template.to_owned(),
                            name: other.to_owned(),
                        });
                    }
                });
                rest = &after[end + 1..];
            }
        }
    }
    Ok(parts)
}

fn literal(template: &str, text: &str) -> Result<Part, NamingError> {
    match text.chars().find(|c| !is_secret_name_char(*c)) {
        Some(found) => Err(NamingError::InvalidCharacter {
            what: "naming template",
            text: template.to_owned(),
            found,
        }),
        None => Ok(Part::Literal(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_every_login_apart() {
        let naming = SecretNaming::default();
        assert_eq!(
            naming.secret_id("prod", "reli", Login::App),
            "cotenant/prod/reli/app"
        );
        assert_eq!(
            naming.secret_id("prod", "reli", Login::Migrator),
            "cotenant/prod/reli/migrator"
        );
    }

    #[test]
    fn custom_template_with_literals() {
        let naming = SecretNaming::new("acme", "db-{env}.{project}@{login}").unwrap();
        assert_eq!(
            naming.secret_id("staging", "reli", Login::App),
            "db-staging.reli@app"
        );
    }

    #[test]
    fn bad_templates_say_why() {
        let err = SecretNaming::new("x", "{prefix}/{envv}/{project}/{login}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "naming template `{prefix}/{envv}/{project}/{login}` uses unknown placeholder `{envv}`: use {prefix}, {env}, {project} and {login}"
        );
        let err = SecretNaming::new("x", "{prefix}/{env}/{login}").unwrap_err();
        assert!(err.to_string().contains("lacks `{project}`"), "{err}");
        assert!(matches!(
            SecretNaming::new("x", "{env}/{project/{login}"),
            Err(NamingError::Unbalanced { .. })
        ));
        assert!(matches!(
            SecretNaming::new("x", "{env}}/{project}/{login}"),
            Err(NamingError::Unbalanced { .. })
        ));
        assert!(matches!(
            SecretNaming::new("x y", "{env}/{project}/{login}"),
            Err(NamingError::InvalidCharacter {
                what: "prefix",
                found: ' ',
                ..
            })
        ));
        assert!(matches!(
            SecretNaming::new("x", "{env}:{project}/{login}"),
            Err(NamingError::InvalidCharacter { found: ':', .. })
        ));
    }
}
