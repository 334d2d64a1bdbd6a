//! Tickets and activities (the queue rows their trigger writes are read in `queue.rs`).

use fms_core::activity::Activity;
use fms_core::ids::TicketId;
use fms_core::store::{CreateTicket, CreatedTicket, Step, TicketChange, TicketQuery};
use fms_core::ticket::{Status, Ticket, format_ticket_number};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};
use crate::row::{self, ACTIVITY_COLUMNS, TICKET_COLUMNS, ms};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fms_core::store::{StoreError, TicketStore};

use crate::SqliteStore;

pub(crate) fn create_ticket(c: &mut Connection, new: &CreateTicket) -> Result<CreatedTicket> {
    let tx = c.savepoint()?;
    let tenant_id = new.tenant_id.to_string();
    if let Some(key) = &new.idempotency_key {
        let first: Option<String> = tx
            .prepare_cached(
                "SELECT ticket_id FROM idempotency_keys WHERE tenant_id = ?1 AND key = ?2",
            )?
            .query_row(params![tenant_id, key], |r| r.get(0))
            .optional()?;
        if let Some(first) = first {
            let id = first
                .parse::<TicketId>()
                .map_err(|_| Error::Conflict("stored idempotency key is corrupt".into()))?;
            let ticket = ticket(&tx, id)?;
            return Ok(CreatedTicket {
                ticket,
                duplicate: true,
            });
        }
    }
    let (seq, prefix): (i64, String) = tx
        .prepare_cached(
            "UPDATE tenants SET ticket_counter = ticket_counter + 1 WHERE id = ?1 \
             RETURNING ticket_counter, number_prefix",
        )?
        .query_row([&tenant_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(Error::NotFound("tenant"))?;
    let r = &new.report;
    tx.prepare_cached(
        "INSERT INTO tickets (id, tenant_id, seq, number, title, description, location, \
         category, ticket_type, building, floor, room, reporter_name, reporter_designation, \
         reporter_department, submitted_priority, status, priority, complainant_id, \
         response_due_at, resolution_due_at, sla_state, sla_next_event_at, created_at, \
         updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?24)",
    )?
    .execute(params![
        new.id.to_string(),
        tenant_id,
        seq,
        format_ticket_number(&prefix, seq),
        r.title,
        r.description,
        r.location,
        r.category,
        r.ticket_type,
        r.building,
        r.floor,
        r.room,
        r.reporter_name,
        r.reporter_designation,
        r.reporter_department,
        r.submitted_priority.as_str(),
        Status::Open.as_str(),
        new.priority.as_str(),
        new.complainant_id.to_string(),
        new.sla.response_due_at.map(ms),
        new.sla.resolution_due_at.map(ms),
        new.sla_state
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?,
        new.sla_state
            .as_ref()
            .and_then(|s| s.next_event_at())
            .map(ms),
        ms(new.created_at),
    ])?;
    if let Some(cursor) = &new.cursor {
        crate::rules::move_cursor(&tx, &tenant_id, cursor)?;
    }
    for step in &new.steps {
        apply_step(&tx, new.id, step)?;
    }
    for n in &new.notifications {
        crate::notifications::insert(&tx, n)?;
    }
    if let Some(key) = &new.idempotency_key {
        tx.prepare_cached(
            "INSERT INTO idempotency_keys (tenant_id, key, ticket_id, created_at) \
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            tenant_id,
            key,
            new.id.to_string(),
            ms(new.created_at)
        ])?;
    }
    let ticket = ticket(&tx, new.id)?;
    tx.commit()?;
    Ok(CreatedTicket {
        ticket,
        duplicate: false,
    })
}

pub(crate) fn change_ticket(c: &mut Connection, change: &TicketChange) -> Result<Ticket> {
    let tx = c.savepoint()?;
    let version: i64 = tx
        .prepare_cached("SELECT version FROM tickets WHERE id = ?1")?
        .query_row([change.ticket_id.to_string()], |r| r.get(0))
        .optional()?
        .ok_or(Error::NotFound("ticket"))?;
    if change.expected_version.is_some_and(|v| v != version) {
        return Err(Error::Conflict("the ticket changed concurrently".into()));
    }
    for step in &change.steps {
        apply_step(&tx, change.ticket_id, step)?;
    }
    for n in &change.notifications {
        crate::notifications::insert(&tx, n)?;
    }
    let ticket = ticket(&tx, change.ticket_id)?;
    tx.commit()?;
    Ok(ticket)
}

/// Applies the step's ticket update, then inserts its activity (the trigger queues it).
fn apply_step(tx: &Connection, ticket_id: TicketId, step: &Step) -> Result<()> {
    let id = ticket_id.to_string();
    let u = &step.update;
    if !u.is_empty() {
        tx.prepare_cached(
            "UPDATE tickets SET \
               status = COALESCE(?2, status), \
               priority = COALESCE(?3, priority), \
               executor_id = CASE WHEN ?4 THEN ?5 ELSE executor_id END, \
               response_due_at = CASE WHEN ?6 THEN ?7 ELSE response_due_at END, \
               resolution_due_at = CASE WHEN ?6 THEN ?8 ELSE resolution_due_at END, \
               sla_state = CASE WHEN ?9 THEN ?10 ELSE sla_state END, \
               sla_next_event_at = CASE WHEN ?9 THEN ?11 ELSE sla_next_event_at END, \
               version = version + 1 \
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            u.status.map(Status::as_str),
            u.priority.map(|p| p.as_str()),
            u.executor_id.is_some(),
            u.executor_id.flatten().map(|e| e.to_string()),
            u.sla.is_some(),
            u.sla.and_then(|s| s.response_due_at).map(ms),
            u.sla.and_then(|s| s.resolution_due_at).map(ms),
            u.sla_state.is_some(),
            u.sla_state
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?,
            u.sla_state.as_ref().and_then(|s| s.next_event_at()).map(ms),
        ])?;
    }
    let a = &step.activity;
    tx.prepare_cached(
        "INSERT INTO ticket_activities (id, ticket_id, tenant_id, type, comment, metadata, \
         created_by, created_at) \
         SELECT ?1, id, tenant_id, ?2, ?3, ?4, ?5, ?6 FROM tickets WHERE id = ?7",
    )?
    .execute(params![
        a.id.to_string(),
        a.activity_type.as_str(),
        a.comment,
        serde_json::to_string(&a.metadata)?,
        a.created_by.map(|u| u.to_string()),
        ms(a.created_at),
        id,
    ])?;
    Ok(())
}

