//! Tickets: read one (with its activities), list, add an activity, change the status, assign.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::Value;

use fms::activity::ActivityType;
use fms::ids::{TenantId, TicketId, UserId};
use fms::service::AddActivity;
use fms::store::TicketQuery;
use fms::ticket::{Status, Ticket, UnknownName};
use fms::user::User;

use crate::Shared;
use crate::auth::Caller;
use crate::body::{self, Body, parse_id};
use crate::dto::{ActivityView, AssignBody, NewActivityBody, StatusBody, TicketPage, TicketView};
use crate::error::{ApiError, ErrorBody};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v1/tickets", get(list))
        .route("/api/v1/tickets/{ticket_id}", get(show))
        .route("/api/v1/tickets/{ticket_id}/activities", post(add_activity))
        .route("/api/v1/tickets/{ticket_id}/status", post(change_status))
        .route("/api/v1/tickets/{ticket_id}/assign", post(assign))
}

/// Users looked up while building views, each once per request.
#[derive(Default)]
struct Users(HashMap<UserId, User>);

impl Users {
    async fn get(&mut self, state: &Shared, id: UserId) -> Result<User, ApiError> {
        if let Some(u) = self.0.get(&id) {
            return Ok(u.clone());
        }
        let u = state.fms.user(id).await?;
        self.0.insert(id, u.clone());
        Ok(u)
    }
}

async fn view(
    state: &Shared,
    users: &mut Users,
    ticket: &Ticket,
    with_activities: bool,
) -> Result<TicketView, ApiError> {
    let complainant = users.get(state, ticket.complainant_id).await?;
    let executor = match ticket.executor_id {
        Some(id) => Some(users.get(state, id).await?),
        None => None,
    };
    let activities = if with_activities {
        let mut out = Vec::new();
        for a in state.fms.activities(ticket.id).await? {
            let author = match a.created_by {
                Some(id) => Some(users.get(state, id).await?),
                None => None,
            };
            out.push(ActivityView::of(&a, author.as_ref()));
        }
        Some(out)
    } else {
        None
    };
    Ok(TicketView::of(
        ticket,
        &complainant,
        executor.as_ref(),
        activities,
    ))
}

async fn load(state: &Shared, caller: Caller, raw: &str) -> Result<Ticket, ApiError> {
    let id: TicketId = parse_id("ticket_id", raw)?;
    let ticket = state.fms.ticket(id).await?;
    caller.sees(ticket.tenant_id, "ticket")?;
    Ok(ticket)
}

async fn full_view(state: &Shared, ticket: &Ticket) -> Result<Json<TicketView>, ApiError> {
    Ok(Json(
        view(state, &mut Users::default(), ticket, true).await?,
    ))
}

