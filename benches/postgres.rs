//! Postgres benchmarks, loopback only, bounded to a few minutes. Needs `FMS_TEST_POSTGRES_URL`
//! (each part runs in a fresh schema, dropped at the end); prints "skipped" without it.
//!
//! (a) Ingest per second through the library (`Fms::ingest`: intake context read, rule
//!     engine, create) against raw sqlx writing the same rows the plain way (one transaction:
//!     counter bump, ticket insert, activity insert, whose trigger queues the webhook row), on
//!     1 connection and on 8 connections with 8 concurrent writers (target ratio >= 0.8).
//! (b) Deliveries per second through the library (`Dispatcher::run_batch` + `ReqwestSender`)
//!     against a raw `FOR UPDATE SKIP LOCKED` claim of 10 rows + concurrent POST + one delete
//!     per row, same pool size, same client, same receiver (target ratio >= 0.7).
//! (c) Wake-up latency through LISTEN/NOTIFY: a `DispatchLoop` whose poll interval is 10 s is
//!     woken only by the NOTIFY forwarder; from the `Fms::add_activity` call (on another pool,
//!     as if on another host; its commit included) to the POST arriving at the receiver;
//!     p50/p99 (target p99 < 50 ms).
//!
//! Runs alternate library/raw; medians are printed. `FMS_BENCH_ONLY=ingest|deliveries|wakeup`
//! runs one part. Run:
//! `FMS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//!  cargo bench --bench postgres --features postgres,http`.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

#[path = "../tests/postgres_support/mod.rs"]
mod postgres_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use fms::Fms;
use fms::activity::ActivityType;
use fms::delivery::DeliverySettings;
use fms::dispatch::Dispatcher;
use fms::http::{DispatchLoop, LoopConfig, ReqwestSender, SenderConfig};
use fms::postgres::PgStore;
use fms::postgres::sqlx::{self, PgPool};
use fms::service::AddActivity;
use fms::tenant::{NewTenant, Tenant};
use fms::user::{NewUser, Role, User};
use futures::future::join_all;
use postgres_support::{Schema, distinct, start_receiver, wait_distinct};
use serde_json::json;

const RUNS: usize = 9;
const INTAKES_1: usize = 400;
const INTAKES_8: usize = 800;
const ROWS: usize = 600;
const SAMPLES: usize = 200;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if postgres_support::database_url().is_none() {
            return;
        }
        // `FMS_BENCH_ONLY=ingest|deliveries|wakeup` runs one part (while iterating).
        let only = std::env::var("FMS_BENCH_ONLY").unwrap_or_default();
        let part = |name: &str| only.is_empty() || only == name;
        if part("ingest") {
            ingest(1, INTAKES_1).await;
            ingest(8, INTAKES_8).await;
        }
        if part("deliveries") {
            deliveries().await;
        }
        if part("wakeup") {
            wakeup().await;
        }
    });
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn setup(fms: &Fms, url: Option<&str>) -> (Tenant, User) {
    let mut new = NewTenant::new("ACME Facilities");
    if let Some(url) = url {
        new = new.with_webhook_url(url);
    }
    let tenant = fms.create_tenant(new).await.unwrap();
    let user = fms
        .create_user(NewUser::new(tenant.id, "John Doe", Role::Complainant).with_chat_id("42"))
        .await
        .unwrap();
    (tenant, user)
}

fn body(tenant: &Tenant) -> serde_json::Value {
    json!({
        "issue": "AC not working in Building A", "location": "Building A, Floor 3",
        "category": "HVAC", "priority": "high", "name": "John Doe", "chat_id": "42",
        "tenant_id": tenant.id.to_string(), "building": "Building A", "floor": "3",
    })
}

