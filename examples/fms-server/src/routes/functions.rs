//! The spec's functions, on the spec's paths: the intake (`telegram-webhook`) and the
//! cron-style dispatcher (`ticket-activity-webhook`). Onboarding's two functions are in
//! `onboarding.rs`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};

use crate::Shared;
use crate::auth::Caller;
use crate::body::{self, Body};
use crate::dto::{BatchAnswer, BatchCounts, IntakeAnswer, IntakeBody, RunBatchBody};
use crate::error::{ApiError, ErrorBody};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/functions/v1/telegram-webhook", post(intake))
        .route(
            "/functions/v1/ticket-activity-webhook",
            post(run_dispatcher),
        )
}

/// The spec's ticket intake.
#[utoipa::path(
    post, path = "/functions/v1/telegram-webhook", tag = "spec functions",
    request_body = IntakeBody,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes retries safe: the same key in the same tenant returns the first ticket with `duplicate: true` (the body's `message_id` is used when the header is absent)")),
    responses(
        (status = 200, description = "Created (or, for a repeated key, the first ticket); `ignored_fields` lists the body's keys fms does not read", body = IntakeAnswer),
        (status = 400, description = "`missing_field`, `invalid_field` or `invalid_json`; `field` names the field (keys fms does not read are not errors)", body = ErrorBody),
        (status = 403, description = "`user_inactive`, or `forbidden`: the body names another tenant", body = ErrorBody),
        (status = 404, description = "`user_not_found`: no user with this `chat_id` in the tenant", body = ErrorBody),
        (status = 409, description = "`conflict`: concurrent intakes kept changing the tenant's allocation; retry (rare)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn intake(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Body(mut body): Body<IntakeBody>,
) -> Result<Json<IntakeAnswer>, ApiError> {
    if caller.tenant().is_some() {
        // A key acts on its own tenant only, whatever the body claims. A tenant_id that is not
        // a UUID is left to the intake's validation (400).
        let named = body
            .tenant_id
            .as_deref()
            .and_then(|s| s.trim().parse::<fms::ids::TenantId>().ok());
        if let Some(named) = named {
            caller.may_act_on(named)?;
        }
    }
    let ignored_fields = body.take_ignored();
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?,
        ),
        None => None,
    };
    let ingested = state.fms.ingest(&body.to_json(), key).await?;
    state.metrics.intake(ingested.duplicate);
    Ok(Json(IntakeAnswer {
        success: true,
        ticket_id: ingested.ticket.id.to_string(),
        ticket_number: ingested.ticket.number,
        duplicate: ingested.duplicate,
        ignored_fields,
    }))
}

/// Runs the SLA sweeper, one ticket webhook batch and one onboarding batch now (the spec's
/// cron entry point; with FMS_DISPATCHER=off, the only way anything is delivered).
#[utoipa::path(
    post, path = "/functions/v1/ticket-activity-webhook", tag = "spec functions",
    request_body(content = Option<RunBatchBody>, description = "`{}` (or an empty body)"),
    responses(
        (status = 200, description = "What the batch did", body = BatchAnswer),
        (status = 400, description = "`invalid_json`, or `invalid_field`: the body has a key (it takes none)", body = ErrorBody),
        (status = 403, description = "A tenant key (operator only)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn run_dispatcher(
    State(state): State<Shared>,
    caller: Caller,
    raw: Bytes,
) -> Result<Json<BatchAnswer>, ApiError> {
    caller.require_operator()?;
    if !body::is_blank(&raw) {
        body::decode::<RunBatchBody>(&body::parse(&raw)?)?;
    }
    // Up to 100 tickets per call, as the background loop does per round; sweeper errors
    // are logged and the batches still run.
    let sla_events = match state.fms.sweep_sla(100).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "SLA sweep failed");
            0
        }
    };
    let result = state.dispatcher.run_batch().await;
    state.metrics.batch(&result);
    let report = result.map_err(|e| ApiError::internal(&e))?;
    let onboarding = state.onboarding.run_batch().await;
    state.metrics.onboarding_batch(&onboarding);
    let onboarding = onboarding.map_err(|e| ApiError::internal(&e))?;
    Ok(Json(BatchAnswer {
        success: true,
        claimed: report.claimed,
        delivered: report.delivered,
        retried: report.retried,
        skipped: report.skipped,
        parked: report.parked,
        sla_events,
        onboarding: BatchCounts {
            claimed: onboarding.claimed,
            delivered: onboarding.delivered,
            retried: onboarding.retried,
            skipped: onboarding.skipped,
            parked: onboarding.parked,
        },
    }))
}
