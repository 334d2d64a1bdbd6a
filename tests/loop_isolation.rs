//! In the running dispatcher loop, a receiver that hangs on one ticket (until the request
//! timeout) holds back only that ticket: every row is its own task and the loop claims again
//! as soon as any finishes. Real receiver on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use fms::Fms;
use fms::activity::ActivityType;
use fms::delivery::DeliverySettings;
use fms::dispatch::Dispatcher;
use fms::http::{DispatchLoop, LoopConfig, ReqwestSender, SenderConfig};
use fms::service::AddActivity;
use fms::sqlite::SqliteStore;
use fms::tenant::NewTenant;
use fms::user::{NewUser, Role};
use fms_test_receiver::{Received, Receiver, Reply};

/// The ticket number and sequence of a webhook.
fn number_and_sequence(r: &Received) -> (String, i64) {
    let v = r.json().unwrap_or_default();
    let number = v["ticket_number"].as_str().unwrap_or_default().to_owned();
    (number, v["sequence"].as_i64().unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_ticket_does_not_hold_back_the_others() {
    // TKT-0001 gets no answer (past the 2 s timeout); the rest 200.
    let receiver = Receiver::builder()
        .with_responder(|r| match number_and_sequence(r).0.as_str() {
            "TKT-0001" => Reply::hang(),
            _ => Reply::default(),
        })
        .start()
        .await
        .unwrap();
    let url = receiver.url("/hook");

    let store: Arc<dyn fms::store::Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let sender = ReqwestSender::new(SenderConfig::default().with_allow_insecure(true)).unwrap();
    let settings = DeliverySettings::default()
        .with_timeout(Duration::from_secs(2))
        .with_lease(Duration::from_secs(10));
    let dispatcher = Dispatcher::new(store.clone(), Arc::new(sender)).with_settings(settings);
    // A poll interval far beyond the test: only wake-ups and finished rows drive the loop.
    let lp = DispatchLoop::spawn(
        dispatcher,
        LoopConfig::default().with_poll_interval(Duration::from_secs(600)),
    );
    let fms = Fms::new(store).with_enqueue_listener(lp.listener());
    let tenant = fms
        .create_tenant(NewTenant::new("ACME").with_webhook_url(url))
        .await
        .unwrap();
    let john = fms
        .create_user(NewUser::new(tenant.id, "John", Role::Complainant).with_chat_id("1"))
        .await
        .unwrap();
    let body = serde_json::json!({
        "issue": "AC not working", "location": "A3", "category": "HVAC", "priority": "high",
        "name": "John", "chat_id": "1", "tenant_id": tenant.id.to_string()
    });
    let hanging = fms.ingest(&body, None).await.unwrap().ticket;
    assert_eq!(hanging.number, "TKT-0001");
    tokio::time::sleep(Duration::from_millis(100)).await; // its send is in flight now

    let start = Instant::now();
    let mut others = Vec::new();
    for _ in 0..2 {
        others.push(fms.ingest(&body, None).await.unwrap().ticket);
    }
    for t in &others {
        for i in 0..5 {
            fms.add_activity(
                t.id,
                AddActivity {
                    activity_type: ActivityType::Comment,
                    comment: Some(format!("comment {i}")),
                    metadata: serde_json::json!({}),
                    created_by: john.id,
                },
            )
            .await
            .unwrap();
        }
    }
    // 2 tickets x (ticket_created + 5 comments) = 12 rows, all while TKT-0001 hangs.
    let budget = Duration::from_millis(1500).saturating_sub(start.elapsed());
    let answered = receiver.wait_answered(12, budget).await;
    let n = answered.len();
    assert!(
        n >= 12 && start.elapsed() < Duration::from_millis(1500),
        "only {n} of 12 arrived"
    );
    let got: Vec<(String, i64)> = answered.iter().map(number_and_sequence).collect();
    assert!(got.iter().all(|(number, _)| number != "TKT-0001"));
    for t in &others {
        let seqs: Vec<i64> = got
            .iter()
            .filter(|(n, _)| *n == t.number)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(seqs, (1..=6).collect::<Vec<_>>(), "{}", t.number);
    }
    lp.shutdown().await;
}
