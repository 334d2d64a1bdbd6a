//! Unauthenticated operations endpoints: health, Prometheus metrics, the OpenAPI document.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::Shared;
use crate::dto::Health;
use crate::error::{ApiError, ErrorBody};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

/// Liveness: 200 while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// Prometheus text exposition: the webhook backlog (rows not done yet) by state, tickets
/// created, deliveries, failures, delivery latency histogram. Reads only the backlog, never the
/// finished history (this endpoint needs no token).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain"),
        (status = 408, description = "`timeout`: the backlog read took longer than 30 s", body = ErrorBody),
        (status = 500, description = "`internal`: the backlog could not be read", body = ErrorBody)))]
pub(crate) async fn metrics(State(state): State<Shared>) -> Result<impl IntoResponse, ApiError> {
    let counts = state.fms.queue_backlog().await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&counts),
    ))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
pub(crate) async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::document())
}
