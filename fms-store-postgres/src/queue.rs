//! The delivery queues (ticket webhooks and onboarding requests): claims (`FOR UPDATE SKIP
//! LOCKED` leases with fencing tokens), fenced completions, the endpoint breakers, replay and
//! skip; and the outbox's endpoint health and counts.
//!
//! Nothing is held across the HTTP call: a claim is one statement (autocommit), a completion
//! is one statement when the endpoint's breaker does not change, otherwise a short
//! transaction that locks the tenant row. Completions that move a row to the archive with no
//! breaker change (a 2xx on a healthy endpoint, a skip) go through the store's combiner
//! (`combiner.rs`), which finishes the rows waiting at the same time in one statement.

use std::future::Future;

use chrono::{DateTime, Utc};
use fms_core::delivery::{Admission, BreakerState};
use fms_core::ids::{QueueEntryId, TenantId};
use fms_core::payload::PayloadParts;
use fms_core::queue::{
    BreakerUpdate, Claim, ClaimOptions, Completion, CompletionEffect, OnboardingEntry,
    OnboardingQueue, QueueEntry, QueueKind, QueueQuery, QueueState, Resolution, TicketQueue,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::PgStore;
use crate::combiner::{self, Combiner, Finish};
use crate::error::{Error, Result};
use crate::row::resolution_columns;
use crate::row::{BreakerRow, ClaimRow, PartsRow, QueueRow, at, parts_columns};
use async_trait::async_trait;
use fms_core::store::{OutboxStore, QueueStore, StoreError};
use sqlx::types::Json;

/// The claim, in one statement: the SQL function `ticket_webhook_claim` (migration 0004)
/// picks the due rows that head their ticket's line on an endpoint the breaker admits, locks
/// them with `SKIP LOCKED` (concurrent dispatchers take disjoint rows), takes the probe slot
/// of an endpoint due a probe for that endpoint's first row only, leases the rows (state,
/// fencing token, expiry, first attempt) and returns each with the rows its payload needs, as
/// composite values; the `LATERAL` projections below spread them into the plain prefixed
/// columns [`ClaimRow`] reads. The function's plan is fixed by its own settings: a walk of the
/// due index that stops after `$2` rows and a primary-key lookup per row for everything else,
/// whatever the table statistics (see the migration).
const CLAIM: &str = concat!(
    "SELECT ",
    parts_columns!("l"),
    ",
       l.lease_token, l.first_attempt_at,
       tn.endpoint_failures, tn.endpoint_paused_until,
       COALESCE(f.o_probe_until, tn.endpoint_probe_until) AS endpoint_probe_until,
       tn.endpoint_disabled_at
FROM ticket_webhook_claim($1, $2, $3) f
CROSS JOIN LATERAL (SELECT (f.o_entry).*) l
CROSS JOIN LATERAL (SELECT (f.o_ticket).*) tk
CROSS JOIN LATERAL (SELECT (f.o_activity).*) a
CROSS JOIN LATERAL (SELECT (f.o_tenant).*) tn
CROSS JOIN LATERAL (SELECT (f.o_complainant).*) c
CROSS JOIN LATERAL (SELECT (f.o_executor).*) x
CROSS JOIN LATERAL (SELECT (f.o_author).*) au
ORDER BY l.id"
);

async fn claim(pool: &PgPool, o: &ClaimOptions) -> Result<Vec<Claim>> {
    let now = at(o.now);
    let rows = sqlx::query_as::<_, ClaimRow>(CLAIM)
        .bind(now)
        .bind(i64::from(o.limit))
        .bind(at(o.now + o.lease))
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| {
            let (entry, parts) = r.parts.into_domain()?;
            Ok(Claim {
                entry,
                token: r.lease_token,
                first_attempt_at: r.first_attempt_at.unwrap_or(now),
                message: parts,
            })
        })
        .collect()
}

const LOCK_BREAKER: &str = "SELECT endpoint_failures, endpoint_paused_until, \
     endpoint_probe_until, endpoint_disabled_at FROM tenants WHERE id = $1 FOR UPDATE";

