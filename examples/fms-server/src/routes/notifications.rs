//! Dashboard notifications: a tenant's list (newest first, unread filter) and mark read.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use uuid::Uuid;

use fms::ids::UserId;
use fms::notification::NotificationQuery;

use crate::Shared;
use crate::auth::Caller;
use crate::body::parse_id;
use crate::dto::{NotificationPage, NotificationView};
use crate::error::{ApiError, ErrorBody};
use crate::routes::tenants::tenant_in_path;
use crate::routes::tickets::{decode_cursor, encode_cursor};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v1/tenants/{tenant_id}/notifications", get(list))
        .route("/api/v1/notifications/{notification_id}/read", post(read))
}

/// `unread`: `true`/`1` or `false`/`0` (absent: all).
fn unread(raw: Option<&str>) -> Result<bool, ApiError> {
    match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(ApiError::invalid("unread", "must be true or false")),
    }
}

/// A tenant's notifications, newest first: onboarding completed, a ticket that could not be
/// assigned, an SLA breached, a webhook endpoint disabled (410 Gone), a webhook row parked.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant_id}/notifications", tag = "notifications",
    params(
        ("tenant_id" = Uuid, Path, description = "Tenant UUID"),
        ("unread" = Option<bool>, Query, description = "`true`: only unread ones"),
        ("user_id" = Option<Uuid>, Query, description = "Only those this user's dashboard shows: addressed to the user or to their role"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses((status = 200, body = NotificationPage),
        (status = 400, description = "`invalid_field`: `tenant_id`, `user_id`, `unread`, `limit` or `cursor`", body = ErrorBody),
        (status = 403, description = "Another tenant's key", body = ErrorBody),
        (status = 404, description = "No such tenant, or `user_id` is not a user of it", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<NotificationPage>, ApiError> {
    let tenant = tenant_in_path(caller, &raw)?;
    state.fms.tenant(tenant).await?;
    let unread_only = unread(q.get("unread").map(String::as_str))?;
    let recipient = match q.get("user_id").filter(|u| !u.trim().is_empty()) {
        Some(raw) => {
            let id: UserId = parse_id("user_id", raw)?;
            let user = state.fms.user(id).await?;
            if user.tenant_id != tenant {
                return Err(ApiError::not_found("user"));
            }
            Some((user.id, user.role))
        }
        None => None,
    };
    let limit = super::limit(q.get("limit").map(String::as_str))?;
    let before = match q.get("cursor").filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(decode_cursor::<Uuid>(c)?),
        None => None,
    };
    let mut notes = state
        .fms
        .notifications(&NotificationQuery {
            tenant_id: tenant,
            recipient,
            unread_only,
            before,
            limit: limit + 1,
        })
        .await?;
    let more = notes.len() > limit as usize;
    notes.truncate(limit as usize);
    let next_cursor = match (more, notes.last()) {
        (true, Some(last)) => Some(encode_cursor(last.created_at, last.id)),
        _ => None,
    };
    Ok(Json(NotificationPage {
        items: notes.iter().map(NotificationView::of).collect(),
        next_cursor,
    }))
}

/// Marks a notification read (the first read time is kept; marking again is a success).
#[utoipa::path(
    post, path = "/api/v1/notifications/{notification_id}/read", tag = "notifications",
    params(("notification_id" = Uuid, Path, description = "Notification UUID")),
    responses((status = 200, body = NotificationView),
        (status = 400, description = "`invalid_field`: `notification_id` is not a UUID", body = ErrorBody),
        (status = 404, description = "No such notification (or another tenant's)", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn read(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<NotificationView>, ApiError> {
    let id: Uuid = parse_id("notification_id", &raw)?;
    let note = state
        .fms
        .mark_notification_read(caller.tenant(), id)
        .await?;
    Ok(Json(NotificationView::of(&note)))
}
