//! Intake cases: the spec's example, its error codes, tenancy and idempotency.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::activity::ActivityType;
use crate::intake::REQUIRED_FIELDS;
use crate::queue::QueueState;
use crate::ticket::{Priority, Status};
use crate::user::{NewUser, Role, UserPatch};
use crate::{Error, ErrorKind};

use super::{Fixture, Subject, spec_body};

/// The spec's example ingests: a `TKT-` number, a `ticket_created` activity, one pending queue
/// row with sequence 1, every intake field kept.
pub async fn spec_example_ingests(s: &Subject) {
    let f = Fixture::new(s).await;
    let got = f.fms.ingest(&f.body(), None).await.unwrap();
    assert!(!got.duplicate);
    let t = f.fms.ticket(got.ticket.id).await.unwrap();
    assert_eq!(t, got.ticket);
    assert!(t.number.starts_with("TKT-"), "{}", t.number);
    assert_eq!(t.number, "TKT-0001");
    assert_eq!(t.tenant_id, f.tenant.id);
    assert_eq!(t.complainant_id, f.complainant.id);
    assert_eq!(t.status, Status::Open);
    assert_eq!(t.priority, Priority::High);
    let r = &t.report;
    assert_eq!(r.title, "AC not working in Building A");
    assert_eq!(r.location, "Building A, Floor 3");
    assert_eq!(r.category, "HVAC");
    assert_eq!(r.ticket_type, "Maintenance");
    assert_eq!(
        (r.building.as_deref(), r.floor.as_deref(), r.room.as_deref()),
        (Some("Building A"), Some("3"), Some("301"))
    );
    assert_eq!(r.reporter_designation.as_deref(), Some("Manager"));
    assert_eq!(r.reporter_department.as_deref(), Some("IT"));
    assert!(t.sla.response_due_at.is_some() && t.sla.resolution_due_at.is_some());

    let activities = f.fms.activities(t.id).await.unwrap();
    assert_eq!(activities.len(), 1);
    assert_eq!(activities[0].activity_type, ActivityType::TicketCreated);
    let queue = f.queue(t.id).await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].sequence, 1);
    assert_eq!(queue[0].state, QueueState::Pending);
    assert_eq!(queue[0].activity_id, activities[0].id);

    let payload = f.fms.payload(queue[0].id).await.unwrap();
    assert_eq!(payload.ticket_number, "TKT-0001");
    assert_eq!(payload.complainant.chat_id.as_deref(), Some("123456789"));
    assert_eq!(payload.latest_activity.activity_type, "ticket_created");
}

/// Each required field, absent, null or blank, is a 400 naming it, and nothing is written.
pub async fn missing_required_fields_are_named(s: &Subject) {
    let f = Fixture::new(s).await;
    for field in REQUIRED_FIELDS {
        for value in [None, Some(Value::Null), Some(json!("  "))] {
            let mut body = f.body();
            match &value {
                None => {
                    body.as_object_mut().unwrap().remove(field);
                }
                Some(v) => body[field] = v.clone(),
            }
            let err = f.fms.ingest(&body, None).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BadRequest, "{field}: {err}");
            assert_eq!(err.code(), "missing_field");
            assert_eq!(err.field(), Some(field));
            assert!(err.to_string().contains(field));
        }
    }
    let tickets = f.fms.tickets(&all(&f)).await.unwrap();
    assert!(tickets.is_empty());
}

fn all(f: &Fixture) -> crate::store::TicketQuery {
    crate::store::TicketQuery {
        tenant_id: f.tenant.id,
        status: None,
        before: None,
        limit: 1000,
    }
}

/// A priority outside critical/high/medium/low is a 400 naming the allowed values; trimmed,
/// case-insensitive forms are accepted.
pub async fn invalid_priority_is_rejected(s: &Subject) {
    let f = Fixture::new(s).await;
    let mut body = f.body();
    body["priority"] = json!("urgent");
    let err = f.fms.ingest(&body, None).await.unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    assert_eq!(err.field(), Some("priority"));
    assert!(
        err.to_string().contains("critical, high, medium, low"),
        "{err}"
    );
    body["priority"] = json!("  CRITICAL ");
    let t = f.fms.ingest(&body, None).await.unwrap().ticket;
    assert_eq!(t.priority, Priority::Critical);
    assert_eq!(
        t.number, "TKT-0001",
        "the rejected intake consumed no number"
    );
}

