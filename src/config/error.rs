use std::fmt;
use std::path::{Path, PathBuf};

/// Why the configuration could not be loaded, or does not have what was asked.
///
/// Messages name the file, the key path (`environments.prod.port`) and what is expected there.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },

    /// A key is missing, unknown, of the wrong type, or has a value that is refused.
    #[error("{}", Invalid { file: file.as_deref(), key, message })]
    Invalid {
        /// The config file, `None` for a config given as a string.
        file: Option<PathBuf>,
        /// The dotted key path, e.g. `environments.prod.port`; empty for the top level.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },

    /// An environment that the config does not define was asked for.
    #[error(
        "unknown environment `{name}`: the config defines {}; add [environments.{name}] or use one of those",
        list(known)
    )]
    UnknownEnvironment {
        /// The name asked for.
        name: String,
        /// The environments the config defines, in promotion order.
        known: Vec<String>,
    },
}

struct Invalid<'a> {
    file: Option<&'a Path>,
    key: &'a str,
    message: &'a str,
}

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.file {
            Some(file) => write!(f, "config {}: ", file.display())?,
            None => f.write_str("config: ")?,
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(self.message)
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "no environment".to_owned();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ConfigError {
    pub(crate) fn invalid(
        file: Option<&Path>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError::Invalid {
            file: file.map(Path::to_path_buf),
            key: key.into(),
            message: message.into(),
        }
    }

    /// Turns figment's error into one naming the file, the key path and, for a value that came from
    /// an environment variable, that variable.
    pub(crate) fn from_figment(error: figment::Error, file: Option<&Path>) -> Self {
        let more = error.count().saturating_sub(1);
        let first = error
            .into_iter()
            .next()
            .expect("a figment error has at least one error");
        let mut path = first.path.clone();
        let mut message = describe_kind(&first.kind, &mut path);
        if let Some(metadata) = &first.metadata
            && metadata.name.starts_with("environment variable")
        {
            message.push_str(&format!(" (set by {})", metadata.name));
        }
        if more > 0 {
            message.push_str(&format!(" (and {more} more error(s))"));
        }
        ConfigError::invalid(file, path.join("."), message)
    }
}

/// figment's kinds in our words; the key path gets the field's name where figment left it out.
fn describe_kind(kind: &figment::error::Kind, path: &mut Vec<String>) -> String {
    use figment::error::Kind;
    let mut at_field = |field: &str| {
        if path.last().map(String::as_str) != Some(field) {
            path.push(field.to_owned());
        }
    };
    let one_of = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match kind {
        Kind::UnknownField(field, expected) => {
            at_field(field);
            if expected.is_empty() {
                "unknown key: this section takes no keys".to_owned()
            } else {
                format!("unknown key: expected one of {}", one_of(expected))
            }
        }
        Kind::MissingField(field) => {
            at_field(field);
            "missing: this key is required".to_owned()
        }
        Kind::UnknownVariant(found, expected) => {
            format!(
                "unknown value `{found}`: expected one of {}",
                one_of(expected)
            )
        }
        Kind::DuplicateField(field) => {
            at_field(field);
            "given twice".to_owned()
        }
        other => other.to_string(),
    }
}
