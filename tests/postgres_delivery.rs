//! Acceptance of fms-store-postgres with real dispatchers: several dispatchers with separate
//! pools (as if on several hosts) deliver through `ReqwestSender` to a loopback receiver;
//! per-ticket order holds, nothing is lost, no `webhook-id` is in flight twice at once, and a
//! dispatcher whose connections are killed mid-batch recovers. Needs `FMS_TEST_POSTGRES_URL`
//! (skipped without it unless `FMS_REQUIRE_POSTGRES=1`). Only loopback addresses are used.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod postgres_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fms::Fms;
use fms::activity::ActivityType;
use fms::delivery::DeliverySettings;
use fms::dispatch::Dispatcher;
use fms::http::{DispatchLoop, LoopConfig, ReqwestSender, SenderConfig};
use fms::ids::TicketId;
use fms::postgres::PgStore;
use fms::postgres::sqlx::{self, postgres::PgConnectOptions, postgres::PgPoolOptions};
use fms::queue::QueueState;
use fms::service::AddActivity;
use fms::store::Store;
use fms::tenant::{NewTenant, Tenant};
use fms::user::{NewUser, Role, User};
use futures::future::join_all;
use postgres_support::{Log, Schema, distinct, order_violations, start_receiver, wait_distinct};
use serde_json::json;

/// A tenant posting to `url`, with one complainant.
async fn tenant(fms: &Fms, url: &str) -> (Tenant, User) {
    let tenant = fms
        .create_tenant(NewTenant::new("ACME Facilities").with_webhook_url(url))
        .await
        .unwrap();
    let user = fms
        .create_user(NewUser::new(tenant.id, "John Doe", Role::Complainant).with_chat_id("42"))
        .await
        .unwrap();
    (tenant, user)
}

fn intake(tenant: &Tenant, i: usize) -> serde_json::Value {
    json!({
        "issue": format!("AC not working {i}"),
        "location": "Building A, Floor 3",
        "category": "HVAC",
        "priority": "high",
        "name": "John Doe",
        "chat_id": "42",
        "tenant_id": tenant.id.to_string(),
    })
}

fn comment(user: &User, text: String) -> AddActivity {
    AddActivity {
        activity_type: ActivityType::Comment,
        comment: Some(text),
        metadata: json!({}),
        created_by: user.id,
    }
}

fn sender() -> Arc<ReqwestSender> {
    Arc::new(ReqwestSender::new(SenderConfig::default().with_allow_insecure(true)).unwrap())
}

/// A dispatcher loop on its own store (its own pool), woken through LISTEN/NOTIFY.
struct Host {
    dispatch: DispatchLoop,
    forwarder: tokio::task::JoinHandle<()>,
}

impl Host {
    async fn start(store: PgStore, settings: DeliverySettings) -> Self {
        let store = Arc::new(store);
        let dispatcher = Dispatcher::new(store.clone(), sender()).with_settings(settings);
        let dispatch = DispatchLoop::spawn(
            dispatcher,
            LoopConfig::default().with_poll_interval(Duration::from_millis(200)),
        );
        let forwarder = store
            .spawn_notify_forwarder(dispatch.listener())
            .await
            .unwrap()
            .expect("notify is on");
        Self {
            dispatch,
            forwarder,
        }
    }

    async fn stop(self) {
        self.forwarder.abort();
        self.dispatch.shutdown().await;
    }
}

async fn expected_sequences(fms: &Fms, tickets: &[TicketId]) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for t in tickets {
        let n = fms.activities(*t).await.unwrap().len();
        out.insert(t.to_string(), i64::try_from(n).unwrap());
    }
    out
}

/// Rows delivered so far.
async fn delivered(store: &dyn Store) -> u64 {
    let counts = store.queue_counts().await.unwrap();
    counts
        .iter()
        .filter(|(s, _)| *s == QueueState::Delivered)
        .map(|(_, c)| c)
        .sum()
}

