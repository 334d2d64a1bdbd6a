//! Intake: the spec's incoming ticket JSON -> a validated [`NewTicket`], or an error that
//! names the field and the reason.
//!
//! Required: `issue, location, category, priority, name, chat_id, tenant_id`. Optional:
//! `designation, department, type` (default `Maintenance`), `building, floor, room`, plus
//! `description` and `message_id` (an idempotency key). Unknown fields are ignored, so a
//! Make scenario may send more than fms reads.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::ids::TenantId;
use crate::ticket::{Priority, Report};

/// Longest `issue`, `description` and `comment`, in characters.
pub const LONG_TEXT_MAX: usize = 4000;
/// Longest of every other text field, in characters.
pub const SHORT_TEXT_MAX: usize = 500;
/// Longest `chat_id`, in characters.
pub const CHAT_ID_MAX: usize = 64;
/// Longest idempotency key, in characters.
pub const IDEMPOTENCY_KEY_MAX: usize = 200;
/// The ticket type when the intake gives none.
pub const DEFAULT_TICKET_TYPE: &str = "Maintenance";

/// The fields intake requires, in the order the spec lists them.
pub const REQUIRED_FIELDS: [&str; 7] = [
    "issue",
    "location",
    "category",
    "priority",
    "name",
    "chat_id",
    "tenant_id",
];

/// A validated intake: who reported what, in which tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// The tenant the body names.
    pub tenant_id: TenantId,
    /// The complainant's Telegram chat id (normalised to a string).
    pub chat_id: String,
    /// What was reported.
    pub report: Report,
    /// The body's `message_id`, if any (an idempotency key).
    pub message_id: Option<String>,
}

impl NewTicket {
    /// Validates the spec's intake JSON.
    ///
    /// ```
    /// use fms_core::intake::NewTicket;
    /// use fms_core::Error;
    ///
    /// let body = serde_json::json!({
    ///     "issue": "AC not working", "location": "Building A", "category": "HVAC",
    ///     "priority": " HIGH ", "name": "John Doe", "chat_id": 123456789,
    ///     "tenant_id": "6f1c1f38-2a9e-4c47-a3f4-4f55b8d0e0a1"
    /// });
    /// let draft = NewTicket::from_json(&body)?;
    /// assert_eq!(draft.report.ticket_type, "Maintenance");
    /// assert_eq!(draft.chat_id, "123456789");
    ///
    /// let err = NewTicket::from_json(&serde_json::json!({})).unwrap_err();
    /// assert_eq!(err.field(), Some("issue"));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_json(body: &Value) -> Result<Self, Error> {
        let Some(obj) = body.as_object() else {
            return Err(Error::InvalidJson {
                reason: format!("the body must be a JSON object, not {}", json_kind(body)),
            });
        };
        // Required fields first, in the spec's order, so the first missing one is reported.
        let issue = required_text(obj, "issue", LONG_TEXT_MAX)?;
        let location = required_text(obj, "location", SHORT_TEXT_MAX)?;
        let category = required_text(obj, "category", SHORT_TEXT_MAX)?;
        let priority_text = required_text(obj, "priority", SHORT_TEXT_MAX)?;
        let name = required_text(obj, "name", SHORT_TEXT_MAX)?;
        let chat_id = chat_id(obj)?;
        let tenant_text = required_text(obj, "tenant_id", SHORT_TEXT_MAX)?;

        let priority =
            Priority::parse_lenient(&priority_text).ok_or_else(|| Error::InvalidField {
                field: "priority".into(),
                reason: format!(
                    "{priority_text:?} is not a priority; allowed: critical, high, medium, low"
                ),
            })?;
        let tenant_id = tenant_text
            .parse::<TenantId>()
            .map_err(|_| Error::InvalidField {
                field: "tenant_id".into(),
                reason: "must be a UUID".into(),
            })?;

