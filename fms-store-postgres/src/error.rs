//! The adapter's private error, mapped into [`StoreError`] at the port by SQLSTATE class and
//! sqlx error kind. `sqlx::Error` never crosses it.

use fms_core::store::StoreError;
use sqlx::error::ErrorKind;

const BACKEND: &str = "postgres";

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
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
            Error::Sqlx(sqlx::Error::RowNotFound) => StoreError::NotFound { what: "row" },
            Error::Sqlx(sqlx::Error::Database(db)) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                match db.kind() {
                    ErrorKind::UniqueViolation => StoreError::Conflict {
                        reason: "a row with the same unique key exists".into(),
                    },
                    ErrorKind::ForeignKeyViolation => StoreError::Invalid {
                        reason: "a referenced row does not exist".into(),
                    },
                    _ if retryable(&code) => StoreError::Unavailable {
                        backend: BACKEND,
                        source: Box::new(sqlx::Error::Database(db)),
                    },
                    _ => StoreError::Backend {
                        backend: BACKEND,
                        source: Box::new(sqlx::Error::Database(db)),
                    },
                }
            }
            Error::Sqlx(
                e @ (sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Protocol(_)),
            ) => StoreError::Unavailable {
                backend: BACKEND,
                source: Box::new(e),
            },
            other => StoreError::Backend {
                backend: BACKEND,
                source: Box::new(other),
            },
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
