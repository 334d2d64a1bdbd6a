//! The delivery-machine cases, run on every queue (ticket webhooks and onboarding requests):
//! claims, leases and fencing, retries, releases, parking with replay and skip, concurrent
//! claims, and the endpoint breaker's probe slot. They drive the store's
//! [`QueueStore`](crate::store::QueueStore) of the queue under test with [`ClaimOptions`] and
//! [`Completion`] at explicit times, so nothing sleeps.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;

use crate::clock::truncate_millis;
use crate::delivery::{DeliverySettings, Outcome};
use crate::dispatch::Delivery;
use crate::ids::QueueEntryId;
use crate::queue::{
    BreakerUpdate, Claim, ClaimOptions, Completion, OnboardingQueue, QueueKind, QueueQuery,
    QueueRow, QueueState, Resolution, TicketQueue,
};
use crate::sender::{SendError, WebhookResponse};
use crate::service::OnboardingRequest;
use crate::store::{QueueStore, StoreError};
use crate::tenant::TenantPatch;
use crate::user::Role;

use super::{Fixture, Subject};

/// The lease every case claims with.
pub(super) const LEASE_SECS: i64 = 60;

/// A loopback URL no case ever contacts (the cases have no sender).
const URL: &str = "http://127.0.0.1:9/never-contacted";

/// A queue the machine cases run on: how a case puts rows into it.
#[async_trait]
pub trait QueueUnderTest: Delivery {
    /// Queues `n` new rows for the fixture's tenant, on an endpoint the breaker applies to,
    /// each claimable on its own (no row waits behind another); returns their ids, oldest
    /// first.
    async fn enqueue(f: &Fixture, n: usize) -> Vec<QueueEntryId>;
}

#[async_trait]
impl QueueUnderTest for TicketQueue {
    /// One ticket per row (each intake of the fixture queues exactly one row).
    async fn enqueue(f: &Fixture, n: usize) -> Vec<QueueEntryId> {
        with_url(f).await;
        let mut ids = Vec::new();
        for _ in 0..n {
            let t = f.ingest().await;
            let rows = f.queue(t.id).await;
            assert_eq!(
                rows.len(),
                1,
                "the fixture's intake queues one row: {rows:?}"
            );
            ids.push(rows[0].id);
        }
        ids
    }
}

#[async_trait]
impl QueueUnderTest for OnboardingQueue {
    /// One invitation per row.
    async fn enqueue(f: &Fixture, n: usize) -> Vec<QueueEntryId> {
        let before = f
            .fms
            .onboarding_entries(&QueueQuery::tenant(f.tenant.id, None, 10_000))
            .await
            .unwrap()
            .len();
        for i in 0..n {
            f.fms
                .request_onboarding(OnboardingRequest {
                    tenant_id: f.tenant.id,
                    email: format!("invitee{}@example.com", before + i),
                    role: Role::Executor,
                    name: None,
                })
                .await
                .unwrap();
        }
        let mut rows = f
            .fms
            .onboarding_entries(&QueueQuery::tenant(f.tenant.id, None, 10_000))
            .await
            .unwrap();
        rows.truncate(n);
        rows.reverse();
        rows.iter().map(|r| r.id).collect()
    }
}

