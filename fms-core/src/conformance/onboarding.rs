//! Onboarding, notification and SLA-timer cases.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use futures::future::join_all;

use crate::activity::ActivityType;
use crate::clock::{Clock, ManualClock};
use crate::notification::{NotificationKind, NotificationQuery, Recipient};
use crate::queue::QueueState;
use crate::service::{Fms, OnboardingRequest};
use crate::ticket::Status;
use crate::user::{NewUser, OnboardingStatus, Role};

use super::{Fixture, Subject};

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap(),
    ))
}

fn request(f: &Fixture, email: &str) -> OnboardingRequest {
    OnboardingRequest {
        tenant_id: f.tenant.id,
        email: email.into(),
        role: Role::Executor,
        name: Some("Nina New".into()),
    }
}

fn all_notifications(f: &Fixture) -> NotificationQuery {
    NotificationQuery {
        tenant_id: f.tenant.id,
        recipient: None,
        unread_only: false,
        before: None,
        limit: 100,
    }
}

/// A request creates a pending user, an unguessable expiring correlation id and one queued
/// onboarding row with the documented payload; a second request for the same email updates
/// that user instead of creating another.
pub async fn onboarding_request_creates_a_pending_user_and_queues_the_payload(s: &Subject) {
    let f = Fixture::new(s).await;
    let fms = f
        .fms
        .clone()
        .with_onboarding(crate::onboarding::OnboardingSettings::default().with_bot("fms_bot"));
    let started = fms
        .request_onboarding(request(&f, "nina@example.com"))
        .await
        .unwrap();
    let inv = &started.invitation;
    assert_eq!(started.user.onboarding, OnboardingStatus::Pending);
    assert_eq!(started.user.email.as_deref(), Some("nina@example.com"));
    assert_eq!(started.user.role, Role::Executor);
    assert!(inv.correlation_id.len() <= 64 && inv.correlation_id.len() >= 40);
    assert_eq!(inv.expires_at - inv.created_at, Duration::days(7));
    assert_eq!(
        started.deep_link.as_deref(),
        Some(format!("https://t.me/fms_bot?start={}", inv.correlation_id).as_str())
    );
    let rows = fms
        .onboarding_entries(&crate::queue::QueueQuery::tenant(f.tenant.id, None, 10))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, QueueState::Pending);
    assert_eq!(rows[0].correlation_id, inv.correlation_id);

    let again = fms
        .request_onboarding(request(&f, "nina@example.com"))
        .await
        .unwrap();
    assert_eq!(again.user.id, started.user.id);
    assert_ne!(again.invitation.correlation_id, inv.correlation_id);
    let executors = fms.users(f.tenant.id, Some(Role::Executor)).await.unwrap();
    assert_eq!(
        executors
            .iter()
            .filter(|u| u.email.as_deref() == Some("nina@example.com"))
            .count(),
        1
    );
    let err = fms
        .request_onboarding(request(&f, "not-an-email"))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.field()), ("invalid_field", Some("email")));
}

