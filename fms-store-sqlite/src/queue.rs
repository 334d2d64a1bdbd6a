//! The delivery queues (ticket webhooks and onboarding requests): claims (leases with fencing
//! tokens), fenced completions with the endpoint breaker, replay and skip, written once over
//! the table names of each queue ([`QueueTables`]); and the outbox's endpoint health and counts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fms_core::delivery::{Admission, BreakerState};
use fms_core::ids::{QueueEntryId, TenantId, UserId};
use fms_core::payload::PayloadParts;
use fms_core::queue::{
    Claim, ClaimOptions, Completion, CompletionEffect, OnboardingEntry, OnboardingQueue,
    QueueEntry, QueueQuery, QueueState, Resolution, TicketQueue,
};
use fms_core::store::{OutboxStore, QueueStore, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::SqliteStore;
use crate::error::{Error, Result};
use crate::row::QUEUE_COLUMNS;
use crate::row::{self, ms};
use crate::{directory, tickets};

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

fn claim(c: &mut Connection, o: &ClaimOptions) -> Result<Vec<Claim>> {
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
        claims.push(Claim {
            entry,
            token,
            first_attempt_at: DateTime::from_timestamp_millis(first).unwrap_or(o.now),
            message: parts,
        });
    }
    tx.commit()?;
    Ok(claims)
}

/// Where a queue keeps its rows and the breaker of its endpoint.
struct QueueTables {
    /// The rows.
    rows: &'static str,
    /// The table holding the endpoint breaker columns.
    breakers: &'static str,
    /// That table's key column.
    breaker_key: &'static str,
}

/// Ticket webhooks: rows per tenant, each tenant's endpoint breaker on its own row.
const TICKET_QUEUE: QueueTables = QueueTables {
    rows: "ticket_webhook_queue",
    breakers: "tenants",
    breaker_key: "id",
};

/// The onboarding endpoint's breaker row.
const ONBOARDING_ENDPOINT: &str = "onboarding";

/// Onboarding webhooks: their own rows, one endpoint breaker row named `onboarding`.
const ONBOARDING_QUEUE: QueueTables = QueueTables {
    rows: "onboarding_webhook_queue",
    breakers: "webhook_endpoints",
    breaker_key: "name",
};

const ONBOARDING_COLUMNS: &str = "id, tenant_id, correlation_id, state, attempts, \
     next_attempt_at, last_status_code, last_error, created_at";

/// The fenced finish of a claimed row of `q`, with the breaker update of its endpoint (the
/// row's tenant's, unless `endpoint` names another one) in the same transaction.
fn finish(
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

fn queue_entries(c: &Connection, q: &QueueQuery) -> Result<Vec<QueueEntry>> {
    // One ticket: its rows in sequence order; otherwise newest first.
    let order = if q.ticket_id.is_some() {
        "sequence"
    } else {
        "id DESC"
    };
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {QUEUE_COLUMNS} FROM ticket_webhook_queue \
         WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR ticket_id = ?2) \
         AND (?3 IS NULL OR state = ?3) AND id < ?5 ORDER BY {order} LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            q.tenant_id.map(|t| t.to_string()),
            q.ticket_id.map(|t| t.to_string()),
            q.state.map(|s| s.as_str()),
            i64::from(q.limit),
            // Always a bound (not `?5 IS NULL OR ...`), so it is a range on the index.
            q.before.map_or(i64::MAX, |b| b.0)
        ],
        row::queue_entry,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn queue_entry(c: &Connection, id: QueueEntryId) -> Result<QueueEntry> {
    c.prepare_cached(&format!(
        "SELECT {QUEUE_COLUMNS} FROM ticket_webhook_queue WHERE id = ?1"
    ))?
    .query_row([id.0], row::queue_entry)
    .optional()?
    .ok_or(Error::NotFound("queue entry"))
}

fn payload_parts(c: &Connection, id: QueueEntryId) -> Result<PayloadParts> {
    let entry = queue_entry(c, id)?;
    parts_of(c, &entry)
}

/// Loads what the payload of `entry` needs.
fn parts_of(c: &Connection, entry: &QueueEntry) -> Result<PayloadParts> {
    let ticket = entry
        .snapshot
        .apply_to(tickets::ticket(c, entry.ticket_id)?);
    let activity = tickets::activity(c, &entry.activity_id.to_string())?;
    let user_opt = |id: Option<UserId>| id.map(|id| directory::user(c, id)).transpose();
    Ok(PayloadParts {
        tenant: directory::tenant(c, entry.tenant_id)?,
        complainant: directory::user(c, ticket.complainant_id)?,
        executor: user_opt(ticket.executor_id)?,
        author: user_opt(activity.created_by)?,
        activity,
        ticket,
        sequence: entry.sequence,
    })
}

