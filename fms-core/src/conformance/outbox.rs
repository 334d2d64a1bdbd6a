//! Outbox cases: atomic activity + queue row, per-ticket sequences, ticket numbers, the status
//! workflow through the store, snapshots.

use std::collections::BTreeSet;

use futures::future::join_all;
use serde_json::json;

use crate::activity::ActivityType;
use crate::queue::{QueueQuery, QueueState};
use crate::service::AddActivity;
use crate::store::TicketQuery;
use crate::ticket::Status;
use crate::workflow::allowed_targets;

use super::{Fixture, Subject};

fn comment(f: &Fixture, text: &str) -> AddActivity {
    AddActivity {
        activity_type: ActivityType::Comment,
        comment: Some(text.into()),
        metadata: json!({}),
        created_by: f.complainant.id,
    }
}

/// An activity and its queue row are written together or not at all: with queue inserts
/// failing, an intake leaves no ticket, activity, queue row or used number behind, and an added
/// activity leaves nothing either.
pub async fn activity_and_queue_row_are_atomic(s: &Subject) {
    let f = Fixture::new(s).await;
    let t1 = f.ingest().await;
    s.faults.fail_queue_inserts(true).await.unwrap();
    let err = f.fms.ingest(&f.body(), Some("k")).await.unwrap_err();
    assert_eq!(err.code(), "internal", "{err}");
    let err = f
        .fms
        .add_activity(t1.id, comment(&f, "lost?"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "internal", "{err}");
    let err = f
        .fms
        .change_status(t1.id, Status::InProgress, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "internal", "{err}");
    s.faults.fail_queue_inserts(false).await.unwrap();

    let query = TicketQuery {
        tenant_id: f.tenant.id,
        status: None,
        before: None,
        limit: 100,
    };
    assert_eq!(f.fms.tickets(&query).await.unwrap().len(), 1);
    assert_eq!(f.fms.activities(t1.id).await.unwrap().len(), 1);
    assert_eq!(f.queue(t1.id).await.len(), 1);
    let unchanged = f.fms.ticket(t1.id).await.unwrap();
    assert_eq!(unchanged.status, Status::Open);
    assert_eq!(unchanged.version, t1.version);
    // The failed intake consumed neither the number nor the idempotency key.
    let t2 = f.fms.ingest(&f.body(), Some("k")).await.unwrap();
    assert!(!t2.duplicate);
    assert_eq!(t2.ticket.number, "TKT-0002");
}

/// Per-ticket sequences run 1..n without gaps, in activity order, interleaved across tickets.
pub async fn sequences_run_one_to_n(s: &Subject) {
    let f = Fixture::new(s).await;
    let a = f.ingest().await;
    let b = f.ingest().await;
    for i in 0..5 {
        f.fms
            .add_activity(a.id, comment(&f, &format!("a{i}")))
            .await
            .unwrap();
        f.fms
            .add_activity(b.id, comment(&f, &format!("b{i}")))
            .await
            .unwrap();
    }
    f.fms
        .change_status(a.id, Status::InProgress, None, None)
        .await
        .unwrap();
    for (ticket, n) in [(a.id, 7), (b.id, 6)] {
        let queue = f.queue(ticket).await;
        let seqs: Vec<i64> = queue.iter().map(|q| q.sequence).collect();
        assert_eq!(seqs, (1..=n).collect::<Vec<_>>());
        let activities = f.fms.activities(ticket).await.unwrap();
        let ids: Vec<_> = activities.iter().map(|a| a.id).collect();
        let queued: Vec<_> = queue.iter().map(|q| q.activity_id).collect();
        assert_eq!(ids, queued, "queue rows follow activity order");
    }
    // Concurrent writers on one ticket still produce 1..n.
    let adds = (0..10).map(|i| f.fms.add_activity(b.id, comment(&f, &format!("c{i}"))));
    for r in join_all(adds).await {
        r.unwrap();
    }
    let seqs: Vec<i64> = f.queue(b.id).await.iter().map(|q| q.sequence).collect();
    assert_eq!(seqs, (1..=16).collect::<Vec<_>>());
}

/// Eight concurrent intakes in one tenant get unique, gap-free numbers; another tenant counts
/// independently.
pub async fn ticket_numbers_are_gap_free_under_concurrency(s: &Subject) {
    let a = Fixture::named(s, "Tenant A").await;
    let b = Fixture::named(s, "Tenant B").await;
    let body_a = a.body();
    let body_b = b.body();
    let runs = (0..8)
        .map(|_| a.fms.ingest(&body_a, None))
        .chain((0..3).map(|_| b.fms.ingest(&body_b, None)));
    let mut seqs_a = BTreeSet::new();
    let mut seqs_b = BTreeSet::new();
    for r in join_all(runs).await {
        let t = r.unwrap().ticket;
        assert_eq!(t.number, format!("TKT-{:04}", t.seq));
        let set = if t.tenant_id == a.tenant.id {
            &mut seqs_a
        } else {
            &mut seqs_b
        };
        assert!(set.insert(t.seq), "duplicate number {}", t.number);
    }
    assert_eq!(seqs_a, (1..=8).collect());
    assert_eq!(seqs_b, (1..=3).collect());
}

/// Every (from, to) pair through the store: allowed moves succeed and write one
/// `status_changed` activity; forbidden ones fail with `invalid_transition` and write nothing.
pub async fn status_transition_table(s: &Subject) {
    let f = Fixture::new(s).await;
    // A path that visits every status: open -> in-progress -> on-hold -> in-progress ->
    // resolved -> in-progress (reopen) -> resolved -> closed.
    let path = [
        Status::InProgress,
        Status::OnHold,
        Status::InProgress,
        Status::Resolved,
        Status::InProgress,
        Status::Resolved,
        Status::Closed,
    ];
    let t = f.ingest().await;
    let mut current = Status::Open;
    let mut expected_activities = 1;
    for next in path {
        // Every forbidden move from `current` is rejected without a write.
        for to in Status::ALL {
            if allowed_targets(current).contains(&to) {
                continue;
            }
            let err = f.fms.change_status(t.id, to, None, None).await.unwrap_err();
            assert_eq!(err.code(), "invalid_transition", "{current} -> {to}");
        }
        let after = f
            .fms
            .change_status(t.id, next, Some(f.executor.id), Some("note".into()))
            .await
            .unwrap();
        assert_eq!(after.status, next);
        expected_activities += 1;
        let activities = f.fms.activities(t.id).await.unwrap();
        assert_eq!(activities.len(), expected_activities);
        let last = activities.last().unwrap();
        assert_eq!(last.activity_type, ActivityType::StatusChanged);
        assert_eq!(
            last.metadata,
            json!({"from": current.as_str(), "to": next.as_str()})
        );
        assert_eq!(last.created_by, Some(f.executor.id));
        current = next;
    }
    assert_eq!(f.queue(t.id).await.len(), expected_activities);
}

/// Two writers racing on one status: exactly one wins, the other sees the new status and is
/// rejected, and the log records one change.
pub async fn concurrent_status_changes_never_lose_an_update(s: &Subject) {
    let f = Fixture::new(s).await;
    let t = f.ingest().await;
    let runs = (0..6).map(|_| f.fms.change_status(t.id, Status::InProgress, None, None));
    let results = join_all(runs).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.code(), "invalid_transition");
    }
    assert_eq!(f.fms.activities(t.id).await.unwrap().len(), 2);
}

