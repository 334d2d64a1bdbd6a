//! Snapshot tests of the webhook payload.

#![allow(clippy::unwrap_used, clippy::panic)]

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::activity::ActivityType;
use crate::ids::{ActivityId, TenantId, TicketId};
use crate::ticket::{Priority, Report, SlaDue, Status};
use crate::user::{OnboardingStatus, Role};

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

fn user(uid: &str, name: &str, role: Role) -> User {
    User {
        id: id(uid),
        tenant_id: id("00000000-0000-4000-8000-000000000001"),
        name: name.into(),
        role,
        active: true,
        telegram_chat_id: Some("123456789".into()),
        email: Some("john.doe@example.com".into()),
        phone: Some("+1-555-0100".into()),
        designation: None,
        department: None,
        skills: vec![],
        buildings: vec![],
        onboarding: OnboardingStatus::Onboarded,
        created_at: Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap(),
    }
}

fn parts() -> PayloadParts {
    let at = Utc.with_ymd_and_hms(2025, 11, 13, 10, 30, 0).unwrap();
    let tenant_id: TenantId = id("00000000-0000-4000-8000-000000000001");
    let ticket_id: TicketId = id("00000000-0000-4000-8000-000000000003");
    let complainant = user(
        "00000000-0000-4000-8000-000000000004",
        "John Doe",
        Role::Complainant,
    );
    let mut executor = user(
        "00000000-0000-4000-8000-000000000005",
        "Mike Johnson",
        Role::Executor,
    );
    executor.telegram_chat_id = Some("987654321".into());
    executor.phone = Some("+1-555-0199".into());
    let activity_id: ActivityId = id("00000000-0000-4000-8000-000000000006");
    PayloadParts {
        tenant: Tenant {
            id: tenant_id,
            name: "ACME Facilities".into(),
            automation_webhook_url: Some("https://hook.integromat.com/xxxxx".into()),
            webhook_secret: "whsec_x".into(),
            timezone: chrono_tz::Tz::UTC,
            number_prefix: "TKT".into(),
            created_at: at,
        },
        ticket: Ticket {
            id: ticket_id,
            tenant_id,
            seq: 1234,
            number: "TKT-1234".into(),
            report: Report {
                title: "AC not working in Building A".into(),
                description: Some("Compressor offline alarm triggered".into()),
                location: "Building A, Floor 3".into(),
                category: "HVAC".into(),
                ticket_type: "Maintenance".into(),
                building: Some("Building A".into()),
                floor: Some("3".into()),
                room: Some("301".into()),
                reporter_name: "John Doe".into(),
                reporter_designation: None,
                reporter_department: None,
                submitted_priority: Priority::High,
            },
            status: Status::InProgress,
            priority: Priority::High,
            complainant_id: complainant.id,
            executor_id: Some(executor.id),
            sla: SlaDue {
                response_due_at: Some(Utc.with_ymd_and_hms(2025, 11, 13, 14, 0, 0).unwrap()),
                resolution_due_at: Some(Utc.with_ymd_and_hms(2025, 11, 14, 10, 0, 0).unwrap()),
            },
            sla_state: None,
            created_at: at,
            updated_at: at,
            version: 3,
        },
        activity: Activity {
            id: activity_id,
            ticket_id,
            tenant_id,
            activity_type: ActivityType::ExecutorUpdate,
            comment: Some("On site, compressor motor replaced.".into()),
            metadata: json!({"photo_count": 2}),
            created_by: Some(executor.id),
            created_at: at,
        },
        author: Some(executor.clone()),
        executor: Some(executor),
        complainant,
        sequence: 3,
    }
}

fn generated_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 13, 10, 31, 2).unwrap()
}

