//! Webhook delivery end to end: `Fms` on a `SqliteStore`, the `Dispatcher` (one batch at a
//! time, or the `DispatchLoop`), `ReqwestSender` and a real HTTP receiver on 127.0.0.1 started
//! by each test. Time that matters runs on a `ManualClock` and the jitter is pinned, so retries,
//! leases and the breaker are tested without sleeping. Nothing here contacts a non-loopback
//! address.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod shutdown_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use fms::Fms;
use fms::activity::ActivityType;
use fms::clock::{Clock, ManualClock, SystemClock};
use fms::delivery::{BreakerSettings, DeliverySettings};
use fms::dispatch::{BatchReport, Dispatcher};
use fms::http::{DispatchLoop, LoopConfig, ReqwestSender, SenderConfig};
use fms::ids::TicketId;
use fms::payload::WebhookPayload;
use fms::queue::{
    ClaimOptions, Completion, QueueEntry, QueueQuery, QueueState, Resolution, TicketQueue,
};
use fms::service::AddActivity;
use fms::sqlite::SqliteStore;
use fms::store::{QueueStore, Store, StoreError};
use fms::tenant::{NewTenant, Tenant};
use fms::ticket::Status;
use fms::user::{NewUser, Role, User};
use fms_test_receiver::{Received, Receiver, Reply};
use shutdown_support::assert_stopped_cleanly;

/// Where the simulated clock starts.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// A store, a service and a clock, with a helper per moving part.
struct World {
    store: Arc<dyn Store>,
    fms: Fms,
    clock: Arc<dyn Clock>,
}

impl World {
    /// On a `ManualClock` standing at [`t0`].
    fn manual() -> (Self, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(t0()));
        (Self::on(clock.clone()), clock)
    }

    /// On the system clock (the signature's timestamp must be current for receivers).
    fn system() -> Self {
        Self::on(Arc::new(SystemClock))
    }

    fn on(clock: Arc<dyn Clock>) -> Self {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let fms = Fms::new(Arc::clone(&store)).with_clock(Arc::clone(&clock));
        Self { store, fms, clock }
    }

    /// A tenant (webhook URL `url`, if any) with one complainant and no executor, so intakes
    /// stay `open` and queue one row.
    async fn tenant(&self, name: &str, url: Option<String>) -> (Tenant, User) {
        let mut new = NewTenant::new(name);
        if let Some(url) = url {
            new = new.with_webhook_url(url);
        }
        let tenant = self.fms.create_tenant(new).await.unwrap();
        let user = self
            .fms
            .create_user(
                NewUser::new(tenant.id, "John Doe", Role::Complainant).with_chat_id("123456789"),
            )
            .await
            .unwrap();
        (tenant, user)
    }

    fn dispatcher(&self, sender: ReqwestSender, settings: DeliverySettings) -> Dispatcher {
        Dispatcher::new(Arc::clone(&self.store), Arc::new(sender))
            .with_clock(Arc::clone(&self.clock))
            .with_settings(settings)
            .with_jitter(Arc::new(|| 0.0))
    }

    async fn queue(&self, ticket: TicketId) -> Vec<QueueEntry> {
        self.fms
            .queue_entries(&QueueQuery::ticket(ticket))
            .await
            .unwrap()
    }
}

fn insecure() -> ReqwestSender {
    ReqwestSender::new(SenderConfig::default().with_allow_insecure(true)).unwrap()
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
    })
}

async fn ingest(w: &World, tenant: &Tenant) -> TicketId {
    w.fms.ingest(&body(tenant), None).await.unwrap().ticket.id
}

async fn comment(w: &World, ticket: TicketId, author: &User, text: &str) {
    w.fms
        .add_activity(
            ticket,
            AddActivity {
                activity_type: ActivityType::Comment,
                comment: Some(text.to_owned()),
                metadata: json!({}),
                created_by: author.id,
            },
        )
        .await
        .unwrap();
}

