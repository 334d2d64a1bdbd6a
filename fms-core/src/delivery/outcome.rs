//! What one send attempt means ([`Outcome`], from the sender's result) and what happens to
//! the row next ([`Disposition`]: delivered, retried, parked or skipped).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::backoff::{RetryHint, add_delay, backoff_delay, parse_retry_after};
use super::settings::DeliverySettings;
use crate::sender::{SendError, WebhookResponse};

/// The longest `last_error` text kept on a row, in bytes.
pub const MAX_ERROR_LEN: usize = 512;

/// The meaning of one send attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx: the row is done and the endpoint's breaker resets.
    Delivered {
        /// The status code.
        status: u16,
    },
    /// 410 Gone: the endpoint is disabled; the row stays queued (and retries on the usual
    /// schedule once the endpoint is enabled again).
    Gone {
        /// Text for the row's `last_error`.
        error: String,
    },
    /// A timeout, 429, 502, 503 or 504: retried no sooner than the throttle floor.
    Throttled {
        /// The status code; `None` for a timeout.
        status: Option<u16>,
        /// The receiver's `Retry-After`, parsed relative to the attempt's time.
        retry_after: Option<Duration>,
        /// Text for the row's `last_error`.
        error: String,
    },
    /// Any other failure: another non-2xx (redirects included: they are never followed), a
    /// transport error, or a target refused before sending.
    Failed {
        /// The status code; `None` when no response was obtained.
        status: Option<u16>,
        /// The receiver's `Retry-After`, if it sent one with the failure.
        retry_after: Option<Duration>,
        /// Text for the row's `last_error`.
        error: String,
    },
}

impl Outcome {
    /// Classifies a sender's result; `now` is when the response arrived (it anchors an
    /// HTTP-date `Retry-After`).
    pub fn classify(result: &Result<WebhookResponse, SendError>, now: DateTime<Utc>) -> Self {
        match result {
            Ok(response) => Self::from_response(response, now),
            Err(SendError::Timeout) => Self::Throttled {
                status: None,
                retry_after: None,
                error: truncate(SendError::Timeout.to_string()),
            },
            Err(error @ (SendError::Refused(_) | SendError::Transport(_))) => Self::Failed {
                status: None,
                retry_after: None,
                error: truncate(error.to_string()),
            },
        }
    }

    fn from_response(response: &WebhookResponse, now: DateTime<Utc>) -> Self {
        let status = response.status;
        if (200..300).contains(&status) {
            return Self::Delivered { status };
        }
        let retry_after = response
            .retry_after
            .as_deref()
            .and_then(|value| parse_retry_after(value, now));
        let excerpt = response.body_excerpt.trim();
        let what = if (300..400).contains(&status) {
            format!("http {status}: redirect not followed")
        } else {
            format!("http {status}")
        };
        let error = truncate(if excerpt.is_empty() {
            what
        } else {
            format!("{what}: {excerpt}")
        });
        match status {
            410 => Self::Gone { error },
            429 | 502 | 503 | 504 => Self::Throttled {
                status: Some(status),
                retry_after,
                error,
            },
            _ => Self::Failed {
                status: Some(status),
                retry_after,
                error,
            },
        }
    }

    /// Whether the receiver accepted the webhook.
    pub fn is_delivered(&self) -> bool {
        matches!(self, Self::Delivered { .. })
    }

    /// The status code for the row's `last_status_code`, if a response was obtained.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Delivered { status } => Some(*status),
            Self::Gone { .. } => Some(410),
            Self::Throttled { status, .. } | Self::Failed { status, .. } => *status,
        }
    }

    /// The text for the row's `last_error`; `None` when delivered.
    pub fn error_text(&self) -> Option<&str> {
        match self {
            Self::Delivered { .. } => None,
            Self::Gone { error } | Self::Throttled { error, .. } | Self::Failed { error, .. } => {
                Some(error)
            }
        }
    }

    /// What this outcome asks of the next attempt's delay.
    pub fn retry_hint(&self) -> RetryHint {
        match self {
            Self::Delivered { .. } | Self::Gone { .. } => RetryHint::default(),
            Self::Throttled { retry_after, .. } => RetryHint {
                throttled: true,
                retry_after: *retry_after,
            },
            Self::Failed { retry_after, .. } => RetryHint {
                throttled: false,
                retry_after: *retry_after,
            },
        }
    }
}

