//! Delivery settings: the spec's names and defaults, plus the knobs fms adds (minimum
//! backoff, lease, parking age, throttle floor, circuit breaker).
//!
//! Only the example binaries read environment variables; the constants below name them so
//! every binary spells them the same way.

use std::time::Duration;

/// Default [`DeliverySettings::batch`]: 10 rows per claim (the spec's default).
pub const DEFAULT_BATCH: u32 = 10;
/// Default [`DeliverySettings::timeout`]: 10 000 ms (the spec's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10_000);
/// Default [`DeliverySettings::max_backoff`]: 3 600 000 ms, one hour (the spec's default).
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_millis(3_600_000);
/// Default [`DeliverySettings::min_backoff`]: 5 000 ms.
pub const DEFAULT_MIN_BACKOFF: Duration = Duration::from_millis(5_000);
/// Default [`DeliverySettings::lease`]: 60 s, well above the default timeout.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// Default [`DeliverySettings::park_after`]: 72 hours of retrying.
pub const DEFAULT_PARK_AFTER: Duration = Duration::from_secs(72 * 3600);
/// Default [`DeliverySettings::throttle_floor`]: 60 s after a timeout, 429, 502, 503 or 504.
pub const DEFAULT_THROTTLE_FLOOR: Duration = Duration::from_secs(60);
/// Default [`BreakerSettings::failure_threshold`]: 5 consecutive failures open the breaker.
pub const DEFAULT_BREAKER_THRESHOLD: u32 = 5;

/// How the dispatcher claims, sends and reschedules webhook queue rows.
///
/// Every field has a documented default ([`DeliverySettings::default`]); change them with the
/// `with_*` builders and check the result once with [`DeliverySettings::validate`]. The
/// functions in this module never misbehave on invalid settings (the maximum backoff always
/// wins, for instance), but the dispatcher should refuse to start on them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeliverySettings {
    /// Rows claimed per batch (`TICKET_ACTIVITY_WEBHOOK_BATCH`, default 10).
    pub batch: u32,
    /// Time limit of one POST (`TICKET_ACTIVITY_WEBHOOK_TIMEOUT_MS`, default 10 000 ms).
    pub timeout: Duration,
    /// First retry delay before jitter (`TICKET_ACTIVITY_WEBHOOK_MIN_BACKOFF_MS`, default
    /// 5 000 ms); doubles with every attempt.
    pub min_backoff: Duration,
    /// No retry is ever scheduled further out than this, whatever the receiver asks
    /// (`TICKET_ACTIVITY_WEBHOOK_MAX_BACKOFF_MS`, default 3 600 000 ms).
    pub max_backoff: Duration,
    /// How long a claim stays exclusive; must exceed `timeout` so a live dispatcher never
    /// loses its lease mid-request (default 60 s).
    pub lease: Duration,
    /// A row whose first attempt is older than this is parked instead of retried (default
    /// 72 h). A parked row keeps blocking its own ticket until an operator replays or skips it.
    pub park_after: Duration,
    /// The least delay after a timeout, 429, 502, 503 or 504 (default 60 s), itself capped by
    /// `max_backoff`.
    pub throttle_floor: Duration,
    /// The per-endpoint circuit breaker.
    pub breaker: BreakerSettings,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            batch: DEFAULT_BATCH,
            timeout: DEFAULT_TIMEOUT,
            min_backoff: DEFAULT_MIN_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            lease: DEFAULT_LEASE,
            park_after: DEFAULT_PARK_AFTER,
            throttle_floor: DEFAULT_THROTTLE_FLOOR,
            breaker: BreakerSettings::default(),
        }
    }
}