const SAVE_BREAKER: &str = "UPDATE tenants SET endpoint_failures = $2, \
     endpoint_paused_until = $3, endpoint_probe_until = $4, endpoint_disabled_at = $5 \
     WHERE id = $1";

/// Finishes one row (`ticket_webhook_finish`, as the combiner does for many); `Some(tenant)`
/// if its fence held.
async fn finish(
    conn: &mut PgConnection,
    done: &Completion,
    only_if_healthy: bool,
) -> Result<Option<Uuid>> {
    let finish = Finish::new(done, only_if_healthy);
    let finished = combiner::finish_many(&mut *conn, std::iter::once(&finish)).await?;
    Ok(finished.get(&(finish.id, finish.token)).copied())
}

fn lost_lease() -> Error {
    Error::Conflict("the lease was lost: another dispatcher holds or finished this row".into())
}

async fn complete(
    pool: &PgPool,
    combiner: &Combiner,
    done: &Completion,
) -> Result<CompletionEffect> {
    // Fast path: a row that moves to the archive (delivered, skipped) with no breaker
    // transition to write: no breaker update at all, or an outcome that leaves a healthy
    // breaker healthy (a 2xx), guarded by "the breaker is healthy". It goes to the combiner,
    // which finishes it in one statement with whatever other rows are waiting (the same
    // fenced statement per row, one commit).
    let moves = matches!(done.resolution, Resolution::Delivered | Resolution::Skipped);
    let guard = match &done.breaker {
        None => Some(false),
        Some(update) => keeps_healthy(update, done.now).then_some(true),
    };
    if moves && let Some(guard) = guard {
        if combiner.finish(Finish::new(done, guard)).await? {
            return Ok(CompletionEffect::default());
        }
        if !guard {
            return Err(lost_lease());
        }
        // The lease was lost or the breaker is not healthy: the per-row path below tells.
    }
    let Some(update) = &done.breaker else {
        // No breaker change: one statement.
        let mut conn = pool.acquire().await?;
        return match finish(&mut conn, done, false).await? {
            Some(_) => Ok(CompletionEffect::default()),
            None => Err(lost_lease()),
        };
    };
    // Slow path: finish, then lock the tenant row and apply the transition to its current
    // state, in one short transaction (concurrent completions never lose a failure count).
    let mut tx = pool.begin().await?;
    let Some(tenant) = finish(&mut tx, done, false).await? else {
        return Err(lost_lease());
    };
    let mut state = sqlx::query_as::<_, BreakerRow>(LOCK_BREAKER)
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?
        .into_domain();
    let before = state.clone();
    let effect = CompletionEffect {
        endpoint_disabled: update.apply(&mut state, done.now),
    };
    if state != before {
        save_breaker(&mut tx, tenant, &state).await?;
    }
    tx.commit().await?;
    Ok(effect)
}

/// Whether `update` leaves a healthy breaker healthy (and disables nothing): then a
/// completion on a healthy endpoint has nothing to write on the tenant.
fn keeps_healthy(update: &BreakerUpdate, now: DateTime<Utc>) -> bool {
    let mut healthy = BreakerState::default();
    !update.apply(&mut healthy, now) && healthy == BreakerState::default()
}

