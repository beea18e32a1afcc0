use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::db_secret::describe_json_error;
use super::{DbSecret, SecretError, SecretSource, Stage, VersionId};

/// Secrets in one local JSON file, for development: the same semantics as Secrets Manager,
/// stages included.
///
/// The file looks like this (`value` may also be a string holding the JSON, as Secrets Manager
/// stores it):
///
/// ```json
/// {
///   "format": 1,
///   "secrets": {
///     "cotenant/staging/reli/app": {
///       "versions": [
///         {"id": "9f0c…", "stages": ["AWSCURRENT"],
///          "value": {"engine": "postgres", "host": "localhost", "port": 5432,
///                    "username": "reli_login", "password": "…", "dbname": "postgres"}}
///       ]
///     }
///   }
/// }
/// ```
///
/// A missing file is an empty store; the first write creates it (and its directory). Every write
/// replaces the file atomically (a temporary file with mode 0600 in the same directory, then a
/// rename), and writes within one process are serialized per path. Two *processes* writing the same
/// file at once can lose one write: it is a development store. Versions left without any label are
/// dropped.
///
/// ```no_run
/// use cotenant::secret::{DbSecret, FileSecrets, SecretSource};
///
/// # async fn run() -> Result<(), cotenant::secret::SecretError> {
/// let store = FileSecrets::new(".cotenant/secrets.json");
/// let secret = DbSecret::new("localhost", 5432, "reli_login", "dev-password", "postgres");
/// store.create("cotenant/dev/reli/app", &secret).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FileSecrets {
    path: PathBuf,
    store: String,
    lock: Arc<Mutex<()>>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileData {
    format: u32,
    #[serde(default)]
    secrets: BTreeMap<String, FileSecret>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileSecret {
    #[serde(default)]
    versions: Vec<FileVersion>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileVersion {
    id: String,
    stages: Vec<String>,
    value: Value,
}

const FORMAT: u32 = 1;

impl FileSecret {
    fn with_label(&self, stage: Stage) -> Option<&FileVersion> {
        self.versions.iter().find(|v| v.has(stage))
    }

    /// Takes `stage` off every version.
    fn unlabel(&mut self, stage: Stage) {
        for version in &mut self.versions {
            version.stages.retain(|s| s != stage.label());
        }
    }

    /// Makes version `index` current, the old current previous.
    fn make_current(&mut self, index: usize) {
        if self.versions[index].has(Stage::Current) {
            return;
        }
        self.unlabel(Stage::Previous);
        for version in &mut self.versions {
            if version.has(Stage::Current) {
                version.stages.retain(|s| s != Stage::Current.label());
                version.stages.push(Stage::Previous.label().to_owned());
            }
        }
        self.versions[index]
            .stages
            .push(Stage::Current.label().to_owned());
    }

    fn push(&mut self, value: Value) -> usize {
        self.versions.push(FileVersion {
            id: new_version_id(),
            stages: Vec::new(),
            value,
        });
        self.versions.len() - 1
    }

    fn drop_unlabelled(&mut self) {
        self.versions.retain(|v| !v.stages.is_empty());
    }
}

impl FileVersion {
    fn has(&self, stage: Stage) -> bool {
        self.stages.iter().any(|s| s == stage.label())
    }
}

fn new_version_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// One mutex per file path in this process, shared by every `FileSecrets` on that path.
fn lock_for(path: &Path) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(key).or_default().clone()
}

impl FileSecrets {
    /// A store in the JSON file at `path`. Nothing is read or created until the first call.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        FileSecrets {
            store: format!("secrets file `{}`", path.display()),
            lock: lock_for(&path),
            path,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `op` on the file's contents under the lock, on a blocking thread; writes the file back
    /// if `op` says it changed something.
    async fn with_data<T, F>(&self, op: F) -> Result<T, SecretError>
    where
        T: Send + 'static,
        F: FnOnce(&mut FileData, &str) -> Result<(T, bool), SecretError> + Send + 'static,
    {
        let this = self.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _guard = this
                .lock
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut data = this.read()?;
            let (out, changed) = op(&mut data, &this.store)?;
            if changed {
                this.write(&data)?;
            }
            Ok(out)
        });
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(SecretError::Unavailable {
                store: self.store.clone(),
                reason: format!("the blocking task was cancelled: {e}"),
            }),
        }
    }

    fn file_error(&self, operation: &'static str, source: std::io::Error) -> SecretError {
        SecretError::File {
            operation,
            path: self.path.clone(),
            source,
        }
    }

    fn read(&self) -> Result<FileData, SecretError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(FileData {
                    format: FORMAT,
                    ..FileData::default()
                });
            }
            Err(e) => return Err(self.file_error("read", e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(&self.path)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    target: "cotenant::secret",
                    path = %self.path.display(),
                    "secrets file is readable by other users: chmod 600 it (cotenant writes it 0600)"
                );
            }
        }
        let data: FileData =
            serde_json::from_slice(&bytes).map_err(|e| SecretError::CorruptFile {
                path: self.path.clone(),
                reason: describe_json_error(&e),
            })?;
        if data.format != FORMAT {
            return Err(SecretError::CorruptFile {
                path: self.path.clone(),
                reason: format!(
                    "it has format {}, this cotenant reads format {FORMAT}",
                    data.format
                ),
            });
        }
        Ok(data)
    }

    fn write(&self, data: &FileData) -> Result<(), SecretError> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(|e| self.file_error("create the directory of", e))?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "secrets.json".to_owned());
        let temp = dir.join(format!(
            ".{name}.{}.{:08x}.tmp",
            std::process::id(),
            rand::random::<u32>()
        ));
        let json = serde_json::to_vec_pretty(data).map_err(|e| SecretError::CorruptFile {
            path: self.path.clone(),
            reason: format!("cannot serialize: {}", describe_json_error(&e)),
        })?;
        let result = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temp)?;
            file.write_all(&json)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&temp, &self.path)?;
            // Make the rename durable; not every platform can open a directory.
            if let Ok(dir) = std::fs::File::open(&dir) {
                let _ = dir.sync_all();
            }
            Ok(())
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            self.file_error("write", e)
        })
    }
}

