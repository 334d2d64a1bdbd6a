//! Queue semantics, as pure functions: delivery settings, the retry backoff and `Retry-After`,
//! what an attempt's result means for its row, and the per-endpoint circuit breaker.
//!
//! The dispatcher ([`crate::dispatch`], the layer above) applies these through the store and
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
mod outcome;
mod settings;

pub use backoff::{RetryHint, add_delay, backoff_delay, parse_retry_after};
pub use breaker::{Admission, BreakerState};
pub use outcome::{Disposition, MAX_ERROR_LEN, Outcome, disposition};
pub use settings::{
    BreakerSettings, DEFAULT_BATCH, DEFAULT_BREAKER_THRESHOLD, DEFAULT_LEASE, DEFAULT_MAX_BACKOFF,
    DEFAULT_MIN_BACKOFF, DEFAULT_PARK_AFTER, DEFAULT_THROTTLE_FLOOR, DEFAULT_TIMEOUT,
    DeliverySettings, SettingsError,
};