/// Runs batches at the current time until one claims nothing; the reports, summed.
async fn drain(d: &Dispatcher) -> BatchReport {
    let mut total = BatchReport::default();
    for _ in 0..1000 {
        let r = d.run_batch().await.unwrap();
        if r.claimed == 0 {
            return total;
        }
        total.claimed += r.claimed;
        total.delivered += r.delivered;
        total.retried += r.retried;
        total.skipped += r.skipped;
        total.lost_leases += r.lost_leases;
        total.disabled_endpoints.extend(r.disabled_endpoints);
    }
    panic!("the queue never drained");
}

fn payload(r: &Received) -> WebhookPayload {
    serde_json::from_slice(&r.body).unwrap()
}

/// The sequences the receiver got, per ticket, in arrival order.
fn sequences(requests: &[Received]) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in requests {
        let p = payload(r);
        out.entry(p.ticket_id).or_default().push(p.sequence);
    }
    out
}

/// 3 tickets x 20 interleaved activities through the running loop, woken by the service on
/// every commit: per ticket the receiver sees 1, 2, ..., 20, nothing missing, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_delivers_every_ticket_in_order() {
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let w = World::system();
    let dispatcher = w.dispatcher(insecure(), DeliverySettings::default());
    // A poll interval far beyond the test: only the wake-ups can deliver in time.
    let running = DispatchLoop::spawn(
        dispatcher,
        LoopConfig::default().with_poll_interval(Duration::from_secs(600)),
    );
    let fms = w.fms.clone().with_enqueue_listener(running.listener());
    let (tenant, user) = w.tenant("Ordered", Some(receiver.url("/hook"))).await;
    let mut tickets = Vec::new();
    for _ in 0..3 {
        tickets.push(fms.ingest(&body(&tenant), None).await.unwrap().ticket.id);
    }
    for i in 1..20 {
        for t in &tickets {
            fms.add_activity(
                *t,
                AddActivity {
                    activity_type: ActivityType::Comment,
                    comment: Some(format!("update {i}")),
                    metadata: json!({}),
                    created_by: user.id,
                },
            )
            .await
            .unwrap();
        }
    }
    let got = receiver.wait_for(60, Duration::from_secs(20)).await.len();
    running.shutdown().await;
    assert_eq!(got, 60, "every activity delivered");
    let per_ticket = sequences(&receiver.requests());
    assert_eq!(per_ticket.len(), 3);
    for t in &tickets {
        assert_eq!(
            per_ticket[&t.to_string()],
            (1..=20).collect::<Vec<_>>(),
            "ticket {t}"
        );
        assert!(
            w.queue(*t)
                .await
                .iter()
                .all(|q| q.state == QueueState::Delivered)
        );
    }
}

