//! Tickets and activities (the queue rows their trigger writes are read in `queue.rs`).
//!
//! Round trips are what an intake pays for here (more than the commit), so writes are built
//! as one statement per step: the create statement claims the idempotency key, moves the
//! round-robin cursor, bumps the tenant's counter, inserts the ticket and its first activity
//! (the trigger queues it); each further step is one `UPDATE ... ; INSERT` statement. A write
//! of one statement runs without `BEGIN`/`COMMIT` (autocommit is atomic); longer ones in a
//! transaction.

use fms_core::activity::Activity;
use fms_core::ids::TicketId;
use fms_core::notification::Notification;
use fms_core::store::{CreateTicket, CreatedTicket, Step, TicketChange, TicketQuery};
use fms_core::ticket::{Status, Ticket};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use crate::error::{Error, Result};
use crate::notifications::notes_json;
use crate::row::{ActivityRow, TicketRow, at};
use async_trait::async_trait;
use fms_core::store::{StoreError, TicketStore};

use crate::PgStore;

/// The create statement. The key insert runs first (everything else depends on it), then the
/// cursor compare-and-set, then the counter, the ticket and the first activity; each part
/// only runs when the parts before it succeeded. `key_ok = false`: the key was used (nothing
/// was written); `cursor_ok = false`: the cursor moved (the caller rolls back).
const CREATE: &str = "
WITH key AS (
    INSERT INTO idempotency_keys (tenant_id, key, ticket_id, created_at)
    SELECT $2, $3, $1, $4 WHERE $3::text IS NOT NULL
    ON CONFLICT (tenant_id, key) DO NOTHING
    RETURNING 1
), go AS (
    SELECT ($3::text IS NULL OR EXISTS (SELECT 1 FROM key)) AS ok
), cursor_new AS (
    INSERT INTO round_robin_cursors (tenant_id, pool, user_id)
    SELECT $2, $21, $23 FROM go
    WHERE go.ok AND $21::text IS NOT NULL AND $22::uuid IS NULL
    ON CONFLICT (tenant_id, pool) DO NOTHING
    RETURNING 1
), cursor_moved AS (
    UPDATE round_robin_cursors SET user_id = $23
    WHERE (SELECT ok FROM go) AND $22::uuid IS NOT NULL
      AND tenant_id = $2 AND pool = $21 AND user_id = $22
    RETURNING 1
), cur AS (
    SELECT ($21::text IS NULL OR EXISTS (SELECT 1 FROM cursor_new)
            OR EXISTS (SELECT 1 FROM cursor_moved)) AS ok
), counter AS (
    UPDATE tenants SET ticket_counter = ticket_counter + 1
    WHERE id = $2 AND (SELECT ok FROM go) AND (SELECT ok FROM cur)
    RETURNING ticket_counter AS seq, number_prefix
), ticket AS (
    INSERT INTO tickets (id, tenant_id, seq, number, title, description, location, category,
        ticket_type, building, floor, room, reporter_name, reporter_designation,
        reporter_department, submitted_priority, status, priority, complainant_id,
        response_due_at, resolution_due_at, sla_state, sla_next_event_at, created_at, updated_at)
    SELECT $1, $2, c.seq,
        c.number_prefix || '-' || lpad(c.seq::text, greatest(4, length(c.seq::text)), '0'),
        $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'open', $17, $18, $19, $20,
        $24, $32, $4, greatest($4, COALESCE($30, $4))
    FROM counter c
    RETURNING *
), activity AS (
    INSERT INTO ticket_activities (id, ticket_id, tenant_id, type, comment, metadata,
        created_by, created_at)
    SELECT $25, t.id, t.tenant_id, $26, $27, $28, $29, $30 FROM ticket t
    WHERE $25::uuid IS NOT NULL
    RETURNING 1
), notes AS (
    INSERT INTO notifications (id, tenant_id, recipient_user, recipient_role, kind, message,
        ticket_id, user_id, created_at, read_at)
    SELECT n.id, n.tenant_id, n.recipient_user, n.recipient_role, n.kind, n.message,
        n.ticket_id, n.user_id, n.created_at, n.read_at
    FROM jsonb_to_recordset($31) AS n(id uuid, tenant_id uuid, recipient_user uuid,
        recipient_role text, kind text, message text, ticket_id uuid, user_id uuid,
        created_at timestamptz, read_at timestamptz)
    WHERE EXISTS (SELECT 1 FROM ticket)
    RETURNING 1
)
SELECT (SELECT ok FROM go) AS key_ok, (SELECT ok FROM cur) AS cursor_ok,
       (SELECT to_jsonb(t) FROM ticket t) AS ticket,
       (SELECT count(*) FROM activity) AS activities";

