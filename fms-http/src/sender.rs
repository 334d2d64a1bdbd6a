//! [`ReqwestSender`]: the `WebhookSender` port on reqwest.

use std::error::Error as StdError;

use async_trait::async_trait;
use fms_core::sender::{SendError, WebhookRequest, WebhookResponse, WebhookSender};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Client, Url, redirect};

use crate::config::SenderConfig;
use crate::guard::{UrlError, parse_checked};
use crate::resolver::GuardedResolver;
use crate::sign::sign;

/// The `User-Agent` of every webhook: `fms/<version>`.
pub const USER_AGENT: &str = concat!("fms/", env!("CARGO_PKG_VERSION"));

/// The HTTP client could not be built (for example, the TLS backend failed to start).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook http client")]
pub struct BuildError {
    #[source]
    source: Box<dyn StdError + Send + Sync>,
}

/// Sends webhooks with reqwest: Standard Webhooks headers and signature, the request's
/// timeout, no redirects, no proxy, a capped response body, and the SSRF guard (see the
/// crate docs). Cheap to clone; clones share one connection pool.
#[derive(Debug, Clone)]
pub struct ReqwestSender {
    client: Client,
    config: SenderConfig,
}

impl ReqwestSender {
    /// A sender with `config`.
    pub fn new(config: SenderConfig) -> Result<Self, BuildError> {
        let mut builder = Client::builder()
            .user_agent(USER_AGENT)
            .redirect(redirect::Policy::none())
            .no_proxy()
            .referer(false);
        if !config.allow_insecure {
            builder = builder.https_only(true).dns_resolver(GuardedResolver);
        }
        let client = builder.build().map_err(|e| BuildError {
            source: Box::new(e),
        })?;
        Ok(Self { client, config })
    }

    /// The configuration this sender was built with.
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// Sends to an already checked URL.
    async fn post(&self, url: Url, request: &WebhookRequest) -> Result<WebhookResponse, SendError> {
        let headers = headers(request)?;
        let mut response = self
            .client
            .post(url)
            .headers(headers)
            .body(request.body.clone())
            .timeout(request.timeout)
            .send()
            .await
            .map_err(send_error)?;

        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let cap = self.config.body_cap;
        let mut body = Vec::new();
        // Read chunk by chunk and stop at the cap. A body that fails or stalls after the
        // status arrived still leaves the status, which is what the dispatcher needs.
        while body.len() < cap {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = cap - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) | Err(_) => break,
            }
        }
        Ok(WebhookResponse {
            status,
            retry_after,
            body_excerpt: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

#[async_trait]
impl WebhookSender for ReqwestSender {
    async fn send(&self, request: &WebhookRequest) -> Result<WebhookResponse, SendError> {
        let url = parse_checked(&request.url, self.config.allow_insecure)
            .map_err(|e| SendError::Refused(e.to_string()))?;
        self.post(url, request).await
    }
}

/// The Standard Webhooks headers, plus `Content-Type`.
fn headers(request: &WebhookRequest) -> Result<HeaderMap, SendError> {
    let value = |name: &str, text: &str| {
        HeaderValue::from_str(text)
            .map_err(|_| SendError::Refused(format!("invalid {name} header value")))
    };
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("webhook-id", value("webhook-id", &request.webhook_id)?);
    headers.insert(
        "webhook-timestamp",
        value("webhook-timestamp", &request.timestamp.to_string())?,
    );
    if let Some(secrets) = &request.secret {
        let signature = sign(
            secrets,
            &request.webhook_id,
            request.timestamp,
            &request.body,
        )
        .map_err(|e| SendError::Refused(format!("cannot sign the webhook: {e}")))?;
        headers.insert("webhook-signature", value("webhook-signature", &signature)?);
    }
    Ok(headers)
}

/// Maps a reqwest failure: timeouts, refusals by the guarded resolver, everything else as
/// transport errors with the cause chain (never the URL, which may carry a token).
fn send_error(error: reqwest::Error) -> SendError {
    if error.is_timeout() {
        return SendError::Timeout;
    }
    let error = error.without_url();
    let mut source: Option<&(dyn StdError + 'static)> = Some(&error);
    let mut text = String::new();
    while let Some(e) = source {
        if let Some(refusal) = e.downcast_ref::<UrlError>() {
            return SendError::Refused(refusal.to_string());
        }
        let part = e.to_string();
        // Layers often repeat their cause's text; keep each piece once.
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        source = e.source();
    }
    SendError::Transport(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request(url: &str) -> WebhookRequest {
        WebhookRequest {
            url: url.to_owned(),
            webhook_id: "msg_1".to_owned(),
            timestamp: 1,
            body: b"{}".to_vec(),
            secret: None,
            timeout: Duration::from_secs(5),
        }
    }

    /// The name check in `send` refuses `localhost` before any lookup; here the URL skips it,
    /// so the refusal must come from the resolver, through reqwest's error chain.
    #[tokio::test]
    async fn resolver_refusal_surfaces_as_refused() {
        let sender = ReqwestSender::new(SenderConfig::default()).unwrap();
        let url = Url::parse("https://localhost:9/").unwrap();
        match sender.post(url, &request("https://localhost:9/")).await {
            Err(SendError::Refused(reason)) => {
                assert!(reason.contains("localhost"), "{reason}");
                assert!(
                    reason.contains("127.0.0.1") || reason.contains("::1"),
                    "the address check, not the name check, refused it: {reason}"
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn bad_header_values_and_secrets_are_refused() {
        let mut r = request("https://example.com/");
        r.webhook_id = "a\nb".to_owned();
        assert_eq!(
            headers(&r).unwrap_err(),
            SendError::Refused("invalid webhook-id header value".to_owned())
        );
        let mut r = request("https://example.com/");
        r.secret = Some("whsec_***".to_owned());
        match headers(&r) {
            Err(SendError::Refused(reason)) => assert!(reason.contains("secret"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn user_agent_names_fms_and_its_version() {
        assert_eq!(USER_AGENT, format!("fms/{}", env!("CARGO_PKG_VERSION")));
    }
}
