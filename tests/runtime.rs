//! The delivery runtime (`fms::Runtime`) end to end, against real receivers on 127.0.0.1:
//! tickets and onboarding requests are delivered, woken at once (poll intervals far beyond
//! the tests), the SLA sweeper's breaches go out, shutdown leaves no row leased, and on
//! Postgres (with `FMS_TEST_POSTGRES_URL`) another process's commit wakes the runtime through
//! NOTIFY.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "postgres")]
mod postgres_support;

mod shutdown_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::TimeZone;
use fms::clock::ManualClock;
use fms::http::{ReqwestSender, RuntimeEvent, SenderConfig};
use fms::queue::{QueueQuery, QueueState};
use fms::service::OnboardingRequest;
use fms::sqlite::SqliteStore;
use fms::store::Store;
use fms::tenant::{NewTenant, Tenant};
use fms::user::{NewUser, Role};
use fms::{Fms, Runtime, RuntimeSettings};
use fms_test_receiver::{Received, Receiver, Reply};
use shutdown_support::assert_stopped_cleanly;

/// Far beyond every test: only wake-ups can deliver in time.
const NEVER: Duration = Duration::from_secs(600);
/// How long a test waits for a webhook.
const PATIENCE: Duration = Duration::from_secs(10);

fn sender() -> Arc<ReqwestSender> {
    // Loopback http receivers: the SSRF guard is lifted for these tests only.
    Arc::new(ReqwestSender::new(SenderConfig::default().with_allow_insecure(true)).unwrap())
}

fn sqlite() -> Fms {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    Fms::new(store)
}

/// A tenant posting to `url`, with the complainant of [`intake`].
async fn tenant(fms: &Fms, url: &str) -> Tenant {
    let tenant = fms
        .create_tenant(NewTenant::new("ACME").with_webhook_url(url))
        .await
        .unwrap();
    fms.create_user(NewUser::new(tenant.id, "John", Role::Complainant).with_chat_id("1"))
        .await
        .unwrap();
    tenant
}

fn intake(tenant: &Tenant) -> serde_json::Value {
    serde_json::json!({
        "issue": "AC not working", "location": "A3", "category": "HVAC", "priority": "high",
        "name": "John", "chat_id": "1", "tenant_id": tenant.id.to_string()
    })
}

fn activity_type(r: &Received) -> String {
    r.json().unwrap()["latest_activity"]["type"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits until a request satisfies `pred`.
async fn wait_until(receiver: &Receiver, pred: impl Fn(&Received) -> bool) -> Received {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(r) = receiver.requests().into_iter().find(&pred) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "no such request within {PATIENCE:?}"
        );
        receiver
            .wait_for(receiver.count() + 1, Duration::from_millis(50))
            .await;
    }
}