/// Each callback outcome: bind (user onboarded, admins notified), the same chat again
/// (success, nothing new), another chat (conflict), unknown id and another tenant's id (not
/// found), expired (gone), a chat already bound to another user (conflict).
pub async fn onboarding_callback_outcomes(s: &Subject) {
    let clock = clock();
    let f = Fixture::new(s).await;
    let fms = f.fms.clone().with_clock(clock.clone());
    let started = fms
        .request_onboarding(request(&f, "nina@example.com"))
        .await
        .unwrap();
    let id = started.invitation.correlation_id.clone();

    let user = fms
        .complete_onboarding(f.tenant.id, &id, "4242")
        .await
        .unwrap();
    assert_eq!(user.telegram_chat_id.as_deref(), Some("4242"));
    assert_eq!(user.onboarding, OnboardingStatus::Onboarded);
    let again = fms
        .complete_onboarding(f.tenant.id, &id, "4242")
        .await
        .unwrap();
    assert_eq!(again.id, user.id);
    let err = fms
        .complete_onboarding(f.tenant.id, &id, "5353")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conflict");

    let notes = fms.notifications(&all_notifications(&f)).await.unwrap();
    let onboarded: Vec<_> = notes
        .iter()
        .filter(|n| n.kind == NotificationKind::UserOnboarded)
        .collect();
    assert_eq!(onboarded.len(), 1, "{notes:?}");
    assert_eq!(onboarded[0].user_id, Some(user.id));
    assert_eq!(onboarded[0].recipient, Recipient::Role(Role::Admin));

    let unknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let err = fms
        .complete_onboarding(f.tenant.id, unknown, "1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_found");
    let other = Fixture::named(s, "Other tenant").await;
    let err = fms
        .complete_onboarding(other.tenant.id, &id, "4242")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_found");

    // A chat id that already belongs to another user of the tenant.
    let second = fms
        .request_onboarding(request(&f, "sam@example.com"))
        .await
        .unwrap();
    let err = fms
        .complete_onboarding(f.tenant.id, &second.invitation.correlation_id, "123456789")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conflict", "{err}");
    // It is still open: the right chat binds.
    fms.complete_onboarding(f.tenant.id, &second.invitation.correlation_id, "777")
        .await
        .unwrap();

    let third = fms
        .request_onboarding(request(&f, "late@example.com"))
        .await
        .unwrap();
    clock.advance(Duration::days(7));
    let err = fms
        .complete_onboarding(f.tenant.id, &third.invitation.correlation_id, "888")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "gone");
    let late = fms.user(third.user.id).await.unwrap();
    assert_eq!(late.onboarding, OnboardingStatus::Pending);
}

/// Notifications: an unassigned ticket notifies the admins; lists are newest first, scoped
/// to the tenant and to the recipient; unread filter; marking read keeps the first time.
pub async fn notifications_are_scoped_listed_and_marked_read(s: &Subject) {
    let clock = clock();
    let f = Fixture::new(s).await;
    let g = Fixture::named(s, "Other tenant").await;
    let fms = f.fms.clone().with_clock(clock.clone());
    // Nobody covers HVAC: both are unassigned, a second apart.
    let t1 = fms.ingest(&f.body(), None).await.unwrap().ticket;
    clock.advance(Duration::seconds(1));
    let t2 = fms.ingest(&f.body(), None).await.unwrap().ticket;
    let notes = f.fms.notifications(&all_notifications(&f)).await.unwrap();
    assert_eq!(notes.len(), 2);
    assert!(
        notes
            .iter()
            .all(|n| n.kind == NotificationKind::TicketUnassigned)
    );
    assert_eq!(notes[0].ticket_id, Some(t2.id), "newest first");
    assert_eq!(notes[1].ticket_id, Some(t1.id));
    assert!(
        g.fms
            .notifications(&all_notifications(&g))
            .await
            .unwrap()
            .is_empty()
    );

    let admin = f
        .fms
        .create_user(NewUser::new(f.tenant.id, "Ada Admin", Role::Admin))
        .await
        .unwrap();
    let mine = NotificationQuery {
        recipient: Some((admin.id, Role::Admin)),
        ..all_notifications(&f)
    };
    assert_eq!(f.fms.notifications(&mine).await.unwrap().len(), 2);
    let complainants = NotificationQuery {
        recipient: Some((f.complainant.id, Role::Complainant)),
        ..all_notifications(&f)
    };
    assert!(f.fms.notifications(&complainants).await.unwrap().is_empty());

    let err = g
        .fms
        .mark_notification_read(Some(g.tenant.id), notes[0].id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_found", "another tenant cannot touch it");
    let read = f
        .fms
        .mark_notification_read(Some(f.tenant.id), notes[0].id)
        .await
        .unwrap();
    let first_read = read.read_at.unwrap();
    let again = f
        .fms
        .mark_notification_read(None, notes[0].id)
        .await
        .unwrap();
    assert_eq!(again.read_at, Some(first_read));
    let unread = NotificationQuery {
        unread_only: true,
        ..all_notifications(&f)
    };
    let left = f.fms.notifications(&unread).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, notes[1].id);
}

