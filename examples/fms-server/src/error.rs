//! The server's error: the JSON body every failure answers with, and the one function that
//! turns an error code into an HTTP status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error: `{"success": false, "error": {"code", "message", "field"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// Always `false`.
    pub(crate) success: bool,
    /// What went wrong.
    pub(crate) error: ErrorDetail,
}

/// `error` of [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable machine code: `missing_field`, `invalid_field`, `invalid_json`, `unauthorized`,
    /// `forbidden`, `user_inactive`, `user_not_found`, `not_found`, `method_not_allowed`,
    /// `timeout`, `conflict`, `invalid_transition`, `gone`, `payload_too_large`, `internal`.
    pub(crate) code: String,
    /// What happened, for humans (lowercase; never internals).
    pub(crate) message: String,
    /// The field at fault, where one is.
    pub(crate) field: Option<String>,
}

/// A failed request.
#[derive(Debug)]
pub(crate) struct ApiError {
    code: &'static str,
    message: String,
    field: Option<String>,
}

/// The status of an error code: the only place the server chooses an error status.
/// `fms::Error::kind()` classes agree with it (400 / 403 / 404 / 409 / 410 / 500).
pub(crate) fn status_of(code: &str) -> StatusCode {
    match code {
        "missing_field" | "invalid_field" | "invalid_json" => StatusCode::BAD_REQUEST,
        "unauthorized" => StatusCode::UNAUTHORIZED,
        "forbidden" | "user_inactive" => StatusCode::FORBIDDEN,
        "user_not_found" | "not_found" => StatusCode::NOT_FOUND,
        "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
        "timeout" => StatusCode::REQUEST_TIMEOUT,
        "conflict" | "invalid_transition" => StatusCode::CONFLICT,
        "gone" => StatusCode::GONE,
        "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 `missing_field`.
    pub(crate) fn missing(field: &str) -> Self {
        Self::new("missing_field", format!("missing required field `{field}`")).at(field)
    }

    /// The code, the message and the field (unit tests).
    #[cfg(test)]
    pub(crate) fn parts(&self) -> (&str, &str, Option<&str>) {
        (self.code, &self.message, self.field.as_deref())
    }

    /// 400 `invalid_field`.
    pub(crate) fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(
            "invalid_field",
            format!("invalid field `{field}`: {reason}"),
        )
        .at(field)
    }

    /// 400 `invalid_json`.
    pub(crate) fn invalid_json(reason: impl std::fmt::Display) -> Self {
        Self::new("invalid_json", format!("invalid json: {reason}"))
    }

    /// 401 `unauthorized`.
    pub(crate) fn unauthorized(reason: &str) -> Self {
        Self::new("unauthorized", reason)
    }

    /// 403 `forbidden`.
    pub(crate) fn forbidden(reason: impl Into<String>) -> Self {
        Self::new("forbidden", reason)
    }

    /// 404 `not_found`.
    pub(crate) fn not_found(what: &str) -> Self {
        Self::new("not_found", format!("{what} not found"))
    }

    /// 413 `payload_too_large`.
    pub(crate) fn payload_too_large() -> Self {
        Self::new(
            "payload_too_large",
            format!("request bodies are limited to {} bytes", super::BODY_LIMIT),
        )
    }

    /// 500 `internal`. The cause is logged, never sent.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new("internal", "internal error")
    }

    /// The error the framework would have answered with `status` in plain text.
    pub(crate) fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::new("not_found", "no such path"),
            StatusCode::METHOD_NOT_ALLOWED => {
                Self::new("method_not_allowed", "method not allowed on this path")
            }
            StatusCode::PAYLOAD_TOO_LARGE => Self::payload_too_large(),
            StatusCode::REQUEST_TIMEOUT => Self::new("timeout", "the request took too long"),
            StatusCode::UNAUTHORIZED => Self::unauthorized("missing or unknown bearer token"),
            StatusCode::FORBIDDEN => Self::forbidden("forbidden"),
            s if s.is_client_error() => Self::invalid_json("the request could not be read"),
            _ => Self::new("internal", "internal error"),
        }
    }
}

impl From<fms::Error> for ApiError {
    fn from(e: fms::Error) -> Self {
        let code = e.code();
        if status_of(code) == StatusCode::INTERNAL_SERVER_ERROR {
            return Self::internal(&e);
        }
        Self {
            code,
            message: e.to_string(),
            field: e.field().map(str::to_owned),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            success: false,
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        (status_of(self.code), Json(body)).into_response()
    }
}

/// Middleware: a framework answer that is an error but not JSON (404 of an unknown path, 405,
/// 413 from the body limit, 408 from the timeout, a path that cannot be decoded) becomes the
/// JSON error body.
pub(crate) async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        return ApiError::from_status(status).into_response();
    }
    response
}

/// Fallback for unknown paths: 404 `not_found`.
pub(crate) async fn unknown_path() -> ApiError {
    ApiError::from_status(StatusCode::NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::status_of;

    #[test]
    fn every_core_error_maps_to_its_documented_status() {
        for (e, status) in [
            (fms::Error::MissingField { field: "x".into() }, 400),
            (fms::Error::UserInactive, 403),
            (
                fms::Error::UserNotFound {
                    chat_id: "1".into(),
                },
                404,
            ),
            (fms::Error::Conflict { reason: "x".into() }, 409),
            (fms::Error::Gone { reason: "x".into() }, 410),
        ] {
            assert_eq!(status_of(e.code()).as_u16(), status, "{e}");
        }
        for (code, status) in [
            ("invalid_json", 400),
            ("unauthorized", 401),
            ("forbidden", 403),
            ("not_found", 404),
            ("method_not_allowed", 405),
            ("invalid_transition", 409),
            ("payload_too_large", 413),
            ("internal", 500),
        ] {
            assert_eq!(status_of(code).as_u16(), status, "{code}");
        }
    }
}
