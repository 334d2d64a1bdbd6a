//! Queue cases: claims, leases and fencing, head-of-line order, retries, parking, replay and
//! skip, the endpoint breaker, tenants without a URL.
//!
//! Every case drives the store directly with [`ClaimOptions`] and [`Completion`] at explicit
//! times (a minute after the rows were written, then forward), so nothing sleeps and nothing
//! depends on one backend's clock or locking.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use serde_json::json;

use crate::activity::ActivityType;
use crate::clock::truncate_millis;
use crate::delivery::{BreakerSettings, DeliverySettings, Outcome};
use crate::ids::{QueueEntryId, TenantId, TicketId};
use crate::queue::{
    BreakerUpdate, Claim, ClaimOptions, Completion, QueueEntry, QueueState, Resolution,
};
use crate::sender::{SendError, WebhookResponse};
use crate::service::AddActivity;
use crate::store::StoreError;
use crate::tenant::TenantPatch;

use super::{Fixture, Subject};

/// The lease every case claims with.
const LEASE_SECS: i64 = 60;

/// A loopback URL no case ever contacts (the cases have no sender).
const URL: &str = "http://127.0.0.1:9/never-contacted";

/// A time safely after every row the case has written so far (rows are due when written).
fn start() -> DateTime<Utc> {
    truncate_millis(Utc::now()) + Duration::minutes(1)
}

fn options(now: DateTime<Utc>, limit: u32) -> ClaimOptions {
    ClaimOptions {
        now,
        limit,
        lease: Duration::seconds(LEASE_SECS),
    }
}

async fn claim(s: &Subject, now: DateTime<Utc>, limit: u32) -> Vec<Claim> {
    s.store.claim(&options(now, limit)).await.unwrap()
}

fn ids(claims: &[Claim]) -> Vec<QueueEntryId> {
    claims.iter().map(|c| c.entry.id).collect()
}

fn sorted(mut v: Vec<QueueEntryId>) -> Vec<QueueEntryId> {
    v.sort();
    v
}

/// A completion of `claim` at `now` without an attempt.
fn finish(claim: &Claim, now: DateTime<Utc>, resolution: Resolution) -> Completion {
    Completion {
        entry: claim.entry.id,
        token: claim.token,
        now,
        resolution,
        attempted: false,
        status_code: None,
        error: None,
        breaker: None,
    }
}

/// The outcome of an answer with `status`.
fn answered(status: u16, now: DateTime<Utc>) -> Outcome {
    Outcome::classify(
        &Ok::<_, SendError>(WebhookResponse {
            status,
            retry_after: None,
            body_excerpt: String::new(),
        }),
        now,
    )
}

/// Settings whose breaker opens after `threshold` consecutive failures.
fn breaker_settings(threshold: u32) -> DeliverySettings {
    DeliverySettings::default()
        .with_breaker(BreakerSettings::default().with_failure_threshold(threshold))
}

/// A completion of an attempt that got `status`, as the dispatcher records it: delivered on
/// 2xx, otherwise retried at `retry_at`; the breaker sees the outcome (jitter 0).
fn attempt(
    claim: &Claim,
    now: DateTime<Utc>,
    status: u16,
    retry_at: DateTime<Utc>,
    settings: &DeliverySettings,
) -> Completion {
    let outcome = answered(status, now);
    Completion {
        entry: claim.entry.id,
        token: claim.token,
        now,
        resolution: if outcome.is_delivered() {
            Resolution::Delivered
        } else {
            Resolution::Retry { at: retry_at }
        },
        attempted: true,
        status_code: outcome.status_code(),
        error: outcome.error_text().map(str::to_owned),
        breaker: Some(BreakerUpdate {
            outcome,
            settings: settings.clone(),
            jitter: 0.0,
        }),
    }
}

async fn entry(s: &Subject, id: QueueEntryId) -> QueueEntry {
    s.store.queue_entry(id).await.unwrap()
}

async fn comment(f: &Fixture, ticket: TicketId, text: &str) {
    f.fms
        .add_activity(
            ticket,
            AddActivity {
                activity_type: ActivityType::Comment,
                comment: Some(text.into()),
                metadata: json!({}),
                created_by: f.complainant.id,
            },
        )
        .await
        .unwrap();
}

