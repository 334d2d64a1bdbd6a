//! Group commit for completions that finish a row (delivered, skipped).
//!
//! A dispatcher completes each delivered row on its own, concurrently from up to `batch`
//! jobs; one statement each costs a round trip, a plan execution and a commit (WAL flush)
//! per row. The combiner is a background task per [`PgStore`](crate::PgStore) (all clones
//! share it): [`Combiner::finish`] hands it the row and waits for the answer; the task takes
//! the first row as soon as it arrives, adds every row that is waiting by then, and finishes
//! them all in one statement ([`FINISH_MOVE_MANY`]), while rows arriving meanwhile wait for
//! the next statement (at most [`IN_FLIGHT`] statements run at once). At low load a row runs
//! alone, immediately; under load the rows of a batch share one statement and one commit.
//!
//! Guarantees are those of the one-row statement it replaces, row by row:
//! - each row is fenced by its own lease token (and, when asked, by "the endpoint's breaker
//!   is healthy"); a row that fails its fence is left untouched and reported as not
//!   finished, and the caller takes the per-row path (which reports `Conflict` for a lost
//!   lease, or applies a breaker transition);
//! - the statement is atomic: if it fails, none of its rows was finished. When the server
//!   refused it (an error it reported, e.g. a deadlock or a constraint), each row is run again
//!   on its own, so only a row that fails by itself gets the error; after a connection error
//!   (the outcome is unknown) every row of it gets the error, as a single-row statement would
//!   report it (a row that stays leased is delivered again after the lease: at-least-once);
//! - each caller gets its own answer only after the statement committed.
//!
//! Several processes or pools each have their own combiner; the database coordinates them as
//! it does single-row completions (row locks, fencing tokens). Rows are sorted by id so that
//! two statements finishing overlapping rows (only possible after a lease was lost and the
//! row re-claimed) lock them in the same order.
//!
//! The task is started on first use, on the runtime of the caller (started again if that
//! runtime has gone), and stops when the last clone of the store is dropped.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use futures::future::join_all;
use futures::stream::{FuturesUnordered, StreamExt};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

/// The most rows one statement takes.
pub(crate) const MAX_GROUP: usize = 64;
/// The most statements in flight at once (each on its own pooled connection).
pub(crate) const IN_FLIGHT: usize = 2;

/// Finishes the leased rows of the arrays (one element per row), moving them to the archive;
/// a row whose `guard` is set finishes only while its tenant's breaker is healthy. The same
/// per-row logic as `FINISH_MOVE` in `queue.rs`. Returns `(id, lease_token)` of the rows
/// finished. (`q.id = ANY ($1)` lets the planner find the rows by primary key, O(rows); a
/// generic plan knows nothing of the arrays and would otherwise scan the hot table for
/// leased rows and hash it.)
const FINISH_MOVE_MANY: &str = "
WITH input AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::boolean[], $5::integer[],
                         $6::text[], $7::timestamptz[], $8::boolean[])
        AS i(in_id, in_token, in_state, in_attempted, in_status, in_error, in_finished,
             in_guard)
), done AS (
    DELETE FROM ticket_webhook_queue q
    USING input i
    WHERE q.id = ANY ($1::bigint[])
      AND q.id = i.in_id AND q.lease_token = i.in_token AND q.state = 'leased'
      AND (NOT i.in_guard OR EXISTS (
          SELECT 1 FROM tenants t WHERE t.id = q.tenant_id AND t.endpoint_failures = 0
            AND t.endpoint_paused_until IS NULL AND t.endpoint_probe_until IS NULL
            AND t.endpoint_disabled_at IS NULL))
    RETURNING q.*, i.in_state, i.in_attempted, i.in_status, i.in_error, i.in_finished
), moved AS (
    INSERT INTO ticket_webhook_deliveries (id, tenant_id, ticket_id, activity_id, sequence,
        state, attempts, next_attempt_at, lease_token, first_attempt_at, last_status_code,
        last_error, created_at, finished_at, snap_status, snap_priority, snap_executor_id,
        snap_response_due_at, snap_resolution_due_at)
    SELECT id, tenant_id, ticket_id, activity_id, sequence,
        in_state, attempts + CASE WHEN in_attempted THEN 1 ELSE 0 END, next_attempt_at,
        lease_token, first_attempt_at,
        CASE WHEN in_attempted THEN in_status ELSE last_status_code END,
        CASE WHEN in_attempted OR in_error IS NOT NULL THEN in_error ELSE last_error END,
        created_at, in_finished, snap_status, snap_priority, snap_executor_id,
        snap_response_due_at, snap_resolution_due_at
    FROM done
    RETURNING id, lease_token
)
SELECT id, lease_token FROM moved";