/// One ticket's receiver answers 500, then 429 with `Retry-After`, then times out: only that
/// ticket waits, the others complete; it completes once the receiver heals, and every attempt
/// of its row carries the same `webhook-id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_ticket_delays_only_itself() {
    let (w, clock) = World::manual();
    let failing: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let script = {
        let (failing, attempts) = (Arc::clone(&failing), Arc::clone(&attempts));
        move |r: &Received| {
            let p = payload(r);
            let is_failing = failing.lock().unwrap().as_deref() == Some(p.ticket_id.as_str());
            if !is_failing || p.sequence != 1 {
                return Reply::status(200);
            }
            match attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Reply::status(500),
                1 => Reply::status(429).with_header("Retry-After", "120"),
                2 => Reply::hang(),
                _ => Reply::status(200),
            }
        }
    };
    let receiver = Receiver::builder()
        .with_responder(script)
        .start()
        .await
        .unwrap();
    let (tenant, user) = w.tenant("Flaky", Some(receiver.url("/hook"))).await;
    let mut tickets = Vec::new();
    for _ in 0..3 {
        let t = ingest(&w, &tenant).await;
        for i in 0..2 {
            comment(&w, t, &user, &format!("c{i}")).await;
        }
        tickets.push(t);
    }
    let bad = tickets[1];
    *failing.lock().unwrap() = Some(bad.to_string());
    let settings = DeliverySettings::default().with_timeout(Duration::from_millis(300));
    let d = w.dispatcher(insecure(), settings);

    // 500: the others complete, the failing ticket waits 5 s (min backoff, jitter 0).
    drain(&d).await;
    for t in [tickets[0], tickets[2]] {
        assert!(
            w.queue(t)
                .await
                .iter()
                .all(|q| q.state == QueueState::Delivered)
        );
    }
    let rows = w.queue(bad).await;
    assert_eq!(rows[0].state, QueueState::Pending);
    assert_eq!((rows[0].attempts, rows[0].last_status_code), (1, Some(500)));
    assert_eq!(rows[0].next_attempt_at, t0() + secs(5));
    assert!(rows[1..].iter().all(|q| q.attempts == 0));
    assert_eq!(receiver.count(), 3 * 3 - 2);

    // 429 with Retry-After: 120 s (above the 60 s floor and the 10 s backoff).
    clock.advance(secs(5));
    assert_eq!(drain(&d).await.retried, 1);
    let row = &w.queue(bad).await[0];
    assert_eq!((row.attempts, row.last_status_code), (2, Some(429)));
    assert_eq!(row.next_attempt_at, clock.now() + secs(120));

    // A timeout: at least the 60 s floor.
    clock.advance(secs(120));
    assert_eq!(drain(&d).await.retried, 1);
    let row = &w.queue(bad).await[0];
    assert_eq!((row.attempts, row.last_status_code), (3, None));
    assert_eq!(row.last_error.as_deref(), Some("request timed out"));
    assert_eq!(row.next_attempt_at, clock.now() + secs(60));

    // Healed.
    clock.advance(secs(60));
    let report = drain(&d).await;
    assert_eq!(report.delivered, 3);
    assert!(
        w.queue(bad)
            .await
            .iter()
            .all(|q| q.state == QueueState::Delivered)
    );
    let requests = receiver.requests();
    let bad_first: Vec<&Received> = requests
        .iter()
        .filter(|r| {
            let p = payload(r);
            p.ticket_id == bad.to_string() && p.sequence == 1
        })
        .collect();
    assert_eq!(bad_first.len(), 4);
    let ids: BTreeSet<&str> = bad_first
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "one webhook-id across attempts: {ids:?}");
    for seqs in sequences(&requests).values() {
        let mut dedup = seqs.clone();
        dedup.dedup();
        assert_eq!(dedup, vec![1, 2, 3]);
    }
}

/// A dispatcher that claimed and died before finishing: after the lease expires another
/// dispatcher delivers the row; the dead one's late completion is rejected by the fence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_dispatcher_loses_its_row_to_the_next_one() {
    let (w, clock) = World::manual();
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let (tenant, _) = w.tenant("Aborted", Some(receiver.url("/hook"))).await;
    let ticket = ingest(&w, &tenant).await;
    let settings = DeliverySettings::default();
    let lease = chrono::Duration::from_std(settings.lease).unwrap();

    // The aborted dispatcher: it claimed, then vanished (the claim is all that is left of it).
    let tickets: &dyn QueueStore<TicketQueue> = &*w.store;
    let aborted = tickets
        .claim(&ClaimOptions {
            now: clock.now(),
            limit: 10,
            lease,
        })
        .await
        .unwrap();
    assert_eq!(aborted.len(), 1);

    // The next dispatcher cannot touch the row while the lease runs.
    let d = w.dispatcher(insecure(), settings);
    assert_eq!(d.run_batch().await.unwrap().claimed, 0, "the row is leased");
    clock.advance(lease - secs(1));
    assert_eq!(d.run_batch().await.unwrap().claimed, 0, "still leased");
    assert_eq!(receiver.count(), 0);

    clock.advance(secs(1));
    let report = d.run_batch().await.unwrap();
    assert_eq!((report.claimed, report.delivered), (1, 1));
    assert_eq!(receiver.count(), 1);
    let row = w.queue(ticket).await.remove(0);
    assert_eq!(row.state, QueueState::Delivered);

    let late = Completion {
        entry: aborted[0].entry.id,
        token: aborted[0].token,
        now: clock.now(),
        resolution: Resolution::Retry {
            at: clock.now() + secs(5),
        },
        attempted: true,
        status_code: Some(500),
        error: Some("late".to_owned()),
        breaker: None,
    };
    match tickets.complete(&late).await {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("the fence let a stale completion through: {other:?}"),
    }
    assert_eq!(w.queue(ticket).await.remove(0), row, "nothing changed");
}

