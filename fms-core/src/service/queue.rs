//! The webhook queue as an operator sees it: rows, payloads, replay, skip, endpoint health.

use crate::delivery::BreakerState;
use crate::error::Result;
use crate::ids::{QueueEntryId, TenantId};
use crate::payload::WebhookPayload;
use crate::queue::{QueueEntry, QueueQuery};

use super::Fms;

impl Fms {
    /// Webhook queue rows.
    pub async fn queue_entries(&self, query: &QueueQuery) -> Result<Vec<QueueEntry>> {
        Ok(self.store.queue_entries(query).await?)
    }

    /// One queue row.
    pub async fn queue_entry(&self, entry: QueueEntryId) -> Result<QueueEntry> {
        Ok(self.store.queue_entry(entry).await?)
    }

    /// The payload a queue row would carry if it were sent now.
    pub async fn payload(&self, entry: QueueEntryId) -> Result<WebhookPayload> {
        let parts = self.store.payload_parts(entry).await?;
        Ok(WebhookPayload::build(&parts, self.clock.now()))
    }

    /// Sends a parked (or skipped) row again: pending, due now, attempts reset.
    pub async fn replay(&self, entry: QueueEntryId) -> Result<QueueEntry> {
        let row = self.store.replay(entry, self.clock.now()).await?;
        self.enqueued();
        Ok(row)
    }

    /// Gives up on a pending or parked row: `skipped`, so its ticket's later rows flow again.
    pub async fn skip(&self, entry: QueueEntryId) -> Result<QueueEntry> {
        let row = self.store.skip(entry, self.clock.now()).await?;
        self.enqueued();
        Ok(row)
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
