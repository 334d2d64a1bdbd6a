//! The webhook queue as an operator or tenant admin sees it: rows, replay, skip.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use fms::ids::QueueEntryId;
use fms::queue::{QueueEntry, QueueQuery, QueueState};
use fms::ticket::UnknownName;

use crate::Shared;
use crate::auth::Caller;
use crate::dto::{QueuePage, QueueRowView};
use crate::error::{ApiError, ErrorBody};
use crate::routes::tenants::tenant_in_path;

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v1/tenants/{tenant_id}/webhook-queue", get(list))
        .route("/api/v1/webhook-queue/{entry_id}/replay", post(replay))
        .route("/api/v1/webhook-queue/{entry_id}/skip", post(skip))
}

fn encode_cursor(id: QueueEntryId) -> String {
    URL_SAFE_NO_PAD.encode(format!("q:{id}"))
}

fn decode_cursor(raw: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::invalid("cursor", "not a cursor this server returned");
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("q:")
        .and_then(|id| id.parse().ok())
        .ok_or_else(bad)
}

/// A tenant's webhook queue rows, newest first.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant_id}/webhook-queue", tag = "webhook queue",
    params(
        ("tenant_id" = Uuid, Path, description = "Tenant UUID"),
        ("state" = Option<String>, Query, description = "pending, leased, delivered, skipped or parked"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses((status = 200, body = QueuePage),
        (status = 400, description = "`invalid_field`: `tenant_id`, `state`, `limit` or `cursor`", body = ErrorBody),
        (status = 403, description = "Another tenant's key", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<QueuePage>, ApiError> {
    let tenant = tenant_in_path(caller, &raw)?;
    state.fms.tenant(tenant).await?;
    let queue_state = match q.get("state").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse::<QueueState>()
                .map_err(|e: UnknownName| ApiError::invalid("state", e))?,
        ),
        None => None,
    };
    let limit = super::limit(q.get("limit").map(String::as_str))?;
    let before = match q.get("cursor").filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(decode_cursor(c)?),
        None => None,
    };
    let mut query = QueueQuery::tenant(tenant, queue_state, limit + 1);
    if let Some(before) = before {
        query = query.before(QueueEntryId(before));
    }
    let mut rows: Vec<QueueEntry> = state.fms.queue_entries(&query).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => Some(encode_cursor(last.id)),
        _ => None,
    };
    Ok(Json(QueuePage {
        items: rows.iter().map(QueueRowView::of).collect(),
        next_cursor,
    }))
}

async fn entry(state: &Shared, caller: Caller, raw: &str) -> Result<QueueEntryId, ApiError> {
    let id = raw
        .trim()
        .parse::<i64>()
        .map(QueueEntryId)
        .map_err(|_| ApiError::invalid("entry_id", "must be a queue row id (an integer)"))?;
    let row = state.fms.queue_entry(id).await?;
    caller.sees(row.tenant_id, "queue entry")?;
    Ok(id)
}

/// Sends a parked or skipped row again (pending, due now, attempts reset).
#[utoipa::path(
    post, path = "/api/v1/webhook-queue/{entry_id}/replay", tag = "webhook queue",
    params(("entry_id" = i64, Path, description = "Queue row id (an integer, not a UUID)")),
    responses((status = 200, body = QueueRowView),
        (status = 400, description = "`invalid_field`: `entry_id` is not an integer", body = ErrorBody),
        (status = 404, description = "No such row (or another tenant's)", body = ErrorBody),
        (status = 409, description = "The row is not parked or skipped", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn replay(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<QueueRowView>, ApiError> {
    let id = entry(&state, caller, &raw).await?;
    Ok(Json(QueueRowView::of(&state.fms.replay(id).await?)))
}

/// Gives up on a pending or parked row (`skipped`), so its ticket's later rows flow again.
#[utoipa::path(
    post, path = "/api/v1/webhook-queue/{entry_id}/skip", tag = "webhook queue",
    params(("entry_id" = i64, Path, description = "Queue row id (an integer, not a UUID)")),
    responses((status = 200, body = QueueRowView),
        (status = 400, description = "`invalid_field`: `entry_id` is not an integer", body = ErrorBody),
        (status = 404, description = "No such row (or another tenant's)", body = ErrorBody),
        (status = 409, description = "The row is leased or already done", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn skip(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<QueueRowView>, ApiError> {
    let id = entry(&state, caller, &raw).await?;
    Ok(Json(QueueRowView::of(&state.fms.skip(id).await?)))
}
