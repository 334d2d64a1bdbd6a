//! The adapter's private error, mapped into [`StoreError`] at the port by SQLSTATE class and
//! sqlx error kind. `sqlx::Error` never crosses it.

use std::sync::Arc;

use fms_core::store::StoreError;
use sqlx::error::ErrorKind;

const BACKEND: &str = "postgres";

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// One statement's error, shared by the calls it served (the completion combiner).
    #[error(transparent)]
    Shared(Arc<sqlx::Error>),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored json is invalid")]
    Json(#[from] serde_json::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
}

/// SQLSTATE classes and codes that mean "try again": connection exceptions (08), serialization
/// failures and deadlocks (40001, 40P01), insufficient resources (53), operator intervention
/// (57: admin shutdown, `pg_terminate_backend`, query canceled).
fn retryable(code: &str) -> bool {
    code.starts_with("08")
        || code == "40001"
        || code == "40P01"
        || code.starts_with("53")
        || code.starts_with("57")
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(what) => StoreError::NotFound { what },
            Error::Conflict(reason) => StoreError::Conflict { reason },
            Error::Sqlx(e) => Kind::of(&e).with(Box::new(e)),
            Error::Shared(e) => Kind::of(&e).with(Box::new(e)),
            other => StoreError::Backend {
                backend: BACKEND,
                source: Box::new(other),
            },
        }
    }
}

/// What a sqlx error means at the port.
enum Kind {
    NotFound,
    Unique,
    ForeignKey,
    Unavailable,
    Backend,
}

impl Kind {
    fn of(e: &sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Kind::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => Kind::Unique,
                ErrorKind::ForeignKeyViolation => Kind::ForeignKey,
                _ if db.code().is_some_and(|c| retryable(&c)) => Kind::Unavailable,
                _ => Kind::Backend,
            },
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => Kind::Unavailable,
            _ => Kind::Backend,
        }
    }

    fn with(self, source: Box<dyn std::error::Error + Send + Sync>) -> StoreError {
        match self {
            Kind::NotFound => StoreError::NotFound { what: "row" },
            Kind::Unique => StoreError::Conflict {
                reason: "a row with the same unique key exists".into(),
            },
            Kind::ForeignKey => StoreError::Invalid {
                reason: "a referenced row does not exist".into(),
            },
            Kind::Unavailable => StoreError::Unavailable {
                backend: BACKEND,
                source,
            },
            Kind::Backend => StoreError::Backend {
                backend: BACKEND,
                source,
            },
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