/// What happens to a queue row after an attempt (or instead of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Delivered: the row is finished.
    Delivered,
    /// The tenant has no webhook URL: the row is marked skipped without a request; it never
    /// blocks its ticket and stays inspectable.
    Skipped,
    /// Attempt again no earlier than `at`.
    Retry {
        /// When the row becomes claimable again.
        at: DateTime<Utc>,
        /// `at - now`, for logs and metrics.
        delay: Duration,
    },
    /// Retrying has gone on longer than [`DeliverySettings::park_after`]: the row stops being
    /// retried but keeps blocking its ticket until an operator replays or skips it.
    Park,
}

/// Decides what happens to a row after an attempt.
///
/// `attempts` counts this attempt too (1 after the first); `first_attempt_at` is when the
/// row's first attempt was made (`now` on the first one). `jitter` is `U` in `[0, 1)`, from
/// the caller's random source.
pub fn disposition(
    outcome: &Outcome,
    attempts: u32,
    first_attempt_at: DateTime<Utc>,
    now: DateTime<Utc>,
    settings: &DeliverySettings,
    jitter: f64,
) -> Disposition {
    if outcome.is_delivered() {
        return Disposition::Delivered;
    }
    if retrying_for(first_attempt_at, now) >= settings.park_after {
        return Disposition::Park;
    }
    let delay = backoff_delay(attempts, outcome.retry_hint(), settings, jitter);
    Disposition::Retry {
        at: add_delay(now, delay),
        delay,
    }
}

/// How long the row has been retried; zero when `first_attempt_at` is in the future.
fn retrying_for(first_attempt_at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - first_attempt_at).to_std().unwrap_or(Duration::ZERO)
}

