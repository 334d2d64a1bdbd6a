//! Reading request bodies. Every body is one serde type (in `dto.rs`) that also derives
//! `utoipa::ToSchema`, so what the parser accepts and what `/openapi.json` publishes are the
//! same type. [`Body`] reads the bytes (any content type, 64 KiB, errors as JSON), parses JSON
//! and decodes the type; errors name the field and the reason:
//!
//! - not JSON, empty, or not an object: 400 `invalid_json`;
//! - a required field absent or null: 400 `missing_field`;
//! - a wrong JSON type, or (for the management bodies, which deny unknown fields) a key the
//!   body does not have: 400 `invalid_field`, `field` naming it (`skills[1]`,
//!   `rules[0].actions.assign` for nested ones).

use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use super::error::ApiError;

/// A request body decoded as `T`.
#[derive(Debug)]
pub(crate) struct Body<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read(req, state).await?;
        decode(&parse(&bytes)?).map(Body)
    }
}

/// The raw body bytes: 413 `payload_too_large` over the limit. The `Content-Type` is not
/// checked (Make modules and curl without `-H` send other ones).
pub(crate) async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large()
        } else {
            ApiError::invalid_json("the body could not be read")
        }
    })
}

/// Parses JSON bytes; an empty (or blank) body is `invalid_json`.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    if is_blank(bytes) {
        return Err(ApiError::invalid_json(
            "the body is empty; expected a JSON object",
        ));
    }
    serde_json::from_slice(bytes).map_err(ApiError::invalid_json)
}

/// Whether a body is empty or only whitespace.
pub(crate) fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// Decodes a parsed body (which must be a JSON object) as `T`.
pub(crate) fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid_json(format!(
            "the body must be a JSON object, not {}",
            kind(value)
        )));
    }
    serde_path_to_error::deserialize(value).map_err(field_error)
}

/// A decoding error as the API reports it, naming the field.
fn field_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path();
    let at_root = path.iter().next().is_none();
    let at_key = matches!(
        path.iter().next_back(),
        Some(serde_path_to_error::Segment::Map { .. })
    );
    let path = if at_root {
        String::new()
    } else {
        path.to_string()
    };
    let message = e.into_inner().to_string();
    // serde's own wording (`missing field `x``, `unknown field `x`, expected ...`,
    // `invalid type: null, ...`) is stable: it is what every `Deserialize` impl produces.
    if let Some(field) = between(&message, "missing field `", "`") {
        let field = if at_root {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return ApiError::missing(&field);
    }
    if at_root {
        // Nothing to name (the body's shape itself is wrong).
        return ApiError::invalid_json(message);
    }
    if at_key && message.starts_with("invalid type: null") {
        // A required field given as null: the same as absent.
        return ApiError::missing(&path);
    }
    if let Some(rest) = message
        .strip_prefix("unknown field `")
        .and_then(|m| m.split_once("`, "))
        .map(|(_, rest)| rest)
    {
        return ApiError::invalid(&path, format!("unknown field; {rest}"));
    }
    ApiError::invalid(&path, message)
}

/// The text of `s` between `start` and the next `end`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(start)?;
    rest.split_once(end).map(|(inner, _)| inner)
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

/// A required, non-blank string of a decoded body (`missing_field` when blank).
pub(crate) fn non_blank(field: &str, value: String) -> Result<String, ApiError> {
    if value.trim().is_empty() {
        Err(ApiError::missing(field))
    } else {
        Ok(value)
    }
}

/// A required id (UUID) field of a decoded body: blank is `missing_field`, anything but a
/// UUID `invalid_field`.
pub(crate) fn id<T: std::str::FromStr>(field: &str, value: &str) -> Result<T, ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::missing(field));
    }
    parse_id(field, value)
}

/// An optional id (UUID) field: absent, null or blank is `None`.
pub(crate) fn opt_id<T: std::str::FromStr>(
    field: &str,
    value: Option<&str>,
) -> Result<Option<T>, ApiError> {
    match value {
        Some(v) if !v.trim().is_empty() => parse_id(field, v).map(Some),
        _ => Ok(None),
    }
}

