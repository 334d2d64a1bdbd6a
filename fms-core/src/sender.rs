//! The `WebhookSender` port: one signed POST to a receiver. `fms-http` implements it on
//! reqwest; the dispatcher decides what the outcome means (see [`crate::delivery`]).

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;

/// One webhook POST, fully prepared: the body is final, so the signature covers exactly the
/// bytes sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// The receiver.
    pub url: String,
    /// `webhook-id`: stable across retries of the same row (receivers de-duplicate on it).
    pub webhook_id: String,
    /// `webhook-timestamp`, seconds since the Unix epoch.
    pub timestamp: i64,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The signing secret(s), `whsec_...`, space-separated during rotation; `None` sends the
    /// request unsigned.
    pub secret: Option<String>,
    /// The whole request's time limit.
    pub timeout: Duration,
}

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Retry-After` header, raw (seconds or an HTTP date), if present.
    pub retry_after: Option<String>,
    /// The start of the response body (the sender reads at most a small cap).
    pub body_excerpt: String,
}

/// Why no HTTP status was obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The request did not complete within its timeout.
    #[error("request timed out")]
    Timeout,
    /// The target was refused before any request was made (SSRF guard, scheme, bad URL).
    #[error("target refused: {0}")]
    Refused(String),
    /// Connecting or talking to the receiver failed.
    #[error("transport error: {0}")]
    Transport(String),
}

/// Sends one webhook. Implementations never follow redirects (a 3xx is returned as a
/// response) and never retry: retries are the dispatcher's business.
#[async_trait]
pub trait WebhookSender: Send + Sync + Debug + 'static {
    /// Sends `request` and reports what happened.
    async fn send(&self, request: &WebhookRequest) -> Result<WebhookResponse, SendError>;
}
