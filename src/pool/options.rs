use std::time::Duration;

/// How a scoped pool is sized and how long it waits; the same for both flavours.
///
/// ```
/// use std::time::Duration;
/// use cotenant::pool::PoolOptions;
///
/// let options = PoolOptions::new()
///     .max_size(20)
///     .acquire_timeout(Duration::from_secs(5))
///     .application_name("reli-api");
/// assert_eq!(options.get_max_size(), 20);
/// assert_eq!(options.get_application_name(), Some("reli-api"));
/// assert_eq!(PoolOptions::default().get_acquire_timeout(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    max_size: usize,
    acquire_timeout: Duration,
    application_name: Option<String>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 10,
            acquire_timeout: Duration::from_secs(30),
            application_name: None,
        }
    }
}

impl PoolOptions {
    /// The defaults: at most 10 connections, 30 s to get one, the project's name as
    /// `application_name`.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `max_size` connections open at once (default 10). Keep the sum over a project's
    /// services under the login's connection limit.
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }

    /// The most connections the pool opens.
    pub fn get_max_size(&self) -> usize {
        self.max_size
    }

    /// How long getting a connection may take (default 30 s). sqlx counts waiting for a free
    /// connection and opening a new one together; deadpool allows this long for each. Also
    /// bounds the constructors' first connection.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long getting a connection may take.
    pub fn get_acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// The `application_name` the connections report in `pg_stat_activity` (default: the project's
    /// name).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// The `application_name` set, if any.
    pub fn get_application_name(&self) -> Option<&str> {
        self.application_name.as_deref()
    }
}
