//! # fms
//!
//! An embeddable facility-management ticket engine. A chat or automation layer (a Make
//! scenario behind a Telegram bot, or any HTTP client) sends a complaint as JSON; fms
//! validates it, runs the tenant's rule engine, stores the ticket, and queues every change of
//! that ticket, in order, for the tenant's automation webhook through a durable outbox.
//!
//! This crate is the facade: it re-exports [`fms_core`] (the pure domain and the service API)
//! and, behind features, the adapters:
//!
//! | feature | default | module | what |
//! | --- | --- | --- | --- |
//! | `sqlite` | yes | [`sqlite`] | `SqliteStore`, the embedded store (bundled SQLite) |
//! | `http` | yes | [`http`] | `ReqwestSender`, the signed webhook sender; [`Runtime`], the background delivery |
//! | `postgres` | no | [`postgres`] | `PgStore`, the store for many servers and dispatchers (sqlx) |
//!
//! ## Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use fms::sqlite::SqliteStore;
//! use fms::tenant::NewTenant;
//! use fms::user::{NewUser, Role};
//! use fms::Fms;
//!
//! let fms = Fms::new(Arc::new(SqliteStore::in_memory()?));
//! let tenant = fms.create_tenant(NewTenant::new("ACME Facilities")).await?;
//! fms.create_user(NewUser::new(tenant.id, "John Doe", Role::Complainant).with_chat_id("123456789"))
//!     .await?;
//!
//! // The spec's intake JSON, as a Make scenario sends it.
//! let body = serde_json::json!({
//!     "issue": "AC not working in Building A",
//!     "location": "Building A, Floor 3",
//!     "category": "HVAC",
//!     "priority": "high",
//!     "name": "John Doe",
//!     "chat_id": "123456789",
//!     "tenant_id": tenant.id.to_string(),
//! });
//! let ticket = fms.ingest(&body, None).await?.ticket;
//! assert_eq!(ticket.number, "TKT-0001");
//!
//! // Its `ticket_created` activity is queued for the tenant's webhook.
//! let queue = fms.queue_entries(&fms::queue::QueueQuery::ticket(ticket.id)).await?;
//! let payload = fms.payload(queue[0].id).await?;
//! assert_eq!(payload.latest_activity.activity_type, "ticket_created");
//! # Ok(()) }
//! ```
//!
//! ## Delivering the webhooks
//!
//! With the `http` feature, a [`Runtime`] runs everything delivery needs in the background:
//! the ticket webhook and onboarding request loops, the SLA sweeper on its own timer, and the
//! wake-ups (every commit through [`Runtime::fms`](http::Runtime::fms); on Postgres, other
//! processes' commits too). One `shutdown().await` stops it in order.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use fms::http::{ReqwestSender, RuntimeEvent, SenderConfig};
//! use fms::sqlite::SqliteStore;
//! use fms::{Fms, Runtime, RuntimeSettings};
//!
//! let fms = Fms::new(Arc::new(SqliteStore::in_memory()?));
//! let sender = Arc::new(ReqwestSender::new(SenderConfig::default())?);
//! let settings = RuntimeSettings::default()
//!     .with_poll_interval(Duration::from_secs(5))
//!     .with_sla_sweep_interval(Duration::from_secs(30))
//!     .with_onboarding_endpoint("https://hook.eu1.make.com/onboarding", None);
//! let runtime = Runtime::builder(fms, sender)
//!     .with_settings(settings)
//!     .with_observer(Arc::new(|event| {
//!         if let RuntimeEvent::Tickets(Err(e)) = event {
//!             eprintln!("ticket delivery: {e}");
//!         }
//!     }))
//!     .start()
//!     .await?;
//! let fms = runtime.fms().clone(); // hand this to the application: its commits wake delivery
//! # let _ = fms;
//! runtime.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! See `README.md` for the example server and `ARCHITECTURE.md` for the design.

pub use fms_core::*;

/// The SQLite store (feature `sqlite`, on by default).
#[cfg(feature = "sqlite")]
pub mod sqlite {
    pub use fms_store_sqlite::*;
}

/// The Postgres store (feature `postgres`): `PgStore`, for many servers and dispatchers on
/// one database.
#[cfg(feature = "postgres")]
pub mod postgres {
    pub use fms_store_postgres::*;
}

/// The reqwest webhook sender, the dispatch loop and the delivery [`Runtime`] (feature
/// `http`).
#[cfg(feature = "http")]
pub mod http {
    pub use fms_http::*;
}

/// The delivery runtime (feature `http`): see [`http::Runtime`].
#[cfg(feature = "http")]
pub use fms_http::{Runtime, RuntimeSettings};

/// The README's library example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
