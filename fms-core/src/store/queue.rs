//! The delivery queues: one port for both (ticket webhooks and onboarding requests), chosen by
//! the queue's [`QueueKind`], and what only the ticket outbox has (payloads, per-tenant
//! endpoint health, backlog counts).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::delivery::BreakerState;
use crate::ids::{QueueEntryId, TenantId};
use crate::payload::PayloadParts;
use crate::queue::{
    Claim, ClaimOptions, Completion, CompletionEffect, QueueKind, QueueQuery, QueueState,
};

use super::{StoreError, WakeupSource};

/// One delivery queue of the store: claims with leases and fencing tokens, fenced
/// completions that update the endpoint's breaker, and the operator's replay and skip. The
/// dispatcher ([`crate::dispatch::Dispatcher`]) drives every queue through this one port.
#[async_trait]
pub trait QueueStore<Q: QueueKind>: Send + Sync {
    /// Claims up to `limit` due rows in one transaction: a row is claimable when it is pending
    /// (or its lease expired), due, and its endpoint's breaker admits it
    /// ([`BreakerState::admission`]): not disabled, not paused, no probe in flight. When the
    /// breaker is due a probe, at most one row of that endpoint is claimed and the probe slot
    /// is taken (`probe_until = now + lease`), only if a row is actually claimed. Claimed rows
    /// are leased with a fresh fencing token. The ticket queue also keeps each ticket's order:
    /// only the first undone row of a ticket is claimable (head of line).
    async fn claim(&self, options: &ClaimOptions) -> Result<Vec<Claim<Q>>, StoreError>;
    /// Finishes a claimed row if `token` is still its current token; otherwise `Conflict` and
    /// nothing changes. Updates the endpoint's breaker in the same transaction.
    async fn complete(&self, completion: &Completion) -> Result<CompletionEffect, StoreError>;
    /// Puts a parked or skipped row back to pending, due at `now`, with its attempts reset.
    /// Any other state is a `Conflict`.
    async fn replay(&self, entry: QueueEntryId, now: DateTime<Utc>)
    -> Result<Q::Entry, StoreError>;
    /// Marks a pending or parked row skipped (it stops blocking its ticket). A leased row is a
    /// `Conflict`.
    async fn skip(&self, entry: QueueEntryId, now: DateTime<Utc>) -> Result<Q::Entry, StoreError>;
    /// One row.
    async fn entry(&self, entry: QueueEntryId) -> Result<Q::Entry, StoreError>;
    /// Rows, newest first for a tenant (keyset-paged by [`QueueQuery::before`]), in sequence
    /// order for one ticket.
    async fn entries(&self, query: &QueueQuery) -> Result<Vec<Q::Entry>, StoreError>;
}

/// What only the ticket outbox offers besides its queue: the payload of a row, each tenant's
/// endpoint health, and counts.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Everything needed to build the webhook payload of one ticket queue row.
    async fn payload_parts(&self, entry: QueueEntryId) -> Result<PayloadParts, StoreError>;
    /// The tenant's endpoint health.
    async fn endpoint_state(&self, tenant: TenantId) -> Result<BreakerState, StoreError>;
    /// Clears the tenant's endpoint failures, pause and disabled flag.
    async fn reset_endpoint(&self, tenant: TenantId) -> Result<(), StoreError>;
    /// The number of ticket queue rows in each state (all tenants), finished rows included: it
    /// reads the whole history, so it is for tests and audits; metrics use
    /// [`OutboxStore::queue_backlog`].
    async fn queue_counts(&self) -> Result<Vec<(QueueState, u64)>, StoreError>;
    /// The number of rows not done yet (pending, leased, parked) in each of those states, all
    /// tenants: the backlog. Reads only those rows, however long the finished history.
    async fn queue_backlog(&self) -> Result<Vec<(QueueState, u64)>, StoreError>;

    /// Wake-ups on other processes' commits, when this store offers them (see
    /// [`WakeupSource`]). Default: `None` (one process per store, or polling only).
    fn wakeups(&self) -> Option<&dyn WakeupSource> {
        None
    }
}
