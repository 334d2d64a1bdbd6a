//! The wake-up port: how a store tells a dispatcher in this process that ANOTHER process
//! committed queue rows, so that they are delivered at once instead of at the next poll.
//!
//! Commits made through this process's [`Fms`](crate::Fms) already wake its dispatchers
//! through an [`EnqueueListener`]. A store shared by several processes (Postgres) can offer
//! more: it implements [`WakeupSource`] and returns itself from
//! [`TicketStore::wakeups`](crate::store::TicketStore::wakeups) (whose default is `None`).
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

use crate::service::EnqueueListener;
use crate::store::StoreError;

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