/// A ticket with at least `n` queue rows, in sequence order: the intake's (one or more,
/// depending on what the rules decided) and comments.
async fn ticket_with_rows(f: &Fixture, n: usize) -> (TicketId, Vec<QueueEntryId>) {
    let t = f.ingest().await;
    let mut rows = f.queue(t.id).await;
    while rows.len() < n {
        comment(f, t.id, &format!("comment {}", rows.len())).await;
        rows = f.queue(t.id).await;
    }
    (t.id, rows.iter().map(|q| q.id).collect())
}

/// The first undone row of each ticket.
async fn heads(f: &Fixture, tickets: &[TicketId]) -> Vec<QueueEntryId> {
    let mut out = Vec::new();
    for t in tickets {
        out.extend(
            f.queue(*t)
                .await
                .iter()
                .find(|q| !q.state.is_done())
                .map(|q| q.id),
        );
    }
    out
}

/// Claims at `now` and delivers until nothing is claimable; every row claimed must belong to
/// `tenant`. Returns how many rows were delivered.
async fn drain(s: &Subject, now: DateTime<Utc>, tenant: TenantId) -> usize {
    let mut delivered = 0;
    loop {
        let claims = claim(s, now, 10).await;
        if claims.is_empty() {
            return delivered;
        }
        for c in &claims {
            assert_eq!(c.entry.tenant_id, tenant, "{c:?}");
            s.store
                .complete(&finish(c, now, Resolution::Delivered))
                .await
                .unwrap();
            delivered += 1;
        }
    }
}

async fn with_url(f: &Fixture) {
    f.fms
        .update_tenant(
            f.tenant.id,
            TenantPatch {
                automation_webhook_url: Some(Some(URL.to_owned())),
                ..TenantPatch::default()
            },
        )
        .await
        .unwrap();
}

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("{what}: expected a conflict, got {other:?}"),
    }
}

/// A claim leases the due rows (state `leased`, a fencing token, first attempt now, the
/// payload parts) and hides them from a second claim at the same time.
pub async fn claim_leases_rows_and_hides_them(s: &Subject) {
    let f = Fixture::new(s).await;
    let (a, _) = ticket_with_rows(&f, 1).await;
    let (b, _) = ticket_with_rows(&f, 1).await;
    let t0 = start();
    let claims = claim(s, t0, 10).await;
    assert_eq!(claims.len(), 2, "{claims:?}");
    let tickets: BTreeSet<TicketId> = claims.iter().map(|c| c.entry.ticket_id).collect();
    assert_eq!(tickets, BTreeSet::from([a, b]));
    for c in &claims {
        assert_eq!(c.entry.state, QueueState::Leased);
        assert_eq!(c.entry.attempts, 0);
        assert_eq!(c.entry.sequence, 1);
        assert_eq!(c.first_attempt_at, t0);
        assert_eq!(c.parts.sequence, 1);
        assert_eq!(c.parts.ticket.id, c.entry.ticket_id);
        assert_eq!(c.parts.tenant.id, f.tenant.id);
        assert_eq!(entry(s, c.entry.id).await.state, QueueState::Leased);
    }
    assert!(claim(s, t0, 10).await.is_empty(), "leased rows are hidden");
    let later = t0 + Duration::seconds(LEASE_SECS) - Duration::milliseconds(1);
    assert!(
        claim(s, later, 10).await.is_empty(),
        "hidden for the whole lease"
    );
}

