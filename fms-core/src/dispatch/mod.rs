//! The dispatcher: the one delivery machine for every queue. It claims due rows through the
//! queue's [`QueueStore`](crate::store::QueueStore), builds each request (for a ticket
//! webhook, the ticket as it was right after the activity, `generated_at` = send time), sends
//! it through the [`WebhookSender`], classifies the result with the pure rules of
//! [`crate::delivery`], and records each outcome with a fenced completion that also moves the
//! endpoint's breaker. What differs between queues is the small [`Delivery`] role.
//!
//! This layer drives ports, so it sits above the pure `delivery` semantics and the `store`
//! ports; it needs no runtime: [`Dispatcher::run_batch`] is the spec's cron entry point (one
//! batch now, on any executor), and [`Dispatcher::claim_jobs`] hands a long-running loop (the
//! runtime in `fms-http`) one future per claimed row.

mod join;
mod role;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use uuid::Uuid;

use crate::clock::{Clock, SystemClock};
use crate::delivery::{DeliverySettings, Disposition, Outcome, disposition};
use crate::ids::TenantId;
use crate::notification::{Notification, NotificationKind};
use crate::queue::{
    BreakerUpdate, Claim, ClaimOptions, Completion, CompletionEffect, OnboardingQueue, QueueRow,
    Resolution, TicketQueue,
};
use crate::sender::{WebhookRequest, WebhookSender};
use crate::store::{Store, StoreError};

use join::join_all;
pub use role::{Delivery, OnboardingEndpoint, Prepared};

/// A source of the backoff jitter `U` in `[0, 1)`.
pub type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Rows claimed.
    pub claimed: usize,
    /// Rows delivered (2xx).
    pub delivered: usize,
    /// Rows rescheduled after a failure.
    pub retried: usize,
    /// Rows skipped (tenant without a webhook URL).
    pub skipped: usize,
    /// Rows parked after the retry age.
    pub parked: usize,
    /// Rows released unsent because the dispatcher is stopping.
    pub released: usize,
    /// Completions rejected by the fence (the lease had expired and another dispatcher took
    /// the row).
    pub lost_leases: usize,
    /// Tenants whose endpoint this batch disabled (410 Gone).
    pub disabled_endpoints: Vec<TenantId>,
    /// Milliseconds from each delivered row's activity to its 2xx.
    pub delivery_latencies_ms: Vec<i64>,
}

/// One claimed row's delivery: sends it, records the outcome, reports that row.
pub type DeliveryJob =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<BatchReport, StoreError>> + Send>>;

impl BatchReport {
    /// Adds `other`'s counts to this report.
    pub fn merge(&mut self, other: BatchReport) {
        self.claimed += other.claimed;
        self.delivered += other.delivered;
        self.retried += other.retried;
        self.skipped += other.skipped;
        self.parked += other.parked;
        self.released += other.released;
        self.lost_leases += other.lost_leases;
        self.disabled_endpoints.extend(other.disabled_endpoints);
        self.delivery_latencies_ms
            .extend(other.delivery_latencies_ms);
    }
}

/// Delivers the rows of one queue (`Q`: [`TicketQueue`] by default, or [`OnboardingQueue`]).
/// Cheap to clone.
pub struct Dispatcher<Q: Delivery = TicketQueue> {
    store: Arc<dyn Store>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    settings: DeliverySettings,
    jitter: Jitter,
    stopping: Arc<AtomicBool>,
    endpoint: Q::Endpoint,
}

/// The onboarding queue's dispatcher.
pub type OnboardingDispatcher = Dispatcher<OnboardingQueue>;

impl<Q: Delivery> Clone for Dispatcher<Q> {
    fn clone(&self) -> Self {
        self.sibling(self.endpoint.clone())
    }
}

impl<Q: Delivery> std::fmt::Debug for Dispatcher<Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("queue", &Q::NAME)
            .field("store", &self.store)
            .field("sender", &self.sender)
            .field("settings", &self.settings)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Stops a dispatcher and its clones (see [`Dispatcher::request_stop`]).