/// Cuts `text` to at most [`MAX_ERROR_LEN`] bytes on a character boundary.
fn truncate(mut text: String) -> String {
    if text.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SEC: Duration = Duration::from_secs(1);

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn response(status: u16, retry_after: Option<&str>, body: &str) -> WebhookResponse {
        WebhookResponse {
            status,
            retry_after: retry_after.map(str::to_owned),
            body_excerpt: body.to_owned(),
        }
    }

    #[test]
    fn classification_table() {
        type Kind = fn(&Outcome) -> bool;
        type Case = (
            Result<WebhookResponse, SendError>,
            Kind,
            Option<u16>,
            Option<&'static str>,
        );
        let delivered: Kind = |o| matches!(o, Outcome::Delivered { .. });
        let gone: Kind = |o| matches!(o, Outcome::Gone { .. });
        let throttled: Kind = |o| matches!(o, Outcome::Throttled { .. });
        let failed: Kind = |o| matches!(o, Outcome::Failed { .. });
        // (result, kind, status code, error text)
        let cases: Vec<Case> = vec![
            (Ok(response(200, None, "ok")), delivered, Some(200), None),
            (Ok(response(204, None, "")), delivered, Some(204), None),
            (Ok(response(299, Some("5"), "")), delivered, Some(299), None),
            (
                Ok(response(410, None, "bye")),
                gone,
                Some(410),
                Some("http 410: bye"),
            ),
            (
                Ok(response(429, Some("7"), "")),
                throttled,
                Some(429),
                Some("http 429"),
            ),
            (
                Ok(response(502, None, "")),
                throttled,
                Some(502),
                Some("http 502"),
            ),
            (
                Ok(response(503, None, "")),
                throttled,
                Some(503),
                Some("http 503"),
            ),
            (
                Ok(response(504, None, "")),
                throttled,
                Some(504),
                Some("http 504"),
            ),
            (
                Err(SendError::Timeout),
                throttled,
                None,
                Some("request timed out"),
            ),
            (
                Ok(response(500, None, " boom \n")),
                failed,
                Some(500),
                Some("http 500: boom"),
            ),
            (
                Ok(response(501, None, "")),
                failed,
                Some(501),
                Some("http 501"),
            ),
            (
                Ok(response(404, None, "")),
                failed,
                Some(404),
                Some("http 404"),
            ),
            (
                Ok(response(400, None, "")),
                failed,
                Some(400),
                Some("http 400"),
            ),
            (
                Ok(response(100, None, "")),
                failed,
                Some(100),
                Some("http 100"),
            ),
            (
                Ok(response(302, None, "")),
                failed,
                Some(302),
                Some("http 302: redirect not followed"),
            ),
            (
                Ok(response(301, None, "moved")),
                failed,
                Some(301),
                Some("http 301: redirect not followed: moved"),
            ),
            (
                Err(SendError::Refused("host 10.0.0.1 is private".into())),
                failed,
                None,
                Some("target refused: host 10.0.0.1 is private"),
            ),
            (
                Err(SendError::Transport("connection refused".into())),
                failed,
                None,
                Some("transport error: connection refused"),
            ),
        ];
        for (result, kind, status, error) in cases {
            let outcome = Outcome::classify(&result, now());
            assert!(kind(&outcome), "{result:?} -> {outcome:?}");
            assert_eq!(outcome.status_code(), status, "{result:?}");
            assert_eq!(outcome.error_text(), error, "{result:?}");
        }
    }

    #[test]
    fn retry_after_is_parsed_on_any_failure() {
        let o = Outcome::classify(&Ok(response(429, Some("7"), "")), now());
        assert_eq!(o.retry_hint().retry_after, Some(7 * SEC));
        assert!(o.retry_hint().throttled);
        let o = Outcome::classify(&Ok(response(500, Some("30"), "")), now());
        assert_eq!(
            o.retry_hint(),
            RetryHint {
                throttled: false,
                retry_after: Some(30 * SEC)
            }
        );
        let o = Outcome::classify(
            &Ok(response(503, Some("Sun, 01 Mar 2026 12:02:00 GMT"), "")),
            now(),
        );
        assert_eq!(o.retry_hint().retry_after, Some(120 * SEC));
        let o = Outcome::classify(&Ok(response(503, Some("later"), "")), now());
        assert_eq!(o.retry_hint().retry_after, None);
    }

    #[test]
    fn long_errors_are_cut_on_a_char_boundary() {
        let body = "é".repeat(1000);
        let o = Outcome::classify(&Ok(response(500, None, &body)), now());
        let text = o.error_text().unwrap();
        assert!(text.len() <= MAX_ERROR_LEN);
        assert!(text.starts_with("http 500: é"));
    }

    #[test]
    fn dispositions() {
        let s = DeliverySettings::default();
        let n = now();
        let fail = Outcome::classify(&Ok(response(500, None, "")), n);
        let slow = Outcome::classify(&Err(SendError::Timeout), n);
        let ok = Outcome::classify(&Ok(response(200, None, "")), n);
        let gone = Outcome::classify(&Ok(response(410, None, "")), n);
        let retry = |delay: Duration| Disposition::Retry {
            at: add_delay(n, delay),
            delay,
        };
        assert_eq!(disposition(&ok, 1, n, n, &s, 0.0), Disposition::Delivered);
        assert_eq!(disposition(&fail, 1, n, n, &s, 0.0), retry(5 * SEC));
        assert_eq!(disposition(&fail, 3, n, n, &s, 0.0), retry(20 * SEC));
        assert_eq!(disposition(&slow, 1, n, n, &s, 0.0), retry(60 * SEC));
        // Gone keeps the row queued on the usual schedule; the breaker disables the endpoint.
        assert_eq!(disposition(&gone, 1, n, n, &s, 0.0), retry(5 * SEC));
    }

    #[test]
    fn parking_after_the_retry_age() {
        let s = DeliverySettings::default().with_park_after(Duration::from_secs(3600));
        let n = now();
        let fail = Outcome::classify(&Ok(response(500, None, "")), n);
        let ok = Outcome::classify(&Ok(response(200, None, "")), n);
        let hour = chrono::Duration::hours(1);
        let second = chrono::Duration::seconds(1);
        let first = n - hour + second;
        assert!(matches!(
            disposition(&fail, 9, first, n, &s, 0.0),
            Disposition::Retry { .. }
        ));
        assert_eq!(
            disposition(&fail, 9, n - hour, n, &s, 0.0),
            Disposition::Park
        );
        assert_eq!(
            disposition(&fail, 9, n - hour * 2, n, &s, 0.0),
            Disposition::Park
        );
        // A late success is still a success.
        assert_eq!(
            disposition(&ok, 9, n - hour * 2, n, &s, 0.0),
            Disposition::Delivered
        );
        // A first attempt "in the future" (clock skew) never parks.
        assert!(matches!(
            disposition(&fail, 1, n + hour, n, &s, 0.0),
            Disposition::Retry { .. }
        ));
    }
}
