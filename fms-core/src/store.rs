//! The `TicketStore` port: everything fms persists. Each method is one atomic operation: it
//! either fully happens or not at all; transactions never cross the port.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use std::collections::BTreeMap;

use crate::activity::{Activity, NewActivity};
use crate::decision::CursorUpdate;
use crate::delivery::BreakerState;
use crate::ids::{QueueEntryId, TenantId, TicketId, UserId};
use crate::payload::PayloadParts;
use crate::queue::{
    Claim, ClaimOptions, Completion, CompletionEffect, QueueEntry, QueueQuery, QueueState,
};
use crate::rules::{BusinessCalendar, Candidate, RuleSet, SlaState};
use crate::tenant::{Tenant, TenantPatch};
use crate::ticket::{Priority, Report, SlaDue, Status, Ticket};
use crate::user::{Role, User, UserPatch};

/// A store failure. Adapters map their driver errors into it; driver error types never cross
/// the port.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up.
        what: &'static str,
    },
    /// A uniqueness rule or an optimistic-concurrency check failed.
    #[error("conflict: {reason}")]
    Conflict {
        /// Why.
        reason: String,
    },
    /// The data is not what the store accepts.
    #[error("invalid data: {reason}")]
    Invalid {
        /// Why.
        reason: String,
    },
    /// A temporary failure (busy, connection lost); retrying may succeed.
    #[error("{backend} unavailable")]
    Unavailable {
        /// Which backend.
        backend: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Any other backend failure.
    #[error("{backend} error")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

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

/// Everything the rule engine reads for one intake, read in one go.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeContext {
    /// The tenant.
    pub tenant: Tenant,
    /// The user with the intake's chat id in that tenant, if any.
    pub complainant: Option<User>,
    /// The tenant's current rule set, if one was saved.
    pub rules: Option<RuleSet>,
    /// The tenant's business calendar, if one was saved.
    pub calendar: Option<BusinessCalendar>,
    /// The tenant's executors with their open-ticket counts (open, in progress, on hold).
    pub roster: Vec<Candidate>,
    /// Round-robin cursors: pool name -> the executor that pool assigned last.
    pub cursors: BTreeMap<String, UserId>,
}

/// Persistence for tenants, users, tickets, activities and the webhook queue.
#[async_trait]
pub trait TicketStore: Send + Sync + Debug + 'static {
    /// Inserts a tenant. `Conflict` if the id exists.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Loads a tenant.
    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError>;
    /// Changes a tenant's settings and returns the result.
    async fn update_tenant(&self, id: TenantId, patch: &TenantPatch) -> Result<Tenant, StoreError>;

    /// Inserts a user. `Conflict` if the chat id is already used in the tenant.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// Loads a user.
    async fn user(&self, id: UserId) -> Result<User, StoreError>;
    /// The user of `tenant` with this Telegram chat id, if any.
    async fn user_by_chat_id(
        &self,
        tenant: TenantId,
        chat_id: &str,
    ) -> Result<Option<User>, StoreError>;
    /// Changes a user and returns the result. `Conflict` on a duplicate chat id.
    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<User, StoreError>;
    /// A tenant's users, optionally of one role, oldest first.
    async fn users(&self, tenant: TenantId, role: Option<Role>) -> Result<Vec<User>, StoreError>;

    /// Reads what an intake needs: the tenant (`NotFound` if missing), the complainant by chat
    /// id, the rule set, the calendar, the executor roster with loads and the cursors.
    async fn intake_context(
        &self,
        tenant: TenantId,
        chat_id: &str,
    ) -> Result<IntakeContext, StoreError>;
    /// Stores a new version of the tenant's rule set (`rules.version` must be unused for the
    /// tenant: `Conflict` otherwise). Older versions are kept.
    async fn save_rules(&self, tenant: TenantId, rules: &RuleSet) -> Result<(), StoreError>;
    /// The tenant's current (highest-version) rule set.
    async fn rules(&self, tenant: TenantId) -> Result<Option<RuleSet>, StoreError>;
    /// Sets or clears (24x7) the tenant's business calendar.
    async fn save_calendar(
        &self,
        tenant: TenantId,
        calendar: Option<&BusinessCalendar>,
    ) -> Result<(), StoreError>;
    /// The tenant's business calendar.
    async fn calendar(&self, tenant: TenantId) -> Result<Option<BusinessCalendar>, StoreError>;

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

    /// Lists queue rows.
    async fn queue_entries(&self, query: &QueueQuery) -> Result<Vec<QueueEntry>, StoreError>;
    /// Everything needed to build the webhook payload of one queue row.
    async fn payload_parts(&self, entry: QueueEntryId) -> Result<PayloadParts, StoreError>;

    /// Claims up to `limit` due rows in one transaction: a row is claimable when it is pending
    /// (or its lease expired), due, the first undone row of its ticket (head of line), and its
    /// tenant's endpoint breaker admits it ([`BreakerState::admission`]): not disabled, not
    /// paused, no probe in flight. When the breaker is due a probe, at most one row of that
    /// tenant is claimed and the probe slot is taken (`probe_until = now + lease`). Claimed rows
    /// are leased with a fresh fencing token.
    async fn claim(&self, options: &ClaimOptions) -> Result<Vec<Claim>, StoreError>;
    /// Finishes a claimed row if `token` is still its current token; otherwise `Conflict` and
    /// nothing changes. Updates the tenant's endpoint state in the same transaction.
    async fn complete(&self, completion: &Completion) -> Result<CompletionEffect, StoreError>;
    /// Puts a parked or skipped row back to pending, due at `now`, with its attempts reset.
    async fn replay(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<QueueEntry, StoreError>;
    /// Marks a pending or parked row skipped (it stops blocking its ticket). A leased row is a
    /// `Conflict`.
    async fn skip(&self, entry: QueueEntryId, now: DateTime<Utc>)
    -> Result<QueueEntry, StoreError>;
    /// One queue row.
    async fn queue_entry(&self, entry: QueueEntryId) -> Result<QueueEntry, StoreError>;
    /// The tenant's endpoint health.
    async fn endpoint_state(&self, tenant: TenantId) -> Result<BreakerState, StoreError>;
    /// Clears the tenant's endpoint failures, pause and disabled flag.
    async fn reset_endpoint(&self, tenant: TenantId) -> Result<(), StoreError>;

    /// Sets the hash of the tenant's API key (the key itself is never stored), replacing any
    /// earlier one.
    async fn set_api_key_hash(&self, tenant: TenantId, hash: &str) -> Result<(), StoreError>;
    /// The tenant whose API key has this hash, if any.
    async fn tenant_by_api_key_hash(&self, hash: &str) -> Result<Option<TenantId>, StoreError>;
    /// The number of queue rows in each state (all tenants), for metrics.
    async fn queue_counts(&self) -> Result<Vec<(QueueState, u64)>, StoreError>;
}
