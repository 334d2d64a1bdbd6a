//! The service's error: every failure an embedding application or the HTTP server can see,
//! with a stable machine code, the field at fault and a lowercase message.

use crate::store::StoreError;
use crate::ticket::Status;

/// The broad class of an error, mapping 1:1 to the spec's status codes (400 / 403 / 404 /
/// 409 / 410 / 500). The HTTP server maps these to statuses in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is wrong (400).
    BadRequest,
    /// The caller may not do this (403), e.g. an inactive user.
    Forbidden,
    /// Something named does not exist (404).
    NotFound,
    /// The request conflicts with the current state (409).
    Conflict,
    /// The thing existed but is gone for good (410).
    Gone,
    /// Something failed inside (500); retrying may help.
    Internal,
}

/// An error of the fms service API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body is not the JSON object expected.
    #[error("invalid json: {reason}")]
    InvalidJson {
        /// Why.
        reason: String,
    },
    /// A required field is absent, null, empty or blank.
    #[error("missing required field `{field}`")]
    MissingField {
        /// The field.
        field: String,
    },
    /// A field has the wrong type, format or length.
    #[error("invalid field `{field}`: {reason}")]
    InvalidField {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// No user with this chat id in this tenant.
    #[error("no user with chat_id {chat_id:?} in this tenant")]
    UserNotFound {
        /// The chat id looked up.
        chat_id: String,
    },
    /// The user exists but is not active.
    #[error("user is not active")]
    UserInactive,
    /// A tenant, user, ticket or queue row does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up (`ticket`, `user`, ...).
        what: &'static str,
    },
    /// The operation conflicts with stored state (duplicate chat id, ...).
    #[error("conflict: {reason}")]
    Conflict {
        /// Why.
        reason: String,
    },
    /// The workflow forbids this status move.
    #[error("cannot move a ticket from {from} to {to}; allowed from {from}: {allowed}")]
    InvalidTransition {
        /// Current status.
        from: Status,
        /// Requested status.
        to: Status,
        /// The allowed targets, comma-separated (or `none`).
        allowed: String,
    },
    /// The thing existed but has expired or been withdrawn.
    #[error("gone: {reason}")]
    Gone {
        /// Why.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// The stable machine code (`missing_field`, `user_not_found`, ...), as the HTTP API answers it.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidJson { .. } => "invalid_json",
            Error::MissingField { .. } => "missing_field",
            Error::InvalidField { .. } => "invalid_field",
            Error::UserNotFound { .. } => "user_not_found",
            Error::UserInactive => "user_inactive",
            Error::NotFound { .. } => "not_found",
            Error::Conflict { .. } => "conflict",
            Error::InvalidTransition { .. } => "invalid_transition",
            Error::Gone { .. } => "gone",
            Error::Store(e) => match e {
                StoreError::NotFound { .. } => "not_found",
                StoreError::Conflict { .. } => "conflict",
                _ => "internal",
            },
        }
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidJson { .. } | Error::MissingField { .. } | Error::InvalidField { .. } => {
                ErrorKind::BadRequest
            }
            Error::UserInactive => ErrorKind::Forbidden,
            Error::UserNotFound { .. } | Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Conflict { .. } | Error::InvalidTransition { .. } => ErrorKind::Conflict,
            Error::Gone { .. } => ErrorKind::Gone,
            Error::Store(StoreError::NotFound { .. }) => ErrorKind::NotFound,
            Error::Store(StoreError::Conflict { .. }) => ErrorKind::Conflict,
            Error::Store(_) => ErrorKind::Internal,
        }
    }

    /// The field at fault, where one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::MissingField { field } | Error::InvalidField { field, .. } => Some(field),
            Error::UserNotFound { .. } => Some("chat_id"),
            Error::InvalidTransition { .. } => Some("status"),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Error::InvalidField {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Shorthand for results of the service API.
pub type Result<T, E = Error> = std::result::Result<T, E>;