/// A send whose future is dropped mid-flight (the process "died" while waiting for the
/// receiver) leaves its row leased; after the lease another dispatcher delivers it, with the
/// same `webhook-id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_send_is_redelivered_after_the_lease() {
    let (w, clock) = World::manual();
    let receiver = Receiver::builder()
        .with_script([Reply::hang()])
        .start()
        .await
        .unwrap();
    let (tenant, _) = w.tenant("Dropped", Some(receiver.url("/hook"))).await;
    let ticket = ingest(&w, &tenant).await;
    let a = w.dispatcher(insecure(), DeliverySettings::default());
    let dropped = tokio::time::timeout(Duration::from_millis(300), a.run_batch()).await;
    assert!(dropped.is_err(), "the send was still waiting");
    assert_eq!(w.queue(ticket).await[0].state, QueueState::Leased);

    let b = w.dispatcher(insecure(), DeliverySettings::default());
    assert_eq!(b.run_batch().await.unwrap().claimed, 0);
    clock.advance(chrono::Duration::from_std(DeliverySettings::default().lease).unwrap());
    assert_eq!(b.run_batch().await.unwrap().delivered, 1);
    let got = receiver.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(w.queue(ticket).await[0].state, QueueState::Delivered);
}

/// Backoff on an injected clock: after each failure the row's `next_attempt_at` is exactly
/// `min(max, min * 2^(n-1)) * (1 - 0.25 U)` (within `[0.75, 1]` of the un-jittered term),
/// raised to `Retry-After` and to the throttle floor, never above the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_follows_the_formula_and_the_cap() {
    let (w, clock) = World::manual();
    // One reply per attempt, and the delay expected after it (min 1 s, max 10 s, U = 0.5).
    let plan: Vec<(Reply, u64)> = vec![
        // 1 s * 0.875, raised to Retry-After: 3 s.
        (Reply::status(500).with_header("Retry-After", "3"), 3_000),
        // 2 s * 0.875.
        (Reply::status(500), 1_750),
        // 4 s * 0.875, raised to Retry-After: 3600 s, capped at 10 s.
        (
            Reply::status(500).with_header("Retry-After", "3600"),
            10_000,
        ),
        // 429: the 60 s floor, capped at 10 s.
        (Reply::status(429), 10_000),
        // 16 s capped at 10 s, * 0.875.
        (Reply::status(500), 8_750),
        // 503: the 60 s floor, capped at 10 s, above the 8.75 s backoff.
        (Reply::status(503), 10_000),
        (Reply::status(200), 0),
    ];
    let receiver = Receiver::builder()
        .with_script(plan.iter().map(|(r, _)| r.clone()))
        .start()
        .await
        .unwrap();
    let (tenant, _) = w.tenant("Backoff", Some(receiver.url("/hook"))).await;
    let ticket = ingest(&w, &tenant).await;
    let settings = DeliverySettings::default()
        .with_min_backoff(Duration::from_secs(1))
        .with_max_backoff(Duration::from_secs(10))
        .with_breaker(BreakerSettings::default().with_failure_threshold(1000));
    let max = chrono::Duration::from_std(settings.max_backoff).unwrap();
    let d = w
        .dispatcher(insecure(), settings)
        .with_jitter(Arc::new(|| 0.5));
    for (n, (_, expected_ms)) in plan.iter().enumerate() {
        let report = d.run_batch().await.unwrap();
        assert_eq!(report.claimed, 1, "attempt {}", n + 1);
        let row = w.queue(ticket).await.remove(0);
        assert_eq!(row.attempts as usize, n + 1);
        if *expected_ms == 0 {
            assert_eq!(row.state, QueueState::Delivered);
            break;
        }
        let delay = row.next_attempt_at - clock.now();
        assert_eq!(
            delay,
            chrono::Duration::milliseconds(i64::try_from(*expected_ms).unwrap()),
            "attempt {}: {row:?}",
            n + 1
        );
        assert!(delay <= max, "never above the cap");
        let exp = 1_000i64 * (1 << n).min(10);
        let plain = chrono::Duration::milliseconds(exp);
        assert!(delay >= plain * 3 / 4, "never below the jittered term");
        // Not claimable a millisecond early; claimable when due.
        clock.set(row.next_attempt_at - chrono::Duration::milliseconds(1));
        assert_eq!(d.run_batch().await.unwrap().claimed, 0);
        clock.set(row.next_attempt_at);
    }
    assert_eq!(receiver.count(), plan.len());
}

