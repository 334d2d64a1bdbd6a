//! The service API: the one type an embedding application holds. It validates input, runs
//! the pure decisions (intake, rules, workflow) and applies them through the ports.

mod directory;
mod intake;
mod onboarding;
mod queue;
mod rules;
mod sla;
mod tickets;

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::onboarding::OnboardingSettings;
use crate::queue::{OnboardingQueue, TicketQueue};
use crate::store::{EnqueueListener, QueueStore, Store};

pub use directory::URL_MAX;
pub use intake::Ingested;
pub use onboarding::{OnboardingRequest, OnboardingStarted};
pub use rules::{DEFAULT_POOL, default_rules};
pub use tickets::{AddActivity, METADATA_MAX_BYTES};

/// The fms service. Cheap to clone; share it between tasks.
///
/// ```
/// # async fn demo(store: std::sync::Arc<dyn fms_core::store::Store>) -> fms_core::Result<()> {
/// use fms_core::{Fms, tenant::NewTenant, user::{NewUser, Role}};
///
/// let fms = Fms::new(store);
/// let tenant = fms.create_tenant(NewTenant::new("ACME Facilities")).await?;
/// fms.create_user(NewUser::new(tenant.id, "John Doe", Role::Complainant).with_chat_id("123456789")).await?;
/// let body = serde_json::json!({
///     "issue": "AC not working in Building A", "location": "Building A, Floor 3",
///     "category": "HVAC", "priority": "high", "name": "John Doe",
///     "chat_id": "123456789", "tenant_id": tenant.id.to_string(),
/// });
/// let ingested = fms.ingest(&body, None).await?;
/// println!("{}", ingested.ticket.number); // TKT-0001
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Fms {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    listener: Option<Arc<dyn EnqueueListener>>,
    onboarding: OnboardingSettings,
}

impl Fms {
    /// A service over `store`, on the system clock.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            listener: None,
            onboarding: OnboardingSettings::default(),
        }
    }

    /// Replaces the clock (tests, simulations).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the onboarding settings (correlation id lifetime, bot username).
    pub fn with_onboarding(mut self, settings: OnboardingSettings) -> Self {
        self.onboarding = settings;
        self
    }

    /// Registers the listener told about every commit that queues rows (one per service; a
    /// later call replaces it).
    pub fn with_enqueue_listener(mut self, listener: Arc<dyn EnqueueListener>) -> Self {
        self.listener = Some(listener);
        self
    }

    pub(crate) fn enqueued(&self) {
        if let Some(l) = &self.listener {
            l.enqueued();
        }
    }

    /// The store this service writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The store's ticket webhook queue.
    fn ticket_queue(&self) -> &dyn QueueStore<TicketQueue> {
        &*self.store
    }

    /// The store's onboarding queue.
    fn onboarding_queue(&self) -> &dyn QueueStore<OnboardingQueue> {
        &*self.store
    }

    /// The clock this service reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}
