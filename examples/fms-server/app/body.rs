//! Reading request bodies: the JSON extractor (any content type, 64 KiB, errors as JSON) and
//! typed field readers that name the field at fault.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::error::ApiError;

/// A request body parsed as JSON. The `Content-Type` is not checked (Make modules and curl
/// without `-H` send other ones); an empty body is `invalid_json`, an oversized one 413.
#[derive(Debug)]
pub(crate) struct JsonBody(pub(crate) Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large()
            } else {
                ApiError::invalid_json("the body could not be read")
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses JSON bytes; an empty (or blank) body is `invalid_json`.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_json(
            "the body is empty; expected a JSON object",
        ));
    }
    serde_json::from_slice(bytes).map_err(ApiError::invalid_json)
}

/// The body as a JSON object.
pub(crate) fn object(value: &Value) -> Result<&Map<String, Value>, ApiError> {
    value
        .as_object()
        .ok_or_else(|| ApiError::invalid_json("the body must be a JSON object"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An optional string; absent or null is `None` (blank strings are passed on, the library
/// decides what blank means for each field).
pub(crate) fn opt_str(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::invalid(
            field,
            format!("must be a string, not {}", kind(other)),
        )),
    }
}

/// A required, non-blank string.
pub(crate) fn req_str(obj: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match opt_str(obj, field)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(ApiError::missing(field)),
    }
}

/// A field of a patch: absent `None`, null `Some(None)`, a string `Some(Some(s))`.
pub(crate) fn patch_str(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<Option<Option<String>>, ApiError> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(other) => Err(ApiError::invalid(
            field,
            format!("must be a string or null, not {}", kind(other)),
        )),
    }
}

/// An optional chat id: a string or an integer (Telegram ids are numbers).
pub(crate) fn opt_chat_id(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<Option<Option<String>>, ApiError> {
    match obj.get(field) {
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(Some(n.to_string()))),
        Some(Value::Number(_)) => Err(ApiError::invalid(field, "must be a string or an integer")),
        _ => patch_str(obj, field),
    }
}

/// An optional boolean.
pub(crate) fn opt_bool(obj: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ApiError::invalid(
            field,
            format!("must be a boolean, not {}", kind(other)),
        )),
    }
}

/// An optional list of strings.
pub(crate) fn opt_list(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(ApiError::invalid(
                    field,
                    format!("must be a list of strings; found {}", kind(other)),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(ApiError::invalid(
            field,
            format!("must be a list of strings, not {}", kind(other)),
        )),
    }
}

/// A required id (UUID) field of a body.
pub(crate) fn req_id<T: std::str::FromStr>(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<T, ApiError> {
    parse_id(field, &req_str(obj, field)?)
}

/// Parses an id (a path segment or a field); anything but a UUID is `invalid_field`.
pub(crate) fn parse_id<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::invalid(field, "must be a UUID"))
}