/// Parses an id (a path segment or a field); anything but a UUID is `invalid_field`.
pub(crate) fn parse_id<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::invalid(field, "must be a UUID"))
}

/// For `#[serde(default, deserialize_with = "body::patch")]` on an `Option<Option<T>>` field
/// of a patch: absent is `None` (kept), `null` is `Some(None)` (cleared), a value
/// `Some(Some(v))`.
pub(crate) fn patch<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A JSON string or integer, kept as text: Telegram ids are numbers (negative for groups),
/// and Make sends them either way. A fraction is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StringOrInteger(pub(crate) String);

impl<'de> Deserialize<'de> for StringOrInteger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = StringOrInteger;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringOrInteger(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(StringOrInteger(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(StringOrInteger(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Err(E::custom("must be a string or an integer, not a fraction"))
            }
        }
        d.deserialize_any(Text)
    }
}

impl Serialize for StringOrInteger {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl PartialSchema for StringOrInteger {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Integer))
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Int64,
                    ))),
            )
            .description(Some("A string or an integer"))
            .into()
    }
}

impl ToSchema for StringOrInteger {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        skills: Option<Vec<String>>,
        chat: Option<StringOrInteger>,
        #[serde(default, deserialize_with = "patch")]
        email: Option<Option<String>>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        depth: u32,
    }

    fn error(v: Value) -> (String, Option<String>, String) {
        let e = decode::<Sample>(&v).unwrap_err();
        let (code, message, field) = e.parts();
        (
            code.to_owned(),
            field.map(str::to_owned),
            message.to_owned(),
        )
    }

    #[test]
    fn errors_name_the_field_and_the_reason() {
        let (code, field, message) = error(json!({"name": "x", "webhook_events": []}));
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("invalid_field", Some("webhook_events"))
        );
        assert!(message.contains("unknown field"), "{message}");
        assert!(message.contains("`skills`"), "{message}");

        let (code, field, _) = error(json!({"skills": []}));
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("missing_field", Some("name"))
        );
        let (code, field, _) = error(json!({"name": null}));
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("missing_field", Some("name"))
        );

        let (code, field, message) = error(json!({"name": "x", "skills": ["a", 2]}));
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("invalid_field", Some("skills[1]"))
        );
        assert!(message.contains("expected a string"), "{message}");

        let (code, field, _) = error(json!({"name": "x", "skills": [null]}));
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("invalid_field", Some("skills[0]"))
        );
        let (code, field, _) = error(json!({"name": 3}));
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("invalid_field", Some("name"))
        );
        let (code, field, message) = error(json!({"name": "x", "chat": 1.5}));
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("invalid_field", Some("chat"))
        );
        assert!(message.contains("string or an integer"), "{message}");
        let (code, field, _) = error(json!({"name": "x", "inner": {"depht": 1}}));
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("invalid_field", Some("inner.depht"))
        );
        let (code, field, _) = error(json!({"name": "x", "inner": {}}));
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("missing_field", Some("inner.depth"))
        );
        let (code, field, _) = error(json!([1]));
        assert_eq!((code.as_str(), field), ("invalid_json", None));
    }

    #[test]
    fn patches_tell_absent_from_null() {
        let s: Sample = decode(&json!({"name": "x"})).unwrap();
        assert_eq!(s.email, None);
        let s: Sample = decode(&json!({"name": "x", "email": null})).unwrap();
        assert_eq!(s.email, Some(None));
        let s: Sample = decode(&json!({"name": "x", "email": "a@b"})).unwrap();
        assert_eq!(s.email, Some(Some("a@b".to_owned())));
        let s: Sample = decode(&json!({"name": "x", "chat": -100123})).unwrap();
        assert_eq!(s.chat, Some(StringOrInteger("-100123".to_owned())));
    }
}