async fn save_breaker(conn: &mut PgConnection, tenant: Uuid, s: &BreakerState) -> Result<()> {
    sqlx::query(SAVE_BREAKER)
        .bind(tenant)
        .bind(i32::try_from(s.consecutive_failures).unwrap_or(i32::MAX))
        .bind(s.paused_until.map(at))
        .bind(s.probe_until.map(at))
        .bind(s.disabled_at.map(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Replay: a parked row goes back to pending in place; a skipped row moves back from the
/// archive into the hot table, same id.
const REPLAY: &str = "
WITH parked AS (
    UPDATE ticket_webhook_queue SET state = 'pending', attempts = 0, next_attempt_at = $2,
        first_attempt_at = NULL, finished_at = NULL, last_error = NULL
    WHERE id = $1 AND state = 'parked'
    RETURNING id
), back AS (
    DELETE FROM ticket_webhook_deliveries WHERE id = $1 AND state = 'skipped'
    RETURNING *
), moved AS (
    INSERT INTO ticket_webhook_queue (id, tenant_id, ticket_id, activity_id, sequence, state,
        attempts, next_attempt_at, lease_token, first_attempt_at, last_status_code,
        last_error, created_at, finished_at, snap_status, snap_priority, snap_executor_id,
        snap_response_due_at, snap_resolution_due_at)
    SELECT id, tenant_id, ticket_id, activity_id, sequence, 'pending', 0, $2, lease_token,
        NULL, last_status_code, NULL, created_at, NULL, snap_status, snap_priority,
        snap_executor_id, snap_response_due_at, snap_resolution_due_at
    FROM back
    RETURNING id
)
SELECT id FROM parked UNION ALL SELECT id FROM moved";

/// Skip: a pending or parked row moves to the archive as skipped.
const SKIP: &str = "
WITH gone AS (
    DELETE FROM ticket_webhook_queue WHERE id = $1 AND state IN ('pending', 'parked')
    RETURNING *
)
INSERT INTO ticket_webhook_deliveries (id, tenant_id, ticket_id, activity_id, sequence, state,
    attempts, next_attempt_at, lease_token, first_attempt_at, last_status_code, last_error,
    created_at, finished_at, snap_status, snap_priority, snap_executor_id,
    snap_response_due_at, snap_resolution_due_at)
SELECT id, tenant_id, ticket_id, activity_id, sequence, 'skipped', attempts, next_attempt_at,
    lease_token, first_attempt_at, last_status_code, 'skipped by an operator', created_at, $2,
    snap_status, snap_priority, snap_executor_id, snap_response_due_at, snap_resolution_due_at
FROM gone
RETURNING id";

/// One statement per filter shape, so every plan can use its index (`$1 IS NULL OR ...` in a
/// generic plan cannot). The keyset bound `id < $n` is always given (`i64::MAX` for a first
/// page), so it is a range on the `(tenant_id, id)` indexes of both tables.
const ROWS_OF_TICKET: &str = "SELECT * FROM ticket_webhook_rows WHERE ticket_id = $1 \
     AND ($2::text IS NULL OR state = $2) AND ($3::uuid IS NULL OR tenant_id = $3) \
     AND id < $5 ORDER BY sequence LIMIT $4";
const ROWS_OF_TENANT: &str = "SELECT * FROM ticket_webhook_rows WHERE tenant_id = $1 \
     AND ($2::text IS NULL OR state = $2) AND id < $4 ORDER BY id DESC LIMIT $3";
const ALL_ROWS: &str = "SELECT * FROM ticket_webhook_rows \
     WHERE ($1::text IS NULL OR state = $1) AND id < $3 ORDER BY id DESC LIMIT $2";

async fn queue_entries(pool: &PgPool, q: &QueueQuery) -> Result<Vec<QueueEntry>> {
    let state = q.state.map(|s| s.as_str());
    let limit = i64::from(q.limit);
    let before = q.before.map_or(i64::MAX, |b| b.0);
    let rows = match (q.ticket_id, q.tenant_id) {
        (Some(ticket), tenant) => {
            sqlx::query_as::<_, QueueRow>(ROWS_OF_TICKET)
                .bind(ticket.as_uuid())
                .bind(state)
                .bind(tenant.map(|t| t.as_uuid()))
                .bind(limit)
                .bind(before)
                .fetch_all(pool)
                .await?
        }
        (None, Some(tenant)) => {
            sqlx::query_as::<_, QueueRow>(ROWS_OF_TENANT)
                .bind(tenant.as_uuid())
                .bind(state)
                .bind(limit)
                .bind(before)
                .fetch_all(pool)
                .await?
        }
        (None, None) => {
            sqlx::query_as::<_, QueueRow>(ALL_ROWS)
                .bind(state)
                .bind(limit)
                .bind(before)
                .fetch_all(pool)
                .await?
        }
    };
    rows.into_iter().map(QueueRow::into_domain).collect()
}

async fn queue_entry(pool: &PgPool, id: QueueEntryId) -> Result<QueueEntry> {
    sqlx::query_as::<_, QueueRow>("SELECT * FROM ticket_webhook_rows WHERE id = $1")
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(Error::NotFound("queue entry"))?
        .into_domain()
}

/// A queue row (wherever it is) with its ticket, activity, tenant and users.
const PARTS: &str = concat!(
    "
SELECT ",
    parts_columns!("q"),
    "
FROM ticket_webhook_rows q
JOIN tickets tk ON tk.id = q.ticket_id
JOIN ticket_activities a ON a.id = q.activity_id
JOIN tenants tn ON tn.id = q.tenant_id
JOIN users c ON c.id = tk.complainant_id
LEFT JOIN users x ON x.id = q.snap_executor_id
LEFT JOIN users au ON au.id = a.created_by
WHERE q.id = $1"
);

async fn payload_parts(pool: &PgPool, id: QueueEntryId) -> Result<PayloadParts> {
    let row = sqlx::query_as::<_, PartsRow>(PARTS)
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(Error::NotFound("queue entry"))?;
    Ok(row.into_domain()?.1)
}

/// What the operator's moves (replay, skip) need to know of a queue: their SQL (binding the
/// row id and `now`, returning the id when the row moved) and how to read a row back.
trait OperatorMoves: QueueKind {
    /// Parked or skipped -> pending, due now, attempts reset.
    const REPLAY: &'static str;
    /// Pending or parked -> skipped.
    const SKIP: &'static str;
    /// One row (`NotFound` if there is none).
    fn read(pool: &PgPool, id: QueueEntryId) -> impl Future<Output = Result<Self::Entry>> + Send;
}

impl OperatorMoves for TicketQueue {
    const REPLAY: &'static str = REPLAY;
    const SKIP: &'static str = SKIP;
    fn read(pool: &PgPool, id: QueueEntryId) -> impl Future<Output = Result<QueueEntry>> + Send {
        queue_entry(pool, id)
    }
}

impl OperatorMoves for OnboardingQueue {
    const REPLAY: &'static str = ONBOARDING_REPLAY;
    const SKIP: &'static str = ONBOARDING_SKIP;
    fn read(
        pool: &PgPool,
        id: QueueEntryId,
    ) -> impl Future<Output = Result<OnboardingEntry>> + Send {
        onboarding_entry(pool, id)
    }
}

async fn replay<Q: OperatorMoves>(
    pool: &PgPool,
    id: QueueEntryId,
    now: DateTime<Utc>,
) -> Result<Q::Entry> {
    operator_move::<Q>(
        pool,
        id,
        Q::REPLAY,
        now,
        "only parked or skipped rows can be replayed",
    )
    .await
}

async fn skip<Q: OperatorMoves>(
    pool: &PgPool,
    id: QueueEntryId,
    now: DateTime<Utc>,
) -> Result<Q::Entry> {
    operator_move::<Q>(
        pool,
        id,
        Q::SKIP,
        now,
        "only pending or parked rows can be skipped",
    )
    .await
}

/// Runs an operator's move and reads the row after it: `NotFound` when there is no such row,
/// `Conflict` (`refusal`) when the row is not in a state the move accepts.
async fn operator_move<Q: OperatorMoves>(
    pool: &PgPool,
    id: QueueEntryId,
    sql: &'static str,
    now: DateTime<Utc>,
    refusal: &str,
) -> Result<Q::Entry> {
    let moved: Option<i64> = sqlx::query_scalar(sql)
        .bind(id.0)
        .bind(at(now))
        .fetch_optional(pool)
        .await?;
    let entry = Q::read(pool, id).await?;
    if moved.is_none() {
        return Err(Error::Conflict(refusal.to_owned()));
    }
    Ok(entry)
}

async fn endpoint_state(pool: &PgPool, tenant: TenantId) -> Result<BreakerState> {
    Ok(sqlx::query_as::<_, BreakerRow>(
        "SELECT endpoint_failures, endpoint_paused_until, endpoint_probe_until, \
         endpoint_disabled_at FROM tenants WHERE id = $1",
    )
    .bind(tenant.as_uuid())
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound("tenant"))?
    .into_domain())
}

async fn reset_endpoint(pool: &PgPool, tenant: TenantId) -> Result<()> {
    let updated = sqlx::query(
        "UPDATE tenants SET endpoint_failures = 0, endpoint_paused_until = NULL, \
         endpoint_probe_until = NULL, endpoint_disabled_at = NULL WHERE id = $1",
    )
    .bind(tenant.as_uuid())
    .execute(pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::NotFound("tenant"));
    }
    Ok(())
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn payload_parts(&self, entry: QueueEntryId) -> Result<PayloadParts, StoreError> {
        Ok(payload_parts(&self.pool, entry).await?)
    }

    async fn endpoint_state(&self, tenant: TenantId) -> Result<BreakerState, StoreError> {
        Ok(endpoint_state(&self.pool, tenant).await?)
    }

    async fn reset_endpoint(&self, tenant: TenantId) -> Result<(), StoreError> {
        Ok(reset_endpoint(&self.pool, tenant).await?)
    }

    async fn queue_counts(&self) -> Result<Vec<(QueueState, u64)>, StoreError> {
        Ok(queue_counts(&self.pool).await?)
    }

    async fn queue_backlog(&self) -> Result<Vec<(QueueState, u64)>, StoreError> {
        Ok(queue_backlog(&self.pool).await?)
    }

    /// LISTEN/NOTIFY on `fms_webhook_queue` (none when notifications are off).
    fn wakeups(&self) -> Option<&dyn fms_core::store::WakeupSource> {
        Some(self)
    }
}

/// Rows per state, hot table and archive together.
async fn queue_counts(pool: &PgPool) -> Result<Vec<(QueueState, u64)>> {
    state_counts(
        pool,
        "SELECT state, count(*) FROM ticket_webhook_queue GROUP BY state \
         UNION ALL SELECT state, count(*) FROM ticket_webhook_deliveries GROUP BY state",
    )
    .await
}

/// Rows per undone state: the hot table holds exactly those (finished rows are archived).
async fn queue_backlog(pool: &PgPool) -> Result<Vec<(QueueState, u64)>> {
    state_counts(
        pool,
        "SELECT state, count(*) FROM ticket_webhook_queue GROUP BY state",
    )
    .await
}

async fn state_counts(pool: &PgPool, sql: &'static str) -> Result<Vec<(QueueState, u64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(state, n)| Some((state.parse().ok()?, u64::try_from(n).unwrap_or(0))))
        .collect())
}