/// One row to finish.
#[derive(Debug)]
pub(crate) struct Finish {
    pub(crate) id: i64,
    pub(crate) token: i64,
    /// `delivered` or `skipped`.
    pub(crate) state: &'static str,
    pub(crate) attempted: bool,
    pub(crate) status: Option<i32>,
    pub(crate) error: Option<String>,
    pub(crate) finished: DateTime<Utc>,
    /// Finish only while the tenant's breaker is healthy.
    pub(crate) guard: bool,
}

/// Whether the row was finished, or the statement's error (shared by its rows).
type Answer = std::result::Result<bool, Arc<sqlx::Error>>;

struct Job {
    finish: Finish,
    answer: oneshot::Sender<Answer>,
}

/// The sending side, shared by the clones of a store; the task stops when it is dropped.
#[derive(Debug)]
pub(crate) struct Combiner {
    pool: PgPool,
    jobs: Mutex<Option<mpsc::UnboundedSender<Job>>>,
}

impl Combiner {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self {
            pool,
            jobs: Mutex::new(None),
        }
    }

    /// Finishes `finish` in the next statement; `Ok(false)` if its fence failed (nothing
    /// changed).
    pub(crate) async fn finish(&self, finish: Finish) -> Result<bool> {
        let (answer, answered) = oneshot::channel();
        self.send(Job { finish, answer });
        match answered.await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(e)) => Err(Error::Shared(e)),
            // The task was dropped with its runtime before answering.
            Err(_) => Err(Error::Sqlx(sqlx::Error::WorkerCrashed)),
        }
    }

    fn send(&self, job: Job) {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        let job = match jobs.as_ref() {
            Some(sender) => match sender.send(job) {
                Ok(()) => return,
                // The task's runtime has gone: start it again on this one.
                Err(mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(self.pool.clone(), receiver));
        // The receiver is alive (owned by the task just spawned), so this cannot fail; if it
        // did, the job's answer channel would close and the caller get an error.
        let _ = sender.send(job);
        *jobs = Some(sender);
    }
}

async fn run(pool: PgPool, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut running = FuturesUnordered::new();
    let mut open = true;
    while open || !running.is_empty() {
        tokio::select! {
            biased;
            Some(()) = running.next(), if !running.is_empty() => {}
            job = jobs.recv(), if open && running.len() < IN_FLIGHT => match job {
                Some(first) => {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match jobs.try_recv() {
                            Ok(job) => group.push(job),
                            Err(_) => break,
                        }
                    }
                    running.push(execute(&pool, group));
                }
                None => open = false,
            },
        }
    }
}

async fn execute(pool: &PgPool, mut group: Vec<Job>) {
    group.sort_by_key(|j| j.finish.id);
    let result = finish_many(pool, group.iter().map(|j| &j.finish)).await;
    match result {
        Ok(mut done) => answer(group, &mut done),
        // The server refused the statement, so none of it happened: run each row on its
        // own, so that a row the database refuses fails alone instead of every row batched
        // with it, every time. (Not after a connection error: the statement may have
        // committed, and its rows would then report a lost lease instead of the error.)
        Err(sqlx::Error::Database(_)) if group.len() > 1 => {
            join_all(group.into_iter().map(|j| async move {
                match finish_many(pool, std::iter::once(&j.finish)).await {
                    Ok(mut done) => answer(vec![j], &mut done),
                    Err(e) => {
                        let _ = j.answer.send(Err(Arc::new(e)));
                    }
                }
            }))
            .await;
        }
        Err(e) => {
            let e = Arc::new(e);
            for j in group {
                let _ = j.answer.send(Err(e.clone()));
            }
        }
    }
}

/// Answers each job: finished if `done` holds its row.
fn answer(group: Vec<Job>, done: &mut HashSet<(i64, i64)>) {
    for j in group {
        // `remove`: a duplicate of a row (same id and token) counts as finished once.
        let finished = done.remove(&(j.finish.id, j.finish.token));
        let _ = j.answer.send(Ok(finished));
    }
}

/// Runs [`FINISH_MOVE_MANY`] for `rows`; returns the `(id, lease_token)` of those finished.
async fn finish_many<'a>(
    pool: &PgPool,
    rows: impl ExactSizeIterator<Item = &'a Finish>,
) -> std::result::Result<HashSet<(i64, i64)>, sqlx::Error> {
    let n = rows.len();
    let (mut ids, mut tokens, mut states, mut attempted) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut statuses, mut errors, mut finished, mut guards) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for f in rows {
        ids.push(f.id);
        tokens.push(f.token);
        states.push(f.state);
        attempted.push(f.attempted);
        statuses.push(f.status);
        errors.push(f.error.as_deref());
        finished.push(f.finished);
        guards.push(f.guard);
    }
    let rows = sqlx::query_as::<_, (i64, i64)>(FINISH_MOVE_MANY)
        .bind(ids)
        .bind(tokens)
        .bind(states)
        .bind(attempted)
        .bind(statuses)
        .bind(errors)
        .bind(finished)
        .bind(guards)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().collect())
}
