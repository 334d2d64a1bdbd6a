//! The per-endpoint circuit breaker: consecutive failures pause a tenant's endpoint with the
//! row backoff, so a dead receiver gets one probe per interval instead of one request per
//! queued ticket; any 2xx resets it; 410 Gone disables it.
//!
//! The state is plain data (serde) so a store can persist it per tenant endpoint and update it
//! with compare-and-set; every transition is a pure function of (state, outcome, now).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::backoff::{RetryHint, add_delay, backoff_delay};
use super::outcome::Outcome;
use super::settings::DeliverySettings;

/// One endpoint's breaker. `Default` is the healthy state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerState {
    /// Failures since the last 2xx, across all rows of the endpoint.
    pub consecutive_failures: u32,
    /// While set and in the future the endpoint is paused; once it has passed, one probe may
    /// go out.
    pub paused_until: Option<DateTime<Utc>>,
    /// A probe is in flight until then (its lease); no other request goes out meanwhile. If
    /// the prober dies, the next probe is allowed when this passes.
    pub probe_until: Option<DateTime<Utc>>,
    /// Set by 410 Gone: nothing is sent until an operator re-enables the endpoint.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// What the breaker lets the dispatcher do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Healthy (or not yet past the failure threshold): send freely.
    Send,
    /// The pause is over: send exactly one request, after [`BreakerState::begin_probe`].
    Probe,
    /// Send nothing before `until`; rows stay queued untouched (no attempt is counted).
    Paused {
        /// When to look again.
        until: DateTime<Utc>,
    },
    /// Disabled by 410 Gone: send nothing; rows stay queued.
    Disabled,
}

impl BreakerState {
    /// What may be sent to this endpoint at `now`.
    pub fn admission(&self, now: DateTime<Utc>) -> Admission {
        if self.disabled_at.is_some() {
            return Admission::Disabled;
        }
        if let Some(until) = self.probe_until.filter(|until| *until > now) {
            return Admission::Paused { until };
        }
        match self.paused_until {
            Some(until) if until > now => Admission::Paused { until },
            Some(_) => Admission::Probe,
            None => Admission::Send,
        }
    }

    /// Whether any request may go out at `now` (freely or as the probe).
    pub fn allows(&self, now: DateTime<Utc>) -> bool {
        matches!(self.admission(now), Admission::Send | Admission::Probe)
    }

    /// Takes the probe slot: returns `true` (and marks a probe in flight for
    /// `settings.lease`) if a probe is due, `false` otherwise. The caller sends one request
    /// only on `true`.
    pub fn begin_probe(&mut self, now: DateTime<Utc>, settings: &DeliverySettings) -> bool {
        if self.admission(now) != Admission::Probe {
            return false;
        }
        self.probe_until = Some(add_delay(now, settings.lease));
        true
    }

    /// A 2xx: back to healthy. A disabled endpoint stays disabled (only an operator
    /// re-enables it, see [`BreakerState::enable`]).
    pub fn on_success(&mut self) {
        self.consecutive_failures = 0;
        self.paused_until = None;
        self.probe_until = None;
    }

