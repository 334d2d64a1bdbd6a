//! fms-core: the pure domain of fms.

pub mod activity;
pub mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod delivery;
pub mod dispatch;
pub mod error;
pub mod ids;
pub mod intake;
pub mod notification;
pub mod onboarding;
pub mod payload;
pub mod queue;
pub mod rules;
pub mod secret;
pub mod sender;
pub mod service;
pub mod store;
pub mod tenant;
pub mod ticket;
pub mod user;
pub mod workflow;

pub use error::{Error, ErrorKind, Result};
pub use service::Fms;
pub use store::EnqueueListener;