/// Sets the fixture tenant's automation webhook URL (to one no case contacts).
pub(super) async fn with_url(f: &Fixture) {
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

/// A time safely after every row the case has written so far (rows are due when written).
pub(super) fn start() -> DateTime<Utc> {
    truncate_millis(Utc::now()) + Duration::minutes(1)
}

pub(super) fn options(now: DateTime<Utc>, limit: u32) -> ClaimOptions {
    ClaimOptions {
        now,
        limit,
        lease: Duration::seconds(LEASE_SECS),
    }
}

pub(super) fn ids<Q: QueueKind>(claims: &[Claim<Q>]) -> Vec<QueueEntryId> {
    claims.iter().map(|c| c.entry.id()).collect()
}

pub(super) fn sorted(mut v: Vec<QueueEntryId>) -> Vec<QueueEntryId> {
    v.sort();
    v
}

/// A completion of `claim` at `now` without an attempt.
pub(super) fn finish<Q: QueueKind>(
    claim: &Claim<Q>,
    now: DateTime<Utc>,
    resolution: Resolution,
) -> Completion {
    Completion {
        entry: claim.entry.id(),
        token: claim.token,
        now,
        resolution,
        attempted: false,
        status_code: None,
        error: None,
        breaker: None,
    }
}

/// A completion of an attempt that got `status`, as the dispatcher records it: delivered on
/// 2xx, otherwise retried at `retry_at`; the breaker sees the outcome (jitter 0).
pub(super) fn attempt<Q: QueueKind>(
    claim: &Claim<Q>,
    now: DateTime<Utc>,
    status: u16,
    retry_at: DateTime<Utc>,
    settings: &DeliverySettings,
) -> Completion {
    let outcome = Outcome::classify(
        &Ok::<_, SendError>(WebhookResponse {
            status,
            retry_after: None,
            body_excerpt: String::new(),
        }),
        now,
    );
    Completion {
        entry: claim.entry.id(),
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

pub(super) fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("{what}: expected a conflict, got {other:?}"),
    }
}

struct Queue<'a, Q: QueueKind> {
    port: &'a dyn QueueStore<Q>,
}

impl<Q: QueueKind> Queue<'_, Q> {
    async fn claim(&self, now: DateTime<Utc>, limit: u32) -> Vec<Claim<Q>> {
        self.port.claim(&options(now, limit)).await.unwrap()
    }

    async fn entry(&self, id: QueueEntryId) -> Q::Entry {
        self.port.entry(id).await.unwrap()
    }

    async fn complete(&self, done: &Completion) {
        self.port.complete(done).await.unwrap();
    }
}

fn queue<Q: QueueUnderTest>(s: &Subject) -> Queue<'_, Q> {
    Queue {
        port: Q::port(&*s.store),
    }
}

/// A claim leases the due rows (state `leased`, a fencing token, first attempt now) and hides
/// them from a second claim for the whole lease.
pub async fn claim_leases_rows_and_hides_them<Q: QueueUnderTest>(s: &Subject) {
    let f = Fixture::new(s).await;
    let rows = Q::enqueue(&f, 2).await;
    let q = queue::<Q>(s);
    let t0 = start();
    let claims = q.claim(t0, 10).await;
    assert_eq!(sorted(ids(&claims)), sorted(rows.clone()), "{claims:?}");
    for c in &claims {
        assert_eq!(c.entry.state(), QueueState::Leased);
        assert_eq!(c.entry.attempts(), 0);
        assert_eq!(c.entry.tenant_id(), f.tenant.id);
        assert_eq!(c.first_attempt_at, t0);
        assert_eq!(q.entry(c.entry.id()).await.state(), QueueState::Leased);
    }
    assert!(q.claim(t0, 10).await.is_empty(), "leased rows are hidden");
    let later = t0 + Duration::seconds(LEASE_SECS) - Duration::milliseconds(1);
    assert!(
        q.claim(later, 10).await.is_empty(),
        "hidden for the whole lease"
    );
}

