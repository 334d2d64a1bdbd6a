//! Group commit for completions that finish a row (delivered, skipped).
//!
//! A dispatcher completes each delivered row on its own, concurrently from up to `batch`
//! jobs; one statement each costs a round trip, a plan execution and a commit (WAL flush)
//! per row. The combiner is a background task per [`PgStore`](crate::PgStore) (all clones
//! share it): [`Combiner::finish`] hands it the row and waits for the answer; the task takes
//! the first row as soon as it arrives, adds every row that is waiting by then, and finishes
//! them all in one statement ([`FINISH_MANY`]), while rows arriving meanwhile wait for
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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use fms_core::queue::Completion;
use futures::future::join_all;
use futures::stream::{FuturesUnordered, StreamExt};
use sqlx::{PgExecutor, PgPool};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::row::resolution_columns;

/// The most rows one statement takes.
pub(crate) const MAX_GROUP: usize = 64;
/// The most statements in flight at once (each on its own pooled connection).
pub(crate) const IN_FLIGHT: usize = 2;

/// Finishes the leased rows of the arrays (one element per row) with the SQL function
/// `ticket_webhook_finish` (migration 0004): each row fenced by its lease token (and, where
/// `guard` is set, by "the tenant's breaker is healthy"), found by primary key whatever the
/// table statistics; `delivered` and `skipped` rows move to the archive, other states are
/// written in place. Returns `(id, lease_token, tenant_id)` of the rows finished.
const FINISH_MANY: &str = "SELECT o_id, o_token, o_tenant \
     FROM ticket_webhook_finish($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// One row to finish.
#[derive(Debug)]
pub(crate) struct Finish {
    pub(crate) id: i64,
    pub(crate) token: i64,
    /// The row's new state: `delivered` or `skipped` (moves to the archive), `pending` or
    /// `parked` (stays).
    pub(crate) state: &'static str,
    pub(crate) attempted: bool,
    /// The new due time, if it changes.
    pub(crate) next: Option<DateTime<Utc>>,
    pub(crate) status: Option<i32>,
    pub(crate) error: Option<String>,
    /// When a row that moves to the archive finished (`None` for a row that stays).
    pub(crate) finished: Option<DateTime<Utc>>,
    /// Finish only while the tenant's breaker is healthy.
    pub(crate) guard: bool,
}

impl Finish {
    /// The row change `done` asks for; `guard`: only while the breaker is healthy.
    pub(crate) fn new(done: &Completion, guard: bool) -> Self {
        let (state, next, finished) = resolution_columns(done);
        Self {
            id: done.entry.0,
            token: done.token,
            state,
            attempted: done.attempted,
            next,
            status: done.status_code.map(i32::from),
            error: done.error.clone(),
            finished,
            guard,
        }
    }
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
fn answer(group: Vec<Job>, done: &mut Finished) {
    for j in group {
        // `remove`: a duplicate of a row (same id and token) counts as finished once.
        let finished = done.remove(&(j.finish.id, j.finish.token)).is_some();
        let _ = j.answer.send(Ok(finished));
    }
}

/// The rows a finish statement finished: `(id, lease_token)` to the row's tenant.
pub(crate) type Finished = HashMap<(i64, i64), Uuid>;

/// Runs [`FINISH_MANY`] for `rows` on `conn` (a pool, or a connection inside a transaction).
pub(crate) async fn finish_many<'a, 'c>(
    conn: impl PgExecutor<'c>,
    rows: impl ExactSizeIterator<Item = &'a Finish>,
) -> std::result::Result<Finished, sqlx::Error> {
    let n = rows.len();
    let (mut ids, mut tokens, mut states, mut attempted, mut next) = (
        Vec::with_capacity(n),
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
        next.push(f.next);
        statuses.push(f.status);
        errors.push(f.error.as_deref());
        finished.push(f.finished);
        guards.push(f.guard);
    }
    let rows = sqlx::query_as::<_, (i64, i64, Uuid)>(FINISH_MANY)
        .bind(ids)
        .bind(tokens)
        .bind(states)
        .bind(attempted)
        .bind(next)
        .bind(statuses)
        .bind(errors)
        .bind(finished)
        .bind(guards)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, token, tenant)| ((id, token), tenant))
        .collect())
}
