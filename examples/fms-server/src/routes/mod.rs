//! The endpoints, one module per area. Each module's `router()` is merged into the app; a new
//! area (onboarding, notifications) is one more module and one more `.merge(...)` line.

pub(crate) mod functions;
pub(crate) mod notifications;
pub(crate) mod onboarding;
pub(crate) mod ops;
pub(crate) mod queue;
pub(crate) mod tenants;
pub(crate) mod tickets;
pub(crate) mod users;

use axum::Router;

use super::Shared;

/// Every endpoint.
pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .merge(functions::router())
        .merge(onboarding::router())
        .merge(notifications::router())
        .merge(tenants::router())
        .merge(users::router())
        .merge(tickets::router())
        .merge(queue::router())
        .merge(ops::router())
}

/// Lists: `limit` default and maximum.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// See [`DEFAULT_LIMIT`].
pub(crate) const MAX_LIMIT: u32 = 200;

/// Reads a `limit` query parameter: 1 to 200, default 50.
pub(crate) fn limit(raw: Option<&str>) -> Result<u32, super::error::ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(DEFAULT_LIMIT),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(super::error::ApiError::invalid(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            )),
        },
    }
}