fn settings() -> RuntimeSettings {
    RuntimeSettings::default().with_poll_interval(NEVER)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingested_ticket_is_delivered_at_once() {
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let batches = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&batches);
    let runtime = Runtime::builder(sqlite(), sender())
        .with_settings(settings())
        .with_observer(Arc::new(move |event| {
            if let RuntimeEvent::Tickets(Ok(_)) = event {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }))
        .start()
        .await
        .unwrap();
    let tenant = tenant(runtime.fms(), &receiver.url("/hook")).await;
    let ticket = runtime.fms().ingest(&intake(&tenant), None).await.unwrap();
    let got = wait_until(&receiver, |r| activity_type(r) == "ticket_created").await;
    assert_eq!(
        got.json().unwrap()["ticket_number"],
        ticket.ticket.number.as_str()
    );
    assert!(got.header("webhook-signature").is_some());

    // A service built elsewhere, given the runtime's listener, wakes it too.
    let other =
        Fms::new(Arc::clone(runtime.fms().store())).with_enqueue_listener(runtime.listener());
    other.ingest(&intake(&tenant), None).await.unwrap();
    assert_eq!(receiver.wait_for(2, PATIENCE).await.len(), 2);
    runtime.shutdown().await;
    assert!(
        batches.load(Ordering::SeqCst) >= 2,
        "the observer saw the loop's batches"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_onboarding_request_goes_to_the_onboarding_endpoint() {
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let runtime = Runtime::builder(sqlite(), sender())
        .with_settings(settings().with_onboarding_endpoint(receiver.url("/onboarding"), None))
        .start()
        .await
        .unwrap();
    let tenant = tenant(runtime.fms(), &receiver.url("/tickets")).await;
    runtime
        .fms()
        .request_onboarding(OnboardingRequest {
            tenant_id: tenant.id,
            email: "mike@example.com".into(),
            role: Role::Executor,
            name: None,
        })
        .await
        .unwrap();
    let got = wait_until(&receiver, |r| r.path == "/onboarding").await;
    assert!(
        String::from_utf8_lossy(&got.body).contains("mike@example.com"),
        "{}",
        String::from_utf8_lossy(&got.body)
    );
    runtime.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_task_breaches_and_the_breach_is_delivered() {
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let start = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let sweeps = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&sweeps);
    let runtime = Runtime::builder(sqlite().with_clock(clock.clone()), sender())
        .with_settings(settings().with_sla_sweep_interval(Duration::from_millis(50)))
        .with_observer(Arc::new(move |event| {
            if let RuntimeEvent::SlaSweep(Ok(_)) = event {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }))
        .start()
        .await
        .unwrap();
    let tenant = tenant(runtime.fms(), &receiver.url("/hook")).await;
    runtime.fms().ingest(&intake(&tenant), None).await.unwrap();
    wait_until(&receiver, |r| activity_type(r) == "ticket_created").await;
    assert!(
        receiver
            .requests()
            .iter()
            .all(|r| !activity_type(r).starts_with("sla_")),
        "nothing is due yet"
    );

    clock.advance(chrono::Duration::days(30));
    wait_until(&receiver, |r| activity_type(r) == "sla_breached").await;
    runtime.shutdown().await;
    assert!(
        sweeps.load(Ordering::SeqCst) >= 2,
        "the sweeper ran on its timer"
    );
}

/// Shutdown returns while sends are in flight: they finish and are recorded, unstarted claims
/// are released, and no row is left leased.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_records_sends_in_flight_and_leaves_no_row_leased() {
    let receiver = Receiver::start(Reply::status(200).with_delay(Duration::from_millis(300)))
        .await
        .unwrap();
    let fms = sqlite();
    let tenant = tenant(&fms, &receiver.url("/hook")).await;
    for _ in 0..25 {
        fms.ingest(&intake(&tenant), None).await.unwrap();
    }
    let runtime = Runtime::builder(fms.clone(), sender())
        .with_settings(settings())
        .start()
        .await
        .unwrap();
    assert!(!receiver.wait_for(1, PATIENCE).await.is_empty());
    tokio::time::timeout(PATIENCE, runtime.shutdown())
        .await
        .expect("shutdown returns");
    assert_stopped_cleanly(&fms, tenant.id, &receiver, 25).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_running_runtime_does_not_panic() {
    let receiver = Receiver::start(Reply::status(200).with_delay(Duration::from_millis(100)))
        .await
        .unwrap();
    let fms = sqlite();
    let tenant = tenant(&fms, &receiver.url("/hook")).await;
    fms.ingest(&intake(&tenant), None).await.unwrap();
    let runtime = Runtime::builder(fms.clone(), sender())
        .with_settings(settings())
        .start()
        .await
        .unwrap();
    assert_eq!(receiver.wait_for(1, PATIENCE).await.len(), 1);
    drop(runtime);
    // The send in flight still finishes in the background and is recorded.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let rows = fms
            .queue_entries(&QueueQuery::tenant(tenant.id, None, 10))
            .await
            .unwrap();
        if rows.iter().all(|q| q.state == QueueState::Delivered) {
            break;
        }
        assert!(Instant::now() < deadline, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn unusable_settings_are_refused_at_start() {
    let err = Runtime::builder(sqlite(), sender())
        .with_settings(RuntimeSettings::default().with_sla_sweep_batch(0))
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sla_sweep_batch"), "{err}");
}

/// A row committed by another process (another store and service, no in-process listener)
/// wakes the runtime through LISTEN/NOTIFY, long before its 30 s poll interval.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_another_process_commit_wakes_the_runtime() {
    let Some(schema) = postgres_support::Schema::create().await else {
        return;
    };
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let here = schema.store(4).await;
    here.migrate().await.unwrap();
    let runtime = Runtime::builder(Fms::new(Arc::new(here)), sender())
        .with_settings(RuntimeSettings::default().with_poll_interval(Duration::from_secs(30)))
        .start()
        .await
        .unwrap();
    // The first batch at start is behind us once the loop waits: the ingest below can only be
    // seen through a wake-up.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let elsewhere = Fms::new(Arc::new(schema.store(2).await));
    let tenant = tenant(&elsewhere, &receiver.url("/hook")).await;
    let started = Instant::now();
    elsewhere.ingest(&intake(&tenant), None).await.unwrap();
    let got = receiver.wait_for(1, Duration::from_secs(5)).await.len();
    let took = started.elapsed();
    runtime.shutdown().await;
    schema.drop().await;
    assert_eq!(got, 1, "not delivered within 5 s: no NOTIFY wake-up");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(activity_type(&receiver.requests()[0]), "ticket_created");
}
