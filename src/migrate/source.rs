//! A project's migration set: numbered files from a directory or embedded in the binary,
//! checked for gaps, duplicates and bad names before anything touches a server.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Checksum, Migration, SourceError};

/// A complete, ordered set of migrations: versions 1, 2, … n without gaps or duplicates.
///
/// Loaded at run time from a directory with [`from_dir`](Migrations::from_dir), or compiled
/// into the binary with [`from_embedded`](Migrations::from_embedded) and `include_str!`:
///
/// ```no_run
/// use cotenant::migrate::Migrations;
///
/// let from_disk = Migrations::from_dir("migrations/reli")?;
/// // In a real binary: ("001_init.sql", include_str!("../migrations/001_init.sql")), …
/// let embedded = Migrations::from_embedded(&[
///     ("001_init.sql", "CREATE TABLE users (id bigint PRIMARY KEY);"),
/// ])?;
/// assert_eq!(embedded.last_version(), 1);
/// # Ok::<(), cotenant::migrate::SourceError>(())
/// ```
///
/// Besides each file's checksum, a set has a *history checksum* for every prefix: the SHA-256
/// of the versions and checksums of migrations 1..=v. The runner records the history checksum
/// of what it applied in the catalog, which is how [`status`](super::read_status) and the
/// [staging gate](super::Gate) compare a project with these files without reading its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrations {
    migrations: Vec<Migration>,
    /// `history[v]`: the history checksum after migrations 1..=v (`history[0]`: none).
    history: Vec<Checksum>,
}