/// Puts a parked or skipped row of `q` back to pending, due now, attempts reset, a new retry
/// age; `read` loads the row after.
fn replay<E>(
    c: &mut Connection,
    q: &QueueTables,
    id: QueueEntryId,
    now: DateTime<Utc>,
    read: fn(&Connection, QueueEntryId) -> Result<E>,
) -> Result<E> {
    let sql = format!(
        "UPDATE {} SET state = 'pending', attempts = 0, next_attempt_at = ?2, \
         first_attempt_at = NULL, finished_at = NULL, last_error = NULL \
         WHERE id = ?1 AND state IN ('parked', 'skipped')",
        q.rows
    );
    operator_move(
        c,
        id,
        &sql,
        now,
        "only parked or skipped rows can be replayed",
        read,
    )
}

/// Marks a pending or parked row of `q` skipped by an operator.
fn skip<E>(
    c: &mut Connection,
    q: &QueueTables,
    id: QueueEntryId,
    now: DateTime<Utc>,
    read: fn(&Connection, QueueEntryId) -> Result<E>,
) -> Result<E> {
    let sql = format!(
        "UPDATE {} SET state = 'skipped', finished_at = ?2, \
         last_error = 'skipped by an operator' \
         WHERE id = ?1 AND state IN ('pending', 'parked')",
        q.rows
    );
    operator_move(
        c,
        id,
        &sql,
        now,
        "only pending or parked rows can be skipped",
        read,
    )
}

fn operator_move<E>(
    c: &mut Connection,
    id: QueueEntryId,
    sql: &str,
    now: DateTime<Utc>,
    refusal: &str,
    read: fn(&Connection, QueueEntryId) -> Result<E>,
) -> Result<E> {
    let tx = c.savepoint()?;
    read(&tx, id)?;
    if tx.prepare_cached(sql)?.execute(params![id.0, ms(now)])? == 0 {
        return Err(Error::Conflict(refusal.to_owned()));
    }
    let entry = read(&tx, id)?;
    tx.commit()?;
    Ok(entry)
}

fn endpoint_state(c: &Connection, tenant: TenantId) -> Result<BreakerState> {
    breaker(c, &tenant.to_string())
}