/// A queue row keeps the ticket as it was right after its activity: later changes do not
/// alter the payload of earlier rows.
pub async fn snapshot_keeps_the_state_after_its_activity(s: &Subject) {
    let f = Fixture::new(s).await;
    let t = f.ingest().await;
    f.fms
        .assign_executor(t.id, f.executor.id, None)
        .await
        .unwrap();
    f.fms
        .change_status(t.id, Status::Resolved, None, None)
        .await
        .unwrap();
    let queue = f.queue(t.id).await;
    assert_eq!(queue.len(), 3);
    let p1 = f.fms.payload(queue[0].id).await.unwrap();
    let p2 = f.fms.payload(queue[1].id).await.unwrap();
    let p3 = f.fms.payload(queue[2].id).await.unwrap();
    assert_eq!((p1.status.as_str(), p1.executor.is_none()), ("open", true));
    assert_eq!(p1.latest_activity.activity_type, "ticket_created");
    assert_eq!(p2.status, "in-progress");
    assert_eq!(
        p2.executor.as_ref().map(|e| e.name.as_str()),
        Some("Mike Johnson")
    );
    assert_eq!(p2.latest_activity.activity_type, "executor_assigned");
    assert_eq!(p3.status, "resolved");
    assert_eq!((p1.sequence, p2.sequence, p3.sequence), (1, 2, 3));
}

