//! Delivery benchmarks, loopback only, bounded to well under a minute:
//!
//! (a) deliveries per second from a SQLite *file* store to a receiver on 127.0.0.1 through
//!     the library (`Dispatcher::run_batch` + `ReqwestSender`), against a raw baseline doing
//!     the same claim (one `BEGIN IMMEDIATE` per batch of 10) + concurrent POST + delete (one
//!     transaction per row) with the same driver (rusqlite, same pragmas) and the same client
//!     (reqwest) in the same run. Runs alternate; the medians and their ratio are printed
//!     (target >= 0.7).
//! (b) latency from `Fms::add_activity` returning to the receiver having the POST, with the
//!     `DispatchLoop` running and woken by the service; p50/p99 printed (target p99 < 50 ms).
//!
//! Run: `cargo bench --bench delivery --features http`. A custom `main` (criterion's
//! statistics add nothing to an end-to-end figure measured over whole runs).

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fms::Fms;
use fms::activity::ActivityType;
use fms::delivery::DeliverySettings;
use fms::dispatch::Dispatcher;
use fms::http::{DispatchLoop, LoopConfig, ReqwestSender, SenderConfig};
use fms::ids::TicketId;
use fms::queue::{QueueQuery, QueueState};
use fms::service::AddActivity;
use fms::sqlite::SqliteStore;
use fms::store::Store;
use fms::tenant::{NewTenant, Tenant};
use fms::user::{NewUser, Role, User};
use fms_test_receiver::{Receiver, Reply};
use rusqlite::{Connection, TransactionBehavior, params};
use serde_json::json;

/// Rows delivered per throughput run.
const ROWS: usize = 400;
/// Throughput runs per side.
const RUNS: usize = 5;
/// Latency samples.
const SAMPLES: usize = 300;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let receiver = Receiver::start(Reply::status(200)).await.unwrap();
        throughput(&receiver).await;
        latency(&receiver).await;
    });
}

fn body(tenant: &Tenant) -> serde_json::Value {
    json!({
        "issue": "AC not working in Building A",
        "location": "Building A, Floor 3",
        "category": "HVAC",
        "priority": "high",
        "name": "John Doe",
        "chat_id": "123456789",
        "tenant_id": tenant.id.to_string(),
        "type": "Maintenance",
        "building": "Building A",
        "floor": "3",
        "room": "301"
    })
}

/// A service on a fresh database file in `dir`, with one tenant (webhook URL `url`) and its
/// complainant.
async fn setup(dir: &Path, url: String) -> (Fms, Tenant, User) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.join("fms.db")).unwrap());
    let fms = Fms::new(store);
    let tenant = fms
        .create_tenant(NewTenant::new("Bench").with_webhook_url(url))
        .await
        .unwrap();
    let user = fms
        .create_user(
            NewUser::new(tenant.id, "John Doe", Role::Complainant).with_chat_id("123456789"),
        )
        .await
        .unwrap();
    (fms, tenant, user)
}