    /// A failure (any non-2xx other than 410, a timeout, a transport error or a refusal).
    /// From the threshold on, the endpoint pauses for `backoff(failures - threshold + 1)`,
    /// raised by `hint` like a row's delay and capped at the maximum backoff. Failures of
    /// requests that were already in flight when the pause began are not counted.
    pub fn on_failure(
        &mut self,
        now: DateTime<Utc>,
        hint: RetryHint,
        settings: &DeliverySettings,
        jitter: f64,
    ) {
        if self.paused_until.is_some_and(|until| until > now) && self.probe_until.is_none() {
            // A request sent before the pause began failed late: the endpoint is already
            // paused for it, so it neither counts again nor lengthens the pause (a batch of
            // ten in-flight failures opens the breaker once, at the first step).
            return;
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.probe_until = None;
        let threshold = settings.breaker.failure_threshold.max(1);
        if self.consecutive_failures >= threshold {
            let step = self.consecutive_failures - threshold + 1;
            let delay = backoff_delay(step, hint, settings, jitter);
            self.paused_until = Some(add_delay(now, delay));
        }
    }

    /// 410 Gone: disables the endpoint (the rows stay queued; the tenant should be told).
    pub fn on_gone(&mut self, now: DateTime<Utc>) {
        self.probe_until = None;
        if self.disabled_at.is_none() {
            self.disabled_at = Some(now);
        }
    }

    /// Applies an attempt's outcome; returns `true` if this call disabled the endpoint (so the
    /// caller notifies the tenant once).
    pub fn record(
        &mut self,
        outcome: &Outcome,
        now: DateTime<Utc>,
        settings: &DeliverySettings,
        jitter: f64,
    ) -> bool {
        match outcome {
            Outcome::Delivered { .. } => {
                self.on_success();
                false
            }
            Outcome::Gone { .. } => {
                let newly = self.disabled_at.is_none();
                self.on_gone(now);
                newly
            }
            Outcome::Throttled { .. } | Outcome::Failed { .. } => {
                self.on_failure(now, outcome.retry_hint(), settings, jitter);
                false
            }
        }
    }

    /// An operator re-enables the endpoint (for example after fixing the URL): healthy again.
    pub fn enable(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::delivery::settings::BreakerSettings;
    use crate::sender::{SendError, WebhookResponse};
    use chrono::TimeZone;
    use proptest::prelude::*;
    use std::time::Duration;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn secs(n: i64) -> chrono::Duration {
        chrono::Duration::seconds(n)
    }

    fn outcome(status: u16) -> Outcome {
        Outcome::classify(
            &Ok(WebhookResponse {
                status,
                retry_after: None,
                body_excerpt: String::new(),
            }),
            t0(),
        )
    }

    fn settings(threshold: u32) -> DeliverySettings {
        DeliverySettings::default()
            .with_breaker(BreakerSettings::default().with_failure_threshold(threshold))
    }

    #[test]
    fn opens_at_the_threshold_with_the_row_backoff() {
        let s = settings(3);
        let mut b = BreakerState::default();
        let now = t0();
        for _ in 0..2 {
            b.record(&outcome(500), now, &s, 0.0);
            assert_eq!(b.admission(now), Admission::Send);
        }
        b.record(&outcome(500), now, &s, 0.0);
        assert_eq!(
            b.admission(now),
            Admission::Paused {
                until: now + secs(5)
            }
        );
        assert!(!b.allows(now + secs(4)));
        assert_eq!(b.admission(now + secs(5)), Admission::Probe);
        assert!(b.allows(now + secs(5)));
    }

    #[test]
    fn one_probe_at_a_time_and_growing_pauses() {
        let s = settings(1);
        let mut b = BreakerState::default();
        let mut now = t0();
        b.record(&outcome(503), now, &s, 0.0);
        // Throttled: the 60 s floor applies to the pause as well.
        assert_eq!(
            b.admission(now),
            Admission::Paused {
                until: now + secs(60)
            }
        );
        now += secs(60);
        assert!(b.begin_probe(now, &s));
        assert!(
            !b.begin_probe(now, &s),
            "a second probe while one is in flight"
        );
        assert_eq!(
            b.admission(now),
            Admission::Paused {
                until: now + secs(60)
            }
        );
        b.record(&outcome(500), now, &s, 0.0);
        assert_eq!(
            b.admission(now),
            Admission::Paused {
                until: now + secs(10)
            }
        );
        now += secs(10);
        assert!(b.begin_probe(now, &s));
        b.record(&outcome(500), now, &s, 0.0);
        assert_eq!(
            b.admission(now),
            Admission::Paused {
                until: now + secs(20)
            }
        );
    }

    #[test]
    fn a_dead_prober_frees_the_slot_after_the_lease() {
        let s = settings(1);
        let mut b = BreakerState::default();
        let now = t0();
        b.record(&outcome(500), now, &s, 0.0);
        let due = now + secs(5);
        assert!(b.begin_probe(due, &s));
        assert!(!b.allows(due + secs(59)));
        assert_eq!(b.admission(due + secs(60)), Admission::Probe);
    }

    #[test]
    fn success_resets() {
        let s = settings(2);
        let mut b = BreakerState::default();
        let now = t0();
        b.record(&outcome(500), now, &s, 0.0);
        b.record(&outcome(204), now, &s, 0.0);
        b.record(&outcome(500), now, &s, 0.0);
        assert_eq!(
            b.admission(now),
            Admission::Send,
            "failures are consecutive only"
        );
        b.record(&outcome(500), now, &s, 0.0);
        assert!(!b.allows(now));
        assert!(b.begin_probe(now + secs(5), &s));
        b.record(&outcome(200), now + secs(5), &s, 0.0);
        assert_eq!(b, BreakerState::default());
    }

    #[test]
    fn gone_disables_until_enabled() {
        let s = settings(5);
        let mut b = BreakerState::default();
        let now = t0();
        assert!(b.record(&outcome(410), now, &s, 0.0));
        assert!(
            !b.record(&outcome(410), now + secs(1), &s, 0.0),
            "notify once"
        );
        assert_eq!(b.disabled_at, Some(now));
        assert_eq!(b.admission(now + secs(86_400)), Admission::Disabled);
        b.record(&outcome(200), now, &s, 0.0);
        assert_eq!(b.admission(now), Admission::Disabled);
        b.enable();
        assert_eq!(b.admission(now), Admission::Send);
    }

    #[test]
    fn timeouts_and_refusals_count_as_failures() {
        let s = settings(2);
        let mut b = BreakerState::default();
        let now = t0();
        b.record(
            &Outcome::classify(&Err(SendError::Timeout), now),
            now,
            &s,
            0.0,
        );
        b.record(
            &Outcome::classify(&Err(SendError::Refused("private".into())), now),
            now,
            &s,
            0.0,
        );
        assert_eq!(b.consecutive_failures, 2);
        assert!(!b.allows(now));
    }

    #[test]
    fn serde_round_trip() {
        let mut b = BreakerState::default();
        b.record(&outcome(500), t0(), &settings(1), 0.0);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<BreakerState>(&json).unwrap(), b);
    }

    /// A dead endpoint with 50 queued tickets, watched second by second for two hours: after
    /// the threshold it gets one probe per (growing) interval, never 50 requests.
    #[test]
    fn dead_endpoint_gets_one_probe_per_interval() {
        let s = settings(1);
        let mut b = BreakerState::default();
        let start = t0();
        let mut sent_at = Vec::new();
        for second in 0..7200 {
            let now = start + secs(second);
            let mut queued = 50;
            while queued > 0 {
                match b.admission(now) {
                    Admission::Send => {}
                    Admission::Probe => {
                        assert!(b.begin_probe(now, &s));
                    }
                    Admission::Paused { .. } | Admission::Disabled => break,
                }
                sent_at.push(second);
                b.record(&outcome(500), now, &s, 0.0);
                queued -= 1;
            }
        }
        // 0, 5, 15, 35, 75, 155, 315, 635, 1275, 2555, 5115 (the pause reached 3600 s, capped).
        assert_eq!(
            sent_at,
            vec![0, 5, 15, 35, 75, 155, 315, 635, 1275, 2555, 5115]
        );
    }

    proptest! {
        #[test]
        fn pause_never_exceeds_the_cap(
            failures in 1usize..200,
            threshold in 1u32..10,
            max_ms in 1u64..10_000_000,
            jitter in 0.0f64..1.0,
        ) {
            let s = settings(threshold).with_max_backoff(Duration::from_millis(max_ms));
            let mut b = BreakerState::default();
            let now = t0();
            for _ in 0..failures {
                b.record(&outcome(503), now, &s, jitter);
            }
            if let Some(until) = b.paused_until {
                prop_assert!(until <= add_delay(now, Duration::from_millis(max_ms)));
            }
            prop_assert_eq!(b.paused_until.is_some(), failures >= threshold as usize);
        }
    }
}
