//! fms-http: the [`WebhookSender`](fms_core::sender::WebhookSender) port on reqwest, the only
//! place in fms that speaks HTTP, and the [`Runtime`] that delivers in the background.
//!
//! [`Runtime`] is what an application embeds: built from an [`Fms`](fms_core::Fms) and a
//! sender, it spawns the ticket webhook and onboarding request loops ([`DispatchLoop`]), the
//! SLA sweeper on its own timer and the wake-ups (in-process commits through
//! [`Runtime::fms`]; other processes' commits when the store offers them, as Postgres does),
//! and [`Runtime::shutdown`] stops them in order:
//!
//! ```
//! use std::sync::Arc;
//!
//! use fms_core::Fms;
//! use fms_http::{ReqwestSender, Runtime, RuntimeSettings, SenderConfig};
//!
//! async fn serve(fms: Fms) -> Result<(), Box<dyn std::error::Error>> {
//!     let sender = Arc::new(ReqwestSender::new(SenderConfig::default())?);
//!     let builder = Runtime::builder(fms, sender).with_settings(RuntimeSettings::default());
//!     let cron = builder.dispatcher(); // `cron.run_batch()` per tick, no background task
//!     # let _ = cron;
//!     let runtime = builder.start().await?;
//!     runtime.fms().sweep_sla(10).await?; // the application works through `runtime.fms()`
//!     runtime.shutdown().await;
//!     Ok(())
//! }
//! # let _ = serve;
//! ```
//!
//! The sender:
//!
//! [`ReqwestSender`] POSTs one prepared webhook and reports the status, the raw
//! `Retry-After` and the start of the body. It signs with Standard Webhooks (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature` = `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
//! per secret of a space-separated rotation list, see [`sign`]), sends
//! `Content-Type: application/json` and `User-Agent: fms/<version>`, applies the request's
//! timeout, never follows redirects (a 3xx comes back as a response), ignores system proxies,
//! reads at most [`SenderConfig::body_cap`] bytes of the answer, and never retries: retrying
//! is the dispatcher's business ([`fms_core::delivery`]).
//!
//! # Key design decision: the SSRF guard sits where the address is chosen
//!
//! Webhook URLs come from tenants, so the sender must not become a way into the host's
//! network. Checking a URL at save time is not enough: a name can resolve to a private address
//! later (DNS rebinding), and a public receiver can redirect. So, in secure mode (the
//! default):
//!
//! - the URL must be `https`; `localhost`/`*.localhost` and IP literals in private, loopback,
//!   link-local, CGNAT, multicast, documentation, reserved and unspecified ranges (and their
//!   IPv4-mapped, NAT64 and 6to4 forms) are refused when the URL is parsed ([`check_url`],
//!   also usable at save time). The URL parser first normalises decimal, octal and hex IPv4
//!   (`https://2130706433/`, `https://0177.0.0.1/`) to dotted form, so those are caught too;
//! - every DNS answer passes through [`GuardedResolver`], which refuses the whole answer if
//!   any address is forbidden, and reqwest connects only to the addresses it checked;
//! - redirects are never followed, so "public host redirects to a private one" cannot happen.
//!
//! Refusals come back as `SendError::Refused` naming the host and the address, before
//! anything is sent. [`SenderConfig::allow_insecure`] lifts all of this (http, loopback,
//! private targets) for tests and local development.
//!
//! # Example
//!
//! ```
//! use fms_http::{ReqwestSender, SenderConfig, check_url};
//!
//! // Save time: refuse a tenant's URL before storing it.
//! assert!(check_url("https://hook.eu1.make.com/abc", false).is_ok());
//! let refused = check_url("https://169.254.169.254/latest/meta-data", false).unwrap_err();
//! assert!(refused.to_string().contains("link-local"));
//!
//! // Send time: the sender the dispatcher holds as `Arc<dyn WebhookSender>`.
//! let sender = ReqwestSender::new(SenderConfig::default())?;
//! assert!(!sender.config().allow_insecure);
//!
//! // The signature a receiver checks (Standard Webhooks' published test vector).
//! let signature = fms_http::sign(
//!     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
//!     "msg_p5jXN8AQM9LWM0D4loKWxJek",
//!     1614265330,
//!     br#"{"test": 2432232314}"#,
//! )?;
//! assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod dispatch_loop;
mod guard;
mod resolver;
mod runtime;
mod sender;
mod sign;

pub use config::{DEFAULT_BODY_CAP, SenderConfig};
pub use dispatch_loop::{BatchObserver, DispatchLoop, LoopConfig, Wakeup};
pub use guard::{UrlError, check_resolved, check_url, forbidden_reason};
pub use resolver::GuardedResolver;
pub use runtime::{
    DEFAULT_ERROR_PAUSE, DEFAULT_POLL_INTERVAL, DEFAULT_SLA_SWEEP_BATCH,
    DEFAULT_SLA_SWEEP_INTERVAL, Runtime, RuntimeBuilder, RuntimeError, RuntimeEvent,
    RuntimeObserver, RuntimeSettings,
};
pub use sender::{BuildError, ReqwestSender, USER_AGENT};
pub use sign::{SECRET_PREFIX, SignError, sign};