fn insecure() -> ReqwestSender {
    ReqwestSender::new(SenderConfig::default().with_allow_insecure(true)).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn throughput(receiver: &Receiver) {
    let mut lib = Vec::new();
    let mut raw = Vec::new();
    for run in 0..RUNS {
        let l = library_run(receiver).await;
        let r = raw_run(receiver).await;
        println!("run {run}: library {l:.0}/s, raw {r:.0}/s");
        lib.push(l);
        raw.push(r);
    }
    let (l, r) = (median(lib), median(raw));
    println!(
        "delivery throughput ({ROWS} rows, SQLite file, loopback, medians of {RUNS}): \
         library {l:.0} deliveries/s, raw baseline {r:.0}/s, ratio {:.2} (target >= 0.7)",
        l / r
    );
}

/// The library: ROWS tickets queued, then `run_batch` until nothing is claimed.
async fn library_run(receiver: &Receiver) -> f64 {
    let dir = tempfile_dir();
    let (fms, tenant, _) = setup(dir.path(), receiver.url("/hook")).await;
    for _ in 0..ROWS {
        fms.ingest(&body(&tenant), None).await.unwrap();
    }
    let dispatcher = Dispatcher::new(Arc::clone(fms.store()), Arc::new(insecure()))
        .with_settings(DeliverySettings::default());
    let before = receiver.count();
    let started = Instant::now();
    let mut delivered = 0;
    loop {
        let report = dispatcher.run_batch().await.unwrap();
        if report.claimed == 0 {
            break;
        }
        delivered += report.delivered;
    }
    let took = started.elapsed();
    assert_eq!(delivered, ROWS);
    assert_eq!(receiver.count() - before, ROWS);
    ROWS as f64 / took.as_secs_f64()
}

/// The baseline: the same number of rows with a real payload body in a plain table of a
/// SQLite file (same pragmas as the store), claimed 10 at a time in one `BEGIN IMMEDIATE`,
/// POSTed concurrently with reqwest, each deleted in its own transaction after its 2xx.
async fn raw_run(receiver: &Receiver) -> f64 {
    let dir = tempfile_dir();
    // A real payload, for a like-sized body.
    let (fms, tenant, _) = setup(dir.path(), receiver.url("/hook")).await;
    let ticket = fms.ingest(&body(&tenant), None).await.unwrap().ticket;
    let row = fms
        .queue_entries(&QueueQuery::ticket(ticket.id))
        .await
        .unwrap()
        .remove(0);
    let payload = fms.payload(row.id).await.unwrap().to_bytes();

    let mut conn = Connection::open(dir.path().join("raw.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute_batch(
        "CREATE TABLE raw_queue (id INTEGER PRIMARY KEY, state TEXT NOT NULL, \
         lease_until INTEGER NOT NULL, body BLOB NOT NULL)",
    )
    .unwrap();
    {
        let tx = conn.transaction().unwrap();
        for _ in 0..ROWS {
            tx.execute(
                "INSERT INTO raw_queue (state, lease_until, body) VALUES ('pending', 0, ?1)",
                [&payload],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let conn = Arc::new(Mutex::new(conn));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let url = receiver.url("/hook");
    let before = receiver.count();
    let started = Instant::now();
    let mut delivered = 0;
    loop {
        let c = Arc::clone(&conn);
        let claimed: Vec<(i64, Vec<u8>)> = tokio::task::spawn_blocking(move || {
            let mut c = c.lock().unwrap();
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .unwrap();
            let now = chrono::Utc::now().timestamp_millis();
            let rows = tx
                .prepare_cached(
                    "UPDATE raw_queue SET state = 'leased', lease_until = ?1 + 60000 \
                     WHERE id IN (SELECT id FROM raw_queue WHERE state = 'pending' \
                     AND lease_until <= ?1 ORDER BY id LIMIT 10) RETURNING id, body",
                )
                .unwrap()
                .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap();
            tx.commit().unwrap();
            rows
        })
        .await
        .unwrap();
        if claimed.is_empty() {
            break;
        }
        let mut sends = tokio::task::JoinSet::new();
        for (id, body) in claimed {
            let (client, url, conn) = (client.clone(), url.clone(), Arc::clone(&conn));
            sends.spawn(async move {
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-id", format!("msg_{id}"))
                    .body(body)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .unwrap();
                let ok = response.status().is_success();
                let _ = response.bytes().await;
                if ok {
                    tokio::task::spawn_blocking(move || {
                        let mut c = conn.lock().unwrap();
                        let tx = c
                            .transaction_with_behavior(TransactionBehavior::Immediate)
                            .unwrap();
                        tx.execute(
                            "DELETE FROM raw_queue WHERE id = ?1 AND state = 'leased'",
                            params![id],
                        )
                        .unwrap();
                        tx.commit().unwrap();
                    })
                    .await
                    .unwrap();
                }
                ok
            });
        }
        while let Some(ok) = sends.join_next().await {
            delivered += usize::from(ok.unwrap());
        }
    }
    let took = started.elapsed();
    assert_eq!(delivered, ROWS);
    assert_eq!(receiver.count() - before, ROWS);
    ROWS as f64 / took.as_secs_f64()
}

/// Latency from `add_activity` returning to the POST arriving, one activity at a time, with
/// the loop running (its poll interval far away: the wake-up does the work).
async fn latency(receiver: &Receiver) {
    let dir = tempfile_dir();
    let (fms, tenant, user) = setup(dir.path(), receiver.url("/hook")).await;
    let dispatcher = Dispatcher::new(Arc::clone(fms.store()), Arc::new(insecure()));
    let running = DispatchLoop::spawn(
        dispatcher,
        LoopConfig::default().with_poll_interval(Duration::from_secs(60)),
    );
    let fms = fms.with_enqueue_listener(running.listener());
    let mut tickets: Vec<TicketId> = Vec::new();
    for _ in 0..5 {
        tickets.push(fms.ingest(&body(&tenant), None).await.unwrap().ticket.id);
    }
    let mut seen = receiver
        .wait_for(receiver.count() + 5, Duration::from_secs(10))
        .await
        .len();
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let ticket = tickets[i % tickets.len()];
        let add = AddActivity {
            activity_type: ActivityType::Comment,
            comment: Some(format!("update {i}")),
            metadata: json!({}),
            created_by: user.id,
        };
        fms.add_activity(ticket, add).await.unwrap();
        let returned = Instant::now();
        let arrived = receiver
            .wait_until(Duration::from_secs(10), |got| got.len() > seen)
            .await;
        assert!(arrived, "sample {i}: no POST within 10 s");
        let (got, arrived) = receiver.inspect(|got| (got.len(), got[seen].at));
        samples.push(arrived.saturating_duration_since(returned).as_secs_f64() * 1000.0);
        seen = got;
    }
    running.shutdown().await;
    let leased = fms
        .queue_entries(&QueueQuery::tenant(tenant.id, Some(QueueState::Leased), 10))
        .await
        .unwrap();
    assert!(leased.is_empty());
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "add_activity -> POST received ({SAMPLES} samples, loop running, SQLite file): \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 50 ms)",
        pct(0.50),
        pct(0.99),
        samples[samples.len() - 1]
    );
}

/// A temporary directory, removed on drop.
fn tempfile_dir() -> TempDir {
    let path = std::env::temp_dir().join(format!("fms-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&path).unwrap();
    TempDir(path)
}

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