#[derive(Debug, Clone)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    /// No new claims; claims whose send has not started are released; sends in flight finish
    /// and are recorded.
    pub fn request_stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A uniform draw in `[0, 1)` from the OS generator (through UUID v4's random bits).
pub fn random_jitter() -> f64 {
    let bits = Uuid::new_v4().as_u128() >> 75; // 53 random bits
    bits as f64 / (1u64 << 53) as f64
}

impl Dispatcher<TicketQueue> {
    /// A dispatcher of ticket webhooks over `store` and `sender` with the default settings,
    /// the system clock and random jitter.
    pub fn new(store: Arc<dyn Store>, sender: Arc<dyn WebhookSender>) -> Self {
        Self {
            store,
            sender,
            clock: Arc::new(SystemClock),
            settings: DeliverySettings::default(),
            jitter: Arc::new(random_jitter),
            stopping: Arc::new(AtomicBool::new(false)),
            endpoint: (),
        }
    }

    /// The onboarding queue's dispatcher, delivering to `endpoint` with this one's store,
    /// sender, clock, settings, jitter and stop flag (stopping either stops both).
    pub fn onboarding(&self, endpoint: OnboardingEndpoint) -> OnboardingDispatcher {
        self.sibling(endpoint)
    }
}

impl<Q: Delivery> Dispatcher<Q> {
    /// A dispatcher of queue `R` delivering to `endpoint`, sharing everything else with this
    /// one (store, sender, clock, settings, jitter and the stop flag).
    fn sibling<R: Delivery>(&self, endpoint: R::Endpoint) -> Dispatcher<R> {
        Dispatcher {
            store: Arc::clone(&self.store),
            sender: Arc::clone(&self.sender),
            clock: Arc::clone(&self.clock),
            settings: self.settings.clone(),
            jitter: Arc::clone(&self.jitter),
            stopping: Arc::clone(&self.stopping),
            endpoint,
        }
    }

    /// Replaces the settings.
    pub fn with_settings(mut self, settings: DeliverySettings) -> Self {
        self.settings = settings;
        self
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the jitter source (tests pin it).
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The settings.
    pub fn settings(&self) -> &DeliverySettings {
        &self.settings
    }

    /// Asks the dispatcher to stop: no new claims; claims whose send has not started are
    /// released; sends in flight finish and are recorded. Shared by all clones.
    pub fn request_stop(&self) {
        self.stopper().request_stop();
    }

    /// A handle that stops this dispatcher (and every clone) without holding it.
    pub fn stopper(&self) -> Stopper {
        Stopper(Arc::clone(&self.stopping))
    }

    /// Whether [`Dispatcher::request_stop`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Claims up to `batch` due rows and delivers them concurrently (at most one row per
    /// ticket is ever in flight: only the head of each ticket's line is claimable).
    pub async fn run_batch(&self) -> Result<BatchReport, StoreError> {
        let jobs = self.claim_jobs(self.settings.batch).await?;
        let mut report = BatchReport {
            claimed: jobs.len(),
            ..BatchReport::default()
        };
        let mut first_error = None;
        for result in join_all(jobs).await {
            match result {
                Ok(one) => report.merge(one),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Claims up to `limit` due rows and returns one job per row: a future that sends it and
    /// records the outcome, reporting that one row (`claimed` 0). A loop can run the jobs as
    /// independent tasks and claim again as soon as any finishes, so one slow receiver never
    /// holds back the other tickets.
    pub async fn claim_jobs(&self, limit: u32) -> Result<Vec<DeliveryJob>, StoreError> {
        if self.is_stopping() || limit == 0 {
            return Ok(Vec::new());
        }
        let claims = Q::port(&*self.store)
            .claim(&self.claim_options(limit))
            .await?;
        Ok(claims
            .into_iter()
            .map(|claim| {
                let this = self.clone();
                let job: DeliveryJob = Box::pin(async move {
                    let mut report = BatchReport::default();
                    match this.deliver(claim).await {
                        Ok(done) => done.count(&mut report),
                        Err(StoreError::Conflict { .. }) => report.lost_leases += 1,
                        Err(e) => return Err(e),
                    }
                    Ok(report)
                });
                job
            })
            .collect())
    }

    /// Sends one claimed row and records the outcome.
    async fn deliver(&self, claim: Claim<Q>) -> Result<Delivered, StoreError> {
        let port = Q::port(&*self.store);
        let mut completion = Completion {
            entry: claim.entry.id(),
            token: claim.token,
            now: self.clock.now(),
            resolution: Resolution::Release,
            attempted: false,
            status_code: None,
            error: None,
            breaker: None,
        };
        if self.is_stopping() {
            port.complete(&completion).await?;
            return Ok(Delivered::Released);
        }
        let sent_at = self.clock.now();
        let prepared = match Q::prepare(&self.endpoint, &claim, sent_at) {
            Ok(prepared) => prepared,
            Err(reason) => {
                completion.resolution = Resolution::Skipped;
                completion.error = Some(reason);
                port.complete(&completion).await?;
                return Ok(Delivered::Skipped);
            }
        };
        let request = WebhookRequest {
            url: prepared.url,
            webhook_id: prepared.webhook_id,
            timestamp: sent_at.timestamp(),
            body: prepared.body,
            secret: prepared.secret,
            timeout: self.settings.timeout,
        };
        let fate = self
            .attempt(
                &request,
                claim.entry.attempts(),
                claim.first_attempt_at,
                &mut completion,
            )
            .await;
        let effect = port.complete(&completion).await?;
        let (tenant, what) = Q::subject(&claim);
        self.notify_trouble(tenant, &fate, &effect, &what).await;
        Ok(match fate {
            Disposition::Delivered => Delivered::Sent {
                latency_ms: (completion.now - Q::happened_at(&claim)).num_milliseconds(),
            },
            Disposition::Park => Delivered::Parked,
            _ => Delivered::Retried {
                disabled: effect.endpoint_disabled.then_some(tenant),
            },
        })
    }

    /// Sends `request`, classifies the result and fills in `completion` (attempted, status,
    /// error, the row's fate and the breaker update). Returns the fate.
    async fn attempt(
        &self,
        request: &WebhookRequest,
        attempts_before: u32,
        first_attempt_at: chrono::DateTime<chrono::Utc>,
        completion: &mut Completion,
    ) -> Disposition {
        let result = self.sender.send(request).await;
        let now = self.clock.now();
        let outcome = Outcome::classify(&result, now);
        let jitter = (self.jitter)();
        let fate = disposition(
            &outcome,
            attempts_before.saturating_add(1),
            first_attempt_at,
            now,
            &self.settings,
            jitter,
        );
        completion.now = now;
        completion.attempted = true;
        completion.status_code = outcome.status_code();
        completion.error = outcome.error_text().map(str::to_owned);
        completion.resolution = match fate {
            Disposition::Delivered => Resolution::Delivered,
            Disposition::Skipped => Resolution::Skipped,
            Disposition::Retry { at, .. } => Resolution::Retry { at },
            Disposition::Park => Resolution::Park,
        };
        completion.breaker = Some(BreakerUpdate {
            outcome,
            settings: self.settings.clone(),
            jitter,
        });
        fate
    }

    /// Tells the tenant's dashboard when a row was parked or the endpoint was disabled. Best
    /// effort: the row's own state already records it.
    async fn notify_trouble(
        &self,
        tenant: TenantId,
        fate: &Disposition,
        effect: &CompletionEffect,
        what: &str,
    ) {
        let now = self.clock.now();
        let mut notes = Vec::new();
        if effect.endpoint_disabled {
            notes.push(Notification::for_admins(
                tenant,
                NotificationKind::EndpointDisabled,
                "the webhook endpoint answered 410 Gone and was disabled; rows stay queued",
                now,
            ));
        }
        if *fate == Disposition::Park {
            notes.push(Notification::for_admins(
                tenant,
                NotificationKind::WebhookParked,
                format!("a webhook for {what} was parked after retrying too long"),
                now,
            ));
        }
        for note in notes {
            let _ = self.store.add_notification(&note).await;
        }
    }

    /// A claim of up to `limit` rows now, leased for the configured lease.
    fn claim_options(&self, limit: u32) -> ClaimOptions {
        ClaimOptions {
            now: self.clock.now(),
            limit,
            lease: chrono::Duration::from_std(self.settings.lease)
                .unwrap_or(chrono::Duration::seconds(60)),
        }
    }
}

enum Delivered {
    Sent { latency_ms: i64 },
    Retried { disabled: Option<TenantId> },
    Skipped,
    Parked,
    Released,
}

impl Delivered {
    fn count(self, r: &mut BatchReport) {
        match self {
            Delivered::Sent { latency_ms } => {
                r.delivered += 1;
                r.delivery_latencies_ms.push(latency_ms);
            }
            Delivered::Retried { disabled } => {
                r.retried += 1;
                r.disabled_endpoints.extend(disabled);
            }
            Delivered::Skipped => r.skipped += 1,
            Delivered::Parked => r.parked += 1,
            Delivered::Released => r.released += 1,
        }
    }
}
