//! Dashboard notifications raised by delivery: a 410 Gone disables the endpoint and tells the
//! tenant's admins; a row parked after the retry age does too. Real receiver on 127.0.0.1,
//! injected clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use fms::Fms;
use fms::clock::ManualClock;
use fms::delivery::DeliverySettings;
use fms::dispatch::Dispatcher;
use fms::http::{ReqwestSender, SenderConfig};
use fms::notification::{NotificationKind, NotificationQuery};
use fms::queue::{QueueQuery, QueueState};
use fms::sqlite::SqliteStore;
use fms::tenant::NewTenant;
use fms::user::{NewUser, Role};
use fms_test_receiver::{Receiver, Reply};

async fn kinds(fms: &Fms, tenant: fms::ids::TenantId) -> Vec<NotificationKind> {
    let q = NotificationQuery {
        tenant_id: tenant,
        recipient: None,
        unread_only: false,
        before: None,
        limit: 50,
    };
    fms.notifications(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

async fn setup(
    status: u16,
    settings: DeliverySettings,
) -> (
    Fms,
    Dispatcher,
    Arc<ManualClock>,
    fms::ids::TenantId,
    Receiver,
) {
    let receiver = Receiver::start(Reply::status(status)).await.unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ));
    let store: Arc<dyn fms::store::Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let fms = Fms::new(store.clone()).with_clock(clock.clone());
    let tenant = fms
        .create_tenant(NewTenant::new("ACME").with_webhook_url(receiver.url("/hook")))
        .await
        .unwrap();
    fms.create_user(NewUser::new(tenant.id, "John", Role::Complainant).with_chat_id("1"))
        .await
        .unwrap();
    // An admin's dashboard sees notifications addressed to admins.
    fms.create_user(NewUser::new(tenant.id, "Ada", Role::Admin))
        .await
        .unwrap();
    let sender = ReqwestSender::new(SenderConfig::default().with_allow_insecure(true)).unwrap();
    let dispatcher = Dispatcher::new(store, Arc::new(sender))
        .with_clock(clock.clone())
        .with_settings(settings)
        .with_jitter(Arc::new(|| 0.0));
    let body = serde_json::json!({
        "issue": "AC not working", "location": "A3", "category": "HVAC", "priority": "high",
        "name": "John", "chat_id": "1", "tenant_id": tenant.id.to_string()
    });
    fms.ingest(&body, None).await.unwrap();
    (fms, dispatcher, clock, tenant.id, receiver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_endpoint_and_notifies_once() {
    let (fms, dispatcher, clock, tenant, _receiver) = setup(410, DeliverySettings::default()).await;
    let report = dispatcher.run_batch().await.unwrap();
    assert_eq!(report.disabled_endpoints, vec![tenant]);
    let breaker = fms.endpoint_state(tenant).await.unwrap();
    assert!(breaker.disabled_at.is_some());
    clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        dispatcher.run_batch().await.unwrap().claimed,
        0,
        "disabled: nothing sent"
    );
    let rows = fms
        .queue_entries(&QueueQuery::tenant(tenant, None, 10))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, QueueState::Pending, "rows stay queued");
    assert_eq!(rows[0].last_status_code, Some(410));
    let k = kinds(&fms, tenant).await;
    assert_eq!(
        k.iter()
            .filter(|k| **k == NotificationKind::EndpointDisabled)
            .count(),
        1,
        "{k:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_row_notifies_the_tenant() {
    let settings = DeliverySettings::default()
        .with_park_after(Duration::from_secs(600))
        .with_min_backoff(Duration::from_secs(5))
        .with_max_backoff(Duration::from_secs(60));
    let (fms, dispatcher, clock, tenant, _receiver) = setup(500, settings).await;
    assert_eq!(dispatcher.run_batch().await.unwrap().retried, 1);
    // Past the retry age, the next failure parks the row.
    clock.advance(chrono::Duration::minutes(11));
    let report = dispatcher.run_batch().await.unwrap();
    assert_eq!(report.parked, 1, "{report:?}");
    let rows = fms
        .queue_entries(&QueueQuery::tenant(tenant, None, 10))
        .await
        .unwrap();
    assert_eq!(rows[0].state, QueueState::Parked);
    let k = kinds(&fms, tenant).await;
    assert!(k.contains(&NotificationKind::WebhookParked), "{k:?}");
}