fn reset_endpoint(c: &mut Connection, tenant: TenantId) -> Result<()> {
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
fn breaker_of(c: &Connection, q: &QueueTables, key: &str) -> Result<Option<BreakerState>> {
    Ok(c.prepare_cached(&format!(
        "SELECT endpoint_failures, endpoint_paused_until, endpoint_probe_until, \
             endpoint_disabled_at FROM {} WHERE {} = ?1",
        q.breakers, q.breaker_key
    ))?
    .query_row([key], row::breaker)
    .optional()?)
}

fn save_breaker_of(tx: &Connection, q: &QueueTables, key: &str, s: &BreakerState) -> Result<()> {
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
fn counts(c: &mut Connection) -> Result<Vec<(QueueState, u64)>> {
    state_counts(c, COUNTS)
}

/// Rows per undone state: the same `WHERE` as the partial index `ticket_webhook_queue_undone`,
/// so only undone rows are read (finished rows stay in this table).
fn backlog(c: &mut Connection) -> Result<Vec<(QueueState, u64)>> {
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

fn claim_onboarding(c: &mut Connection, o: &ClaimOptions) -> Result<Vec<Claim<OnboardingQueue>>> {
    let tx = c.savepoint()?;
    let now = ms(o.now);
    let lease_end = ms(o.now + o.lease);
    let admission = onboarding_breaker(&tx)?.admission(o.now);
    let probe = admission == Admission::Probe;
    let limit = match admission {
        Admission::Send => o.limit,
        Admission::Probe => 1.min(o.limit),
        _ => 0,
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM onboarding_webhook_queue WHERE state IN ('pending', 'leased') \
             AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
        )?
        .query_map(params![now, i64::from(limit)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if probe && !ids.is_empty() {
        // The probe slot is taken only by a row that is actually sent.
        tx.prepare_cached(
            "UPDATE webhook_endpoints SET endpoint_probe_until = ?2 WHERE name = ?1",
        )?
        .execute(params![ONBOARDING_ENDPOINT, lease_end])?;
    }
    let mut claims = Vec::with_capacity(ids.len());
    for id in ids {
        let (token, first, payload): (i64, i64, String) = tx
            .prepare_cached(
                "UPDATE onboarding_webhook_queue SET state = 'leased', \
                 lease_token = lease_token + 1, next_attempt_at = ?2, \
                 first_attempt_at = COALESCE(first_attempt_at, ?3) \
                 WHERE id = ?1 RETURNING lease_token, first_attempt_at, payload",
            )?
            .query_row(params![id, lease_end, now], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let entry = tx
            .prepare_cached(&format!(
                "SELECT {ONBOARDING_COLUMNS} FROM onboarding_webhook_queue WHERE id = ?1"
            ))?
            .query_row([id], row::onboarding_entry)?;
        claims.push(Claim {
            entry,
            token,
            first_attempt_at: DateTime::from_timestamp_millis(first).unwrap_or(o.now),
            message: serde_json::from_str(&payload)?,
        });
    }
    tx.commit()?;
    Ok(claims)
}

fn onboarding_breaker(c: &Connection) -> Result<BreakerState> {
    Ok(breaker_of(c, &ONBOARDING_QUEUE, ONBOARDING_ENDPOINT)?.unwrap_or_default())
}

fn onboarding_entry(c: &Connection, id: QueueEntryId) -> Result<OnboardingEntry> {
    c.prepare_cached(&format!(
        "SELECT {ONBOARDING_COLUMNS} FROM onboarding_webhook_queue WHERE id = ?1"
    ))?
    .query_row([id.0], row::onboarding_entry)
    .optional()?
    .ok_or(Error::NotFound("queue entry"))
}

/// Onboarding rows, newest first (they have no ticket: a ticket filter matches none).
fn onboarding_entries(c: &Connection, q: &QueueQuery) -> Result<Vec<OnboardingEntry>> {
    if q.ticket_id.is_some() {
        return Ok(Vec::new());
    }
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {ONBOARDING_COLUMNS} FROM onboarding_webhook_queue \
         WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR state = ?2) AND id < ?4 \
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![
            q.tenant_id.map(|t| t.to_string()),
            q.state.map(|s| s.as_str()),
            i64::from(q.limit),
            q.before.map_or(i64::MAX, |b| b.0)
        ],
        row::onboarding_entry,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[async_trait]
impl QueueStore<TicketQueue> for SqliteStore {
    async fn claim(&self, options: &ClaimOptions) -> Result<Vec<Claim>, StoreError> {
        let options = *options;
        self.call(move |c| claim(c, &options)).await
    }

    async fn complete(&self, completion: &Completion) -> Result<CompletionEffect, StoreError> {
        let done = completion.clone();
        self.call(move |c| finish(c, &TICKET_QUEUE, &done, None))
            .await
    }

    async fn replay(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<QueueEntry, StoreError> {
        self.call(move |c| replay(c, &TICKET_QUEUE, entry, now, queue_entry))
            .await
    }

    async fn skip(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<QueueEntry, StoreError> {
        self.call(move |c| skip(c, &TICKET_QUEUE, entry, now, queue_entry))
            .await
    }

    async fn entry(&self, entry: QueueEntryId) -> Result<QueueEntry, StoreError> {
        self.call(move |c| queue_entry(c, entry)).await
    }

    async fn entries(&self, query: &QueueQuery) -> Result<Vec<QueueEntry>, StoreError> {
        let query = query.clone();
        self.call(move |c| queue_entries(c, &query)).await
    }
}

#[async_trait]
impl QueueStore<OnboardingQueue> for SqliteStore {
    async fn claim(
        &self,
        options: &ClaimOptions,
    ) -> Result<Vec<Claim<OnboardingQueue>>, StoreError> {
        let options = *options;
        self.call(move |c| claim_onboarding(c, &options)).await
    }

    async fn complete(&self, completion: &Completion) -> Result<CompletionEffect, StoreError> {
        let done = completion.clone();
        self.call(move |c| finish(c, &ONBOARDING_QUEUE, &done, Some(ONBOARDING_ENDPOINT)))
            .await
    }

    async fn replay(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<OnboardingEntry, StoreError> {
        self.call(move |c| replay(c, &ONBOARDING_QUEUE, entry, now, onboarding_entry))
            .await
    }

    async fn skip(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<OnboardingEntry, StoreError> {
        self.call(move |c| skip(c, &ONBOARDING_QUEUE, entry, now, onboarding_entry))
            .await
    }

    async fn entry(&self, entry: QueueEntryId) -> Result<OnboardingEntry, StoreError> {
        self.call(move |c| onboarding_entry(c, entry)).await
    }

    async fn entries(&self, query: &QueueQuery) -> Result<Vec<OnboardingEntry>, StoreError> {
        let query = query.clone();
        self.call(move |c| onboarding_entries(c, &query)).await
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn payload_parts(&self, entry: QueueEntryId) -> Result<PayloadParts, StoreError> {
        self.call(move |c| payload_parts(c, entry)).await
    }

    async fn endpoint_state(&self, tenant: TenantId) -> Result<BreakerState, StoreError> {
        self.call(move |c| endpoint_state(c, tenant)).await
    }

    async fn reset_endpoint(&self, tenant: TenantId) -> Result<(), StoreError> {
        self.call(move |c| reset_endpoint(c, tenant)).await
    }

    async fn queue_counts(&self) -> Result<Vec<(QueueState, u64)>, StoreError> {
        self.call(counts).await
    }

    async fn queue_backlog(&self) -> Result<Vec<(QueueState, u64)>, StoreError> {
        self.call(backlog).await
    }
}
