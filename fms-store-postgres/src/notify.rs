//! LISTEN/NOTIFY wake-up: the outbox trigger notifies `fms_webhook_queue` (payload: the
//! tenant id) when a transaction that queued rows commits; a dispatcher on any host listens
//! and runs a batch at once instead of waiting for its poll interval.
//!
//! Notifications are a hint, never the source of truth: a listener whose connection drops
//! reconnects and reports a wake-up (rows may have been queued meanwhile), and dispatchers
//! keep polling as the fallback. Behind a transaction-pooling PgBouncer, LISTEN does not
//! work: switch it off with [`PgStoreOptions::with_notify`](crate::PgStoreOptions) and rely
//! on polling.

use std::sync::Arc;
use std::time::Duration;

use fms_core::EnqueueListener;
use fms_core::ids::TenantId;
use fms_core::store::StoreError;
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use crate::error::Error;

/// The channel the outbox trigger notifies.
pub const CHANNEL: &str = "fms_webhook_queue";

/// Why a [`QueueListener`] woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wake {
    /// Rows of this tenant were queued.
    Enqueued(TenantId),
    /// Rows were queued (by a writer whose payload was not a tenant id).
    Unknown,
    /// The connection was lost and re-established: notifications may have been missed.
    Reconnected,
}

/// A dedicated connection listening on [`CHANNEL`].
#[derive(Debug)]
pub struct QueueListener {
    inner: PgListener,
}

impl QueueListener {
    pub(crate) async fn start(pool: &sqlx::PgPool) -> Result<Self, StoreError> {
        let mut inner = PgListener::connect_with(pool).await.map_err(Error::from)?;
        inner.listen(CHANNEL).await.map_err(Error::from)?;
        Ok(Self { inner })
    }

    /// Waits for the next wake-up. Reconnects on its own after a lost connection (and then
    /// reports [`Wake::Reconnected`]); an error means the reconnect failed, and the next call
    /// tries again.
    pub async fn wait(&mut self) -> Result<Wake, StoreError> {
        match self.inner.try_recv().await.map_err(Error::from)? {
            Some(n) => Ok(n
                .payload()
                .parse::<TenantId>()
                .map_or(Wake::Unknown, Wake::Enqueued)),
            None => Ok(Wake::Reconnected),
        }
    }

    /// Forwards every wake-up to `listener` (a dispatcher loop's wake-up, e.g.
    /// `fms_http::DispatchLoop::listener()`) until the task is aborted. Failed reconnects are
    /// retried every `retry` (the dispatcher's polling covers the gap).
    pub fn forward_to(self, listener: Arc<dyn EnqueueListener>, retry: Duration) -> JoinHandle<()> {
        tokio::spawn(self.forward(listener, retry))
    }

    /// The forwarding of [`QueueListener::forward_to`] as a future that never finishes, for
    /// the caller to spawn (and to stop by dropping it).
    pub async fn forward(mut self, listener: Arc<dyn EnqueueListener>, retry: Duration) {
        loop {
            match self.wait().await {
                Ok(_) => listener.enqueued(),
                Err(e) => {
                    tracing::warn!(error = %e, "fms: LISTEN connection lost; retrying");
                    tokio::time::sleep(retry).await;
                }
            }
        }
    }
}