/// After the lease expires the row is claimable again with a new token; the old token's
/// completion is rejected (`Conflict`) and changes nothing; only the current holder finishes.
pub async fn expired_lease_is_reclaimed_and_the_old_token_is_fenced(s: &Subject) {
    let f = Fixture::new(s).await;
    let (_, rows) = ticket_with_rows(&f, 1).await;
    let t0 = start();
    let first = claim(s, t0, 10).await;
    assert_eq!(ids(&first), vec![rows[0]]);
    let t1 = t0 + Duration::seconds(LEASE_SECS);
    let second = claim(s, t1, 10).await;
    assert_eq!(
        ids(&second),
        vec![rows[0]],
        "the expired lease is claimable"
    );
    assert_ne!(first[0].token, second[0].token, "a fresh fencing token");
    assert_eq!(second[0].first_attempt_at, t0, "the first attempt is kept");

    let before = entry(s, rows[0]).await;
    let stale = attempt(&first[0], t1, 200, t1, &DeliverySettings::default());
    assert_conflict(s.store.complete(&stale).await, "the stale token");
    let mut stale_retry = finish(&first[0], t1, Resolution::Park);
    stale_retry.attempted = true;
    stale_retry.error = Some("late".into());
    assert_conflict(s.store.complete(&stale_retry).await, "the stale token");
    assert_eq!(
        entry(s, rows[0]).await,
        before,
        "a stale completion changes nothing"
    );
    assert_eq!(
        s.store.endpoint_state(f.tenant.id).await.unwrap(),
        Default::default(),
        "nor the endpoint"
    );

    let fresh = attempt(&second[0], t1, 200, t1, &DeliverySettings::default());
    s.store.complete(&fresh).await.unwrap();
    let done = entry(s, rows[0]).await;
    assert_eq!(done.state, QueueState::Delivered);
    assert_eq!(done.attempts, 1);
    assert_eq!(done.last_status_code, Some(200));
    // Finishing twice, or late with the old token, is a conflict too.
    assert_conflict(s.store.complete(&fresh).await, "a second completion");
    assert_conflict(s.store.complete(&stale).await, "the stale token after");
    assert_eq!(entry(s, rows[0]).await, done);
}

/// Only the first undone row of a ticket is claimable; different tickets go in parallel; a
/// retrying row keeps blocking the rows behind it.
pub async fn only_the_head_of_a_ticket_is_claimable(s: &Subject) {
    let f = Fixture::new(s).await;
    let (_, a) = ticket_with_rows(&f, 3).await;
    let (_, b) = ticket_with_rows(&f, 1).await;
    let t0 = start();
    let claims = claim(s, t0, 10).await;
    assert_eq!(sorted(ids(&claims)), sorted(vec![a[0], b[0]]));
    let a1 = claims.iter().find(|c| c.entry.id == a[0]).unwrap();
    s.store
        .complete(&finish(a1, t0, Resolution::Delivered))
        .await
        .unwrap();
    let claims = claim(s, t0, 10).await;
    assert_eq!(ids(&claims), vec![a[1]], "the next row of the ticket");
    assert_eq!(claims[0].entry.sequence, 2);

    // A retrying row blocks its successor even when the successor is due.
    let at = t0 + Duration::seconds(30);
    s.store
        .complete(&attempt(
            &claims[0],
            t0,
            500,
            at,
            &DeliverySettings::default(),
        ))
        .await
        .unwrap();
    assert!(claim(s, t0 + Duration::seconds(29), 10).await.is_empty());
    let claims = claim(s, at, 10).await;
    assert_eq!(ids(&claims), vec![a[1]]);
    s.store
        .complete(&finish(&claims[0], at, Resolution::Delivered))
        .await
        .unwrap();
    assert_eq!(ids(&claim(s, at, 10).await), vec![a[2]]);
}

/// A parked row keeps blocking its own ticket while other tickets flow; replay makes it
/// claimable again (attempts reset); skip unblocks the rows behind it.
pub async fn a_parked_row_blocks_its_ticket_until_replayed_or_skipped(s: &Subject) {
    let f = Fixture::new(s).await;
    let (_, a) = ticket_with_rows(&f, 2).await;
    let (_, b) = ticket_with_rows(&f, 2).await;
    let t0 = start();
    let claims = claim(s, t0, 10).await;
    assert_eq!(sorted(ids(&claims)), sorted(vec![a[0], b[0]]));
    for c in &claims {
        let mut done = if c.entry.id == a[0] {
            finish(c, t0, Resolution::Park)
        } else {
            finish(c, t0, Resolution::Delivered)
        };
        done.attempted = true;
        s.store.complete(&done).await.unwrap();
    }
    let parked = entry(s, a[0]).await;
    assert_eq!(parked.state, QueueState::Parked);
    assert_eq!(parked.attempts, 1);

    // Another ticket flows; the parked ticket does not.
    let t1 = t0 + Duration::hours(1);
    for next in &b[1..] {
        let claims = claim(s, t1, 10).await;
        assert_eq!(
            ids(&claims),
            vec![*next],
            "a[1] waits behind the parked a[0]"
        );
        assert_conflict(s.store.skip(*next, t1).await, "skipping a leased row");
        s.store
            .complete(&finish(&claims[0], t1, Resolution::Delivered))
            .await
            .unwrap();
    }
    assert_conflict(s.store.replay(b[0], t1).await, "replaying a delivered row");
    assert!(claim(s, t1, 10).await.is_empty(), "a[1] waits behind a[0]");

    // Replay: pending, due at once, attempts reset.
    let replayed = s.store.replay(a[0], t1).await.unwrap();
    assert_eq!(replayed.state, QueueState::Pending);
    assert_eq!(replayed.attempts, 0);
    assert_eq!(replayed.next_attempt_at, t1);
    let claims = claim(s, t1, 10).await;
    assert_eq!(ids(&claims), vec![a[0]]);
    assert_eq!(
        claims[0].first_attempt_at, t1,
        "replay starts a new retry age"
    );
    let mut park = finish(&claims[0], t1, Resolution::Park);
    park.attempted = true;
    s.store.complete(&park).await.unwrap();
    assert!(claim(s, t1, 10).await.is_empty());

    // Skip: the row is done, the one behind it flows.
    let skipped = s.store.skip(a[0], t1).await.unwrap();
    assert_eq!(skipped.state, QueueState::Skipped);
    assert!(skipped.state.is_done());
    assert_eq!(ids(&claim(s, t1, 10).await), vec![a[1]]);
}