// The onboarding queue: its own rows (finished rows stay in the table) and one endpoint
// breaker row named `onboarding`.

const ONBOARDING_ENDPOINT: &str = "onboarding";

#[derive(sqlx::FromRow)]
struct OnboardingRow {
    id: i64,
    tenant_id: Uuid,
    correlation_id: String,
    state: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
}

impl OnboardingRow {
    fn into_domain(self) -> Result<OnboardingEntry> {
        Ok(OnboardingEntry {
            id: QueueEntryId(self.id),
            tenant_id: self.tenant_id.into(),
            correlation_id: self.correlation_id,
            state: self
                .state
                .parse()
                .map_err(|e| Error::Corrupt(format!("queue state: {e}")))?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            next_attempt_at: self.next_attempt_at,
            last_status_code: self.last_status_code.and_then(|c| u16::try_from(c).ok()),
            last_error: self.last_error,
            created_at: self.created_at,
        })
    }
}

async fn lock_onboarding_breaker(conn: &mut PgConnection) -> Result<BreakerState> {
    Ok(sqlx::query_as::<_, BreakerRow>(
        "SELECT endpoint_failures, endpoint_paused_until, endpoint_probe_until, \
         endpoint_disabled_at FROM webhook_endpoints WHERE name = $1 FOR UPDATE",
    )
    .bind(ONBOARDING_ENDPOINT)
    .fetch_optional(conn)
    .await?
    .map(BreakerRow::into_domain)
    .unwrap_or_default())
}