/// After the lease expires the row is claimable again with a new token; the old token's
/// completion is rejected (`Conflict`) and changes nothing; only the current holder finishes.
pub async fn expired_lease_is_reclaimed_and_the_old_token_is_fenced<Q: QueueUnderTest>(
    s: &Subject,
) {
    let f = Fixture::new(s).await;
    let rows = Q::enqueue(&f, 1).await;
    let q = queue::<Q>(s);
    let t0 = start();
    let first = q.claim(t0, 10).await;
    assert_eq!(ids(&first), rows);
    let t1 = t0 + Duration::seconds(LEASE_SECS);
    let second = q.claim(t1, 10).await;
    assert_eq!(ids(&second), rows, "the expired lease is claimable");
    assert_ne!(first[0].token, second[0].token, "a fresh fencing token");
    assert_eq!(second[0].first_attempt_at, t0, "the first attempt is kept");

    let before = q.entry(rows[0]).await;
    let stale = attempt(&first[0], t1, 200, t1, &DeliverySettings::default());
    assert_conflict(q.port.complete(&stale).await, "the stale token");
    let mut stale_park = finish(&first[0], t1, Resolution::Park);
    stale_park.attempted = true;
    stale_park.error = Some("late".into());
    assert_conflict(q.port.complete(&stale_park).await, "the stale token");
    assert_eq!(
        q.entry(rows[0]).await,
        before,
        "a stale completion changes nothing"
    );

    let fresh = attempt(&second[0], t1, 200, t1, &DeliverySettings::default());
    q.complete(&fresh).await;
    let done = q.entry(rows[0]).await;
    assert_eq!(done.state(), QueueState::Delivered);
    assert_eq!(done.attempts(), 1);
    assert_eq!(done.last_status_code(), Some(200));
    assert_conflict(q.port.complete(&fresh).await, "a second completion");
    assert_conflict(q.port.complete(&stale).await, "the stale token after");
    assert_eq!(q.entry(rows[0]).await, done);
}

/// `Retry { at }` hides the row until `at`; attempts, last status code and last error stay
/// visible on the row, and the first attempt time is kept across retries.
pub async fn retry_hides_the_row_until_due_and_keeps_the_error<Q: QueueUnderTest>(s: &Subject) {
    let f = Fixture::new(s).await;
    let rows = Q::enqueue(&f, 1).await;
    let q = queue::<Q>(s);
    let t0 = start();
    let claims = q.claim(t0, 10).await;
    let at = t0 + Duration::seconds(30);
    let done = attempt(&claims[0], t0, 500, at, &DeliverySettings::default());
    let effect = q.port.complete(&done).await.unwrap();
    assert!(!effect.endpoint_disabled);
    let row = q.entry(rows[0]).await;
    assert_eq!(row.state(), QueueState::Pending);
    assert_eq!(row.attempts(), 1);
    assert_eq!(row.next_attempt_at(), at);
    assert_eq!(row.last_status_code(), Some(500));
    assert_eq!(row.last_error(), Some("http 500"));

    assert!(q.claim(at - Duration::milliseconds(1), 10).await.is_empty());
    let claims = q.claim(at, 10).await;
    assert_eq!(ids(&claims), rows);
    assert_eq!(claims[0].entry.attempts(), 1);
    assert_eq!(claims[0].entry.last_status_code(), Some(500));
    assert_eq!(claims[0].first_attempt_at, t0);

    // A second failure of another kind replaces the status and error.
    let at2 = at + Duration::seconds(60);
    let mut timeout = finish(&claims[0], at, Resolution::Retry { at: at2 });
    timeout.attempted = true;
    timeout.error = Some("timed out".into());
    q.complete(&timeout).await;
    let row = q.entry(rows[0]).await;
    assert_eq!(row.attempts(), 2);
    assert_eq!(row.last_status_code(), None);
    assert_eq!(row.last_error(), Some("timed out"));
    assert_eq!(row.next_attempt_at(), at2);
}