impl DeliverySettings {
    /// Sets [`DeliverySettings::batch`].
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch;
        self
    }

    /// Sets [`DeliverySettings::timeout`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`DeliverySettings::min_backoff`].
    pub fn with_min_backoff(mut self, min_backoff: Duration) -> Self {
        self.min_backoff = min_backoff;
        self
    }

    /// Sets [`DeliverySettings::max_backoff`].
    pub fn with_max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// Sets [`DeliverySettings::lease`].
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets [`DeliverySettings::park_after`].
    pub fn with_park_after(mut self, park_after: Duration) -> Self {
        self.park_after = park_after;
        self
    }

    /// Sets [`DeliverySettings::throttle_floor`].
    pub fn with_throttle_floor(mut self, throttle_floor: Duration) -> Self {
        self.throttle_floor = throttle_floor;
        self
    }

    /// Sets [`DeliverySettings::breaker`].
    pub fn with_breaker(mut self, breaker: BreakerSettings) -> Self {
        self.breaker = breaker;
        self
    }

    /// Checks the settings hang together; the first problem found is returned.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |setting, reason| Err(SettingsError::Invalid { setting, reason });
        if self.batch == 0 {
            return invalid("batch", "must be at least 1");
        }
        if self.timeout.is_zero() {
            return invalid("timeout", "must be positive");
        }
        if self.min_backoff.is_zero() {
            return invalid("min_backoff", "must be positive");
        }
        if self.min_backoff > self.max_backoff {
            return invalid("min_backoff", "must not exceed max_backoff");
        }
        if self.lease <= self.timeout {
            return invalid("lease", "must exceed timeout");
        }
        if self.park_after.is_zero() {
            return invalid("park_after", "must be positive");
        }
        if self.breaker.failure_threshold == 0 {
            return invalid("breaker.failure_threshold", "must be at least 1");
        }
        Ok(())
    }
}

/// The per-endpoint circuit breaker's settings. The pause after each failure uses the same
/// backoff as rows ([`DeliverySettings::min_backoff`] doubling up to `max_backoff`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerSettings {
    /// Consecutive failures (across all rows of one endpoint) before the endpoint is paused
    /// (default 5). Above 1, so one ticket the receiver rejects does not stall the others.
    pub failure_threshold: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failure_threshold: DEFAULT_BREAKER_THRESHOLD,
        }
    }
}

impl BreakerSettings {
    /// Sets [`BreakerSettings::failure_threshold`].
    pub fn with_failure_threshold(mut self, failure_threshold: u32) -> Self {
        self.failure_threshold = failure_threshold;
        self
    }
}

/// Settings that do not hang together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// One setting has an unusable value.
    #[error("invalid delivery setting {setting}: {reason}")]
    Invalid {
        /// The field's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let s = DeliverySettings::default();
        assert_eq!(s.batch, 10);
        assert_eq!(s.timeout, Duration::from_millis(10_000));
        assert_eq!(s.max_backoff, Duration::from_millis(3_600_000));
        assert_eq!(s.min_backoff, Duration::from_millis(5_000));
        assert_eq!(s.throttle_floor, Duration::from_secs(60));
        assert!(s.lease > s.timeout);
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn validate_names_the_setting() {
        let check = |s: DeliverySettings, setting: &str| match s.validate() {
            Err(SettingsError::Invalid { setting: got, .. }) => assert_eq!(got, setting),
            other => panic!("expected {setting} to be invalid, got {other:?}"),
        };
        let d = DeliverySettings::default;
        check(d().with_batch(0), "batch");
        check(d().with_timeout(Duration::ZERO), "timeout");
        check(d().with_min_backoff(Duration::ZERO), "min_backoff");
        check(
            d().with_min_backoff(Duration::from_secs(10))
                .with_max_backoff(Duration::from_secs(2)),
            "min_backoff",
        );
        check(d().with_lease(Duration::from_secs(10)), "lease");
        check(d().with_park_after(Duration::ZERO), "park_after");
        check(
            d().with_breaker(BreakerSettings::default().with_failure_threshold(0)),
            "breaker.failure_threshold",
        );
    }
}