/// No user with that chat id: 404 `user_not_found` naming `chat_id`.
pub async fn unknown_chat_id_is_not_found(s: &Subject) {
    let f = Fixture::new(s).await;
    let err = f
        .fms
        .ingest(&spec_body(&f.tenant, "999"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UserNotFound { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.field(), Some("chat_id"));
    assert!(f.fms.tickets(&all(&f)).await.unwrap().is_empty());
}

/// An inactive user: 403 `user_inactive`, nothing written.
pub async fn inactive_user_is_forbidden(s: &Subject) {
    let f = Fixture::new(s).await;
    let patch = UserPatch {
        active: Some(false),
        ..UserPatch::default()
    };
    f.fms.update_user(f.complainant.id, patch).await.unwrap();
    let err = f.fms.ingest(&f.body(), None).await.unwrap_err();
    assert_eq!(err.code(), "user_inactive");
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert!(f.fms.tickets(&all(&f)).await.unwrap().is_empty());
}

/// A chat id that exists only in another tenant is not found in this one.
pub async fn chat_id_of_another_tenant_is_not_found(s: &Subject) {
    let a = Fixture::named(s, "Tenant A").await;
    let b = Fixture::named(s, "Tenant B").await;
    b.fms
        .create_user(NewUser::new(b.tenant.id, "Only in B", Role::Complainant).with_chat_id("777"))
        .await
        .unwrap();
    let err = a
        .fms
        .ingest(&spec_body(&a.tenant, "777"), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "user_not_found");
    // The same chat id may exist in both tenants and resolves within each.
    let ta = a.ingest().await;
    let tb = b.ingest().await;
    assert_eq!(ta.complainant_id, a.complainant.id);
    assert_eq!(tb.complainant_id, b.complainant.id);
}

/// A chat id is unique per tenant, on create and on update.
pub async fn duplicate_chat_id_is_a_conflict(s: &Subject) {
    let f = Fixture::new(s).await;
    let err = f
        .fms
        .create_user(NewUser::new(f.tenant.id, "Twin", Role::Complainant).with_chat_id("123456789"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let patch = UserPatch {
        telegram_chat_id: Some(Some("123456789".into())),
        ..UserPatch::default()
    };
    let err = f.fms.update_user(f.executor.id, patch).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(
        f.fms
            .user(f.executor.id)
            .await
            .unwrap()
            .telegram_chat_id
            .as_deref(),
        Some("555")
    );
}

/// The same idempotency key twice: one ticket, one activity, one queue row; the second answer
/// is marked duplicate, even with another body. Keys are per tenant.
pub async fn idempotency_key_creates_one_ticket(s: &Subject) {
    let f = Fixture::new(s).await;
    let first = f.fms.ingest(&f.body(), Some("msg-1")).await.unwrap();
    let mut other = f.body();
    other["issue"] = json!("Something else");
    let second = f.fms.ingest(&other, Some("msg-1")).await.unwrap();
    assert!(!first.duplicate && second.duplicate);
    assert_eq!(first.ticket.id, second.ticket.id);
    assert_eq!(second.ticket.report.title, "AC not working in Building A");
    // `message_id` in the body is the same kind of key.
    let mut with_id = f.body();
    with_id["message_id"] = json!(42);
    let a = f.fms.ingest(&with_id, None).await.unwrap();
    let b = f.fms.ingest(&with_id, None).await.unwrap();
    assert_eq!(a.ticket.id, b.ticket.id);
    assert!(b.duplicate);

    assert_eq!(f.fms.tickets(&all(&f)).await.unwrap().len(), 2);
    assert_eq!(f.fms.activities(first.ticket.id).await.unwrap().len(), 1);
    assert_eq!(f.queue(first.ticket.id).await.len(), 1);

    let g = Fixture::named(s, "Other tenant").await;
    let theirs = g.fms.ingest(&g.body(), Some("msg-1")).await.unwrap();
    assert!(!theirs.duplicate);
    assert_ne!(theirs.ticket.id, first.ticket.id);
}

/// Eight concurrent intakes with one key: all succeed, one ticket.
pub async fn concurrent_idempotent_intakes_create_one_ticket(s: &Subject) {
    let f = Fixture::new(s).await;
    let body = f.body();
    let results = join_all((0..8).map(|_| f.fms.ingest(&body, Some("same")))).await;
    let ids: std::collections::BTreeSet<_> =
        results.into_iter().map(|r| r.unwrap().ticket.id).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(f.fms.tickets(&all(&f)).await.unwrap().len(), 1);
}