pub(crate) fn ticket(c: &Connection, id: TicketId) -> Result<Ticket> {
    c.prepare_cached(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1"
    ))?
    .query_row([id.to_string()], row::ticket)
    .optional()?
    .ok_or(Error::NotFound("ticket"))
}

pub(crate) fn tickets(c: &Connection, q: &TicketQuery) -> Result<Vec<Ticket>> {
    let (before_at, before_id) = match q.before {
        Some((at, id)) => (Some(ms(at)), Some(id.to_string())),
        None => (None, None),
    };
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE tenant_id = ?1 \
         AND (?2 IS NULL OR status = ?2) \
         AND (?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND id < ?4)) \
         ORDER BY created_at DESC, id DESC LIMIT ?5"
    ))?;
    let rows = stmt.query_map(
        params![
            q.tenant_id.to_string(),
            q.status.map(Status::as_str),
            before_at,
            before_id,
            i64::from(q.limit)
        ],
        row::ticket,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn activities(c: &Connection, ticket_id: TicketId) -> Result<Vec<Activity>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT a.{} FROM ticket_activities a \
         JOIN ticket_webhook_queue q ON q.activity_id = a.id \
         WHERE a.ticket_id = ?1 ORDER BY q.sequence",
        ACTIVITY_COLUMNS.replace(", ", ", a.")
    ))?;
    let rows = stmt.query_map([ticket_id.to_string()], row::activity)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn activity(c: &Connection, id: &str) -> Result<Activity> {
    c.prepare_cached(&format!(
        "SELECT {ACTIVITY_COLUMNS} FROM ticket_activities WHERE id = ?1"
    ))?
    .query_row([id], row::activity)
    .optional()?
    .ok_or(Error::NotFound("activity"))
}

pub(crate) fn sla_due(c: &Connection, now: i64, limit: u32) -> Result<Vec<Ticket>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets \
         WHERE sla_next_event_at IS NOT NULL AND status IN ('open', 'in-progress') \
         AND sla_next_event_at <= ?1 ORDER BY sla_next_event_at LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![now, i64::from(limit)], row::ticket)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[async_trait]
impl TicketStore for SqliteStore {
    async fn create_ticket(&self, new: &CreateTicket) -> Result<CreatedTicket, StoreError> {
        let new = new.clone();
        self.call(move |c| create_ticket(c, &new)).await
    }

    async fn change_ticket(&self, change: &TicketChange) -> Result<Ticket, StoreError> {
        let change = change.clone();
        self.call(move |c| change_ticket(c, &change)).await
    }

    async fn ticket(&self, id: TicketId) -> Result<Ticket, StoreError> {
        self.call(move |c| ticket(c, id)).await
    }

    async fn tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>, StoreError> {
        let query = query.clone();
        self.call(move |c| tickets(c, &query)).await
    }

    async fn activities(&self, ticket: TicketId) -> Result<Vec<Activity>, StoreError> {
        self.call(move |c| activities(c, ticket)).await
    }

    async fn sla_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Ticket>, StoreError> {
        self.call(move |c| sla_due(c, row::ms(now), limit)).await
    }
}