/// One step: the ticket update (version bumped only for a real change; `$12` fences on the
/// expected version), then the activity, whose trigger snapshots the updated ticket.
const STEP: &str = "
WITH upd AS (
    UPDATE tickets SET
        status = COALESCE($2, status),
        priority = COALESCE($3, priority),
        executor_id = CASE WHEN $4 THEN $5 ELSE executor_id END,
        response_due_at = CASE WHEN $6 THEN $7 ELSE response_due_at END,
        resolution_due_at = CASE WHEN $6 THEN $8 ELSE resolution_due_at END,
        sla_state = CASE WHEN $9 THEN $10 ELSE sla_state END,
        sla_next_event_at = CASE WHEN $9 THEN $20 ELSE sla_next_event_at END,
        version = version + CASE WHEN $11 THEN 1 ELSE 0 END,
        updated_at = greatest(updated_at, $18)
    WHERE id = $1 AND ($12::bigint IS NULL OR version = $12)
    RETURNING *
), activity AS (
    INSERT INTO ticket_activities (id, ticket_id, tenant_id, type, comment, metadata,
        created_by, created_at)
    SELECT $13, id, tenant_id, $14, $15, $16, $17, $18 FROM upd
    RETURNING 1
), notes AS (
    INSERT INTO notifications (id, tenant_id, recipient_user, recipient_role, kind, message,
        ticket_id, user_id, created_at, read_at)
    SELECT n.id, n.tenant_id, n.recipient_user, n.recipient_role, n.kind, n.message,
        n.ticket_id, n.user_id, n.created_at, n.read_at
    FROM jsonb_to_recordset($19) AS n(id uuid, tenant_id uuid, recipient_user uuid,
        recipient_role text, kind text, message text, ticket_id uuid, user_id uuid,
        created_at timestamptz, read_at timestamptz)
    WHERE EXISTS (SELECT 1 FROM upd)
    RETURNING 1
)
SELECT upd.* FROM upd";

const TICKET: &str = "SELECT * FROM tickets WHERE id = $1";

const BY_KEY: &str = "SELECT t.* FROM idempotency_keys k JOIN tickets t ON t.id = k.ticket_id \
     WHERE k.tenant_id = $1 AND k.key = $2";

#[derive(sqlx::FromRow)]
struct CreateRow {
    key_ok: Option<bool>,
    cursor_ok: Option<bool>,
    ticket: Option<Json<TicketRow>>,
}

pub(crate) async fn create_ticket(pool: &PgPool, new: &CreateTicket) -> Result<CreatedTicket> {
    // The first step rides on the create statement when it changes nothing on the ticket.
    let (first, rest) = match new.steps.split_first() {
        Some((s, rest)) if s.update.is_empty() => (Some(s), rest),
        _ => (None, new.steps.as_slice()),
    };
    // One statement is atomic on its own; a cursor move may have to be undone.
    let single = rest.is_empty() && new.cursor.is_none();
    let mut tx = if single {
        None
    } else {
        Some(pool.begin().await?)
    };
    let created = {
        let query = create_query(new, first);
        match tx.as_mut() {
            Some(tx) => query.fetch_one(&mut **tx).await?,
            None => query.fetch_one(pool).await?,
        }
    };
    if created.key_ok != Some(true) {
        drop(tx);
        let key = new.idempotency_key.as_deref().unwrap_or_default();
        let first = sqlx::query_as::<_, TicketRow>(BY_KEY)
            .bind(new.tenant_id.as_uuid())
            .bind(key)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| Error::Conflict("the idempotency key is being used".into()))?;
        return Ok(CreatedTicket {
            ticket: first.into_domain()?,
            duplicate: true,
        });
    }
    if created.cursor_ok != Some(true) {
        return Err(Error::Conflict(format!(
            "the round-robin cursor of pool {:?} moved",
            new.cursor
                .as_ref()
                .map(|c| c.pool.as_str())
                .unwrap_or_default()
        )));
    }
    let mut ticket = created.ticket.ok_or(Error::NotFound("tenant"))?.0;
    if let Some(tx) = tx.as_mut() {
        for step in rest {
            ticket = apply_step(tx, new.id, None, step, &[])
                .await?
                .ok_or(Error::NotFound("ticket"))?;
        }
    }
    if let Some(tx) = tx {
        tx.commit().await?;
    }
    Ok(CreatedTicket {
        ticket: ticket.into_domain()?,
        duplicate: false,
    })
}