#[test]
fn snapshot() {
    let payload = serde_json::to_value(WebhookPayload::build(&parts(), generated_at())).unwrap();
    let expected = json!({
        "tenant_id": "00000000-0000-4000-8000-000000000001",
        "tenant_name": "ACME Facilities",
        "ticket_id": "00000000-0000-4000-8000-000000000003",
        "ticket_number": "TKT-1234",
        "sequence": 3,
        "status": "in-progress",
        "priority": "high",
        "title": "AC not working in Building A",
        "description": "Compressor offline alarm triggered",
        "location": "Building A, Floor 3",
        "category": "HVAC",
        "type": "Maintenance",
        "building": "Building A",
        "floor": "3",
        "room": "301",
        "complainant": {
            "id": "00000000-0000-4000-8000-000000000004",
            "name": "John Doe",
            "email": "john.doe@example.com",
            "phone": "+1-555-0100",
            "chat_id": "123456789"
        },
        "executor": {
            "id": "00000000-0000-4000-8000-000000000005",
            "name": "Mike Johnson",
            "phone": "+1-555-0199",
            "chat_id": "987654321"
        },
        "sla": {
            "response_due_at": "2025-11-13T14:00:00.000Z",
            "resolution_due_at": "2025-11-14T10:00:00.000Z"
        },
        "latest_activity": {
            "id": "00000000-0000-4000-8000-000000000006",
            "type": "executor_update",
            "comment": "On site, compressor motor replaced.",
            "metadata": {"photo_count": 2},
            "created_at": "2025-11-13T10:30:00.000Z",
            "created_by": {
                "id": "00000000-0000-4000-8000-000000000005",
                "name": "Mike Johnson"
            }
        },
        "generated_at": "2025-11-13T10:31:02.000Z"
    });
    assert_eq!(payload, expected);
}

/// The spec's example payload, verbatim.
const SPEC_EXAMPLE: &str = r#"{
  "tenant_id": "tenant-uuid",
  "tenant_name": "ACME Facilities",
  "ticket_id": "uuid",
  "ticket_number": "TKT-1234",
  "status": "in-progress",
  "priority": "high",
  "title": "AC not working in Building A",
  "description": "Compressor offline alarm triggered",
  "location": "Building A, Floor 3",
  "complainant": {
    "id": "user-uuid",
    "name": "John Doe",
    "email": "john.doe@example.com",
    "phone": "+1-555-0100",
    "chat_id": "123456789"
  },
  "latest_activity": {
    "id": "activity-uuid",
    "type": "executor_update",
    "comment": "On site, compressor motor replaced.",
    "metadata": {
      "photo_count": 2
    },
    "created_at": "2025-11-13T10:30:00.000Z",
    "created_by": {
      "id": "executor-user-uuid",
      "name": "Mike Johnson"
    }
  },
  "generated_at": "2025-11-13T10:31:02.000Z"
}"#;

/// Every key path of `v` (`a`, `a.b`, ...), skipping the free-form `metadata` object.
fn key_paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = v {
        for (k, child) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push(path.clone());
            if k != "metadata" {
                key_paths(child, &path, out);
            }
        }
    }
}

#[test]
fn every_field_of_the_spec_example_is_present_with_the_same_type() {
    let spec: Value = serde_json::from_str(SPEC_EXAMPLE).unwrap();
    let ours = serde_json::to_value(WebhookPayload::build(&parts(), generated_at())).unwrap();
    let mut paths = Vec::new();
    key_paths(&spec, "", &mut paths);
    assert!(paths.len() >= 24, "{paths:?}");
    for path in paths {
        let pointer = format!("/{}", path.replace('.', "/"));
        let (theirs, mine) = (spec.pointer(&pointer), ours.pointer(&pointer));
        let mine = mine.unwrap_or_else(|| panic!("payload lacks `{path}`"));
        let same_kind = std::mem::discriminant(theirs.unwrap()) == std::mem::discriminant(mine);
        assert!(same_kind, "`{path}` has another JSON type: {mine}");
    }
    // The spec's example values that do not depend on ids come out the same.
    for path in [
        "/tenant_name",
        "/status",
        "/title",
        "/latest_activity/created_at",
        "/generated_at",
    ] {
        assert_eq!(spec.pointer(path), ours.pointer(path), "{path}");
    }
}

#[test]
fn unassigned_and_authorless_are_null() {
    let mut p = parts();
    p.executor = None;
    p.author = None;
    p.ticket.sla = SlaDue::default();
    let v = serde_json::to_value(WebhookPayload::build(&p, generated_at())).unwrap();
    assert_eq!(v["executor"], Value::Null);
    assert_eq!(v["latest_activity"]["created_by"], Value::Null);
    assert_eq!(
        v["sla"],
        json!({"response_due_at": null, "resolution_due_at": null})
    );
}
