//! The storage ports: everything fms persists, split by concern into role traits, and
//! [`Store`], the umbrella a complete store implements. Each method is one atomic operation:
//! it either fully happens or not at all; transactions never cross the port.
//!
//! | trait | concern | adapters' file |
//! | --- | --- | --- |
//! | [`DirectoryStore`] | tenants, API keys, users | `directory.rs` |
//! | [`RuleStore`] | rule sets, calendars, the intake's context read | `rules.rs` |
//! | [`TicketStore`] | tickets, activities, the SLA sweeper's query | `tickets.rs` |
//! | [`QueueStore`] | the delivery queues (one port, both queues) | `queue.rs` |
//! | [`OutboxStore`] | the ticket outbox's payloads, endpoint health, counts | `queue.rs` |
//! | [`OnboardingStore`] | Telegram onboarding invitations | `onboarding.rs` |
//! | [`NotificationStore`] | dashboard notifications | `notifications.rs` |
//! | [`WakeupSource`] (optional, through [`OutboxStore::wakeups`]) | other processes' commits | `notify.rs` (Postgres) |
//!
//! Code that holds an `Arc<dyn Store>` calls every role trait's methods directly; code that
//! holds a concrete store brings the traits into scope with `use fms_core::store::prelude::*;`.
//! The two queues share method names, so a queue call names its queue through the upcast
//! `&*store as &dyn QueueStore<TicketQueue>`.

mod directory;
mod error;
mod notifications;
mod onboarding;
mod queue;
mod rules;
mod tickets;
mod wakeup;

use std::fmt::Debug;

use crate::queue::{OnboardingQueue, TicketQueue};

pub use directory::DirectoryStore;
pub use error::StoreError;
pub use notifications::NotificationStore;
pub use onboarding::{CompleteInvitation, NewInvitation, OnboardingStore};
pub use queue::{OutboxStore, QueueStore};
pub use rules::{IntakeContext, RuleStore};
pub use tickets::{
    CreateTicket, CreatedTicket, Step, TicketChange, TicketQuery, TicketStore, TicketUpdate,
};
pub use wakeup::{EnqueueListener, WakeupForwarder, WakeupSource};

/// A complete store: every role trait. `Arc<dyn Store>` is what [`Fms`](crate::Fms) and the
/// dispatchers hold.
pub trait Store:
    DirectoryStore
    + RuleStore
    + TicketStore
    + QueueStore<TicketQueue>
    + QueueStore<OnboardingQueue>
    + OutboxStore
    + OnboardingStore
    + NotificationStore
    + Debug
    + 'static
{
}

impl<T> Store for T where
    T: DirectoryStore
        + RuleStore
        + TicketStore
        + QueueStore<TicketQueue>
        + QueueStore<OnboardingQueue>
        + OutboxStore
        + OnboardingStore
        + NotificationStore
        + Debug
        + 'static
{
}

/// The role traits, for `use fms_core::store::prelude::*;` where a concrete store is used.
pub mod prelude {
    pub use super::{
        DirectoryStore, NotificationStore, OnboardingStore, OutboxStore, QueueStore, RuleStore,
        Store, TicketStore,
    };
}