        let report = Report {
            title: issue,
            description: optional_text(obj, "description", LONG_TEXT_MAX)?,
            location,
            category,
            ticket_type: optional_text(obj, "type", SHORT_TEXT_MAX)?
                .unwrap_or_else(|| DEFAULT_TICKET_TYPE.to_owned()),
            building: optional_text(obj, "building", SHORT_TEXT_MAX)?,
            floor: optional_scalar(obj, "floor", SHORT_TEXT_MAX)?,
            room: optional_scalar(obj, "room", SHORT_TEXT_MAX)?,
            reporter_name: name,
            reporter_designation: optional_text(obj, "designation", SHORT_TEXT_MAX)?,
            reporter_department: optional_text(obj, "department", SHORT_TEXT_MAX)?,
            submitted_priority: priority,
        };
        let message_id = optional_scalar(obj, "message_id", IDEMPOTENCY_KEY_MAX)?;
        Ok(NewTicket {
            tenant_id,
            chat_id,
            report,
            message_id,
        })
    }
}

/// Checks an idempotency key (an `Idempotency-Key` header or `message_id`): non-blank, at most
/// [`IDEMPOTENCY_KEY_MAX`] characters, no control characters. Returns it trimmed.
pub fn validate_idempotency_key(field: &str, key: &str) -> Result<String, Error> {
    let key = key.trim();
    if key.is_empty() {
        return Err(Error::MissingField {
            field: field.into(),
        });
    }
    check_text(field, key, IDEMPOTENCY_KEY_MAX)?;
    Ok(key.to_owned())
}

/// Validates one free-text value: at most `max` characters and no control characters other
/// than newlines and tabs. Shared by intake and the other write paths.
pub fn check_text(field: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.chars().count() > max {
        return Err(Error::InvalidField {
            field: field.into(),
            reason: format!("longer than {max} characters"),
        });
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(Error::InvalidField {
            field: field.into(),
            reason: "contains control characters".into(),
        });
    }
    Ok(())
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A required string: absent, null, empty or blank is `missing_field`; another JSON type is
/// `invalid_field`. Returned trimmed.
fn required_text(obj: &Map<String, Value>, field: &str, max: usize) -> Result<String, Error> {
    optional_text(obj, field, max)?.ok_or_else(|| Error::MissingField {
        field: field.into(),
    })
}

/// An optional string: absent, null, empty or blank is `None`.
fn optional_text(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => non_blank(field, s, max),
        Some(other) => Err(Error::InvalidField {
            field: field.into(),
            reason: format!("must be a string, not {}", json_kind(other)),
        }),
    }
}

/// An optional string that may also arrive as a JSON integer (floors, rooms, message ids).
fn optional_scalar(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, Error> {
    match obj.get(field) {
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        Some(Value::Number(_)) => Err(Error::InvalidField {
            field: field.into(),
            reason: "must be a string or an integer".into(),
        }),
        _ => optional_text(obj, field, max),
    }
}

fn non_blank(field: &str, s: &str, max: usize) -> Result<Option<String>, Error> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    check_text(field, t, max)?;
    Ok(Some(t.to_owned()))
}