/// Ticket lists are newest first and page with a `(created_at, id)` cursor without repeats.
pub async fn tickets_list_newest_first_with_cursor(s: &Subject) {
    let f = Fixture::new(s).await;
    for _ in 0..5 {
        f.ingest().await;
    }
    let mut query = TicketQuery {
        tenant_id: f.tenant.id,
        status: None,
        before: None,
        limit: 2,
    };
    let mut seen = Vec::new();
    loop {
        let page = f.fms.tickets(&query).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        query.before = Some((last.created_at, last.id));
        seen.extend(page);
    }
    assert_eq!(seen.len(), 5);
    for w in seen.windows(2) {
        assert!((w[0].created_at, w[0].id) > (w[1].created_at, w[1].id));
    }
    let open = TicketQuery {
        status: Some(Status::Closed),
        before: None,
        limit: 10,
        ..query
    };
    assert!(f.fms.tickets(&open).await.unwrap().is_empty());
}

/// A tenant's queue rows page newest first by keyset (`QueueQuery::before`): the pages hold
/// every row once, in descending id order, wherever the store keeps finished rows, and the
/// state filter applies across pages.
pub async fn queue_rows_page_newest_first_by_keyset(s: &Subject) {
    let f = Fixture::new(s).await;
    for _ in 0..4 {
        let t = f.ingest().await;
        f.fms
            .add_activity(t.id, comment(&f, "again"))
            .await
            .unwrap();
    }
    let all = f
        .fms
        .queue_entries(&QueueQuery::tenant(f.tenant.id, None, 1_000))
        .await
        .unwrap();
    assert!(all.len() >= 8, "every intake and comment queued a row");
    // A finished row (moved out of the hot table where a store has one) pages like the rest.
    let skipped = all[all.len() / 2].id;
    f.fms.skip(skipped).await.unwrap();

    let rows = all.len();
    let page_through = |state: Option<QueueState>| {
        let fms = f.fms.clone();
        let tenant = f.tenant.id;
        async move {
            let mut query = QueueQuery::tenant(tenant, state, 3);
            let mut seen = Vec::new();
            loop {
                let page = fms.queue_entries(&query).await.unwrap();
                assert!(page.len() <= 3);
                let Some(last) = page.last() else {
                    return seen;
                };
                query = query.before(last.id);
                seen.extend(page.into_iter().map(|r| (r.id, r.state)));
                assert!(
                    seen.len() <= rows,
                    "a page repeated rows: the keyset is ignored"
                );
            }
        }
    };
    let seen = page_through(None).await;
    let ids: Vec<_> = seen.iter().map(|(id, _)| *id).collect();
    let expected: Vec<_> = all.iter().map(|r| r.id).collect();
    assert_eq!(ids, expected, "every row once, newest first");
    assert!(ids.windows(2).all(|w| w[0].0 > w[1].0));
    assert_eq!(
        page_through(Some(QueueState::Skipped)).await,
        vec![(skipped, QueueState::Skipped)]
    );
    assert_eq!(
        page_through(Some(QueueState::Pending)).await.len(),
        all.len() - 1
    );
}

