//! The webhook queue as an operator sees it: rows, payloads, replay, skip, endpoint health.

use crate::delivery::BreakerState;
use crate::error::Result;
use crate::ids::{QueueEntryId, TenantId};
use crate::payload::WebhookPayload;
use crate::queue::{OnboardingEntry, QueueEntry, QueueKind, QueueQuery};
use crate::store::QueueStore;

use super::Fms;

impl Fms {
    /// Webhook queue rows.
    pub async fn queue_entries(&self, query: &QueueQuery) -> Result<Vec<QueueEntry>> {
        Ok(self.ticket_queue().entries(query).await?)
    }

    /// One queue row.
    pub async fn queue_entry(&self, entry: QueueEntryId) -> Result<QueueEntry> {
        Ok(self.ticket_queue().entry(entry).await?)
    }

    /// The payload a queue row would carry if it were sent now.
    pub async fn payload(&self, entry: QueueEntryId) -> Result<WebhookPayload> {
        let parts = self.store.payload_parts(entry).await?;
        Ok(WebhookPayload::build(&parts, self.clock.now()))
    }

    /// Sends a parked (or skipped) row again: pending, due now, attempts reset.
    pub async fn replay(&self, entry: QueueEntryId) -> Result<QueueEntry> {
        self.replay_in(self.ticket_queue(), entry).await
    }

    /// Gives up on a pending or parked row: `skipped`, so its ticket's later rows flow again.
    pub async fn skip(&self, entry: QueueEntryId) -> Result<QueueEntry> {
        self.skip_in(self.ticket_queue(), entry).await
    }

    /// The tenant's webhook endpoint health (circuit breaker).
    pub async fn endpoint_state(&self, tenant: TenantId) -> Result<BreakerState> {
        Ok(self.store.endpoint_state(tenant).await?)
    }

    /// Re-enables a tenant's endpoint (after a 410 Gone, or to cut a pause short).
    pub async fn reset_endpoint(&self, tenant: TenantId) -> Result<()> {
        self.store.reset_endpoint(tenant).await?;
        self.enqueued();
        Ok(())
    }
}

impl Fms {
    /// Onboarding queue rows: a tenant's newest first (keyset-paged like ticket rows).
    pub async fn onboarding_entries(&self, query: &QueueQuery) -> Result<Vec<OnboardingEntry>> {
        Ok(self.onboarding_queue().entries(query).await?)
    }

    /// One onboarding queue row.
    pub async fn onboarding_entry(&self, entry: QueueEntryId) -> Result<OnboardingEntry> {
        Ok(self.onboarding_queue().entry(entry).await?)
    }

    /// Sends a parked (or skipped) onboarding row again: pending, due now, attempts reset.
    pub async fn replay_onboarding(&self, entry: QueueEntryId) -> Result<OnboardingEntry> {
        self.replay_in(self.onboarding_queue(), entry).await
    }

    /// Gives up on a pending or parked onboarding row: `skipped`.
    pub async fn skip_onboarding(&self, entry: QueueEntryId) -> Result<OnboardingEntry> {
        self.skip_in(self.onboarding_queue(), entry).await
    }
}

impl Fms {
    /// Replays a row of `queue` now and wakes the dispatchers.
    async fn replay_in<Q: QueueKind>(
        &self,
        queue: &dyn QueueStore<Q>,
        entry: QueueEntryId,
    ) -> Result<Q::Entry> {
        let row = queue.replay(entry, self.clock.now()).await?;
        self.enqueued();
        Ok(row)
    }

    /// Skips a row of `queue` now and wakes the dispatchers (rows behind it may flow).
    async fn skip_in<Q: QueueKind>(
        &self,
        queue: &dyn QueueStore<Q>,
        entry: QueueEntryId,
    ) -> Result<Q::Entry> {
        let row = queue.skip(entry, self.clock.now()).await?;
        self.enqueued();
        Ok(row)
    }
}

impl Fms {
    /// Queue rows per state, across tenants, finished rows included (reads the whole history:
    /// for tests and audits).
    pub async fn queue_counts(&self) -> Result<Vec<(crate::queue::QueueState, u64)>> {
        Ok(self.store.queue_counts().await?)
    }

    /// Rows not done yet (pending, leased, parked) per state, across tenants: the backlog, for
    /// metrics (reads only those rows).
    pub async fn queue_backlog(&self) -> Result<Vec<(crate::queue::QueueState, u64)>> {
        Ok(self.store.queue_backlog().await?)
    }
}