impl fmt::Debug for FileSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSecrets")
            .field("path", &self.path)
            .finish()
    }
}

fn not_found(id: &str, store: &str) -> SecretError {
    SecretError::NotFound {
        id: id.to_owned(),
        store: store.to_owned(),
    }
}

#[async_trait]
impl SecretSource for FileSecrets {
    async fn get(&self, id: &str, stage: Stage) -> Result<DbSecret, SecretError> {
        let id = id.to_owned();
        self.with_data(move |data, store| {
            let secret = data.secrets.get(&id).ok_or_else(|| not_found(&id, store))?;
            let version = secret
                .with_label(stage)
                .ok_or_else(|| SecretError::StageNotFound {
                    id: id.clone(),
                    stage,
                    store: store.to_owned(),
                })?;
            let parsed = match &version.value {
                Value::String(text) => DbSecret::from_json(&id, text),
                value => DbSecret::from_value(&id, value.clone()),
            };
            Ok((parsed?, false))
        })
        .await
    }

    async fn create(&self, id: &str, secret: &DbSecret) -> Result<VersionId, SecretError> {
        let id = id.to_owned();
        let value = secret.to_value();
        self.with_data(move |data, store| {
            if data.secrets.contains_key(&id) {
                return Err(SecretError::AlreadyExists {
                    id,
                    store: store.to_owned(),
                });
            }
            let mut entry = FileSecret::default();
            let index = entry.push(value);
            entry.make_current(index);
            let version = VersionId::new(entry.versions[index].id.clone());
            data.secrets.insert(id, entry);
            Ok((version, true))
        })
        .await
    }

    async fn put(
        &self,
        id: &str,
        secret: &DbSecret,
        stage: Stage,
    ) -> Result<VersionId, SecretError> {
        if stage == Stage::Previous {
            return Err(SecretError::UnsupportedStage {
                id: id.to_owned(),
                stage,
                operation: "put",
            });
        }
        let id = id.to_owned();
        let value = secret.to_value();
        self.with_data(move |data, store| {
            let entry = match (data.secrets.get_mut(&id), stage) {
                (Some(entry), _) => entry,
                (None, Stage::Current) => data.secrets.entry(id.clone()).or_default(),
                (None, _) => return Err(not_found(&id, store)),
            };
            let index = entry.push(value);
            if stage == Stage::Current {
                entry.make_current(index);
            } else {
                entry.unlabel(stage);
                entry.versions[index].stages.push(stage.label().to_owned());
            }
            let version = VersionId::new(entry.versions[index].id.clone());
            entry.drop_unlabelled();
            Ok((version, true))
        })
        .await
    }

    async fn promote(&self, id: &str, version: &VersionId) -> Result<(), SecretError> {
        let id = id.to_owned();
        let version = version.clone();
        self.with_data(move |data, store| {
            let entry = data
                .secrets
                .get_mut(&id)
                .ok_or_else(|| not_found(&id, store))?;
            let index = entry
                .versions
                .iter()
                .position(|v| v.id == version.as_str())
                .ok_or_else(|| SecretError::VersionNotFound {
                    id: id.clone(),
                    version: version.clone(),
                    store: store.to_owned(),
                })?;
            entry.make_current(index);
            entry.versions[index]
                .stages
                .retain(|s| s != Stage::Pending.label());
            entry.drop_unlabelled();
            Ok(((), true))
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<bool, SecretError> {
        let id = id.to_owned();
        self.with_data(move |data, _| {
            let existed = data.secrets.remove(&id).is_some();
            Ok((existed, existed))
        })
        .await
    }
}
