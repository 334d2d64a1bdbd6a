//! One request as the receiver got it.

use std::net::SocketAddr;
use std::time::Instant;

use http::HeaderMap;
use serde::de::DeserializeOwned;

/// One recorded request: what arrived, when, and when it was answered.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its place in arrival order, from 0.
    pub index: usize,
    /// The client's address: requests on one kept-alive connection share it.
    pub peer: SocketAddr,
    /// `POST`, `GET`, ...
    pub method: String,
    /// The request target: path and query (`/hook?token=abc`).
    pub path: String,
    /// The headers, as sent (names are case-insensitive).
    pub headers: HeaderMap,
    /// The exact body bytes.
    pub body: Vec<u8>,
    /// When the whole request (head and body) had arrived.
    pub at: Instant,
    /// When the receiver answered it (after the reply's delay, whether or not the client was
    /// still there); `None` while it is still waiting, and for ever for [`Reply::hang`](crate::Reply::hang). Arrival and answer
    /// times are all taken under one lock, so comparing them orders arrivals and answers
    /// exactly: request `b` arrived while `a` was in flight when
    /// `a.at < b.at` and `a.answered_at` is `None` or later than `b.at`.
    pub answered_at: Option<Instant>,
}

impl Received {
    /// The first value of header `name` (any case), if it is present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `webhook-id` header, or `""`.
    pub fn webhook_id(&self) -> &str {
        self.header("webhook-id").unwrap_or_default()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }

    /// The body as JSON, into `T`.
    pub fn json_as<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.body)
    }

    /// Verifies the Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
    /// `webhook-signature`) of the exact body bytes with `secret` (`whsec_...`), using the
    /// independent `standardwebhooks` implementation. The timestamp must be within its
    /// tolerance of now.
    pub fn verify_signature(&self, secret: &str) -> Result<(), standardwebhooks::WebhookError> {
        standardwebhooks::Webhook::new(secret)?.verify(&self.body, &self.headers)
    }

    /// Whether the receiver has answered it.
    pub fn is_answered(&self) -> bool {
        self.answered_at.is_some()
    }
}