async fn assert_all_delivered(store: &dyn Store, n: u64) {
    let counts = store.queue_counts().await.unwrap();
    let of = |state: QueueState| -> u64 {
        counts
            .iter()
            .filter(|(s, _)| *s == state)
            .map(|(_, c)| c)
            .sum()
    };
    assert_eq!(of(QueueState::Delivered), n, "{counts:?}");
    assert_eq!(counts.iter().map(|(_, c)| c).sum::<u64>(), n, "{counts:?}");
}

/// Four dispatchers with separate pools drain 5,000 activities over 100 tickets, written
/// while they run: every activity delivered, per-ticket arrival order = sequence order, no
/// webhook-id in flight twice at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_dispatchers_drain_5000_activities_in_order() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let writer = schema.store(8).await;
    writer.migrate().await.unwrap();
    let fms = Fms::new(Arc::new(writer.clone()));
    let receiver = start_receiver(Duration::from_micros(200)).await;
    let (tenant, user) = tenant(&fms, &receiver.url("/hook")).await;

    let mut hosts = Vec::new();
    for _ in 0..4 {
        hosts.push(Host::start(schema.store(3).await, DeliverySettings::default()).await);
    }

    // 100 tickets x (1 intake + 49 comments), eight writers at a time.
    let mut tickets = Vec::new();
    for i in 0..100 {
        tickets.push(
            fms.ingest(&intake(&tenant, i), None)
                .await
                .unwrap()
                .ticket
                .id,
        );
    }
    let per_writer: Vec<Vec<TicketId>> = (0..8)
        .map(|w| tickets.iter().copied().skip(w).step_by(8).collect())
        .collect();
    join_all(per_writer.into_iter().map(|mine| {
        let fms = fms.clone();
        let user = user.clone();
        async move {
            for round in 0..49 {
                for t in &mine {
                    fms.add_activity(*t, comment(&user, format!("c{round}")))
                        .await
                        .unwrap();
                }
            }
        }
    }))
    .await;

    let got = wait_distinct(&receiver, 5000, Duration::from_secs(180)).await;
    for host in hosts {
        host.stop().await;
    }
    assert_eq!(got, 5000, "every activity delivered");
    let expected = expected_sequences(&fms, &tickets).await;
    assert_eq!(expected.values().sum::<i64>(), 5000);
    {
        let log = Log::of(&receiver);
        assert!(
            log.overlaps.is_empty(),
            "in flight twice: {:?}",
            log.overlaps
        );
        let bad = order_violations(&log, &expected);
        assert!(bad.is_empty(), "out of order: {bad:?}");
    }
    assert_all_delivered(&writer, 5000).await;
    schema.drop().await;
}

/// Eight writers add activities to one ticket at once while a dispatcher runs: sequences
/// are 1..n and are delivered in that order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_on_one_ticket_are_delivered_in_sequence_order() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let writer = schema.store(8).await;
    writer.migrate().await.unwrap();
    let fms = Fms::new(Arc::new(writer.clone()));
    let receiver = start_receiver(Duration::ZERO).await;
    let (tenant, user) = tenant(&fms, &receiver.url("/hook")).await;
    let host = Host::start(schema.store(3).await, DeliverySettings::default()).await;

    let ticket = fms
        .ingest(&intake(&tenant, 0), None)
        .await
        .unwrap()
        .ticket
        .id;
    join_all((0..8).map(|w| {
        let fms = fms.clone();
        let user = user.clone();
        async move {
            for i in 0..50 {
                fms.add_activity(ticket, comment(&user, format!("w{w} #{i}")))
                    .await
                    .unwrap();
            }
        }
    }))
    .await;
    let n = 401;
    let queue = fms
        .queue_entries(&fms::queue::QueueQuery::ticket(ticket))
        .await
        .unwrap();
    let seqs: Vec<i64> = queue.iter().map(|q| q.sequence).collect();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>());

    let got = wait_distinct(&receiver, 401, Duration::from_secs(60)).await;
    host.stop().await;
    assert_eq!(got, 401);
    let expected = BTreeMap::from([(ticket.to_string(), n)]);
    {
        let log = Log::of(&receiver);
        let bad = order_violations(&log, &expected);
        assert!(bad.is_empty(), "out of order: {bad:?}");
    }
    schema.drop().await;
}

