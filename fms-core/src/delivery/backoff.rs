//! The retry delay: exponential backoff with jitter, raised to the receiver's `Retry-After`
//! and to the throttle floor, never above the maximum; and `Retry-After` parsing.
//!
//! `delay = min(max, min_backoff * 2^(n-1)) * (1 - 0.25*U)`, then raised to `Retry-After` and,
//! after a timeout, 429, 502, 503 or 504, to at least the throttle floor; the result never
//! exceeds `max_backoff`. The caller supplies `U` so the function stays deterministic.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::settings::DeliverySettings;

/// What the last response asks of the next attempt's delay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryHint {
    /// A timeout, 429, 502, 503 or 504: wait at least the throttle floor.
    pub throttled: bool,
    /// The receiver's `Retry-After`, already parsed (see [`parse_retry_after`]).
    pub retry_after: Option<Duration>,
}

/// The delay before attempt `attempt + 1`, after `attempt` failed attempts (`attempt` counts
/// from 1; 0 is treated as 1).
///
/// `jitter` is `U` in `[0, 1)`: the delay shrinks by up to 25 % so retries of many rows spread
/// out. Values outside that range are clamped, NaN counts as 0. Never panics, never overflows,
/// never exceeds `settings.max_backoff`.
pub fn backoff_delay(
    attempt: u32,
    hint: RetryHint,
    settings: &DeliverySettings,
    jitter: f64,
) -> Duration {
    let max = settings.max_backoff;
    let exponent = attempt.saturating_sub(1);
    let base = 2u32
        .checked_pow(exponent)
        .and_then(|factor| settings.min_backoff.checked_mul(factor))
        .unwrap_or(Duration::MAX);
    let capped = base.min(max);

    let mut delay = apply_jitter(capped, jitter);

    if hint.throttled {
        delay = delay.max(settings.throttle_floor);
    }
    if let Some(asked) = hint.retry_after {
        delay = delay.max(asked);
    }
    delay.min(max)
}

/// `delay * (1 - 0.25*U)` in integer nanoseconds (a float `Duration` product can overflow
/// near `Duration::MAX`); `U` is clamped to `[0, 1]`, NaN counts as 0.
fn apply_jitter(delay: Duration, jitter: f64) -> Duration {
    const BILLION: u128 = 1_000_000_000;
    let u = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    // In [0, 250_000_000]: the cut, in parts per billion.
    let cut_ppb = (u * 250_000_000.0) as u128;
    // At most ~1.8e28 ns * 1e9: well inside u128.
    let nanos = delay.as_nanos() * (BILLION - cut_ppb) / BILLION;
    let secs = u64::try_from(nanos / BILLION).unwrap_or(u64::MAX);
    let sub = u32::try_from(nanos % BILLION).unwrap_or(0);
    Duration::new(secs, sub)
}

/// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP date (IMF-fixdate
/// `Sun, 06 Nov 1994 08:49:37 GMT`, or the obsolete RFC 850 and asctime forms), as a delay
/// from `now`. A date in the past means no delay. Anything else is `None`.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: too many of them only means "very long"; the caller caps it.
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let at = parse_http_date(value)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// The three date formats HTTP allows (RFC 9110 section 5.6.7), always GMT.
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    const FORMATS: [&str; 3] = [
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        "%a, %d %b %Y %H:%M:%S GMT",
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        "%A, %d-%b-%y %H:%M:%S GMT",
        // asctime: Sun Nov  6 08:49:37 1994
        "%a %b %e %H:%M:%S %Y",
    ];
    FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| naive.and_utc())
}