impl Migrations {
    /// Loads every `*.sql` file of `dir` (not its subdirectories). Files with other extensions
    /// (a README, say) and hidden files are ignored; a `.sql` file whose name is not
    /// `NNN_description.sql` is an error that names it.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, SourceError> {
        let dir = dir.as_ref();
        let io = |path: &Path, source| SourceError::Io {
            path: path.to_owned(),
            source,
        };
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let entry = entry.map_err(|e| io(dir, e))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".sql") {
                continue;
            }
            if !entry.file_type().map_err(|e| io(&path, e))?.is_file() {
                continue;
            }
            files.push((name, path));
        }
        let mut migrations = Vec::with_capacity(files.len());
        for (name, path) in files {
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            let sql = String::from_utf8(bytes)
                .map_err(|_| SourceError::NotUtf8 { file: name.clone() })?;
            migrations.push(Migration::new(name, sql)?);
        }
        Self::from_migrations(migrations)
    }

    /// The migrations given as `(file name, contents)` pairs, typically with `include_str!`.
    pub fn from_embedded(files: &[(&str, &str)]) -> Result<Self, SourceError> {
        let migrations = files
            .iter()
            .map(|(name, sql)| Migration::new(*name, *sql))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_migrations(migrations)
    }

    /// Orders `migrations` by version and checks that they are 1..=n exactly once each.
    pub fn from_migrations(mut migrations: Vec<Migration>) -> Result<Self, SourceError> {
        migrations.sort_by(|a, b| (a.version(), a.file_name()).cmp(&(b.version(), b.file_name())));
        for pair in migrations.windows(2) {
            if pair[0].version() == pair[1].version() {
                return Err(SourceError::Duplicate {
                    version: pair[0].version(),
                    first: pair[0].file_name().to_owned(),
                    second: pair[1].file_name().to_owned(),
                });
            }
        }
        for (expected, m) in (1..).zip(&migrations) {
            if m.version() != expected {
                return Err(SourceError::Gap {
                    missing: expected,
                    next: m.file_name().to_owned(),
                });
            }
        }
        let history = history_checksums(migrations.iter().map(|m| (m.version(), m.checksum())));
        Ok(Self {
            migrations,
            history,
        })
    }

    /// The migrations, in version order.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.migrations.iter()
    }

    /// How many migrations there are.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// The migration with `version`.
    pub fn get(&self, version: u32) -> Option<&Migration> {
        let index = usize::try_from(version).ok()?.checked_sub(1)?;
        self.migrations.get(index)
    }

    /// The highest version, 0 when there are no migrations.
    pub fn last_version(&self) -> u32 {
        self.migrations.last().map_or(0, Migration::version)
    }

    /// The history checksum of migrations 1..=`version` (`version` 0: the empty history), or
    /// `None` beyond the last version.
    pub fn history_checksum(&self, version: u32) -> Option<Checksum> {
        self.history.get(usize::try_from(version).ok()?).copied()
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The history checksum after each prefix of `applied` (which must be in version order),
/// starting with the empty history.
pub(crate) fn history_checksums(
    applied: impl IntoIterator<Item = (u32, Checksum)>,
) -> Vec<Checksum> {
    let mut hasher = Sha256::new().chain_update(b"cotenant/migrations\n");
    let mut out = vec![Checksum::from_digest(hasher.clone())];
    for (version, checksum) in applied {
        hasher.update(format!("{version}:{checksum}\n").as_bytes());
        out.push(Checksum::from_digest(hasher.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ordered_and_complete() {
        let set = Migrations::from_embedded(&[
            ("002_b.sql", "SELECT 2"),
            ("001_a.sql", "SELECT 1"),
            ("3_c.sql", "SELECT 3"),
        ])
        .unwrap();
        let files: Vec<_> = set.iter().map(Migration::file_name).collect();
        assert_eq!(files, ["001_a.sql", "002_b.sql", "3_c.sql"]);
        assert_eq!(set.last_version(), 3);
        assert_eq!(set.get(2).unwrap().file_name(), "002_b.sql");
        assert!(set.get(0).is_none() && set.get(4).is_none());
    }

    #[test]
    fn gaps_and_duplicates_name_the_files() {
        let err = Migrations::from_embedded(&[("001_a.sql", ""), ("003_c.sql", "")]).unwrap_err();
        assert!(matches!(err, SourceError::Gap { missing: 2, .. }), "{err}");
        assert!(err.to_string().contains("003_c.sql"), "{err}");
        let err = Migrations::from_embedded(&[("002_b.sql", "")]).unwrap_err();
        assert!(matches!(err, SourceError::Gap { missing: 1, .. }), "{err}");
        let err = Migrations::from_embedded(&[("001_a.sql", ""), ("01_b.sql", "")]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("001_a.sql") && text.contains("01_b.sql"),
            "{text}"
        );
    }

    #[test]
    fn a_directory_ignores_other_files_and_refuses_bad_sql_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("001_init.sql"), "CREATE TABLE t (id int);").unwrap();
        std::fs::write(dir.path().join("README.md"), "notes").unwrap();
        std::fs::write(dir.path().join(".002_wip.sql"), "").unwrap();
        assert_eq!(Migrations::from_dir(dir.path()).unwrap().len(), 1);
        std::fs::write(dir.path().join("2-more.sql"), "").unwrap();
        let err = Migrations::from_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("2-more.sql"), "{err}");
        let missing = Migrations::from_dir(dir.path().join("nope")).unwrap_err();
        assert!(matches!(missing, SourceError::Io { .. }), "{missing}");
    }

    #[test]
    fn history_checksums_cover_every_prefix() {
        let a = Migrations::from_embedded(&[("001_a.sql", "SELECT 1"), ("002_b.sql", "SELECT 2")])
            .unwrap();
        let b = Migrations::from_embedded(&[("001_a.sql", "SELECT 1"), ("002_b.sql", "SELECT 3")])
            .unwrap();
        assert_eq!(a.history_checksum(0), b.history_checksum(0));
        assert_eq!(a.history_checksum(1), b.history_checksum(1));
        assert_ne!(a.history_checksum(2), b.history_checksum(2));
        assert_eq!(a.history_checksum(3), None);
    }
}
