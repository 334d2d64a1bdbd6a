//! The webhook queue: claims (`FOR UPDATE SKIP LOCKED` leases with fencing tokens), fenced
//! completions, the endpoint breaker, replay and skip.
//!
//! Nothing is held across the HTTP call: a claim is one statement (autocommit), a completion
//! is one statement when the endpoint's breaker does not change, otherwise a short
//! transaction that locks the tenant row. Completions that move a row to the archive with no
//! breaker change (a 2xx on a healthy endpoint, a skip) go through the store's combiner
//! (`combiner.rs`), which finishes the rows waiting at the same time in one statement.

use chrono::{DateTime, Utc};
use fms_core::delivery::BreakerState;
use fms_core::ids::{QueueEntryId, TenantId};
use fms_core::queue::{
    BreakerUpdate, Claim, ClaimOptions, Completion, CompletionEffect, QueueEntry, Resolution,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::combiner::{self, Combiner, Finish};
use crate::error::{Error, Result};
use crate::row::{BreakerRow, ClaimRow, at, parts_columns};
use crate::tickets::queue_entry;

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

pub(crate) async fn claim(pool: &PgPool, o: &ClaimOptions) -> Result<Vec<Claim>> {
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
                endpoint: r.breaker.into_domain(),
                parts,
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

pub(crate) async fn complete(
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

pub(crate) async fn replay(
    pool: &PgPool,
    id: QueueEntryId,
    now: DateTime<Utc>,
) -> Result<QueueEntry> {
    operator_move(
        pool,
        id,
        REPLAY,
        now,
        "only parked or skipped rows can be replayed",
    )
    .await
}

pub(crate) async fn skip(
    pool: &PgPool,
    id: QueueEntryId,
    now: DateTime<Utc>,
) -> Result<QueueEntry> {
    operator_move(
        pool,
        id,
        SKIP,
        now,
        "only pending or parked rows can be skipped",
    )
    .await
}

async fn operator_move(
    pool: &PgPool,
    id: QueueEntryId,
    sql: &'static str,
    now: DateTime<Utc>,
    refusal: &str,
) -> Result<QueueEntry> {
    let moved: Option<i64> = sqlx::query_scalar(sql)
        .bind(id.0)
        .bind(at(now))
        .fetch_optional(pool)
        .await?;
    if moved.is_none() {
        // NotFound if there is no such row at all.
        queue_entry(pool, id).await?;
        return Err(Error::Conflict(refusal.to_owned()));
    }
    queue_entry(pool, id).await
}

pub(crate) async fn endpoint_state(pool: &PgPool, tenant: TenantId) -> Result<BreakerState> {
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

pub(crate) async fn reset_endpoint(pool: &PgPool, tenant: TenantId) -> Result<()> {
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
