//! Webhook queue rows (the outbox): one per activity, with a per-ticket sequence and the
//! ticket's state right after that activity.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ActivityId, QueueEntryId, TenantId, TicketId, UserId};
use crate::ticket::{Priority, SlaDue, Status, Ticket, UnknownName};

/// Where a queue row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueState {
    /// Waiting for its first attempt or its next retry.
    Pending,
    /// Claimed by a dispatcher whose lease has not expired.
    Leased,
    /// The receiver answered 2xx.
    Delivered,
    /// Not sent because the tenant has no webhook URL, or skipped by an operator.
    Skipped,
    /// Given up after the retry age; still blocks its own ticket until replayed or skipped.
    Parked,
}

impl QueueState {
    /// Every state.
    pub const ALL: [QueueState; 5] = [
        QueueState::Pending,
        QueueState::Leased,
        QueueState::Delivered,
        QueueState::Skipped,
        QueueState::Parked,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueState::Pending => "pending",
            QueueState::Leased => "leased",
            QueueState::Delivered => "delivered",
            QueueState::Skipped => "skipped",
            QueueState::Parked => "parked",
        }
    }

    /// Whether the row is finished (delivered or skipped) and no longer blocks its ticket.
    pub fn is_done(self) -> bool {
        matches!(self, QueueState::Delivered | QueueState::Skipped)
    }
}

impl fmt::Display for QueueState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QueueState {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QueueState::ALL
            .into_iter()
            .find(|q| q.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownName {
                kind: "queue state",
                value: s.to_owned(),
                allowed: "pending, leased, delivered, skipped, parked".to_owned(),
            })
    }
}

/// The mutable part of a ticket as it was right after an activity. The queue row keeps it so a
/// late retry never reports a later state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSnapshot {
    /// Status.
    pub status: Status,
    /// Priority.
    pub priority: Priority,
    /// Executor.
    pub executor_id: Option<UserId>,
    /// SLA due times.
    pub sla: SlaDue,
}

impl TicketSnapshot {
    /// The snapshot of `ticket` now.
    pub fn of(ticket: &Ticket) -> Self {
        Self {
            status: ticket.status,
            priority: ticket.priority,
            executor_id: ticket.executor_id,
            sla: ticket.sla,
        }
    }

    /// `ticket` with this snapshot's state.
    pub fn apply_to(&self, mut ticket: Ticket) -> Ticket {
        ticket.status = self.status;
        ticket.priority = self.priority;
        ticket.executor_id = self.executor_id;
        ticket.sla = self.sla;
        ticket
    }
}

/// One webhook queue row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// Its id.
    pub id: QueueEntryId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Ticket.
    pub ticket_id: TicketId,
    /// The activity it announces.
    pub activity_id: ActivityId,
    /// Per-ticket sequence: 1, 2, 3, ... in commit order.
    pub sequence: i64,
    /// State.
    pub state: QueueState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it may next be attempted.
    pub next_attempt_at: DateTime<Utc>,
    /// The last HTTP status received, if any.
    pub last_status_code: Option<u16>,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// The ticket as it was right after the activity.
    pub snapshot: TicketSnapshot,
}

/// Which queue rows to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueQuery {
    /// Only this tenant's rows.
    pub tenant_id: Option<TenantId>,
    /// Only this ticket's rows.
    pub ticket_id: Option<TicketId>,
    /// Only rows in this state.
    pub state: Option<QueueState>,
    /// At most this many (newest first for tenant listings, by sequence for a ticket).
    pub limit: u32,
}

impl QueueQuery {
    /// Every row of one ticket, in sequence order.
    pub fn ticket(ticket_id: TicketId) -> Self {
        Self {
            tenant_id: None,
            ticket_id: Some(ticket_id),
            state: None,
            limit: u32::MAX,
        }
    }

    /// A tenant's rows, newest first, optionally in one state.
    pub fn tenant(tenant_id: TenantId, state: Option<QueueState>, limit: u32) -> Self {
        Self {
            tenant_id: Some(tenant_id),
            ticket_id: None,
            state,
            limit,
        }
    }
}