/// `Retry { at }` hides the row until `at`; attempts, last status code and last error stay
/// visible on the row, and the first attempt time is kept across retries.
pub async fn retry_hides_the_row_until_due_and_keeps_the_error(s: &Subject) {
    let f = Fixture::new(s).await;
    let (_, rows) = ticket_with_rows(&f, 1).await;
    let t0 = start();
    let claims = claim(s, t0, 10).await;
    let at = t0 + Duration::seconds(30);
    let done = attempt(&claims[0], t0, 500, at, &DeliverySettings::default());
    let effect = s.store.complete(&done).await.unwrap();
    assert!(!effect.endpoint_disabled);
    let row = entry(s, rows[0]).await;
    assert_eq!(row.state, QueueState::Pending);
    assert_eq!(row.attempts, 1);
    assert_eq!(row.next_attempt_at, at);
    assert_eq!(row.last_status_code, Some(500));
    assert_eq!(row.last_error.as_deref(), Some("http 500"));

    assert!(
        claim(s, at - Duration::milliseconds(1), 10)
            .await
            .is_empty()
    );
    let claims = claim(s, at, 10).await;
    assert_eq!(ids(&claims), vec![rows[0]]);
    assert_eq!(claims[0].entry.attempts, 1);
    assert_eq!(claims[0].entry.last_status_code, Some(500));
    assert_eq!(claims[0].first_attempt_at, t0);

    // A second failure of another kind replaces the status and error.
    let at2 = at + Duration::seconds(60);
    let mut timeout = finish(&claims[0], at, Resolution::Retry { at: at2 });
    timeout.attempted = true;
    timeout.error = Some("timed out".into());
    s.store.complete(&timeout).await.unwrap();
    let row = entry(s, rows[0]).await;
    assert_eq!(row.attempts, 2);
    assert_eq!(row.last_status_code, None);
    assert_eq!(row.last_error.as_deref(), Some("timed out"));
    assert_eq!(row.next_attempt_at, at2);
}

/// `Release` (a graceful stop) returns the row pending, due now, without counting an attempt
/// or touching the last status and error.
pub async fn release_returns_the_row_without_counting_an_attempt(s: &Subject) {
    let f = Fixture::new(s).await;
    let (_, rows) = ticket_with_rows(&f, 2).await;
    let t0 = start();
    let claims = claim(s, t0, 10).await;
    let at = t0 + Duration::seconds(10);
    s.store
        .complete(&attempt(
            &claims[0],
            t0,
            503,
            at,
            &DeliverySettings::default(),
        ))
        .await
        .unwrap();
    let claims = claim(s, at, 10).await;
    assert_eq!(ids(&claims), vec![rows[0]]);
    s.store
        .complete(&finish(&claims[0], at, Resolution::Release))
        .await
        .unwrap();
    let row = entry(s, rows[0]).await;
    assert_eq!(row.state, QueueState::Pending);
    assert_eq!(row.attempts, 1, "the release is not an attempt");
    assert_eq!(row.next_attempt_at, at);
    assert_eq!(row.last_status_code, Some(503));
    // Claimable again at once, still the head of its ticket.
    assert_eq!(ids(&claim(s, at, 10).await), vec![rows[0]]);
}

