//! The adapter's private error, mapped into [`StoreError`] at the port. `rusqlite::Error`
//! never crosses it.

use fms_core::store::StoreError;
use rusqlite::ErrorCode;

const BACKEND: &str = "sqlite";

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored json is invalid")]
    Json(#[from] serde_json::Error),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the commit failed: {0}")]
    Commit(String),
    #[error("the database thread is gone")]
    Closed,
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(what) => StoreError::NotFound { what },
            Error::Conflict(reason) => StoreError::Conflict { reason },
            Error::Sqlite(rusqlite::Error::QueryReturnedNoRows) => {
                StoreError::NotFound { what: "row" }
            }
            Error::Sqlite(rusqlite::Error::SqliteFailure(f, msg)) => match f.code {
                ErrorCode::ConstraintViolation
                    if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
                {
                    StoreError::Conflict {
                        reason: "a row with the same unique key exists".into(),
                    }
                }
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Unavailable {
                    backend: BACKEND,
                    source: Box::new(rusqlite::Error::SqliteFailure(f, msg)),
                },
                _ => StoreError::Backend {
                    backend: BACKEND,
                    source: Box::new(rusqlite::Error::SqliteFailure(f, msg)),
                },
            },
            other => StoreError::Backend {
                backend: BACKEND,
                source: Box::new(other),
            },
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