/// The backlog (`queue_backlog`) counts the rows not done yet, per state, and nothing else:
/// it agrees with the full counts on pending, leased and parked rows, and a skipped row leaves
/// it.
pub async fn queue_backlog_counts_undone_rows_only(s: &Subject) {
    let f = Fixture::new(s).await;
    for _ in 0..3 {
        f.ingest().await;
    }
    let undone = |counts: Vec<(QueueState, u64)>| {
        let mut out: Vec<_> = counts
            .into_iter()
            .filter(|(state, n)| !state.is_done() && *n > 0)
            .collect();
        out.sort_by_key(|(state, _)| state.as_str());
        out
    };
    let backlog = undone(f.fms.queue_backlog().await.unwrap());
    assert_eq!(backlog, undone(f.fms.queue_counts().await.unwrap()));
    let pending = |b: &[(QueueState, u64)]| {
        b.iter()
            .find(|(state, _)| *state == QueueState::Pending)
            .map_or(0, |(_, n)| *n)
    };
    assert!(pending(&backlog) >= 3, "{backlog:?}");
    assert!(
        f.fms
            .queue_backlog()
            .await
            .unwrap()
            .iter()
            .all(|(state, _)| !state.is_done()),
        "only undone states"
    );

    let first = f
        .fms
        .queue_entries(&QueueQuery::tenant(
            f.tenant.id,
            Some(QueueState::Pending),
            1,
        ))
        .await
        .unwrap();
    f.fms.skip(first[0].id).await.unwrap();
    let after = undone(f.fms.queue_backlog().await.unwrap());
    assert_eq!(pending(&after), pending(&backlog) - 1, "{after:?}");
    assert_eq!(after, undone(f.fms.queue_counts().await.unwrap()));
}

/// The intake roster's open-ticket counts (kept by the store as tickets change) equal the
/// tickets' own state after assignments, reassignments (concurrent, in opposite directions
/// too), and moves in and out of the counted statuses (open, in progress, on hold).
pub async fn roster_counts_follow_assignments_and_status_changes(s: &Subject) {
    let f = Fixture::new(s).await;
    let other = f
        .fms
        .create_user(
            crate::user::NewUser::new(f.tenant.id, "Ann Lee", crate::user::Role::Executor)
                .with_chat_id("556"),
        )
        .await
        .unwrap();
    let (a, b) = (f.executor.id, other.id);
    let check = |step: &'static str| {
        let f = &f;
        async move {
            let tickets = f
                .fms
                .tickets(&TicketQuery {
                    tenant_id: f.tenant.id,
                    status: None,
                    before: None,
                    limit: 200,
                })
                .await
                .unwrap();
            let truth = |user| {
                tickets
                    .iter()
                    .filter(|t| {
                        t.executor_id == Some(user)
                            && matches!(
                                t.status,
                                Status::Open | Status::InProgress | Status::OnHold
                            )
                    })
                    .count() as u32
            };
            let roster = s
                .store
                .intake_context(f.tenant.id, "123456789")
                .await
                .unwrap()
                .roster;
            for c in &roster {
                assert_eq!(c.open_tickets, truth(c.user.id), "{step}: {}", c.user.name);
            }
            assert_eq!(roster.len(), 2, "{step}");
        }
    };
    let mut t = Vec::new();
    for _ in 0..6 {
        t.push(f.ingest().await.id);
    }
    check("unassigned").await;
    for (i, id) in t.iter().enumerate() {
        let to = if i % 2 == 0 { a } else { b };
        f.fms.assign_executor(*id, to, None).await.unwrap();
    }
    check("assigned").await;
    f.fms.assign_executor(t[1], a, None).await.unwrap();
    check("reassigned").await;
    f.fms
        .change_status(t[2], Status::OnHold, None, None)
        .await
        .unwrap();
    check("on hold").await;
    f.fms
        .change_status(t[2], Status::InProgress, None, None)
        .await
        .unwrap();
    f.fms
        .change_status(t[2], Status::Resolved, None, None)
        .await
        .unwrap();
    check("resolved").await;
    f.fms
        .change_status(t[2], Status::InProgress, None, None)
        .await
        .unwrap();
    check("reopened").await;
    f.fms
        .change_status(t[0], Status::Resolved, None, None)
        .await
        .unwrap();
    f.fms
        .change_status(t[0], Status::Closed, None, None)
        .await
        .unwrap();
    check("closed").await;

    // Reassignments in opposite directions at once, repeatedly: t[3] and t[4] swap owners.
    for round in 0..5 {
        let (x, y) = if round % 2 == 0 { (b, a) } else { (a, b) };
        let (one, two) = futures::join!(
            f.fms.assign_executor(t[3], x, None),
            f.fms.assign_executor(t[4], y, None)
        );
        for r in [one, two] {
            match r {
                Ok(_) | Err(crate::Error::Conflict { .. }) => {}
                Err(e) => panic!("round {round}: {e}"),
            }
        }
    }
    check("swapped concurrently").await;
}
