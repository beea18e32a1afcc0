use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{DbSecret, SecretError, SecretSource, Stage, VersionId};

/// A TTL cache in front of any [`SecretSource`].
///
/// A read whose `(id, stage)` was read less than `ttl` ago is answered from memory, without any call
/// to the store. Everything else goes to the store: errors are not cached, and every write through
/// the cache (create, put, promote, delete) drops the secret's entries. A rotation done elsewhere is
/// seen after at most `ttl`, or at once after [`invalidate`](SecretSource::invalidate), which a
/// caller whose credential failed to authenticate should call before reading again.
///
/// A `ttl` of zero turns the cache off.
///
/// ```no_run
/// use std::time::Duration;
/// use cotenant::secret::{CachedSource, FileSecrets, SecretSource};
///
/// # async fn run() -> Result<(), cotenant::secret::SecretError> {
/// let store = CachedSource::new(FileSecrets::new("secrets.json"), Duration::from_secs(300));
/// let first = store.get_current("cotenant/prod/reli/app").await?; // asks the file
/// let again = store.get_current("cotenant/prod/reli/app").await?; // from memory
/// // The server refused the password: it may have been rotated.
/// store.invalidate("cotenant/prod/reli/app");
/// let fresh = store.get_current("cotenant/prod/reli/app").await?; // asks the file
/// # Ok(())
/// # }
/// ```
pub struct CachedSource<S> {
    inner: S,
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<(String, Stage), Entry>,
    /// Bumped by every invalidation, so that a read that started before one does not put back
    /// what it fetched.
    generation: u64,
}

struct Entry {
    secret: DbSecret,
    expires: Instant,
}

impl<S: SecretSource> CachedSource<S> {
    /// Caches reads from `inner` for `ttl`.
    pub fn new(inner: S, ttl: Duration) -> Self {
        CachedSource {
            inner,
            ttl,
            state: Mutex::new(State::default()),
        }
    }

    /// The source behind the cache. Writes made directly to it do not invalidate the cache.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// How long a read is served from memory.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Drops every entry.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.entries.clear();
        state.generation += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn forget(&self, id: &str) {
        let mut state = self.lock();
        state.entries.retain(|(key, _), _| key != id);
        state.generation += 1;
    }
}

impl<S: fmt::Debug> fmt::Debug for CachedSource<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self
            .state
            .lock()
            .map(|s| s.entries.len())
            .unwrap_or_default();
        f.debug_struct("CachedSource")
            .field("inner", &self.inner)
            .field("ttl", &self.ttl)
            .field("entries", &entries)
            .finish()
    }
}

#[async_trait]
impl<S: SecretSource> SecretSource for CachedSource<S> {
    async fn get(&self, id: &str, stage: Stage) -> Result<DbSecret, SecretError> {
        let key = (id.to_owned(), stage);
        let generation = {
            let state = self.lock();
            if let Some(entry) = state.entries.get(&key)
                && entry.expires > Instant::now()
            {
                return Ok(entry.secret.clone());
            }
            state.generation
        };
        let secret = self.inner.get(id, stage).await?;
        if !self.ttl.is_zero() {
            let now = Instant::now();
            let mut state = self.lock();
            if state.generation == generation {
                state.entries.retain(|_, entry| entry.expires > now);
                state.entries.insert(
                    key,
                    Entry {
                        secret: secret.clone(),
                        expires: now + self.ttl,
                    },
                );
            }
        }
        Ok(secret)
    }

    async fn create(&self, id: &str, secret: &DbSecret) -> Result<VersionId, SecretError> {
        let result = self.inner.create(id, secret).await;
        self.forget(id);
        result
    }

    async fn put(
        &self,
        id: &str,
        secret: &DbSecret,
        stage: Stage,
    ) -> Result<VersionId, SecretError> {
        let result = self.inner.put(id, secret, stage).await;
        self.forget(id);
        result
    }

    async fn promote(&self, id: &str, version: &VersionId) -> Result<(), SecretError> {
        let result = self.inner.promote(id, version).await;
        self.forget(id);
        result
    }

    async fn delete(&self, id: &str) -> Result<bool, SecretError> {
        let result = self.inner.delete(id).await;
        self.forget(id);
        result
    }

    fn invalidate(&self, id: &str) {
        self.forget(id);
        self.inner.invalidate(id);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts reads; every read returns a secret whose username is the read's number.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    #[async_trait]
    impl SecretSource for Counting {
        async fn get(&self, _id: &str, _stage: Stage) -> Result<DbSecret, SecretError> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(DbSecret::new("h", 1, n.to_string(), "p", "d"))
        }
        async fn create(&self, _: &str, _: &DbSecret) -> Result<VersionId, SecretError> {
            Ok(VersionId::new("v"))
        }
        async fn put(&self, _: &str, _: &DbSecret, _: Stage) -> Result<VersionId, SecretError> {
            Ok(VersionId::new("v"))
        }
        async fn promote(&self, _: &str, _: &VersionId) -> Result<(), SecretError> {
            Ok(())
        }
        async fn delete(&self, _: &str) -> Result<bool, SecretError> {
            Ok(true)
        }
    }

    #[tokio::test]
    async fn hits_do_not_call_the_store_and_writes_invalidate() {
        let cache = CachedSource::new(Counting::default(), Duration::from_secs(60));
        assert_eq!(cache.get_current("a").await.unwrap().username, "1");
        assert_eq!(cache.get_current("a").await.unwrap().username, "1");
        assert_eq!(cache.get("a", Stage::Pending).await.unwrap().username, "2");
        assert_eq!(cache.get_current("b").await.unwrap().username, "3");
        cache
            .put("a", &DbSecret::new("h", 1, "u", "p", "d"), Stage::Pending)
            .await
            .unwrap();
        assert_eq!(cache.get_current("a").await.unwrap().username, "4");
        assert_eq!(cache.get_current("b").await.unwrap().username, "3");
        assert_eq!(cache.inner().0.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn zero_ttl_caches_nothing() {
        let cache = CachedSource::new(Counting::default(), Duration::ZERO);
        cache.get_current("a").await.unwrap();
        cache.get_current("a").await.unwrap();
        assert_eq!(cache.inner().0.load(Ordering::SeqCst), 2);
    }
}
