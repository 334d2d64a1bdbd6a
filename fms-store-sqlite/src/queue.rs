//! The webhook queue: claims (leases with fencing tokens), fenced completions, the endpoint
//! breaker, replay and skip.

use chrono::{DateTime, Utc};
use fms_core::delivery::BreakerState;
use fms_core::ids::{QueueEntryId, TenantId};
use fms_core::queue::{
    Claim, ClaimOptions, Completion, CompletionEffect, QueueEntry, QueueState, Resolution,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};
use crate::row::{self, ms};
use crate::tickets::{parts_of, queue_entry};

/// Due rows that may be claimed now: pending (or with an expired lease: a leased row's
/// `next_attempt_at` is its lease's end), due, head of their ticket's line, on an endpoint the
/// breaker admits (tenants without a URL are always admitted: their rows are skipped, never
/// sent), in due order. The plan walks the partial due index in order and stops at the limit
/// (no sort, no window over the backlog); `probe` marks rows of an endpoint due a probe, of
/// which the caller keeps one per tenant.
const CLAIMABLE: &str = "
SELECT q.id, q.tenant_id,
       (t.automation_webhook_url IS NOT NULL AND t.endpoint_paused_until IS NOT NULL) AS probe
FROM ticket_webhook_queue q JOIN tenants t ON t.id = q.tenant_id
WHERE q.state IN ('pending', 'leased') AND q.next_attempt_at <= ?1
  AND NOT EXISTS (
      SELECT 1 FROM ticket_webhook_queue e
      WHERE e.ticket_id = q.ticket_id AND e.sequence < q.sequence
        AND e.state IN ('pending', 'leased', 'parked'))
  AND (t.automation_webhook_url IS NULL OR (
           t.endpoint_disabled_at IS NULL
       AND (t.endpoint_probe_until IS NULL OR t.endpoint_probe_until <= ?1)
       AND (t.endpoint_paused_until IS NULL OR t.endpoint_paused_until <= ?1)))
ORDER BY q.next_attempt_at, q.id
LIMIT ?2";

