//! Why an audit could not run.

/// The audit could not read the catalog; it changes nothing, so there is nothing to undo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The admin connection could not be opened.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// A catalog read failed.
    #[error("auditing: reading {what} from the catalog: {source}")]
    Catalog {
        /// Which read, e.g. `memberships`.
        what: &'static str,
        /// What the server said.
        #[source]
        source: tokio_postgres::Error,
    },
}