/// Four claims at once never return the same row twice, and together with a follow-up claim
/// they hand out every due row exactly once.
pub async fn concurrent_claims_never_return_a_row_twice(s: &Subject) {
    let f = Fixture::new(s).await;
    let mut all = Vec::new();
    for _ in 0..12 {
        all.push(ticket_with_rows(&f, 1).await.1[0]);
    }
    let t0 = start();
    let opts = options(t0, 4);
    let runs = (0..4).map(|_| s.store.claim(&opts));
    let mut seen = Vec::new();
    for r in join_all(runs).await {
        let claims = r.unwrap();
        assert!(claims.len() <= 4);
        seen.extend(ids(&claims));
    }
    seen.extend(ids(&claim(s, t0, 100).await));
    let unique: BTreeSet<_> = seen.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a row was claimed twice: {seen:?}"
    );
    assert_eq!(sorted(seen), sorted(all));
}

/// A paused endpoint yields no claims; when due, one probe row of that tenant is claimed and
/// the probe slot blocks a second probe until its lease passes; another tenant flows
/// meanwhile; a 2xx resets the breaker and the tenant's rows flow again.
pub async fn the_breaker_pauses_then_admits_one_probe(s: &Subject) {
    let f = Fixture::named(s, "Dead endpoint").await;
    with_url(&f).await;
    let other = Fixture::named(s, "Healthy endpoint").await;
    with_url(&other).await;
    let mut tickets = Vec::new();
    for _ in 0..3 {
        tickets.push(ticket_with_rows(&f, 1).await.0);
    }
    let t0 = start();
    let settings = breaker_settings(1);
    let claims = claim(s, t0, 1).await;
    assert_eq!(claims.len(), 1);
    let retry_at = t0 + Duration::seconds(1);
    s.store
        .complete(&attempt(&claims[0], t0, 500, retry_at, &settings))
        .await
        .unwrap();
    let state = s.store.endpoint_state(f.tenant.id).await.unwrap();
    assert_eq!(state.consecutive_failures, 1);
    let resume = t0 + Duration::seconds(5);
    assert_eq!(state.paused_until, Some(resume), "min backoff, jitter 0");
    assert_eq!(state.probe_until, None);

    // Paused: nothing of this tenant, although its rows are due; the other tenant flows.
    ticket_with_rows(&other, 1).await;
    let t1 = resume - Duration::milliseconds(1);
    assert!(drain(s, t1, other.tenant.id).await >= 1);

    // Due a probe: exactly one row, and the probe slot is taken for the lease.
    let probes = claim(s, resume, 10).await;
    assert_eq!(probes.len(), 1, "one probe, not every due row: {probes:?}");
    assert_eq!(probes[0].entry.tenant_id, f.tenant.id);
    let probe_until = resume + Duration::seconds(LEASE_SECS);
    let state = s.store.endpoint_state(f.tenant.id).await.unwrap();
    assert_eq!(state.probe_until, Some(probe_until));
    assert!(claim(s, resume, 10).await.is_empty(), "no second probe");
    assert!(
        claim(s, probe_until - Duration::milliseconds(1), 10)
            .await
            .is_empty(),
        "no second probe while the first one's lease runs"
    );

    // The prober died: when its lease passes, one more probe may go, and only one.
    let second = claim(s, probe_until, 10).await;
    assert_eq!(second.len(), 1, "{second:?}");
    assert!(claim(s, probe_until, 10).await.is_empty());

    // A 2xx resets the breaker: the head of every ticket of the tenant flows again (the dead
    // prober's row included, its lease has passed).
    let t2 = probe_until + Duration::seconds(1);
    s.store
        .complete(&attempt(&second[0], t2, 204, t2, &settings))
        .await
        .unwrap();
    let state = s.store.endpoint_state(f.tenant.id).await.unwrap();
    assert_eq!(state, Default::default(), "healthy after a 2xx");
    let rest = claim(s, t2, 10).await;
    assert_eq!(sorted(ids(&rest)), sorted(heads(&f, &tickets).await));
    assert!(
        rest.len() >= 2,
        "the two untouched tickets at least: {rest:?}"
    );
}