fn create_query<'a>(
    new: &'a CreateTicket,
    first: Option<&'a Step>,
) -> sqlx::query::QueryAs<'a, sqlx::Postgres, CreateRow, sqlx::postgres::PgArguments> {
    let r = &new.report;
    let a = first.map(|s| &s.activity);
    sqlx::query_as::<_, CreateRow>(CREATE)
        .bind(new.id.as_uuid())
        .bind(new.tenant_id.as_uuid())
        .bind(new.idempotency_key.as_deref())
        .bind(at(new.created_at))
        .bind(&r.title)
        .bind(&r.description)
        .bind(&r.location)
        .bind(&r.category)
        .bind(&r.ticket_type)
        .bind(&r.building)
        .bind(&r.floor)
        .bind(&r.room)
        .bind(&r.reporter_name)
        .bind(&r.reporter_designation)
        .bind(&r.reporter_department)
        .bind(r.submitted_priority.as_str())
        .bind(new.priority.as_str())
        .bind(new.complainant_id.as_uuid())
        .bind(new.sla.response_due_at.map(at))
        .bind(new.sla.resolution_due_at.map(at))
        .bind(new.cursor.as_ref().map(|c| c.pool.as_str()))
        .bind(
            new.cursor
                .as_ref()
                .and_then(|c| c.previous)
                .map(|u| u.as_uuid()),
        )
        .bind(new.cursor.as_ref().map(|c| c.next.as_uuid()))
        .bind(new.sla_state.as_ref().map(Json))
        .bind(a.map(|a| a.id.as_uuid()))
        .bind(a.map(|a| a.activity_type.as_str()))
        .bind(a.and_then(|a| a.comment.as_deref()))
        .bind(a.map(|a| Json(&a.metadata)))
        .bind(a.and_then(|a| a.created_by).map(|u| u.as_uuid()))
        .bind(a.map(|a| at(a.created_at)))
        .bind(notes_json(&new.notifications))
        .bind(
            new.sla_state
                .as_ref()
                .and_then(|s| s.next_event_at())
                .map(at),
        )
}

/// Applies one step; `None` when the ticket is missing or not at `expected_version`.
async fn apply_step(
    conn: &mut PgConnection,
    ticket: TicketId,
    expected_version: Option<i64>,
    step: &Step,
    notifications: &[Notification],
) -> Result<Option<TicketRow>> {
    Ok(step_query(ticket, expected_version, step, notifications)
        .fetch_optional(conn)
        .await?)
}

fn step_query<'a>(
    ticket: TicketId,
    expected_version: Option<i64>,
    step: &'a Step,
    notifications: &[Notification],
) -> sqlx::query::QueryAs<'a, sqlx::Postgres, TicketRow, sqlx::postgres::PgArguments> {
    let u = &step.update;
    let a = &step.activity;
    sqlx::query_as::<_, TicketRow>(STEP)
        .bind(ticket.as_uuid())
        .bind(u.status.map(Status::as_str))
        .bind(u.priority.map(|p| p.as_str()))
        .bind(u.executor_id.is_some())
        .bind(u.executor_id.flatten().map(|e| e.as_uuid()))
        .bind(u.sla.is_some())
        .bind(u.sla.and_then(|s| s.response_due_at).map(at))
        .bind(u.sla.and_then(|s| s.resolution_due_at).map(at))
        .bind(u.sla_state.is_some())
        .bind(u.sla_state.as_ref().map(Json))
        .bind(!u.is_empty())
        .bind(expected_version)
        .bind(a.id.as_uuid())
        .bind(a.activity_type.as_str())
        .bind(a.comment.as_deref())
        .bind(Json(&a.metadata))
        .bind(a.created_by.map(|u| u.as_uuid()))
        .bind(at(a.created_at))
        .bind(notes_json(notifications))
        .bind(u.sla_state.as_ref().and_then(|s| s.next_event_at()).map(at))
}

