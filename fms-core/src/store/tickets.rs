//! Tickets and their activities: creating, changing, reading, the SLA sweeper's query.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::activity::{Activity, NewActivity};

use crate::ids::{TenantId, TicketId, UserId};
use crate::notification::Notification;
use crate::rules::{CursorUpdate, SlaState};
use crate::ticket::{Priority, Report, SlaDue, Status, Ticket};

use super::StoreError;

/// A change to the ticket row that goes with one activity. `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketUpdate {
    /// New status.
    pub status: Option<Status>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New executor (`Some(None)` unassigns).
    pub executor_id: Option<Option<UserId>>,
    /// New SLA due times.
    pub sla: Option<SlaDue>,
    /// New SLA clock state.
    pub sla_state: Option<SlaState>,
}

impl TicketUpdate {
    /// Whether this changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &TicketUpdate::default()
    }
}

/// One step of a write: apply `update` to the ticket row, then append `activity` (whose
/// queue row then snapshots the ticket as updated).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The ticket change (may be empty).
    pub update: TicketUpdate,
    /// The activity that records it.
    pub activity: NewActivity,
}

impl Step {
    /// A step that only appends an activity.
    pub fn activity(activity: NewActivity) -> Self {
        Self {
            update: TicketUpdate::default(),
            activity,
        }
    }
}

/// A new ticket with its first activities, written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTicket {
    /// Its id.
    pub id: TicketId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Complainant.
    pub complainant_id: UserId,
    /// What was reported.
    pub report: Report,
    /// Initial priority.
    pub priority: Priority,
    /// Initial SLA due times.
    pub sla: SlaDue,
    /// Initial SLA clock state.
    pub sla_state: Option<SlaState>,
    /// The round-robin cursor move of the decision: applied only if the pool's cursor still
    /// equals `previous`, otherwise the whole create is a `Conflict` (decide again).
    pub cursor: Option<CursorUpdate>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Steps applied after the insert, in order; the first is the `ticket_created` activity.
    pub steps: Vec<Step>,
    /// When set, a second create with the same key in the same tenant returns the first
    /// ticket and writes nothing.
    pub idempotency_key: Option<String>,
    /// Notifications written in the same transaction (e.g. "could not be assigned").
    pub notifications: Vec<Notification>,
}

/// The result of [`TicketStore::create_ticket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTicket {
    /// The ticket (the first one, for a repeated idempotency key).
    pub ticket: Ticket,
    /// Whether this was a repeat of an earlier create with the same idempotency key.
    pub duplicate: bool,
}

/// A change to an existing ticket, written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketChange {
    /// The ticket.
    pub ticket_id: TicketId,
    /// When set, the change applies only if the ticket's version is still this one; otherwise
    /// [`StoreError::Conflict`] and nothing is written.
    pub expected_version: Option<i64>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Notifications written in the same transaction (e.g. "SLA breached").
    pub notifications: Vec<Notification>,
}

/// Which tickets to list: one tenant, newest first, keyset-paginated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketQuery {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Only this status.
    pub status: Option<Status>,
    /// Only tickets created strictly before this `(created_at, id)` position.
    pub before: Option<(DateTime<Utc>, TicketId)>,
    /// At most this many.
    pub limit: u32,
}

/// Tickets and their activities. Each method is one atomic operation.
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Creates a ticket: allocates the tenant's next number, inserts the ticket and applies the
    /// steps (each activity queues one webhook row), all in one transaction. With an
    /// idempotency key already used in the tenant, returns the first ticket and writes nothing.
    async fn create_ticket(&self, new: &CreateTicket) -> Result<CreatedTicket, StoreError>;
    /// Applies a change to a ticket in one transaction and returns the ticket after it.
    async fn change_ticket(&self, change: &TicketChange) -> Result<Ticket, StoreError>;
    /// Loads a ticket.
    async fn ticket(&self, id: TicketId) -> Result<Ticket, StoreError>;
    /// Lists tickets.
    async fn tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>, StoreError>;
    /// A ticket's activities, oldest first.
    async fn activities(&self, ticket: TicketId) -> Result<Vec<Activity>, StoreError>;
    /// Tickets whose next SLA warning or breach is due at `now`, oldest due first: open or in
    /// progress (never on hold, resolved or closed).
    async fn sla_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Ticket>, StoreError>;
}