/// `Release` (a graceful stop) returns the row pending, due now, without counting an attempt
/// or touching the last status and error.
pub async fn release_returns_the_row_without_counting_an_attempt<Q: QueueUnderTest>(s: &Subject) {
    let f = Fixture::new(s).await;
    let rows = Q::enqueue(&f, 1).await;
    let q = queue::<Q>(s);
    let t0 = start();
    let claims = q.claim(t0, 10).await;
    let at = t0 + Duration::seconds(10);
    q.complete(&attempt(
        &claims[0],
        t0,
        503,
        at,
        &DeliverySettings::default(),
    ))
    .await;
    let claims = q.claim(at, 10).await;
    assert_eq!(ids(&claims), rows);
    q.complete(&finish(&claims[0], at, Resolution::Release))
        .await;
    let row = q.entry(rows[0]).await;
    assert_eq!(row.state(), QueueState::Pending);
    assert_eq!(row.attempts(), 1, "the release is not an attempt");
    assert_eq!(row.next_attempt_at(), at);
    assert_eq!(row.last_status_code(), Some(503));
    assert_eq!(ids(&q.claim(at, 10).await), rows, "claimable again at once");
}

/// Four claims at once never return the same row twice, and together with a follow-up claim
/// they hand out every due row exactly once.
pub async fn concurrent_claims_never_return_a_row_twice<Q: QueueUnderTest>(s: &Subject) {
    let f = Fixture::new(s).await;
    let all = Q::enqueue(&f, 12).await;
    let q = queue::<Q>(s);
    let t0 = start();
    let opts = options(t0, 4);
    let runs = (0..4).map(|_| q.port.claim(&opts));
    let mut seen = Vec::new();
    for r in join_all(runs).await {
        let claims = r.unwrap();
        assert!(claims.len() <= 4);
        seen.extend(ids(&claims));
    }
    seen.extend(ids(&q.claim(t0, 100).await));
    let unique: BTreeSet<_> = seen.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a row was claimed twice: {seen:?}"
    );
    assert_eq!(sorted(seen), sorted(all));
}

/// A parked row is never claimed; replay makes it pending, due at once, attempts reset and a
/// new retry age; skip finishes it. Replaying a row that is not parked or skipped, and
/// skipping a leased one, are conflicts.
pub async fn parked_rows_are_replayed_or_skipped<Q: QueueUnderTest>(s: &Subject) {
    let f = Fixture::new(s).await;
    let rows = Q::enqueue(&f, 1).await;
    let q = queue::<Q>(s);
    let t0 = start();
    let claims = q.claim(t0, 10).await;
    assert_conflict(q.port.skip(rows[0], t0).await, "skipping a leased row");
    assert_conflict(q.port.replay(rows[0], t0).await, "replaying a leased row");
    let mut park = finish(&claims[0], t0, Resolution::Park);
    park.attempted = true;
    q.complete(&park).await;
    let parked = q.entry(rows[0]).await;
    assert_eq!(parked.state(), QueueState::Parked);
    assert_eq!(parked.attempts(), 1);
    let t1 = t0 + Duration::hours(1);
    assert!(
        q.claim(t1, 10).await.is_empty(),
        "a parked row is never claimed"
    );

    let replayed = q.port.replay(rows[0], t1).await.unwrap();
    assert_eq!(replayed.state(), QueueState::Pending);
    assert_eq!(replayed.attempts(), 0);
    assert_eq!(replayed.next_attempt_at(), t1);
    assert_conflict(q.port.replay(rows[0], t1).await, "replaying a pending row");
    let claims = q.claim(t1, 10).await;
    assert_eq!(ids(&claims), rows);
    assert_eq!(
        claims[0].first_attempt_at, t1,
        "replay starts a new retry age"
    );
    let mut park = finish(&claims[0], t1, Resolution::Park);
    park.attempted = true;
    q.complete(&park).await;

    let skipped = q.port.skip(rows[0], t1).await.unwrap();
    assert_eq!(skipped.state(), QueueState::Skipped);
    assert!(q.claim(t1, 10).await.is_empty());
    // A skipped row can be replayed too.
    let again = q.port.replay(rows[0], t1).await.unwrap();
    assert_eq!(again.state(), QueueState::Pending);
    assert_eq!(ids(&q.claim(t1, 10).await), rows);
}