/// A dead endpoint (always 500) with 50 queued tickets: the first batch sends `batch` requests
/// before the breaker opens; after that the receiver gets one probe per interval, however
/// often the dispatcher runs, not one request per queued ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_gets_one_probe_per_interval() {
    let (w, clock) = World::manual();
    let receiver = Receiver::start(Reply::status(500)).await.unwrap();
    let (tenant, _) = w.tenant("Dead", Some(receiver.url("/hook"))).await;
    for _ in 0..50 {
        ingest(&w, &tenant).await;
    }
    let settings = DeliverySettings::default();
    let (batch, threshold) = (settings.batch as usize, settings.breaker.failure_threshold);
    let d = w.dispatcher(insecure(), settings);

    // The first batch goes out concurrently, before any failure is known.
    let first = d.run_batch().await.unwrap();
    assert_eq!((first.claimed, first.retried), (batch, batch));
    assert_eq!(receiver.count(), batch);
    let state = w.fms.endpoint_state(tenant.id).await.unwrap();
    // The threshold-th failure opens the breaker at the first step (5 s, jitter 0); the rest
    // of the batch was already in flight and neither counts again nor lengthens the pause.
    assert_eq!(state.consecutive_failures, threshold);
    assert_eq!(state.paused_until, Some(t0() + secs(5)));

    // Twelve intervals; meanwhile the dispatcher runs every minute of simulated time, long
    // after the rows' own retries fell due.
    let intervals = 12;
    let mut probes_per_interval = Vec::new();
    for _ in 0..intervals {
        let until = w
            .fms
            .endpoint_state(tenant.id)
            .await
            .unwrap()
            .paused_until
            .unwrap();
        let before = receiver.count();
        while clock.now() + secs(60) < until {
            clock.advance(secs(60));
            assert_eq!(d.run_batch().await.unwrap().claimed, 0, "paused");
        }
        clock.set(until);
        // Due a probe: however many batches run now, one request goes out.
        let probe = d.run_batch().await.unwrap();
        assert_eq!((probe.claimed, probe.retried), (1, 1));
        assert_eq!(d.run_batch().await.unwrap().claimed, 0);
        probes_per_interval.push(receiver.count() - before);
    }
    assert_eq!(probes_per_interval, vec![1; intervals]);
    assert_eq!(receiver.count(), batch + intervals, "not 50 per interval");
    let state = w.fms.endpoint_state(tenant.id).await.unwrap();
    assert_eq!(
        state.consecutive_failures as usize,
        threshold as usize + intervals
    );
    // The pause never exceeds the maximum backoff.
    let max = chrono::Duration::from_std(DeliverySettings::default().max_backoff).unwrap();
    assert!(state.paused_until.unwrap() - clock.now() <= max);
}

