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
use crate::notification::{Notification, NotificationQuery};
use crate::onboarding::Invitation;
use crate::payload::PayloadParts;
use crate::queue::{
    Claim, ClaimOptions, Completion, CompletionEffect, QueueEntry, QueueQuery, QueueState,
};
use crate::rules::{BusinessCalendar, Candidate, RuleSet, SlaState};
use crate::tenant::{Tenant, TenantPatch};
use crate::ticket::{Priority, Report, SlaDue, Status, Ticket};
use crate::user::{Role, User, UserPatch};
use crate::wakeup::WakeupSource;

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

/// An onboarding request, written in one transaction: the pending user (created, or the
/// tenant's existing user with that email updated), the invitation, and the queued payload.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvitation {
    /// The user to create when the tenant has no user with `email` (its id is the
    /// invitation's `user_id`).
    pub user: User,
    /// The invitation (its `user_id` is replaced by the existing user's id when there is one).
    pub invitation: Invitation,
    /// The payload for the onboarding webhook; its `user_id` field is rewritten likewise.
    pub payload: serde_json::Value,
}

/// The fenced completion of an invitation: binds the chat only if the invitation is still
/// open (`Conflict` otherwise), fails with `Conflict` if the chat id belongs to another user
/// of the tenant, and writes the notification, all in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteInvitation {
    /// The invitation.
    pub correlation_id: String,
    /// The chat to bind.
    pub chat_id: String,
    /// When.
    pub now: DateTime<Utc>,
    /// The dashboard notification ("user onboarded").
    pub notification: Notification,
}

/// A claimed onboarding webhook row.
#[derive(Debug, Clone, PartialEq)]
pub struct OnboardingClaim {
    /// The row.
    pub entry: OnboardingEntry,
    /// The fencing token.
    pub token: i64,
    /// When the row was first attempted.
    pub first_attempt_at: DateTime<Utc>,
    /// The payload to send.
    pub payload: serde_json::Value,
}

/// One onboarding webhook queue row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// The number of queue rows in each state (all tenants), finished rows included: it reads
    /// the whole history, so it is for tests and audits; metrics use
    /// [`TicketStore::queue_backlog`].
    async fn queue_counts(&self) -> Result<Vec<(QueueState, u64)>, StoreError>;
    /// The number of rows not done yet (pending, leased, parked) in each of those states, all
    /// tenants: the backlog. Reads only those rows, however long the finished history.
    async fn queue_backlog(&self) -> Result<Vec<(QueueState, u64)>, StoreError>;

    /// Writes an onboarding request (see [`NewInvitation`]) and returns the pending user.
    async fn create_invitation(&self, new: &NewInvitation) -> Result<User, StoreError>;
    /// Loads an invitation by correlation id.
    async fn invitation(&self, correlation_id: &str) -> Result<Invitation, StoreError>;
    /// Completes an invitation (see [`CompleteInvitation`]) and returns the onboarded user.
    async fn complete_invitation(&self, done: &CompleteInvitation) -> Result<User, StoreError>;
    /// Claims due onboarding webhook rows (a queue of its own, with its own endpoint breaker,
    /// so onboarding and ticket webhooks never delay each other).
    async fn claim_onboarding(
        &self,
        options: &ClaimOptions,
    ) -> Result<Vec<OnboardingClaim>, StoreError>;
    /// Finishes a claimed onboarding row (fenced like [`TicketStore::complete`]); the breaker
    /// update applies to the onboarding endpoint.
    async fn complete_onboarding(
        &self,
        completion: &Completion,
    ) -> Result<CompletionEffect, StoreError>;
    /// Onboarding queue rows of a tenant, newest first.
    async fn onboarding_entries(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> Result<Vec<OnboardingEntry>, StoreError>;

    /// Stores a notification.
    async fn add_notification(&self, notification: &Notification) -> Result<(), StoreError>;
    /// Lists notifications, newest first.
    async fn notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError>;
    /// Marks a notification read (keeping the first read time) and returns it. With
    /// `tenant`, a notification of another tenant is `NotFound` and stays unread.
    async fn mark_notification_read(
        &self,
        tenant: Option<TenantId>,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<Notification, StoreError>;

    /// Tickets whose next SLA warning or breach is due at `now`, oldest due first: open or in
    /// progress (never on hold, resolved or closed).
    async fn sla_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Ticket>, StoreError>;

    /// Wake-ups on other processes' commits, when this store offers them (see
    /// [`crate::wakeup`]). Default: `None` (one process per store, or polling only).
    fn wakeups(&self) -> Option<&dyn WakeupSource> {
        None
    }
}