/// The endpoint's breaker: after the failure threshold it pauses; when the pause is over, a
/// claim with no due row takes no probe slot, so the next due row goes out at once as the
/// probe, alone; while it is in flight nothing else of the endpoint goes out.
pub async fn probe_slot_is_taken_only_by_a_sent_row<Q: QueueUnderTest>(s: &Subject) {
    let f = Fixture::new(s).await;
    let settings = DeliverySettings::default(); // threshold 5, first pause 5 s (jitter 0)
    let threshold = settings.breaker.failure_threshold as usize;
    let rows = Q::enqueue(&f, threshold).await;
    let q = queue::<Q>(s);
    let t0 = start();
    let claim_at = |now, lease| ClaimOptions {
        now,
        limit: 10,
        lease,
    };
    let minute = Duration::seconds(60);
    let claims = q.port.claim(&claim_at(t0, minute)).await.unwrap();
    assert_eq!(sorted(ids(&claims)), sorted(rows));
    for (i, claim) in claims.iter().enumerate() {
        // One row comes due again at 7 s, the others in an hour.
        let retry = if i == 0 {
            Duration::seconds(7)
        } else {
            Duration::hours(1)
        };
        q.complete(&attempt(claim, t0, 500, t0 + retry, &settings))
            .await;
    }
    // Paused until 5 s; at 6 s a probe is due but no row is.
    let none = q
        .port
        .claim(&claim_at(t0 + Duration::seconds(6), minute))
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    // At 7 s the row is due and goes out as the probe (one row only), leased for two hours.
    let probe = q
        .port
        .claim(&claim_at(t0 + Duration::seconds(7), Duration::hours(2)))
        .await
        .unwrap();
    assert_eq!(
        probe.len(),
        1,
        "the empty claim must not have taken the probe slot"
    );
    assert_eq!(probe[0].entry.id(), claims[0].entry.id());
    // While that probe is in flight, nothing else goes out, though the other rows are due.
    let during = q
        .port
        .claim(&claim_at(t0 + Duration::minutes(61), minute))
        .await
        .unwrap();
    assert!(during.is_empty(), "{during:?}");
    // The probe's 2xx closes the breaker: the other rows flow.
    q.complete(&attempt(
        &probe[0],
        t0 + Duration::minutes(61),
        200,
        t0,
        &settings,
    ))
    .await;
    let rest = q
        .port
        .claim(&claim_at(t0 + Duration::minutes(61), minute))
        .await
        .unwrap();
    assert_eq!(rest.len(), threshold - 1, "{rest:?}");
}

/// The machine cases, run on both queues: one test each, in a module per queue (expanded by
/// [`conformance_tests!`](crate::conformance_tests)).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_machine_cases {
    ($subject:expr) => {
        $crate::__conformance_queue_generic!($subject; ticket_queue, $crate::queue::TicketQueue);
        $crate::__conformance_queue_generic!(
            $subject; onboarding_queue, $crate::queue::OnboardingQueue
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_queue_generic {
    ($subject:expr; $module:ident, $queue:ty) => {
        $crate::__conformance_generic_cases!(
            $subject; $module, $queue;
            claim_leases_rows_and_hides_them,
            expired_lease_is_reclaimed_and_the_old_token_is_fenced,
            retry_hides_the_row_until_due_and_keeps_the_error,
            release_returns_the_row_without_counting_an_attempt,
            concurrent_claims_never_return_a_row_twice,
            parked_rows_are_replayed_or_skipped,
            probe_slot_is_taken_only_by_a_sent_row,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_generic_cases {
    ($subject:expr; $module:ident, $queue:ty; $($case:ident),* $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let subject = $crate::conformance::MaybeSubject::into_subject(($subject).await);
                    match subject {
                        Some(subject) => $crate::conformance::$case::<$queue>(&subject).await,
                        None => println!(
                            "skipped: {}::{}: the store under test is not available",
                            stringify!($module),
                            stringify!($case)
                        ),
                    }
                }
            )*
        }
    };
}
