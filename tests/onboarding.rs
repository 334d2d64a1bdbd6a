//! Onboarding and ticket webhooks never delay each other: each has its own queue, dispatcher
//! loop and endpoint breaker. Real receivers on 127.0.0.1; one of them hangs past the
//! request timeout, the other must still get its webhook at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use fms::delivery::DeliverySettings;
use fms::dispatch::{Dispatcher, OnboardingEndpoint};
use fms::http::{DispatchLoop, LoopConfig, ReqwestSender, SenderConfig};
use fms::service::OnboardingRequest;
use fms::sqlite::SqliteStore;
use fms::tenant::NewTenant;
use fms::user::{NewUser, Role};
use fms::{EnqueueListener, Fms};
use tokio::sync::Mutex;

#[derive(Clone, Default)]
struct Receiver {
    hang: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if r.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let json = serde_json::from_slice(&body).unwrap_or_default();
    r.got.lock().await.push((id, json));
    StatusCode::OK
}

async fn start(receiver: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Polls until `receiver` has `n` deliveries or `within` passes; returns the time it took.
async fn wait_for(receiver: &Receiver, n: usize, within: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if receiver.got.lock().await.len() >= n {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no delivery within {within:?}");
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
    let tickets = Receiver::default();
    let onboarding = Receiver::default();
    onboarding.hang.store(true, Ordering::SeqCst);
    let w = world(
        &start(tickets.clone()).await,
        &start(onboarding.clone()).await,
    )
    .await;
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
    assert!(onboarding.got.lock().await.is_empty());
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
    let tickets = Receiver::default();
    let onboarding = Receiver::default();
    tickets.hang.store(true, Ordering::SeqCst);
    let w = world(
        &start(tickets.clone()).await,
        &start(onboarding.clone()).await,
    )
    .await;
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
    let got = onboarding.got.lock().await.clone();
    let (id, payload) = &got[0];
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
    assert!(tickets.got.lock().await.is_empty());
    w.tickets.shutdown().await;
    w.onboarding.shutdown().await;
}