/// A dispatcher whose connections are killed with `pg_terminate_backend` in the middle of its
/// batches recovers: every activity is delivered, per-ticket order holds (a row whose
/// completion was lost is sent again before the next one: at least once, never reordered).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dispatcher_whose_connections_are_killed_recovers_without_loss_or_reordering() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let writer = schema.store(8).await;
    writer.migrate().await.unwrap();
    let fms = Fms::new(Arc::new(writer.clone()));
    // Requests are held a little, so that kills land while sends are in flight.
    let receiver = start_receiver(Duration::from_millis(5)).await;
    let (tenant, user) = tenant(&fms, &receiver.url("/hook")).await;

    let mut tickets = Vec::new();
    for i in 0..20 {
        let t = fms
            .ingest(&intake(&tenant, i), None)
            .await
            .unwrap()
            .ticket
            .id;
        for c in 0..14 {
            fms.add_activity(t, comment(&user, format!("c{c}")))
                .await
                .unwrap();
        }
        tickets.push(t);
    }
    let total = 300;

    // The victim: its connections carry an application name we can find them by.
    let app = format!("fms-victim-{}", uuid::Uuid::new_v4().simple());
    let connect = schema
        .url
        .parse::<PgConnectOptions>()
        .unwrap()
        .options([("search_path", schema.name.as_str())])
        .application_name(&app);
    let pool = PgPoolOptions::new()
        .max_connections(3)
        .test_before_acquire(false)
        .connect_with(connect)
        .await
        .unwrap();
    let settings = DeliverySettings::default().with_lease(Duration::from_secs(2));
    let victim = Arc::new(PgStore::from_pool(pool).with_notify(false));
    let dispatch = DispatchLoop::spawn(
        Dispatcher::new(victim, sender()).with_settings(settings),
        LoopConfig::default().with_poll_interval(Duration::from_millis(50)),
    );

    let admin = schema.admin().await;
    let mut kills = 0;
    while kills < 5 && distinct(&receiver) < total {
        if distinct(&receiver) > kills * 40 + 10 {
            let killed: Vec<bool> = sqlx::query_scalar(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = $1",
            )
            .bind(&app)
            .fetch_all(&admin)
            .await
            .unwrap();
            if !killed.is_empty() {
                kills += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let got = wait_distinct(&receiver, total, Duration::from_secs(120)).await;
    // A kill can also land on a completion: its row was received but stays leased, and is
    // sent again (at-least-once) once the lease expires. Wait for the database to agree
    // before stopping the dispatcher.
    let settled = tokio::time::Instant::now() + Duration::from_secs(30);
    while delivered(&writer).await < 300 && tokio::time::Instant::now() < settled {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    dispatch.shutdown().await;
    admin.close().await;
    assert!(kills >= 1, "the victim was never killed");
    assert_eq!(got, total, "every activity delivered after {kills} kills");
    let expected = expected_sequences(&fms, &tickets).await;
    {
        let log = Log::of(&receiver);
        assert!(
            log.overlaps.is_empty(),
            "in flight twice: {:?}",
            log.overlaps
        );
        let bad = order_violations(&log, &expected);
        assert!(bad.is_empty(), "out of order: {bad:?}");
        println!(
            "{kills} kills; {} requests for {total} rows (redeliveries are at-least-once)",
            log.requests
        );
    }
    assert_all_delivered(&writer, 300).await;
    schema.drop().await;
}