pub(crate) fn claim(c: &mut Connection, o: &ClaimOptions) -> Result<Vec<Claim>> {
    let tx = c.savepoint()?;
    let now = ms(o.now);
    let lease_end = ms(o.now + o.lease);
    let picked: Vec<(i64, String, bool)> = tx
        .prepare_cached(CLAIMABLE)?
        .query_map(params![now, i64::from(o.limit)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut claims = Vec::with_capacity(picked.len());
    let mut probing = std::collections::HashSet::new();
    for (id, tenant, probe) in picked {
        if probe {
            // One probe per recovering endpoint; its other rows wait for the outcome.
            if !probing.insert(tenant.clone()) {
                continue;
            }
            tx.prepare_cached("UPDATE tenants SET endpoint_probe_until = ?2 WHERE id = ?1")?
                .execute(params![tenant, lease_end])?;
        }
        let (token, first): (i64, i64) = tx
            .prepare_cached(
                "UPDATE ticket_webhook_queue SET state = 'leased', lease_token = lease_token + 1, \
                 next_attempt_at = ?2, first_attempt_at = COALESCE(first_attempt_at, ?3) \
                 WHERE id = ?1 RETURNING lease_token, first_attempt_at",
            )?
            .query_row(params![id, lease_end, now], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let entry = queue_entry(&tx, QueueEntryId(id))?;
        let parts = parts_of(&tx, &entry)?;
        let endpoint = breaker(&tx, &tenant)?;
        claims.push(Claim {
            entry,
            token,
            first_attempt_at: DateTime::from_timestamp_millis(first).unwrap_or(o.now),
            endpoint,
            parts,
        });
    }
    tx.commit()?;
    Ok(claims)
}

/// Where a queue keeps its rows and the breaker of its endpoint.
pub(crate) struct QueueTables {
    /// The rows.
    pub(crate) rows: &'static str,
    /// The table holding the endpoint breaker columns.
    pub(crate) breakers: &'static str,
    /// That table's key column.
    pub(crate) breaker_key: &'static str,
}

/// Ticket webhooks: rows per tenant, each tenant's endpoint breaker on its own row.
pub(crate) const TICKET_QUEUE: QueueTables = QueueTables {
    rows: "ticket_webhook_queue",
    breakers: "tenants",
    breaker_key: "id",
};

pub(crate) fn complete(c: &mut Connection, done: &Completion) -> Result<CompletionEffect> {
    finish(c, &TICKET_QUEUE, done, None)
}

/// The fenced finish of a claimed row of `q`, with the breaker update of its endpoint (the
/// row's tenant's, unless `endpoint` names another one) in the same transaction.
pub(crate) fn finish(
    c: &mut Connection,
    q: &QueueTables,
    done: &Completion,
    endpoint: Option<&str>,
) -> Result<CompletionEffect> {
    let tx = c.savepoint()?;
    let now = ms(done.now);
    let (state, next, finished) = match done.resolution {
        Resolution::Delivered => ("delivered", None, Some(now)),
        Resolution::Skipped => ("skipped", None, Some(now)),
        Resolution::Retry { at } => ("pending", Some(ms(at)), None),
        Resolution::Park => ("parked", None, None),
        Resolution::Release => ("pending", Some(now), None),
    };
    let tenant: Option<String> = tx
        .prepare_cached(&format!(
            "UPDATE {} SET state = ?3, \
             attempts = attempts + ?4, \
             next_attempt_at = COALESCE(?5, next_attempt_at), \
             last_status_code = CASE WHEN ?4 THEN ?6 ELSE last_status_code END, \
             last_error = CASE WHEN ?4 OR ?7 IS NOT NULL THEN ?7 ELSE last_error END, \
             finished_at = ?8, \
             first_attempt_at = CASE WHEN NOT ?4 AND attempts = 0 THEN NULL \
                                     ELSE first_attempt_at END \
             WHERE id = ?1 AND lease_token = ?2 AND state = 'leased' RETURNING tenant_id",
            q.rows
        ))?
        .query_row(
            params![
                done.entry.0,
                done.token,
                state,
                done.attempted,
                next,
                done.status_code,
                done.error,
                finished
            ],
            |r| r.get(0),
        )
        .optional()?;
    let Some(tenant) = tenant else {
        return Err(Error::Conflict(
            "the lease was lost: another dispatcher holds or finished this row".into(),
        ));
    };
    let mut effect = CompletionEffect::default();
    if let Some(update) = &done.breaker {
        let key = endpoint.unwrap_or(&tenant);
        let mut state = breaker_of(&tx, q, key)?.unwrap_or_default();
        effect.endpoint_disabled = update.apply(&mut state, done.now);
        save_breaker_of(&tx, q, key, &state)?;
    }
    tx.commit()?;
    Ok(effect)
}

pub(crate) fn replay(
    c: &mut Connection,
    id: QueueEntryId,
    now: DateTime<Utc>,
) -> Result<QueueEntry> {
    operator_move(
        c,
        id,
        "UPDATE ticket_webhook_queue SET state = 'pending', attempts = 0, next_attempt_at = ?2, \
         first_attempt_at = NULL, finished_at = NULL, last_error = NULL \
         WHERE id = ?1 AND state IN ('parked', 'skipped')",
        now,
        "only parked or skipped rows can be replayed",
    )
}

pub(crate) fn skip(c: &mut Connection, id: QueueEntryId, now: DateTime<Utc>) -> Result<QueueEntry> {
    operator_move(
        c,
        id,
        "UPDATE ticket_webhook_queue SET state = 'skipped', finished_at = ?2, \
         last_error = 'skipped by an operator' \
         WHERE id = ?1 AND state IN ('pending', 'parked')",
        now,
        "only pending or parked rows can be skipped",
    )
}

fn operator_move(
    c: &mut Connection,
    id: QueueEntryId,
    sql: &str,
    now: DateTime<Utc>,
    refusal: &str,
) -> Result<QueueEntry> {
    let tx = c.savepoint()?;
    queue_entry(&tx, id)?;
    if tx.prepare_cached(sql)?.execute(params![id.0, ms(now)])? == 0 {
        return Err(Error::Conflict(refusal.to_owned()));
    }
    let entry = queue_entry(&tx, id)?;
    tx.commit()?;
    Ok(entry)
}

pub(crate) fn endpoint_state(c: &Connection, tenant: TenantId) -> Result<BreakerState> {
    breaker(c, &tenant.to_string())
}

pub(crate) fn reset_endpoint(c: &mut Connection, tenant: TenantId) -> Result<()> {
    let tx = c.savepoint()?;
    let id = tenant.to_string();
    breaker(&tx, &id)?;
    save_breaker(&tx, &id, &BreakerState::default())?;
    tx.commit()?;
    Ok(())
}

fn breaker(c: &Connection, tenant: &str) -> Result<BreakerState> {
    breaker_of(c, &TICKET_QUEUE, tenant)?.ok_or(Error::NotFound("tenant"))
}

fn save_breaker(tx: &Connection, tenant: &str, s: &BreakerState) -> Result<()> {
    save_breaker_of(tx, &TICKET_QUEUE, tenant, s)
}

/// The breaker of endpoint `key` of queue `q` (`None` if there is no such row).
pub(crate) fn breaker_of(
    c: &Connection,
    q: &QueueTables,
    key: &str,
) -> Result<Option<BreakerState>> {
    Ok(c.prepare_cached(&format!(
        "SELECT endpoint_failures, endpoint_paused_until, endpoint_probe_until, \
             endpoint_disabled_at FROM {} WHERE {} = ?1",
        q.breakers, q.breaker_key
    ))?
    .query_row([key], row::breaker)
    .optional()?)
}

pub(crate) fn save_breaker_of(
    tx: &Connection,
    q: &QueueTables,
    key: &str,
    s: &BreakerState,
) -> Result<()> {
    tx.prepare_cached(&format!(
        "UPDATE {} SET endpoint_failures = ?2, endpoint_paused_until = ?3, \
         endpoint_probe_until = ?4, endpoint_disabled_at = ?5 WHERE {} = ?1",
        q.breakers, q.breaker_key
    ))?
    .execute(params![
        key,
        s.consecutive_failures,
        s.paused_until.map(ms),
        s.probe_until.map(ms),
        s.disabled_at.map(ms)
    ])?;
    Ok(())
}
/// Rows per state, finished ones included (every row).
pub(crate) fn counts(c: &mut Connection) -> Result<Vec<(QueueState, u64)>> {
    state_counts(c, COUNTS)
}

/// Rows per undone state: the same `WHERE` as the partial index `ticket_webhook_queue_undone`,
/// so only undone rows are read (finished rows stay in this table).
pub(crate) fn backlog(c: &mut Connection) -> Result<Vec<(QueueState, u64)>> {
    state_counts(c, BACKLOG)
}

const COUNTS: &str = "SELECT state, COUNT(*) FROM ticket_webhook_queue GROUP BY state";
const BACKLOG: &str = "SELECT state, COUNT(*) FROM ticket_webhook_queue \
     INDEXED BY ticket_webhook_queue_undone \
     WHERE state IN ('pending', 'leased', 'parked') GROUP BY state";

fn state_counts(c: &mut Connection, sql: &str) -> Result<Vec<(QueueState, u64)>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (state, n) = row?;
        if let Ok(state) = state.parse::<QueueState>() {
            out.push((state, u64::try_from(n).unwrap_or(0)));
        }
    }
    Ok(out)
}
