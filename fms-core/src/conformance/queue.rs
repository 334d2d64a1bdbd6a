//! Ticket-queue cases: what only the outbox has beyond the shared machine
//! ([`super::machine`], run on both queues): head-of-line order per ticket, a parked row
//! blocking its ticket, one breaker per tenant while other tenants flow, 410 Gone, tenants
//! without a URL.
//!
//! Every case drives the store directly with [`ClaimOptions`] and [`Completion`] at explicit
//! times (a minute after the rows were written, then forward), so nothing sleeps and nothing
//! depends on one backend's clock or locking.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::activity::ActivityType;
use crate::delivery::{BreakerSettings, DeliverySettings};
use crate::ids::{QueueEntryId, TenantId, TicketId};
use crate::queue::{Claim, QueueEntry, QueueState, Resolution, TicketQueue};
use crate::service::AddActivity;
use crate::store::QueueStore;

use super::machine::{
    LEASE_SECS, assert_conflict, attempt, finish, ids, options, sorted, start, with_url,
};
use super::{Fixture, Subject};

fn outbox(s: &Subject) -> &dyn QueueStore<TicketQueue> {
    &*s.store
}

async fn claim(s: &Subject, now: DateTime<Utc>, limit: u32) -> Vec<Claim> {
    outbox(s).claim(&options(now, limit)).await.unwrap()
}

/// Settings whose breaker opens after `threshold` consecutive failures.
fn breaker_settings(threshold: u32) -> DeliverySettings {
    DeliverySettings::default()
        .with_breaker(BreakerSettings::default().with_failure_threshold(threshold))
}

async fn entry(s: &Subject, id: QueueEntryId) -> QueueEntry {
    outbox(s).entry(id).await.unwrap()
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
            outbox(s)
                .complete(&finish(c, now, Resolution::Delivered))
                .await
                .unwrap();
            delivered += 1;
        }
    }
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
    outbox(s)
        .complete(&finish(a1, t0, Resolution::Delivered))
        .await
        .unwrap();
    let claims = claim(s, t0, 10).await;
    assert_eq!(ids(&claims), vec![a[1]], "the next row of the ticket");
    assert_eq!(claims[0].entry.sequence, 2);

    // A retrying row blocks its successor even when the successor is due.
    let at = t0 + Duration::seconds(30);
    outbox(s)
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
    outbox(s)
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
        outbox(s).complete(&done).await.unwrap();
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
        assert_conflict(outbox(s).skip(*next, t1).await, "skipping a leased row");
        outbox(s)
            .complete(&finish(&claims[0], t1, Resolution::Delivered))
            .await
            .unwrap();
    }
    assert_conflict(
        outbox(s).replay(b[0], t1).await,
        "replaying a delivered row",
    );
    assert!(claim(s, t1, 10).await.is_empty(), "a[1] waits behind a[0]");

    // Replay: pending, due at once, attempts reset.
    let replayed = outbox(s).replay(a[0], t1).await.unwrap();
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
    outbox(s).complete(&park).await.unwrap();
    assert!(claim(s, t1, 10).await.is_empty());

    // Skip: the row is done, the one behind it flows.
    let skipped = outbox(s).skip(a[0], t1).await.unwrap();
    assert_eq!(skipped.state, QueueState::Skipped);
    assert!(skipped.state.is_done());
    assert_eq!(ids(&claim(s, t1, 10).await), vec![a[1]]);
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
    outbox(s)
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
    outbox(s)
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
    let effect = outbox(s)
        .complete(&attempt(gone, t0, 410, retry_at, &settings))
        .await
        .unwrap();
    assert!(effect.endpoint_disabled, "disabled by this completion");
    let held = claims.iter().find(|c| c.entry.id == b[0]).unwrap();
    let effect = outbox(s)
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
        assert_eq!(claims[0].message.tenant.automation_webhook_url, None);
        let mut skip = finish(&claims[0], t0, Resolution::Skipped);
        skip.error = Some("no url".into());
        outbox(s).complete(&skip).await.unwrap();
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
            only_the_head_of_a_ticket_is_claimable,
            a_parked_row_blocks_its_ticket_until_replayed_or_skipped,
            the_breaker_pauses_then_admits_one_probe,
            gone_disables_the_endpoint_and_keeps_rows,
            rows_without_a_url_are_claimable_and_skipped_rows_never_block,
        );
        $crate::__conformance_machine_cases!($subject);
    };
}