/// `chat_id`: a non-blank string or an integer (Telegram ids are numbers, negative for groups).
fn chat_id(obj: &Map<String, Value>) -> Result<String, Error> {
    match obj.get("chat_id") {
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        Some(Value::Number(_)) => Err(Error::InvalidField {
            field: "chat_id".into(),
            reason: "must be a string or an integer".into(),
        }),
        _ => required_text(obj, "chat_id", CHAT_ID_MAX),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn example() -> Value {
        json!({
            "issue": "AC not working in Building A",
            "location": "Building A, Floor 3",
            "category": "HVAC",
            "priority": "high",
            "name": "John Doe",
            "designation": "Manager",
            "department": "IT",
            "chat_id": "123456789",
            "tenant_id": "6f1c1f38-2a9e-4c47-a3f4-4f55b8d0e0a1",
            "type": "Maintenance",
            "building": "Building A",
            "floor": "3",
            "room": "301"
        })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = example();
        v[field] = value;
        v
    }

    fn without(field: &str) -> Value {
        let mut v = example();
        v.as_object_mut().unwrap().remove(field);
        v
    }

    #[test]
    fn the_spec_example_validates() {
        let t = NewTicket::from_json(&example()).unwrap();
        assert_eq!(t.report.title, "AC not working in Building A");
        assert_eq!(t.report.submitted_priority, Priority::High);
        assert_eq!(t.report.building.as_deref(), Some("Building A"));
        assert_eq!(t.report.room.as_deref(), Some("301"));
        assert_eq!(t.chat_id, "123456789");
    }

    #[test]
    fn each_missing_required_field_is_named() {
        for field in REQUIRED_FIELDS {
            for body in [
                without(field),
                with(field, Value::Null),
                with(field, json!("")),
                with(field, json!("   ")),
            ] {
                let err = NewTicket::from_json(&body).unwrap_err();
                assert_eq!(err.code(), "missing_field", "{field}: {err}");
                assert_eq!(err.field(), Some(field));
            }
        }
    }

    #[test]
    fn field_errors_name_field_and_reason() {
        type Case = (&'static str, Value, &'static str, &'static str);
        let cases: Vec<Case> = vec![
            (
                "priority",
                json!("urgent"),
                "invalid_field",
                "allowed: critical, high, medium, low",
            ),
            ("priority", json!(3), "invalid_field", "must be a string"),
            ("tenant_id", json!("not-a-uuid"), "invalid_field", "UUID"),
            ("issue", json!(["a"]), "invalid_field", "not an array"),
            (
                "issue",
                json!("x".repeat(4001)),
                "invalid_field",
                "longer than 4000",
            ),
            (
                "location",
                json!("x".repeat(501)),
                "invalid_field",
                "longer than 500",
            ),
            (
                "chat_id",
                json!(1.5),
                "invalid_field",
                "string or an integer",
            ),
            ("chat_id", json!({"a": 1}), "invalid_field", "not an object"),
            (
                "name",
                json!("a\u{0}b"),
                "invalid_field",
                "control characters",
            ),
            ("floor", json!(true), "invalid_field", "not a boolean"),
        ];
        for (field, value, code, reason) in cases {
            let err = NewTicket::from_json(&with(field, value.clone())).unwrap_err();
            assert_eq!(err.code(), code, "{field}={value}");
            assert_eq!(err.field(), Some(field), "{field}={value}");
            assert!(err.to_string().contains(reason), "{field}={value}: {err}");
        }
    }

    #[test]
    fn lenient_forms_are_accepted() {
        let t = NewTicket::from_json(&with("priority", json!("  Critical "))).unwrap();
        assert_eq!(t.report.submitted_priority, Priority::Critical);
        let t = NewTicket::from_json(&with("chat_id", json!(-100123))).unwrap();
        assert_eq!(t.chat_id, "-100123");
        let t = NewTicket::from_json(&with("floor", json!(3))).unwrap();
        assert_eq!(t.report.floor.as_deref(), Some("3"));
        let t = NewTicket::from_json(&without("type")).unwrap();
        assert_eq!(t.report.ticket_type, DEFAULT_TICKET_TYPE);
        let t = NewTicket::from_json(&with("type", json!("  "))).unwrap();
        assert_eq!(t.report.ticket_type, DEFAULT_TICKET_TYPE);
        let t = NewTicket::from_json(&with("message_id", json!(42))).unwrap();
        assert_eq!(t.message_id.as_deref(), Some("42"));
        // Exactly at the limit is fine; unknown fields are ignored.
        let mut body = with("issue", json!("é".repeat(4000)));
        body["extra"] = json!({"anything": [1, 2]});
        assert!(NewTicket::from_json(&body).is_ok());
    }

    #[test]
    fn non_objects_are_invalid_json() {
        for body in [json!(null), json!([]), json!("x"), json!(1)] {
            let err = NewTicket::from_json(&body).unwrap_err();
            assert_eq!(err.code(), "invalid_json");
        }
    }
}
