//! Why an audit could not run, or (as `apply`'s final check) did not pass.

/// The audit could not read the catalog — it changes nothing, so there is nothing to undo —
/// or, as [`AuditCheck`](super::AuditCheck), found errors.
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
    /// As `apply`'s final check: errors that no allow list accepts.
    #[error(
        "the audit found {} error(s): {}: fix them, or accept one in `[projects.<p>.audit] allow` with the reason",
        errors.len(),
        errors.join("; ")
    )]
    Failed {
        /// Each error's code and object, e.g. ``iso.foreign_privilege on `reli.notes` ``.
        errors: Vec<String>,
    },
}
