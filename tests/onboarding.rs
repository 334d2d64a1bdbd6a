//! Onboarding and ticket webhooks never delay each other: each has its own queue, dispatcher
//! loop and endpoint breaker. Real receivers on 127.0.0.1; one of them hangs past the
//! request timeout, the other must still get its webhook at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use fms::delivery::DeliverySettings;
use fms::dispatch::{Dispatcher, OnboardingEndpoint};
use fms::http::{DispatchLoop, LoopConfig, ReqwestSender, SenderConfig};
use fms::service::OnboardingRequest;
use fms::sqlite::SqliteStore;
use fms::tenant::NewTenant;
use fms::user::{NewUser, Role};
use fms::{EnqueueListener, Fms};
use fms_test_receiver::{Receiver, Reply};

/// A receiver that answers 200, or never (past the 1 s request timeout) when `hang`.
async fn receiver(hang: bool) -> Receiver {
    let reply = if hang {
        Reply::hang()
    } else {
        Reply::default()
    };
    Receiver::start(reply).await.unwrap()
}

/// Waits until `receiver` answered `n` deliveries or `within` passes; returns the time it
/// took.
async fn wait_for(receiver: &Receiver, n: usize, within: Duration) -> Duration {
    let start = Instant::now();
    let answered = receiver.wait_answered(n, within).await;
    assert!(answered.len() >= n, "no delivery within {within:?}");
    start.elapsed()
}

struct World {
    fms: Fms,
    tenant: fms::ids::TenantId,
    tickets: DispatchLoop,
    onboarding: DispatchLoop,
}

/// Fms with a ticket loop and an onboarding loop (1 s request timeout), both woken on
/// enqueue.
async fn world(ticket_url: &str, onboarding_url: &str) -> World {
    let store: Arc<dyn fms::store::Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let sender =
        Arc::new(ReqwestSender::new(SenderConfig::default().with_allow_insecure(true)).unwrap());
    let settings = DeliverySettings::default()
        .with_timeout(Duration::from_secs(1))
        .with_lease(Duration::from_secs(5));
    let dispatcher = Dispatcher::new(store.clone(), sender).with_settings(settings);
    let config = LoopConfig::default().with_poll_interval(Duration::from_millis(50));
    let tickets = DispatchLoop::spawn(dispatcher.clone(), config.clone());
    let onboarding = DispatchLoop::spawn(
        dispatcher.onboarding(OnboardingEndpoint {
            url: Some(onboarding_url.to_owned()),
            secret: None,
        }),
        config,
    );
    let both: Arc<dyn EnqueueListener> = Arc::new(Both(tickets.listener(), onboarding.listener()));
    let fms = Fms::new(store).with_enqueue_listener(both);
    let tenant = fms
        .create_tenant(NewTenant::new("ACME").with_webhook_url(ticket_url))
        .await
        .unwrap();
    fms.create_user(NewUser::new(tenant.id, "John", Role::Complainant).with_chat_id("1"))
        .await
        .unwrap();
    World {
        fms,
        tenant: tenant.id,
        tickets,
        onboarding,
    }
}

#[derive(Debug)]
struct Both(Arc<dyn EnqueueListener>, Arc<dyn EnqueueListener>);

impl EnqueueListener for Both {
    fn enqueued(&self) {
        self.0.enqueued();
        self.1.enqueued();
    }
}

fn ticket_body(tenant: fms::ids::TenantId) -> serde_json::Value {
    serde_json::json!({
        "issue": "AC not working", "location": "A3", "category": "HVAC", "priority": "high",
        "name": "John", "chat_id": "1", "tenant_id": tenant.to_string()
    })
}

async fn invite(w: &World, email: &str) {
    w.fms
        .request_onboarding(OnboardingRequest {
            tenant_id: w.tenant,
            email: email.into(),
            role: Role::Executor,
            name: None,
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_onboarding_endpoint_never_delays_ticket_webhooks() {
    let tickets = receiver(false).await;
    let onboarding = receiver(true).await;
    let w = world(&tickets.url("/hook"), &onboarding.url("/hook")).await;
    // Onboarding requests first, so their (hanging) sends are in flight.
    for i in 0..5 {
        invite(&w, &format!("user{i}@example.com")).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.fms.ingest(&ticket_body(w.tenant), None).await.unwrap();
    let took = wait_for(&tickets, 1, Duration::from_secs(5)).await;
    assert!(
        took < Duration::from_millis(900),
        "ticket webhook took {took:?}"
    );
    assert!(onboarding.answered().is_empty());
    // The onboarding rows keep being retried, not lost.
    let rows = w
        .fms
        .onboarding_entries(&fms::queue::QueueQuery::tenant(w.tenant, None, 10))
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    w.tickets.shutdown().await;
    w.onboarding.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_ticket_endpoint_never_delays_onboarding_webhooks() {
    let tickets = receiver(true).await;
    let onboarding = receiver(false).await;
    let w = world(&tickets.url("/hook"), &onboarding.url("/hook")).await;
    for _ in 0..5 {
        w.fms.ingest(&ticket_body(w.tenant), None).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    invite(&w, "nina@example.com").await;
    let took = wait_for(&onboarding, 1, Duration::from_secs(5)).await;
    assert!(
        took < Duration::from_millis(900),
        "onboarding webhook took {took:?}"
    );
    let got = onboarding.answered();
    let (id, payload) = (got[0].webhook_id(), got[0].json().unwrap());
    assert!(id.starts_with("onb_"), "{id}");
    for field in [
        "event",
        "tenant_id",
        "user_id",
        "email",
        "role",
        "name",
        "correlation_id",
        "deep_link",
        "expires_at",
    ] {
        assert!(
            payload.get(field).is_some(),
            "payload lacks {field}: {payload}"
        );
    }
    assert_eq!(payload["email"], "nina@example.com");
    assert!(tickets.answered().is_empty());
    w.tickets.shutdown().await;
    w.onboarding.shutdown().await;
}