/// 410 Gone disables the endpoint (reported once) and keeps the rows pending; nothing of the
/// tenant is claimed until `reset_endpoint`, while other tenants flow.
pub async fn gone_disables_the_endpoint_and_keeps_rows(s: &Subject) {
    let f = Fixture::named(s, "Gone endpoint").await;
    with_url(&f).await;
    let other = Fixture::named(s, "Healthy endpoint").await;
    with_url(&other).await;
    let (_, a) = ticket_with_rows(&f, 2).await;
    let (_, b) = ticket_with_rows(&f, 1).await;
    let t0 = start();
    let claims = claim(s, t0, 10).await;
    assert_eq!(sorted(ids(&claims)), sorted(vec![a[0], b[0]]));
    let settings = DeliverySettings::default();
    let retry_at = t0 + Duration::seconds(5);
    let gone = claims.iter().find(|c| c.entry.id == a[0]).unwrap();
    let effect = s
        .store
        .complete(&attempt(gone, t0, 410, retry_at, &settings))
        .await
        .unwrap();
    assert!(effect.endpoint_disabled, "disabled by this completion");
    let held = claims.iter().find(|c| c.entry.id == b[0]).unwrap();
    let effect = s
        .store
        .complete(&attempt(held, t0, 410, retry_at, &settings))
        .await
        .unwrap();
    assert!(!effect.endpoint_disabled, "reported once");
    let state = s.store.endpoint_state(f.tenant.id).await.unwrap();
    assert_eq!(state.disabled_at, Some(t0));
    for id in [a[0], b[0]] {
        let row = entry(s, id).await;
        assert_eq!(row.state, QueueState::Pending, "the row stays queued");
        assert_eq!(row.last_status_code, Some(410));
    }

    ticket_with_rows(&other, 1).await;
    let much_later = t0 + Duration::days(30);
    assert!(drain(s, much_later, other.tenant.id).await >= 1);

    s.store.reset_endpoint(f.tenant.id).await.unwrap();
    assert_eq!(
        s.store.endpoint_state(f.tenant.id).await.unwrap(),
        Default::default()
    );
    let claims = claim(s, much_later, 10).await;
    assert_eq!(sorted(ids(&claims)), sorted(vec![a[0], b[0]]));
}

/// Rows of a tenant without a webhook URL are claimable (the dispatcher marks them skipped);
/// skipped rows never block their ticket and stay inspectable.
pub async fn rows_without_a_url_are_claimable_and_skipped_rows_never_block(s: &Subject) {
    let f = Fixture::new(s).await;
    let (ticket, rows) = ticket_with_rows(&f, 3).await;
    let t0 = start();
    for (i, id) in rows.iter().enumerate() {
        let claims = claim(s, t0, 10).await;
        assert_eq!(ids(&claims), vec![*id], "row {i}");
        assert_eq!(claims[0].parts.tenant.automation_webhook_url, None);
        let mut skip = finish(&claims[0], t0, Resolution::Skipped);
        skip.error = Some("no url".into());
        s.store.complete(&skip).await.unwrap();
        let row = entry(s, *id).await;
        assert_eq!(row.state, QueueState::Skipped);
        assert_eq!(row.attempts, 0);
        assert_eq!(row.last_error.as_deref(), Some("no url"));
    }
    assert!(claim(s, t0, 10).await.is_empty());
    let kept = f.queue(ticket).await;
    assert_eq!(kept.len(), 3, "skipped rows stay inspectable");
    assert!(kept.iter().all(|q| q.state == QueueState::Skipped));
}

/// The queue cases, one test each (expanded by [`conformance_tests!`](crate::conformance_tests)).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_queue_cases {
    ($subject:expr) => {
        $crate::__conformance_cases!(
            $subject;
            claim_leases_rows_and_hides_them,
            expired_lease_is_reclaimed_and_the_old_token_is_fenced,
            only_the_head_of_a_ticket_is_claimable,
            a_parked_row_blocks_its_ticket_until_replayed_or_skipped,
            retry_hides_the_row_until_due_and_keeps_the_error,
            release_returns_the_row_without_counting_an_attempt,
            concurrent_claims_never_return_a_row_twice,
            the_breaker_pauses_then_admits_one_probe,
            gone_disables_the_endpoint_and_keeps_rows,
            rows_without_a_url_are_claimable_and_skipped_rows_never_block,
        );
    };
}