pub(crate) async fn change_ticket(pool: &PgPool, change: &TicketChange) -> Result<Ticket> {
    let id = change.ticket_id;
    let fence = change.expected_version;
    let updated = match change.steps.as_slice() {
        [] => {
            let t = ticket(pool, id).await?;
            if fence.is_some_and(|v| v != t.version) {
                return Err(concurrent());
            }
            return Ok(t);
        }
        // One statement: atomic without a transaction.
        [step] => {
            step_query(id, fence, step, &change.notifications)
                .fetch_optional(pool)
                .await?
        }
        [first, rest @ ..] => {
            let mut tx = pool.begin().await?;
            let notes = &change.notifications;
            let mut last = apply_step(&mut tx, id, fence, first, notes).await?;
            if last.is_some() {
                for step in rest {
                    last = apply_step(&mut tx, id, None, step, &[]).await?;
                }
                tx.commit().await?;
            }
            last
        }
    };
    match updated {
        Some(t) => t.into_domain(),
        // Missing, or moved past the expected version.
        None => {
            ticket(pool, id).await?;
            Err(concurrent())
        }
    }
}

fn concurrent() -> Error {
    Error::Conflict("the ticket changed concurrently".into())
}

pub(crate) async fn ticket(pool: &PgPool, id: TicketId) -> Result<Ticket> {
    sqlx::query_as::<_, TicketRow>(TICKET)
        .bind(id.as_uuid())
        .fetch_optional(pool)
        .await?
        .ok_or(Error::NotFound("ticket"))?
        .into_domain()
}

pub(crate) async fn tickets(pool: &PgPool, q: &TicketQuery) -> Result<Vec<Ticket>> {
    let (before_at, before_id) = match q.before {
        Some((t, id)) => (Some(t), Some(id.as_uuid())),
        None => (None, None),
    };
    sqlx::query_as::<_, TicketRow>(
        "SELECT * FROM tickets WHERE tenant_id = $1 \
         AND ($2::text IS NULL OR status = $2) \
         AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) \
         ORDER BY created_at DESC, id DESC LIMIT $5",
    )
    .bind(q.tenant_id.as_uuid())
    .bind(q.status.map(Status::as_str))
    .bind(before_at)
    .bind(before_id)
    .bind(i64::from(q.limit))
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(TicketRow::into_domain)
    .collect()
}

pub(crate) async fn activities(pool: &PgPool, ticket: TicketId) -> Result<Vec<Activity>> {
    sqlx::query_as::<_, ActivityRow>(
        "SELECT a.* FROM ticket_activities a \
         JOIN ticket_webhook_rows q ON q.activity_id = a.id AND q.ticket_id = $1 \
         WHERE a.ticket_id = $1 ORDER BY q.sequence",
    )
    .bind(ticket.as_uuid())
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(ActivityRow::into_domain)
    .collect()
}

pub(crate) async fn sla_due(
    pool: &PgPool,
    now: chrono::DateTime<chrono::Utc>,
    limit: u32,
) -> Result<Vec<Ticket>> {
    sqlx::query_as::<_, TicketRow>(
        "SELECT * FROM tickets WHERE sla_next_event_at IS NOT NULL \
         AND status IN ('open', 'in-progress') AND sla_next_event_at <= $1 \
         ORDER BY sla_next_event_at LIMIT $2",
    )
    .bind(at(now))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(TicketRow::into_domain)
    .collect()
}

#[async_trait]
impl TicketStore for PgStore {
    async fn create_ticket(&self, new: &CreateTicket) -> Result<CreatedTicket, StoreError> {
        Ok(create_ticket(&self.pool, new).await?)
    }

    async fn change_ticket(&self, change: &TicketChange) -> Result<Ticket, StoreError> {
        Ok(change_ticket(&self.pool, change).await?)
    }

    async fn ticket(&self, id: TicketId) -> Result<Ticket, StoreError> {
        Ok(ticket(&self.pool, id).await?)
    }

    async fn tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>, StoreError> {
        Ok(tickets(&self.pool, query).await?)
    }

    async fn activities(&self, ticket: TicketId) -> Result<Vec<Activity>, StoreError> {
        Ok(activities(&self.pool, ticket).await?)
    }

    async fn sla_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<Ticket>, StoreError> {
        Ok(sla_due(&self.pool, now, limit).await?)
    }
}
