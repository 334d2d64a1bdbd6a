//! Webhook queue rows (the outbox): one per activity, with a per-ticket sequence and the
//! ticket's state right after that activity.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::delivery::{BreakerState, DeliverySettings, Outcome};
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

/// One onboarding webhook queue row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingEntry {
    /// Its id.
    pub id: QueueEntryId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The invitation it announces (also the base of its `webhook-id`).
    pub correlation_id: String,
    /// State.
    pub state: QueueState,
    /// Attempts made.
    pub attempts: u32,
    /// When it may next be attempted.
    pub next_attempt_at: DateTime<Utc>,
    /// Last HTTP status.
    pub last_status_code: Option<u16>,
    /// Last error.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
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
    /// Only rows with a smaller id: the keyset position after the last row of the previous
    /// page of a newest-first listing (its id), so a page costs the same however deep it is.
    pub before: Option<QueueEntryId>,
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
            before: None,
            limit: u32::MAX,
        }
    }

    /// A tenant's rows, newest first, optionally in one state.
    pub fn tenant(tenant_id: TenantId, state: Option<QueueState>, limit: u32) -> Self {
        Self {
            tenant_id: Some(tenant_id),
            ticket_id: None,
            state,
            before: None,
            limit,
        }
    }

    /// The same query, from after the row `last` (the last row of the previous page).
    pub fn before(self, last: QueueEntryId) -> Self {
        Self {
            before: Some(last),
            ..self
        }
    }
}

/// How a dispatcher claims rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimOptions {
    /// The claim time: rows due at or before it are claimable, leases expire relative to it.
    pub now: DateTime<Utc>,
    /// At most this many rows (`TICKET_ACTIVITY_WEBHOOK_BATCH`).
    pub limit: u32,
    /// How long the claim hides the rows from other dispatchers.
    pub lease: chrono::Duration,
}

/// A claimed row: the lease, and what its request is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim<Q: QueueKind = TicketQueue> {
    /// The row (state `leased`).
    pub entry: Q::Entry,
    /// The fencing token: only the holder of the current token can finish the row.
    pub token: i64,
    /// When the row was first attempted (now, for a first attempt).
    pub first_attempt_at: DateTime<Utc>,
    /// What the request is built from: the payload's parts for a ticket webhook (the tenant
    /// carries the URL and the secret), the stored JSON for an onboarding request.
    pub message: Q::Message,
}

/// What every queue row tells the dispatcher and the operator, whichever its queue.
pub trait QueueRow: Clone + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// Its id.
    fn id(&self) -> QueueEntryId;
    /// Its tenant.
    fn tenant_id(&self) -> TenantId;
    /// Its state.
    fn state(&self) -> QueueState;
    /// Attempts made so far.
    fn attempts(&self) -> u32;
    /// When it may next be attempted (a leased row: when its lease ends).
    fn next_attempt_at(&self) -> DateTime<Utc>;
    /// The last HTTP status received, if any.
    fn last_status_code(&self) -> Option<u16>;
    /// The last error, if any.
    fn last_error(&self) -> Option<&str>;
}

macro_rules! queue_row {
    ($entry:ty) => {
        impl QueueRow for $entry {
            fn id(&self) -> QueueEntryId {
                self.id
            }
            fn tenant_id(&self) -> TenantId {
                self.tenant_id
            }
            fn state(&self) -> QueueState {
                self.state
            }
            fn attempts(&self) -> u32 {
                self.attempts
            }
            fn next_attempt_at(&self) -> DateTime<Utc> {
                self.next_attempt_at
            }
            fn last_status_code(&self) -> Option<u16> {
                self.last_status_code
            }
            fn last_error(&self) -> Option<&str> {
                self.last_error.as_deref()
            }
        }
    };
}
queue_row!(QueueEntry);
queue_row!(OnboardingEntry);

/// What differs between the delivery queues, as types: the row a queue lists and the message a
/// claim carries. The claim / send / complete / breaker / park / replay / skip machinery is
/// one, written once over this trait (the store's `QueueStore` port and the dispatcher).
pub trait QueueKind: fmt::Debug + Clone + PartialEq + Send + Sync + 'static {
    /// A row as listed.
    type Entry: QueueRow;
    /// What a claim carries to build the request.
    type Message: fmt::Debug + Clone + PartialEq + Send + Sync + 'static;
    /// The queue's name in logs and errors (`tickets`, `onboarding`).
    const NAME: &'static str;
}

/// The ticket webhook queue (the outbox): one row per activity, in per-ticket order, to each
/// tenant's automation webhook, with a breaker per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TicketQueue;

impl QueueKind for TicketQueue {
    type Entry = QueueEntry;
    type Message = crate::payload::PayloadParts;
    const NAME: &'static str = "tickets";
}

/// The onboarding queue: one row per invitation, to the one onboarding endpoint, with its own
/// breaker, so onboarding and ticket webhooks never delay each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OnboardingQueue;

impl QueueKind for OnboardingQueue {
    type Entry = OnboardingEntry;
    type Message = serde_json::Value;
    const NAME: &'static str = "onboarding";
}

/// What happens to a claimed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Received (2xx): the row is done.
    Delivered,
    /// Not sent because the tenant has no URL: the row is done, marked `skipped`.
    Skipped,
    /// Try again at this time.
    Retry {
        /// The next attempt.
        at: DateTime<Utc>,
    },
    /// Given up after the retry age: `parked`, still blocking its ticket until replayed or
    /// skipped.
    Park,
    /// Not attempted (graceful stop): back to `pending`, due now, no attempt counted.
    Release,
}

/// The breaker transition that goes with a completion, applied by the store to the endpoint's
/// current state inside the completing transaction (so concurrent completions of one endpoint
/// never lose a failure count).
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerUpdate {
    /// The attempt's outcome.
    pub outcome: Outcome,
    /// The settings the breaker backs off with.
    pub settings: DeliverySettings,
    /// The jitter `U` in `[0, 1)`.
    pub jitter: f64,
}

impl BreakerUpdate {
    /// Applies this update to `state` at `now`; `true` if it disabled the endpoint just now.
    pub fn apply(&self, state: &mut BreakerState, now: DateTime<Utc>) -> bool {
        state.record(&self.outcome, now, &self.settings, self.jitter)
    }
}

/// The fenced finish of a claimed row.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The row.
    pub entry: QueueEntryId,
    /// The token the claim returned; a stale token is rejected (`Conflict`) and changes nothing.
    pub token: i64,
    /// When.
    pub now: DateTime<Utc>,
    /// The row's fate.
    pub resolution: Resolution,
    /// Whether an attempt was made (counted in `attempts`).
    pub attempted: bool,
    /// The HTTP status received, if any (kept on the row as `last_status_code`).
    pub status_code: Option<u16>,
    /// The error, if any (kept on the row as `last_error`).
    pub error: Option<String>,
    /// The endpoint breaker's transition, if an attempt was made.
    pub breaker: Option<BreakerUpdate>,
}

/// What a completion did besides finishing the row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompletionEffect {
    /// The endpoint was disabled by this completion (410 Gone): tell the tenant.
    pub endpoint_disabled: bool,
}