/// 410 Gone disables the endpoint and keeps the rows pending; nothing more is sent, however
/// much time passes, until `reset_endpoint`; then everything is delivered in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_endpoint_and_keeps_the_rows() {
    let (w, clock) = World::manual();
    let healed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&healed);
    let receiver = Receiver::builder()
        .with_responder(move |_| {
            if flag.load(std::sync::atomic::Ordering::SeqCst) {
                Reply::status(200)
            } else {
                Reply::status(410)
            }
        })
        .start()
        .await
        .unwrap();
    let (tenant, user) = w.tenant("Gone", Some(receiver.url("/hook"))).await;
    let mut tickets = Vec::new();
    for _ in 0..2 {
        let t = ingest(&w, &tenant).await;
        comment(&w, t, &user, "more").await;
        tickets.push(t);
    }
    let d = w.dispatcher(insecure(), DeliverySettings::default());
    let report = drain(&d).await;
    assert_eq!(report.claimed, 2, "the heads of both tickets");
    assert_eq!(report.disabled_endpoints, vec![tenant.id], "reported once");
    assert!(
        w.fms
            .endpoint_state(tenant.id)
            .await
            .unwrap()
            .disabled_at
            .is_some()
    );
    for t in &tickets {
        let rows = w.queue(*t).await;
        assert_eq!(rows[0].state, QueueState::Pending);
        assert_eq!(rows[0].last_status_code, Some(410));
        assert_eq!(rows[1].state, QueueState::Pending);
    }
    for _ in 0..5 {
        clock.advance(secs(24 * 3600));
        assert_eq!(d.run_batch().await.unwrap().claimed, 0);
    }
    assert_eq!(receiver.count(), 2);

    healed.store(true, std::sync::atomic::Ordering::SeqCst);
    w.fms.reset_endpoint(tenant.id).await.unwrap();
    assert_eq!(drain(&d).await.delivered, 4);
    let per_ticket = sequences(&receiver.requests());
    for t in &tickets {
        assert_eq!(per_ticket[&t.to_string()], vec![1, 1, 2]);
    }
}

/// The payload of activity 1 is the ticket as it was right after activity 1, even when it is
/// sent after a status change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_status_change_does_not_change_an_earlier_payload() {
    let (w, clock) = World::manual();
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let (tenant, _) = w.tenant("Snapshot", Some(receiver.url("/hook"))).await;
    let created = w.fms.ingest(&body(&tenant), None).await.unwrap().ticket;
    assert_eq!(created.status, Status::Open);
    clock.advance(secs(1));
    w.fms
        .change_status(created.id, Status::InProgress, None, None)
        .await
        .unwrap();
    clock.advance(secs(1));
    let d = w.dispatcher(insecure(), DeliverySettings::default());
    assert_eq!(drain(&d).await.delivered, 2);
    let got: Vec<WebhookPayload> = receiver.requests().iter().map(payload).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].sequence, got[0].status.as_str()),
        (1, "open"),
        "sent after the change, still the state after activity 1"
    );
    assert_eq!(got[0].latest_activity.activity_type, "ticket_created");
    assert_eq!(
        (got[1].sequence, got[1].status.as_str()),
        (2, "in-progress")
    );
    assert_eq!(got[1].latest_activity.activity_type, "status_changed");
    // `generated_at` is the send time, not the activity time.
    assert_eq!(got[0].generated_at, fms::payload::wire_time(clock.now()));
}

/// The received request's signature verifies with the `standardwebhooks` crate, on the exact
/// bytes received, with the tenant's secret; another secret or altered bytes fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signature_verifies_with_standardwebhooks() {
    let w = World::system();
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let (tenant, _) = w.tenant("Signed", Some(receiver.url("/hook"))).await;
    ingest(&w, &tenant).await;
    let d = w.dispatcher(insecure(), DeliverySettings::default());
    assert_eq!(drain(&d).await.delivered, 1);
    let got = receiver.requests();
    let r = &got[0];
    let headers = &r.headers;
    assert!(tenant.webhook_secret.starts_with("whsec_"));
    standardwebhooks::Webhook::new(&tenant.webhook_secret)
        .unwrap()
        .verify(&r.body, headers)
        .unwrap();
    let stranger = standardwebhooks::Webhook::new("whsec_b3RoZXItdGVuYW50cy1zZWNyZXQ=").unwrap();
    assert!(stranger.verify(&r.body, headers).is_err());
    let mut altered = r.body.clone();
    altered.push(b' ');
    assert!(
        standardwebhooks::Webhook::new(&tenant.webhook_secret)
            .unwrap()
            .verify(&altered, headers)
            .is_err()
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("user-agent"), Some(fms::http::USER_AGENT));
}

