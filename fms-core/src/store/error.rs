//! The error every store port returns.

/// A store failure. Adapters map their driver errors into it; driver error types never cross
/// the port.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up.
        what: &'static str,
    },
    /// A uniqueness rule or an optimistic-concurrency check failed.
    #[error("conflict: {reason}")]
    Conflict {
        /// Why.
        reason: String,
    },
    /// The data is not what the store accepts.
    #[error("invalid data: {reason}")]
    Invalid {
        /// Why.
        reason: String,
    },
    /// A temporary failure (busy, connection lost); retrying may succeed.
    #[error("{backend} unavailable")]
    Unavailable {
        /// Which backend.
        backend: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Any other backend failure.
    #[error("{backend} error")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
