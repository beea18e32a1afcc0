//! The users map: which source users are users the shared instance already has (source id →
//! target id), to merge a collision instead of refusing it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};

use super::ImportError;

/// Source user id → target user id. A mapped source user is not imported: the imported rows'
/// references to it (every column of `public` with a foreign key to `auth.users`) are rewritten
/// to the target user, and its identities stay behind (the target user has its own).
///
/// From TOML (a table of `"source-id" = "target-id"`, at the top or under `[users]`) or CSV
/// (`source_id,target_id` lines, a header line allowed):
///
/// ```
/// use cotenant::import::UsersMap;
///
/// let toml = UsersMap::parse(
///     r#"[users]
///     "6f1f8f5e-0000-4000-8000-000000000001" = "0b7c0d7e-0000-4000-8000-000000000002""#,
///     None,
/// )?;
/// let csv = UsersMap::parse(
///     "source_id,target_id\n6F1F8F5E-0000-4000-8000-000000000001,0b7c0d7e-0000-4000-8000-000000000002\n",
///     None,
/// )?;
/// assert_eq!(toml, csv);
/// assert_eq!(toml.len(), 1);
/// # Ok::<(), cotenant::import::ImportError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersMap {
    pairs: BTreeMap<String, String>,
}

impl UsersMap {
    /// Reads a map file: TOML when it ends in `.toml`, CSV otherwise.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ImportError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ImportError::UsersMap {
            path: Some(path.to_owned()),
            reason: format!("cannot be read: {e}"),
        })?;
        Self::parse(&text, Some(path))
    }

    /// Parses a map: TOML when `path` ends in `.toml` or the text looks like TOML (`=`), CSV
    /// otherwise. `path` only names the file in errors.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Self, ImportError> {
        let fail = |reason: String| ImportError::UsersMap {
            path: path.map(PathBuf::from),
            reason,
        };
        let is_toml = path.is_some_and(|p| p.extension().is_some_and(|e| e == "toml"))
            || (path.is_none() && text.contains('='));
        let raw: Vec<(String, String)> = if is_toml {
            let figment = Figment::from(Toml::string(text));
            // Under `[users]` when there is such a table, else at the top.
            let table: Result<BTreeMap<String, String>, _> = if figment.contains("users") {
                figment.extract_inner("users")
            } else {
                figment.extract()
            };
            let table = table.map_err(|e| {
                fail(format!(
                    "is not a TOML table of \"source-id\" = \"target-id\": {e}"
                ))
            })?;
            table.into_iter().collect()
        } else {
            let mut pairs = Vec::new();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let fields: Vec<&str> = line.split(',').map(str::trim).collect();
                let [source, target] = fields[..] else {
                    return Err(fail(format!(
                        "line {}: expected `source_id,target_id`",
                        n + 1
                    )));
                };
                if n == 0 && uuid(source).is_none() && uuid(target).is_none() {
                    continue; // the header
                }
                pairs.push((source.to_owned(), target.to_owned()));
            }
            pairs
        };
        let mut pairs = BTreeMap::new();
        for (source, target) in raw {
            let (Some(s), Some(t)) = (uuid(&source), uuid(&target)) else {
                return Err(fail(format!(
                    "`{source}` → `{target}`: both must be user ids (UUIDs)"
                )));
            };
            if pairs.insert(s, t).is_some() {
                return Err(fail(format!("`{source}` is mapped twice")));
            }
        }
        Ok(UsersMap { pairs })
    }

    /// Maps `source` to `target` (both user ids).
    pub fn with(mut self, source: &str, target: &str) -> Result<Self, ImportError> {
        match (uuid(source), uuid(target)) {
            (Some(s), Some(t)) => {
                self.pairs.insert(s, t);
                Ok(self)
            }
            _ => Err(ImportError::UsersMap {
                path: None,
                reason: format!("`{source}` → `{target}`: both must be user ids (UUIDs)"),
            }),
        }
    }

    /// The number of mapped users.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The target id of a source user, if mapped.
    pub fn get(&self, source: &str) -> Option<&str> {
        uuid(source)
            .and_then(|s| self.pairs.get(&s))
            .map(String::as_str)
    }

    /// The pairs, lowercase, by source id.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(s, t)| (s.as_str(), t.as_str()))
    }
}

/// `text` as a canonical (lowercase, hyphenated) UUID, if it is one.
fn uuid(text: &str) -> Option<String> {
    let lower = text.trim().to_ascii_lowercase();
    let groups: Vec<&str> = lower.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    (groups.len() == 5
        && groups
            .iter()
            .zip(shape)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit())))
    .then_some(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_maps_say_what_is_wrong() {
        let err = UsersMap::parse("a,b,c\n", None).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = UsersMap::parse("\"not-a-uuid\" = \"x\"", None).unwrap_err();
        assert!(err.to_string().contains("UUIDs"), "{err}");
        let twice = "6f1f8f5e-0000-4000-8000-000000000001,0b7c0d7e-0000-4000-8000-000000000002\n6F1F8F5E-0000-4000-8000-000000000001,0b7c0d7e-0000-4000-8000-000000000003\n";
        let err = UsersMap::parse(twice, None).unwrap_err();
        assert!(err.to_string().contains("mapped twice"), "{err}");
    }
}
