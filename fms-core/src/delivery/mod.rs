//! Queue semantics, as pure functions: delivery settings, the retry backoff and `Retry-After`,
//! what an attempt's result means for its row, and the per-endpoint circuit breaker.
//!
//! The dispatcher (outside fms-core, it needs a runtime) applies these through the store and
//! the [`WebhookSender`](crate::sender::WebhookSender); nothing here does I/O, reads the
//! clock or draws random numbers: `now` and the jitter `U` are arguments, so every decision
//! is reproducible in tests.
//!
//! One attempt, end to end:
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use fms_core::delivery::{BreakerState, DeliverySettings, Disposition, Outcome, disposition};
//! use fms_core::sender::WebhookResponse;
//!
//! let settings = DeliverySettings::default();
//! let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
//! let mut breaker = BreakerState::default();
//! assert!(breaker.allows(now));
//!
//! let result = Ok(WebhookResponse { status: 503, retry_after: Some("120".into()), body_excerpt: String::new() });
//! let outcome = Outcome::classify(&result, now);
//! assert_eq!(outcome.status_code(), Some(503));
//! breaker.record(&outcome, now, &settings, 0.3);
//! match disposition(&outcome, 1, now, now, &settings, 0.3) {
//!     Disposition::Retry { delay, .. } => assert_eq!(delay.as_secs(), 120),
//!     other => unreachable!("{other:?}"),
//! }
//! ```

mod backoff;
mod breaker;
mod dispatcher;
mod join;
mod onboarding;
mod outcome;
mod settings;

pub use backoff::{RetryHint, add_delay, backoff_delay, parse_retry_after};
pub use breaker::{Admission, BreakerState};
pub use dispatcher::{BatchReport, DeliveryJob, Dispatcher, Jitter, random_jitter, webhook_id};
pub use onboarding::OnboardingDispatcher;
pub use outcome::{Disposition, MAX_ERROR_LEN, Outcome, disposition};
pub use settings::{
    BreakerSettings, DEFAULT_BATCH, DEFAULT_BREAKER_THRESHOLD, DEFAULT_LEASE, DEFAULT_MAX_BACKOFF,
    DEFAULT_MIN_BACKOFF, DEFAULT_PARK_AFTER, DEFAULT_THROTTLE_FLOOR, DEFAULT_TIMEOUT,
    DeliverySettings, SettingsError,
};

/// One batch of a queue: what a dispatcher loop runs over and over.
#[async_trait::async_trait]
pub trait BatchRunner: Send + Sync + std::fmt::Debug + 'static {
    /// Claims and delivers one batch.
    async fn run_batch(&self) -> Result<BatchReport, crate::store::StoreError>;
    /// Claims up to `limit` rows, one job each (see [`Dispatcher::claim_jobs`]).
    async fn claim_jobs(&self, limit: u32) -> Result<Vec<DeliveryJob>, crate::store::StoreError>;
    /// The dispatcher (settings, stop flag).
    fn dispatcher(&self) -> &Dispatcher;
}

#[async_trait::async_trait]
impl BatchRunner for Dispatcher {
    async fn run_batch(&self) -> Result<BatchReport, crate::store::StoreError> {
        Dispatcher::run_batch(self).await
    }

    async fn claim_jobs(&self, limit: u32) -> Result<Vec<DeliveryJob>, crate::store::StoreError> {
        Dispatcher::claim_jobs(self, limit).await
    }

    fn dispatcher(&self) -> &Dispatcher {
        self
    }
}

#[async_trait::async_trait]
impl BatchRunner for OnboardingDispatcher {
    async fn run_batch(&self) -> Result<BatchReport, crate::store::StoreError> {
        OnboardingDispatcher::run_batch(self).await
    }

    async fn claim_jobs(&self, limit: u32) -> Result<Vec<DeliveryJob>, crate::store::StoreError> {
        OnboardingDispatcher::claim_jobs(self, limit).await
    }

    fn dispatcher(&self) -> &Dispatcher {
        OnboardingDispatcher::dispatcher(self)
    }
}
