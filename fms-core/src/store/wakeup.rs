//! The wake-up port: how a store tells a dispatcher in this process that ANOTHER process
//! committed queue rows, so that they are delivered at once instead of at the next poll.
//!
//! Commits made through this process's [`Fms`](crate::Fms) already wake its dispatchers
//! through an [`EnqueueListener`]. A store shared by several processes (Postgres) can offer
//! more: it implements [`WakeupSource`] and returns itself from
//! [`OutboxStore::wakeups`](super::OutboxStore::wakeups) (whose default is `None`).
//! Wake-ups are a hint, never the source of truth: dispatchers keep polling.
//!
//! The port stays runtime-free: [`WakeupSource::listen`] hands back a future, and the caller
//! (the delivery runtime in `fms-http`) spawns it on its own executor and cancels it by
//! dropping or aborting it.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;

use super::StoreError;

/// Forwards other processes' commits to a listener until it is dropped. It never finishes on
/// its own: lost connections are re-established inside.
pub type WakeupForwarder = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Something that learns about commits made by other processes.
#[async_trait]
pub trait WakeupSource: Send + Sync + Debug {
    /// Starts listening and returns the forwarder that calls `listener` on every commit of
    /// queue rows (and after a reconnect, since commits may have been missed); listening is
    /// active when this returns. `None` when wake-ups are switched off for this store.
    async fn listen(
        &self,
        listener: Arc<dyn EnqueueListener>,
    ) -> Result<Option<WakeupForwarder>, StoreError>;
}

/// Told whenever this process's service has committed queue rows (new activities, replays),
/// or a [`WakeupSource`] has seen another process do so, so a dispatcher can deliver at once
/// instead of waiting for its next poll.
pub trait EnqueueListener: Send + Sync + Debug + 'static {
    /// Rows were committed. Must be cheap and must not block.
    fn enqueued(&self);
}
