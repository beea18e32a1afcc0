//! Why the usage could not be read.

/// Reading the usage failed; it changes nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The admin connection could not be opened.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// A catalog read failed.
    #[error("reading {what}: {source}")]
    Catalog {
        /// Which read.
        what: &'static str,
        /// What the server said.
        #[source]
        source: tokio_postgres::Error,
    },
}