/// A ticket with its activities (oldest first).
#[utoipa::path(
    get, path = "/api/v1/tickets/{ticket_id}", tag = "tickets",
    params(("ticket_id" = Uuid, Path, description = "Ticket UUID")),
    responses((status = 200, body = TicketView),
        (status = 400, description = "`invalid_field`: `ticket_id` is not a UUID", body = ErrorBody),
        (status = 404, description = "No such ticket (or another tenant's)", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<TicketView>, ApiError> {
    let ticket = load(&state, caller, &raw).await?;
    full_view(&state, &ticket).await
}

/// The opaque list cursor: base64url of `<created_at epoch ms>:<id>`.
pub(crate) fn encode_cursor(at: DateTime<Utc>, id: impl std::fmt::Display) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", at.timestamp_millis()))
}

/// Reads a cursor of [`encode_cursor`]; anything else is `invalid_field` `cursor`.
pub(crate) fn decode_cursor<T: std::str::FromStr>(
    raw: &str,
) -> Result<(DateTime<Utc>, T), ApiError> {
    let bad = || ApiError::invalid("cursor", "not a cursor this server returned");
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (ms, id) = text.split_once(':').ok_or_else(bad)?;
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_millis(ms).ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// A tenant's tickets, newest first. A tenant key lists its own tenant; the operator names
/// one with `tenant_id`.
#[utoipa::path(
    get, path = "/api/v1/tickets", tag = "tickets",
    params(
        ("status" = Option<String>, Query, description = "Only this status"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("tenant_id" = Option<Uuid>, Query, description = "Required for the operator; a tenant key may only name its own"),
    ),
    responses((status = 200, description = "`items` without activities", body = TicketPage),
        (status = 400, description = "`missing_field` (`tenant_id`, operator token) or `invalid_field`: `tenant_id`, `status`, `limit` or `cursor`", body = ErrorBody),
        (status = 403, description = "`tenant_id` names another tenant", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<Shared>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<TicketPage>, ApiError> {
    let tenant: TenantId = match (q.get("tenant_id"), caller.tenant()) {
        (Some(raw), _) => {
            let id = parse_id("tenant_id", raw)?;
            caller.may_act_on(id)?;
            id
        }
        (None, Some(own)) => own,
        (None, None) => return Err(ApiError::missing("tenant_id")),
    };
    let status = match q.get("status").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse::<Status>()
                .map_err(|e: UnknownName| ApiError::invalid("status", e))?,
        ),
        None => None,
    };
    let limit = super::limit(q.get("limit").map(String::as_str))?;
    let before = match q.get("cursor").filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(decode_cursor(c)?),
        None => None,
    };
    let mut tickets = state
        .fms
        .tickets(&TicketQuery {
            tenant_id: tenant,
            status,
            before,
            limit: limit + 1,
        })
        .await?;
    let more = tickets.len() > limit as usize;
    tickets.truncate(limit as usize);
    let next_cursor = match (more, tickets.last()) {
        (true, Some(last)) => Some(encode_cursor(last.created_at, last.id)),
        _ => None,
    };
    let mut users = Users::default();
    let mut items = Vec::with_capacity(tickets.len());
    for t in &tickets {
        items.push(view(&state, &mut users, t, false).await?);
    }
    Ok(Json(TicketPage { items, next_cursor }))
}

/// Adds a comment, executor update or complainant interaction.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/activities", tag = "tickets",
    params(("ticket_id" = Uuid, Path, description = "Ticket UUID")),
    request_body = NewActivityBody,
    responses((status = 201, body = ActivityView),
        (status = 400, description = "`invalid_json` (not a JSON object), `missing_field`, or `invalid_field` (a wrong type or value, a malformed path id, or a key this body does not have); `field` names the field", body = ErrorBody),
        (status = 404, description = "No such ticket (or another tenant's)", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn add_activity(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<NewActivityBody>,
) -> Result<(StatusCode, Json<ActivityView>), ApiError> {
    let ticket = load(&state, caller, &raw).await?;
    let activity_type: ActivityType = body::non_blank("type", body.activity_type)?
        .parse()
        .map_err(|e: UnknownName| ApiError::invalid("type", e))?;
    let comment = body.comment;
    let metadata = body.metadata.map(Value::Object).unwrap_or_default();
    let created_by: UserId = body::id("created_by", &body.created_by)?;
    let activity = state
        .fms
        .add_activity(
            ticket.id,
            AddActivity {
                activity_type,
                comment,
                metadata,
                created_by,
            },
        )
        .await?;
    let author = state.fms.user(created_by).await?;
    Ok((
        StatusCode::CREATED,
        Json(ActivityView::of(&activity, Some(&author))),
    ))
}

/// Moves a ticket along the workflow.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/status", tag = "tickets",
    params(("ticket_id" = Uuid, Path, description = "Ticket UUID")),
    request_body = StatusBody,
    responses((status = 200, body = TicketView),
        (status = 400, description = "`invalid_json` (not a JSON object), `missing_field`, or `invalid_field` (a wrong type or value, a malformed path id, or a key this body does not have); `field` names the field", body = ErrorBody),
        (status = 404, description = "No such ticket (or another tenant's)", body = ErrorBody),
        (status = 409, description = "`invalid_transition`, naming the allowed moves; or `conflict`: concurrent changes kept winning (rare)", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn change_status(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<StatusBody>,
) -> Result<Json<TicketView>, ApiError> {
    let ticket = load(&state, caller, &raw).await?;
    let to: Status = body::non_blank("status", body.status)?
        .parse()
        .map_err(|e: UnknownName| ApiError::invalid("status", e))?;
    let changed_by: UserId = body::id("changed_by", &body.changed_by)?;
    let ticket = state
        .fms
        .change_status(ticket.id, to, Some(changed_by), body.comment)
        .await?;
    full_view(&state, &ticket).await
}

/// Assigns (or reassigns) an executor; an open ticket moves to `in-progress`.
#[utoipa::path(
    post, path = "/api/v1/tickets/{ticket_id}/assign", tag = "tickets",
    params(("ticket_id" = Uuid, Path, description = "Ticket UUID")),
    request_body = AssignBody,
    responses((status = 200, body = TicketView),
        (status = 400, description = "`invalid_json` (not a JSON object), `missing_field`, or `invalid_field` (a wrong type or value, a malformed path id, or a key this body does not have); `field` names the field", body = ErrorBody),
        (status = 404, description = "No such ticket (or another tenant's)", body = ErrorBody),
        (status = 409, description = "`conflict`: the ticket is closed or already assigned to this executor", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn assign(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<AssignBody>,
) -> Result<Json<TicketView>, ApiError> {
    let ticket = load(&state, caller, &raw).await?;
    let executor: UserId = body::id("executor_id", &body.executor_id)?;
    let ticket = state.fms.assign_executor(ticket.id, executor, None).await?;
    full_view(&state, &ticket).await
}