/// `at + delay`, saturating at the latest representable time instead of overflowing.
pub fn add_delay(at: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(delay)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const SEC: Duration = Duration::from_secs(1);

    fn settings(min_ms: u64, max_ms: u64) -> DeliverySettings {
        DeliverySettings::default()
            .with_min_backoff(Duration::from_millis(min_ms))
            .with_max_backoff(Duration::from_millis(max_ms))
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(1994, 11, 6, 8, 49, 0).unwrap()
    }

    #[test]
    fn table() {
        let plain = RetryHint::default();
        let throttled = RetryHint {
            throttled: true,
            retry_after: None,
        };
        let asks = |secs| RetryHint {
            throttled: false,
            retry_after: Some(Duration::from_secs(secs)),
        };
        let d = DeliverySettings::default();
        // (attempt, hint, settings, jitter, expected)
        let cases: Vec<(u32, RetryHint, DeliverySettings, f64, Duration)> = vec![
            (1, plain, d.clone(), 0.0, 5 * SEC),
            (0, plain, d.clone(), 0.0, 5 * SEC),
            (2, plain, d.clone(), 0.0, 10 * SEC),
            (3, plain, d.clone(), 0.0, 20 * SEC),
            (1, plain, d.clone(), 0.5, Duration::from_millis(4_375)),
            (
                1,
                plain,
                d.clone(),
                0.999_999,
                Duration::from_nanos(3_750_001_250),
            ),
            // 5 s * 2^10 = 5120 s > 3600 s: capped, then jittered.
            (11, plain, d.clone(), 0.0, 3600 * SEC),
            (11, plain, d.clone(), 0.5, 3150 * SEC),
            (u32::MAX, plain, d.clone(), 0.0, 3600 * SEC),
            // Out-of-range jitter is clamped; NaN counts as 0.
            (1, plain, d.clone(), -3.0, 5 * SEC),
            (1, plain, d.clone(), 7.0, Duration::from_millis(3_750)),
            (1, plain, d.clone(), f64::NAN, 5 * SEC),
            // Throttled: at least 60 s.
            (1, throttled, d.clone(), 0.0, 60 * SEC),
            (9, throttled, d.clone(), 0.0, 1280 * SEC),
            // Retry-After raises the delay...
            (1, asks(120), d.clone(), 0.0, 120 * SEC),
            // ...but never lowers it...
            (3, asks(1), d.clone(), 0.0, 20 * SEC),
            // ...and is capped at the maximum.
            (1, asks(86_400), d.clone(), 0.0, 3600 * SEC),
            // A 2 s maximum means 2 s, whatever the receiver asks or the floor says.
            (1, asks(120), settings(5_000, 2_000), 0.0, 2 * SEC),
            (1, throttled, settings(500, 2_000), 0.0, 2 * SEC),
            (
                1,
                plain,
                settings(500, 2_000),
                0.0,
                Duration::from_millis(500),
            ),
            (1, plain, settings(5_000, 2_000), 0.0, 2 * SEC),
        ];
        for (i, (attempt, hint, s, jitter, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                backoff_delay(attempt, hint, &s, jitter),
                expected,
                "case {i}: attempt {attempt}, {hint:?}, jitter {jitter}"
            );
        }
    }

    #[test]
    fn retry_after_forms() {
        let n = now();
        let check = |value: &str, expected: Option<Duration>| {
            assert_eq!(parse_retry_after(value, n), expected, "{value:?}");
        };
        check("120", Some(120 * SEC));
        check(" 0 ", Some(Duration::ZERO));
        check("99999999999999999999999", Some(Duration::MAX));
        check("Sun, 06 Nov 1994 08:49:37 GMT", Some(37 * SEC));
        check("Sunday, 06-Nov-94 08:49:37 GMT", Some(37 * SEC));
        check("Sun Nov  6 08:49:37 1994", Some(37 * SEC));
        check("Sun, 06 Nov 1994 09:49:00 GMT", Some(3600 * SEC));
        // In the past: retry now.
        check("Sun, 06 Nov 1994 08:00:00 GMT", Some(Duration::ZERO));
        for garbage in [
            "",
            "  ",
            "-5",
            "1.5",
            "soon",
            "12 s",
            "0x10",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "2024-01-01T00:00:00Z",
        ] {
            check(garbage, None);
        }
    }

    #[test]
    fn add_delay_saturates() {
        let n = now();
        assert_eq!(add_delay(n, 5 * SEC), n + chrono::Duration::seconds(5));
        assert_eq!(add_delay(n, Duration::MAX), DateTime::<Utc>::MAX_UTC);
    }

    proptest! {
        #[test]
        fn within_bounds_and_never_above_cap(
            attempt in any::<u32>(),
            min_ms in 1u64..10_000_000,
            max_ms in 1u64..100_000_000,
            floor_ms in 0u64..10_000_000,
            retry_after in proptest::option::of(any::<u64>()),
            throttled in any::<bool>(),
            jitter in 0.0f64..1.0,
        ) {
            let s = settings(min_ms, max_ms).with_throttle_floor(Duration::from_millis(floor_ms));
            let hint = RetryHint { throttled, retry_after: retry_after.map(Duration::from_secs) };
            let got = backoff_delay(attempt, hint, &s, jitter);
            let max = Duration::from_millis(max_ms);
            prop_assert!(got <= max);
            // The un-jittered exponential term bounds the plain delay from above and
            // three quarters of it from below.
            let exp = 2u128.checked_pow(attempt.saturating_sub(1))
                .map_or(u128::MAX, |f| f.saturating_mul(u128::from(min_ms)));
            let capped_ms = exp.min(u128::from(max_ms));
            let capped = Duration::from_millis(u64::try_from(capped_ms).unwrap_or(u64::MAX));
            prop_assert!(got >= capped.mul_f64(0.75).min(max));
            if throttled {
                prop_assert!(got >= Duration::from_millis(floor_ms).min(max));
            }
            if let Some(secs) = retry_after {
                prop_assert!(got >= Duration::from_secs(secs).min(max));
            }
            if !throttled && retry_after.is_none() {
                prop_assert!(got <= capped);
            }
        }

        #[test]
        fn deterministic_and_monotone_in_attempts(attempt in 1u32..80, jitter in 0.0f64..1.0) {
            let s = DeliverySettings::default();
            let hint = RetryHint::default();
            prop_assert_eq!(backoff_delay(attempt, hint, &s, jitter), backoff_delay(attempt, hint, &s, jitter));
            prop_assert!(backoff_delay(attempt + 1, hint, &s, jitter) >= backoff_delay(attempt, hint, &s, jitter));
        }

        #[test]
        fn retry_after_never_panics(value in ".{0,40}") {
            let _ = parse_retry_after(&value, now());
        }

        #[test]
        fn retry_after_seconds_round_trip(secs in any::<u64>()) {
            prop_assert_eq!(parse_retry_after(&secs.to_string(), now()), Some(Duration::from_secs(secs)));
        }
    }
}