async fn save_onboarding_breaker(conn: &mut PgConnection, s: &BreakerState) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_endpoints SET endpoint_failures = $2, endpoint_paused_until = $3, \
         endpoint_probe_until = $4, endpoint_disabled_at = $5 WHERE name = $1",
    )
    .bind(ONBOARDING_ENDPOINT)
    .bind(i32::try_from(s.consecutive_failures).unwrap_or(i32::MAX))
    .bind(s.paused_until.map(at))
    .bind(s.probe_until.map(at))
    .bind(s.disabled_at.map(at))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ClaimedOnboardingRow {
    #[sqlx(flatten)]
    entry: OnboardingRow,
    lease_token: i64,
    first_attempt_at: Option<DateTime<Utc>>,
    payload: Json<serde_json::Value>,
}

async fn claim_onboarding(pool: &PgPool, o: &ClaimOptions) -> Result<Vec<Claim<OnboardingQueue>>> {
    let now = at(o.now);
    let lease_end = at(o.now + o.lease);
    let mut tx = pool.begin().await?;
    let mut breaker = lock_onboarding_breaker(&mut tx).await?;
    let admission = breaker.admission(o.now);
    let limit = match admission {
        Admission::Send => o.limit,
        Admission::Probe => 1.min(o.limit),
        _ => 0,
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as::<_, ClaimedOnboardingRow>(
        "UPDATE onboarding_webhook_queue q SET state = 'leased', \
           lease_token = q.lease_token + 1, next_attempt_at = $2, \
           first_attempt_at = COALESCE(q.first_attempt_at, $1) \
         WHERE q.id IN (SELECT id FROM onboarding_webhook_queue \
                        WHERE state IN ('pending', 'leased') AND next_attempt_at <= $1 \
                        ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING q.*",
    )
    .bind(now)
    .bind(lease_end)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    if admission == Admission::Probe && !rows.is_empty() {
        // The probe slot is taken only by a row that is actually sent.
        breaker.probe_until = Some(lease_end);
        save_onboarding_breaker(&mut tx, &breaker).await?;
    }
    tx.commit().await?;
    let mut claims: Vec<Claim<OnboardingQueue>> = rows
        .into_iter()
        .map(|r| {
            Ok(Claim {
                token: r.lease_token,
                first_attempt_at: r.first_attempt_at.unwrap_or(now),
                message: r.payload.0,
                entry: r.entry.into_domain()?,
            })
        })
        .collect::<Result<_>>()?;
    claims.sort_by_key(|c| (c.entry.next_attempt_at, c.entry.id));
    Ok(claims)
}

async fn complete_onboarding(pool: &PgPool, done: &Completion) -> Result<CompletionEffect> {
    let (state, next, finished) = resolution_columns(done);
    let mut tx = pool.begin().await?;
    let n = sqlx::query(
        "UPDATE onboarding_webhook_queue SET state = $3, \
           attempts = attempts + CASE WHEN $4 THEN 1 ELSE 0 END, \
           next_attempt_at = COALESCE($5, next_attempt_at), \
           last_status_code = CASE WHEN $4 THEN $6 ELSE last_status_code END, \
           last_error = CASE WHEN $4 OR $7::text IS NOT NULL THEN $7 ELSE last_error END, \
           finished_at = $8 \
         WHERE id = $1 AND lease_token = $2 AND state = 'leased'",
    )
    .bind(done.entry.0)
    .bind(done.token)
    .bind(state)
    .bind(done.attempted)
    .bind(next)
    .bind(done.status_code.map(i32::from))
    .bind(done.error.as_deref())
    .bind(finished)
    .execute(&mut *tx)
    .await?;
    if n.rows_affected() == 0 {
        return Err(Error::Conflict(
            "the lease was lost: another dispatcher holds or finished this row".into(),
        ));
    }
    let mut effect = CompletionEffect::default();
    if let Some(update) = &done.breaker {
        let mut state = lock_onboarding_breaker(&mut tx).await?;
        let before = state.clone();
        effect.endpoint_disabled = update.apply(&mut state, done.now);
        if state != before {
            save_onboarding_breaker(&mut tx, &state).await?;
        }
    }
    tx.commit().await?;
    Ok(effect)
}

async fn onboarding_entry(pool: &PgPool, id: QueueEntryId) -> Result<OnboardingEntry> {
    sqlx::query_as::<_, OnboardingRow>("SELECT * FROM onboarding_webhook_queue WHERE id = $1")
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(Error::NotFound("queue entry"))?
        .into_domain()
}

/// Onboarding rows, newest first (they have no ticket: a ticket filter matches none).
async fn onboarding_entries(pool: &PgPool, q: &QueueQuery) -> Result<Vec<OnboardingEntry>> {
    if q.ticket_id.is_some() {
        return Ok(Vec::new());
    }
    sqlx::query_as::<_, OnboardingRow>(
        "SELECT * FROM onboarding_webhook_queue \
         WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR state = $2) \
         AND id < $4 ORDER BY id DESC LIMIT $3",
    )
    .bind(q.tenant_id.map(|t| t.as_uuid()))
    .bind(q.state.map(|s| s.as_str()))
    .bind(i64::from(q.limit))
    .bind(q.before.map_or(i64::MAX, |b| b.0))
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(OnboardingRow::into_domain)
    .collect()
}

/// Replay of an onboarding row: in place (the table keeps finished rows).
const ONBOARDING_REPLAY: &str = "UPDATE onboarding_webhook_queue SET state = 'pending', \
     attempts = 0, next_attempt_at = $2, first_attempt_at = NULL, finished_at = NULL, \
     last_error = NULL WHERE id = $1 AND state IN ('parked', 'skipped') RETURNING id";

/// Skip of an onboarding row: in place.
const ONBOARDING_SKIP: &str = "UPDATE onboarding_webhook_queue SET state = 'skipped', \
     finished_at = $2, last_error = 'skipped by an operator' \
     WHERE id = $1 AND state IN ('pending', 'parked') RETURNING id";

#[async_trait]
impl QueueStore<TicketQueue> for PgStore {
    async fn claim(&self, options: &ClaimOptions) -> Result<Vec<Claim>, StoreError> {
        Ok(claim(&self.pool, options).await?)
    }

    async fn complete(&self, completion: &Completion) -> Result<CompletionEffect, StoreError> {
        Ok(complete(&self.pool, &self.completions, completion).await?)
    }

    async fn replay(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<QueueEntry, StoreError> {
        Ok(replay::<TicketQueue>(&self.pool, entry, now).await?)
    }

    async fn skip(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<QueueEntry, StoreError> {
        Ok(skip::<TicketQueue>(&self.pool, entry, now).await?)
    }

    async fn entry(&self, entry: QueueEntryId) -> Result<QueueEntry, StoreError> {
        Ok(queue_entry(&self.pool, entry).await?)
    }

    async fn entries(&self, query: &QueueQuery) -> Result<Vec<QueueEntry>, StoreError> {
        Ok(queue_entries(&self.pool, query).await?)
    }
}

#[async_trait]
impl QueueStore<OnboardingQueue> for PgStore {
    async fn claim(
        &self,
        options: &ClaimOptions,
    ) -> Result<Vec<Claim<OnboardingQueue>>, StoreError> {
        Ok(claim_onboarding(&self.pool, options).await?)
    }

    async fn complete(&self, completion: &Completion) -> Result<CompletionEffect, StoreError> {
        Ok(complete_onboarding(&self.pool, completion).await?)
    }

    async fn replay(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<OnboardingEntry, StoreError> {
        Ok(replay::<OnboardingQueue>(&self.pool, entry, now).await?)
    }

    async fn skip(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<OnboardingEntry, StoreError> {
        Ok(skip::<OnboardingQueue>(&self.pool, entry, now).await?)
    }

    async fn entry(&self, entry: QueueEntryId) -> Result<OnboardingEntry, StoreError> {
        Ok(onboarding_entry(&self.pool, entry).await?)
    }

    async fn entries(&self, query: &QueueQuery) -> Result<Vec<OnboardingEntry>, StoreError> {
        Ok(onboarding_entries(&self.pool, query).await?)
    }
}