/// SLA timers: each warning and breach becomes one activity (and one queue row) exactly once,
/// also with two sweepers at once; none while on hold or after resolution; a breach notifies
/// the admins.
pub async fn sla_events_are_emitted_exactly_once(s: &Subject) {
    let clock = clock();
    let f = Fixture::new(s).await;
    let fms = f.fms.clone().with_clock(clock.clone());
    let other = Fms::new(s.store.clone()).with_clock(clock.clone());
    let t = fms.ingest(&f.body(), None).await.unwrap().ticket; // high: 4 h / 24 h
    let start = clock.now();
    assert_eq!(fms.sweep_sla(100).await.unwrap(), 0);

    clock.set(start + Duration::minutes(3 * 60 + 30)); // response warning at 3 h 12 min
    assert_eq!(fms.sweep_sla(100).await.unwrap(), 1);
    assert_eq!(fms.sweep_sla(100).await.unwrap(), 0);

    clock.set(start + Duration::hours(5)); // response breach at 4 h
    let both = join_all([fms.sweep_sla(100), other.sweep_sla(100)]).await;
    let emitted: usize = both.into_iter().map(|r| r.unwrap()).sum();
    assert_eq!(emitted, 1, "two sweepers emit the breach once");

    // Assign (first response given) and hold: no resolution events while paused.
    fms.assign_executor(t.id, f.executor.id, None)
        .await
        .unwrap();
    clock.set(start + Duration::hours(6));
    fms.change_status(t.id, Status::OnHold, None, None)
        .await
        .unwrap();
    clock.set(start + Duration::hours(40));
    assert_eq!(fms.sweep_sla(100).await.unwrap(), 0, "paused");
    fms.change_status(t.id, Status::InProgress, None, None)
        .await
        .unwrap();
    // 6 h of 24 h used: warning at 19.2 h used (13.2 h from now), breach at 18 h from now.
    clock.set(start + Duration::hours(40) + Duration::minutes(13 * 60 + 20));
    assert_eq!(fms.sweep_sla(100).await.unwrap(), 1, "resolution warning");
    clock.set(start + Duration::hours(40 + 18) + Duration::minutes(1));
    assert_eq!(fms.sweep_sla(100).await.unwrap(), 1, "resolution breach");
    fms.change_status(t.id, Status::Resolved, None, None)
        .await
        .unwrap();
    clock.set(start + Duration::days(30));
    assert_eq!(fms.sweep_sla(100).await.unwrap(), 0, "resolved");

    let kinds: Vec<ActivityType> = fms
        .activities(t.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.activity_type)
        .filter(|k| matches!(k, ActivityType::SlaWarning | ActivityType::SlaBreached))
        .collect();
    assert_eq!(
        kinds,
        [
            ActivityType::SlaWarning,
            ActivityType::SlaBreached,
            ActivityType::SlaWarning,
            ActivityType::SlaBreached
        ]
    );
    let activities = fms.activities(t.id).await.unwrap().len();
    assert_eq!(
        f.queue(t.id).await.len(),
        activities,
        "every SLA event is queued"
    );
    let breaches = fms
        .notifications(&all_notifications(&f))
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == NotificationKind::SlaBreached)
        .count();
    assert_eq!(breaches, 2);
}

/// The onboarding cases, one test each (expanded by
/// [`conformance_tests!`](crate::conformance_tests)).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_onboarding_cases {
    ($subject:expr) => {
        $crate::__conformance_cases!(
            $subject;
            onboarding_request_creates_a_pending_user_and_queues_the_payload,
            onboarding_callback_outcomes,
            notifications_are_scoped_listed_and_marked_read,
            sla_events_are_emitted_exactly_once,
        );
    };
}