/// Runs `n` calls of `one(i)` spread over `writers` concurrent tasks; returns calls per second.
async fn rate<F, Fut>(writers: usize, n: usize, one: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = Instant::now();
    let tasks = (0..writers).map(|w| {
        let one = one.clone();
        tokio::spawn(async move {
            for i in (w..n).step_by(writers) {
                one(i).await;
            }
        })
    });
    for t in join_all(tasks).await {
        t.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

const RAW_TICKET: &str = "
INSERT INTO tickets (id, tenant_id, seq, number, title, description, location, category,
    ticket_type, building, floor, room, reporter_name, submitted_priority, status, priority,
    complainant_id, response_due_at, resolution_due_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, 'Maintenance', $8, $9, NULL, $10, 'high', 'open',
    'high', $11, $12, $13, $14, $14)";

const RAW_ACTIVITY: &str = "
INSERT INTO ticket_activities (id, ticket_id, tenant_id, type, comment, metadata, created_by,
    created_at) VALUES ($1, $2, $3, 'ticket_created', NULL, $4, $5, $6)";

/// The same rows as an intake, written the plain way with sqlx.
async fn raw_ingest(pool: &PgPool, tenant: &Tenant, user: &User) {
    let now = Utc::now();
    let ticket = uuid::Uuid::new_v4();
    let mut tx = pool.begin().await.unwrap();
    let (seq, prefix): (i64, String) = sqlx::query_as(
        "UPDATE tenants SET ticket_counter = ticket_counter + 1 WHERE id = $1 \
         RETURNING ticket_counter, number_prefix",
    )
    .bind(tenant.id.as_uuid())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query(RAW_TICKET)
        .bind(ticket)
        .bind(tenant.id.as_uuid())
        .bind(seq)
        .bind(format!("{prefix}-{seq:04}"))
        .bind("AC not working in Building A")
        .bind("Building A, Floor 3")
        .bind("HVAC")
        .bind("Building A")
        .bind("3")
        .bind("John Doe")
        .bind(user.id.as_uuid())
        .bind(now + chrono::Duration::hours(4))
        .bind(now + chrono::Duration::hours(24))
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(RAW_ACTIVITY)
        .bind(uuid::Uuid::new_v4())
        .bind(ticket)
        .bind(tenant.id.as_uuid())
        .bind(sqlx::types::Json(json!({"rules": []})))
        .bind(user.id.as_uuid())
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn ingest(connections: u32, n: usize) {
    let schema = Schema::create().await.unwrap();
    let store = schema.store(connections).await;
    store.migrate().await.unwrap();
    let fms = Fms::new(Arc::new(store.clone()));
    let (tenant, user) = setup(&fms, None).await;
    let writers = connections as usize;
    let (mut lib, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (f, b) = (fms.clone(), body(&tenant));
        lib.push(
            rate(writers, n, move |_| {
                let (f, b) = (f.clone(), b.clone());
                async move {
                    f.ingest(&b, None).await.unwrap();
                }
            })
            .await,
        );
        let (pool, t, u) = (store.pool().clone(), tenant.clone(), user.clone());
        raw.push(
            rate(writers, n, move |_| {
                let (pool, t, u) = (pool.clone(), t.clone(), u.clone());
                async move { raw_ingest(&pool, &t, &u).await }
            })
            .await,
        );
    }
    let (lib, raw) = (median(lib), median(raw));
    println!(
        "ingest, {connections} connection(s), {writers} writer(s): library {lib:.0}/s, \
         raw sqlx {raw:.0}/s, ratio {:.2} (target >= 0.8)",
        lib / raw
    );
    schema.drop().await;
}

/// Queues `n` rows, one ticket each (so ordering never holds the raw side back either).
async fn fill(fms: &Fms, tenant: &Tenant, n: usize) {
    let b = body(tenant);
    join_all((0..8).map(|w| {
        let (fms, b) = (fms.clone(), b.clone());
        async move {
            for _ in (w..n).step_by(8) {
                fms.ingest(&b, None).await.unwrap();
            }
        }
    }))
    .await;
}

const RAW_CLAIM: &str = "
UPDATE ticket_webhook_queue q SET state = 'leased', lease_token = q.lease_token + 1
WHERE q.id IN (SELECT id FROM ticket_webhook_queue WHERE state = 'pending'
               ORDER BY next_attempt_at, id LIMIT 10 FOR UPDATE SKIP LOCKED)
RETURNING q.id, q.ticket_id, q.sequence";

/// Raw: claim 10, POST them concurrently, delete each delivered row; until the queue is empty.
async fn raw_drain(pool: &PgPool, client: &reqwest::Client, url: &str) -> usize {
    let mut done = 0;
    loop {
        let rows: Vec<(i64, uuid::Uuid, i64)> =
            sqlx::query_as(RAW_CLAIM).fetch_all(pool).await.unwrap();
        if rows.is_empty() {
            return done;
        }
        let sends = rows.into_iter().map(|(id, ticket, sequence)| async move {
            let body = json!({"ticket_id": ticket, "sequence": sequence}).to_string();
            let r = client
                .post(url)
                .header("webhook-id", format!("msg_{id}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            sqlx::query("DELETE FROM ticket_webhook_queue WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
        });
        done += join_all(sends).await.len();
    }
}

async fn deliveries() {
    let schema = Schema::create().await.unwrap();
    let store = schema.store(8).await;
    store.migrate().await.unwrap();
    let receiver = start_receiver(Duration::ZERO).await;
    let fms = Fms::new(Arc::new(store.clone()));
    let (tenant, _) = setup(&fms, Some(&receiver.url("/hook"))).await;
    let sender =
        Arc::new(ReqwestSender::new(SenderConfig::default().with_allow_insecure(true)).unwrap());
    let dispatcher = Dispatcher::new(Arc::new(store.clone()), sender);
    let client = reqwest::Client::new();
    let (mut lib, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        fill(&fms, &tenant, ROWS).await;
        let started = Instant::now();
        let mut sent = 0;
        while sent < ROWS {
            let report = dispatcher.run_batch().await.unwrap();
            assert!(report.claimed > 0, "rows are due");
            sent += report.delivered;
        }
        lib.push(ROWS as f64 / started.elapsed().as_secs_f64());

        fill(&fms, &tenant, ROWS).await;
        let started = Instant::now();
        let done = raw_drain(store.pool(), &client, &receiver.url("/hook")).await;
        assert_eq!(done, ROWS);
        raw.push(ROWS as f64 / started.elapsed().as_secs_f64());
    }
    let (lib, raw) = (median(lib), median(raw));
    println!(
        "deliveries, batch 10: library {lib:.0}/s, raw SKIP LOCKED claim + POST + delete \
         {raw:.0}/s, ratio {:.2} (target >= 0.7)",
        lib / raw
    );
    schema.drop().await;
}

async fn wakeup() {
    let schema = Schema::create().await.unwrap();
    let writer = schema.store(2).await;
    writer.migrate().await.unwrap();
    let receiver = start_receiver(Duration::ZERO).await;
    let fms = Fms::new(Arc::new(writer));
    let (tenant, user) = setup(&fms, Some(&receiver.url("/hook"))).await;
    let ticket = fms.ingest(&body(&tenant), None).await.unwrap().ticket.id;

    // The dispatcher on its own pool, as if on another host: only NOTIFY wakes it.
    let store: Arc<PgStore> = Arc::new(schema.store(3).await);
    let sender =
        Arc::new(ReqwestSender::new(SenderConfig::default().with_allow_insecure(true)).unwrap());
    let dispatch = DispatchLoop::spawn(
        Dispatcher::new(store.clone(), sender).with_settings(DeliverySettings::default()),
        LoopConfig::default().with_poll_interval(Duration::from_secs(10)),
    );
    let forwarder = store
        .spawn_notify_forwarder(dispatch.listener())
        .await
        .unwrap()
        .unwrap();
    wait_distinct(&receiver, 1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let before = distinct(&receiver);
        let add = AddActivity {
            activity_type: ActivityType::Comment,
            comment: Some(format!("c{i}")),
            metadata: json!({}),
            created_by: user.id,
        };
        let start = Instant::now();
        fms.add_activity(ticket, add).await.unwrap();
        let got = wait_distinct(&receiver, before + 1, Duration::from_secs(5)).await;
        assert_eq!(got, before + 1, "woken within 5 s");
        let arrived = receiver.inspect(|got| got.last().map(|r| r.at)).unwrap();
        samples.push((arrived - start).as_secs_f64() * 1000.0);
    }
    forwarder.abort();
    dispatch.shutdown().await;
    samples.sort_by(f64::total_cmp);
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!(
        "wake-up through NOTIFY (poll interval 10 s): p50 {:.1} ms, p99 {:.1} ms \
         (target p99 < 50 ms; from the add_activity call, its commit included, to the POST)",
        p(0.5),
        p(0.99)
    );
    schema.drop().await;
}