/// In secure mode a loopback target is refused before anything is sent, and the refusal is
/// visible on the row (`last_error`), which is retried like any failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssrf_refusal_is_visible_on_the_row() {
    let (w, clock) = World::manual();
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let loopback = format!("https://127.0.0.1:{}/x", receiver.port());
    let cases = [
        ("https://127.0.0.1:1/x", "127.0.0.1"),
        (loopback.as_str(), "127.0.0.1"),
        ("http://127.0.0.1:1/x", "https"),
        ("https://localhost:1/x", "localhost"),
    ];
    let mut tickets = Vec::new();
    for (i, (url, _)) in cases.iter().enumerate() {
        let (tenant, _) = w
            .tenant(&format!("SSRF {i}"), Some((*url).to_owned()))
            .await;
        tickets.push(ingest(&w, &tenant).await);
    }
    let secure = ReqwestSender::new(SenderConfig::default()).unwrap();
    let d = w.dispatcher(secure, DeliverySettings::default());
    let report = drain(&d).await;
    assert_eq!((report.claimed, report.retried), (cases.len(), cases.len()));
    for (t, (url, names)) in tickets.iter().zip(cases) {
        let row = w.queue(*t).await.remove(0);
        assert_eq!(row.state, QueueState::Pending, "{url}");
        assert_eq!((row.attempts, row.last_status_code), (1, None), "{url}");
        let error = row.last_error.unwrap_or_default();
        assert!(error.starts_with("target refused: "), "{url}: {error}");
        assert!(error.contains(names), "{url}: {error}");
        assert!(row.next_attempt_at > clock.now());
    }
    assert_eq!(receiver.count(), 0, "nothing reached the receiver");
}

/// A tenant without a URL: its rows are marked skipped without a request, never block the
/// rows behind them, and stay inspectable; a tenant with a URL is unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_a_tenant_without_a_url_are_skipped() {
    let (w, _clock) = World::manual();
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let (silent, silent_user) = w.tenant("No URL", None).await;
    let (loud, loud_user) = w.tenant("URL", Some(receiver.url("/hook"))).await;
    let s = ingest(&w, &silent).await;
    let l = ingest(&w, &loud).await;
    for i in 0..3 {
        comment(&w, s, &silent_user, &format!("s{i}")).await;
        comment(&w, l, &loud_user, &format!("l{i}")).await;
    }
    let d = w.dispatcher(insecure(), DeliverySettings::default());
    let report = drain(&d).await;
    assert_eq!((report.skipped, report.delivered), (4, 4));
    let rows = w.queue(s).await;
    assert_eq!(rows.len(), 4);
    for q in &rows {
        assert_eq!(q.state, QueueState::Skipped);
        assert_eq!(q.attempts, 0);
        assert!(
            q.last_error
                .as_deref()
                .unwrap_or("")
                .contains("no automation webhook url")
        );
    }
    assert_eq!(
        sequences(&receiver.requests())[&l.to_string()],
        vec![1, 2, 3, 4]
    );
}

/// `DispatchLoop::shutdown` returns while sends are in flight: they finish and are recorded,
/// unstarted claims are released, and no row is left `leased`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_returns_and_leaves_no_row_leased() {
    let receiver = Receiver::start(Reply::status(200).with_delay(Duration::from_millis(300)))
        .await
        .unwrap();
    let w = World::system();
    let (tenant, _) = w.tenant("Stopping", Some(receiver.url("/hook"))).await;
    for _ in 0..25 {
        ingest(&w, &tenant).await;
    }
    let running = DispatchLoop::spawn(
        w.dispatcher(insecure(), DeliverySettings::default()),
        LoopConfig::default(),
    );
    assert!(
        !receiver
            .wait_for(1, Duration::from_secs(10))
            .await
            .is_empty()
    );
    tokio::time::timeout(Duration::from_secs(10), running.shutdown())
        .await
        .expect("shutdown returns");
    assert_stopped_cleanly(&w.fms, tenant.id, &receiver, 25).await;
}
