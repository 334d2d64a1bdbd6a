//! Users of a tenant: complainants, executors, admins.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use fms::ids::UserId;
use fms::user::{NewUser, Role, UserPatch};

use crate::Shared;
use crate::auth::Caller;
use crate::body::{Body, StringOrInteger, parse_id};
use crate::dto::{NewUserBody, UserPatchBody, UserView};
use crate::error::{ApiError, ErrorBody};
use crate::routes::tenants::tenant_in_path;

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v1/tenants/{tenant_id}/users", post(create))
        .route("/api/v1/users/{user_id}", get(show).patch(update))
}

/// Creates a user.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant_id}/users", tag = "users",
    params(("tenant_id" = Uuid, Path, description = "Tenant UUID")),
    request_body = NewUserBody,
    responses(
        (status = 201, body = UserView),
        (status = 400, description = "`invalid_json` (not a JSON object), `missing_field`, or `invalid_field` (a wrong type or value, a malformed path id, or a key this body does not have); `field` names the field", body = ErrorBody),
        (status = 403, description = "Another tenant's key", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
        (status = 409, description = "The chat id is already used in the tenant", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<NewUserBody>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let tenant = tenant_in_path(caller, &raw)?;
    let role: Role = crate::body::non_blank("role", body.role)?
        .parse()
        .map_err(|e: fms::ticket::UnknownName| ApiError::invalid("role", e))?;
    let mut new = NewUser::new(tenant, body.name, role);
    new.telegram_chat_id = body.telegram_chat_id.map(|c| c.0);
    new.email = body.email;
    new.phone = body.phone;
    new.designation = body.designation;
    new.department = body.department;
    if let Some(active) = body.active {
        new.active = active;
    }
    new.skills = body.skills.unwrap_or_default();
    new.buildings = body.buildings.unwrap_or_default();
    let user = state.fms.create_user(new).await?;
    Ok((StatusCode::CREATED, Json(UserView::of(&user))))
}

async fn load(state: &Shared, caller: Caller, raw: &str) -> Result<fms::user::User, ApiError> {
    let id: UserId = parse_id("user_id", raw)?;
    let user = state.fms.user(id).await?;
    caller.sees(user.tenant_id, "user")?;
    Ok(user)
}

/// A user.
#[utoipa::path(
    get, path = "/api/v1/users/{user_id}", tag = "users",
    params(("user_id" = Uuid, Path, description = "User UUID")),
    responses((status = 200, body = UserView),
        (status = 400, description = "`invalid_field`: `user_id` is not a UUID", body = ErrorBody),
        (status = 404, description = "No such user (or another tenant's)", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(UserView::of(&load(&state, caller, &raw).await?)))
}

/// Changes a user (absent fields are kept, `null` clears).
#[utoipa::path(
    patch, path = "/api/v1/users/{user_id}", tag = "users",
    params(("user_id" = Uuid, Path, description = "User UUID")),
    request_body = UserPatchBody,
    responses((status = 200, body = UserView),
        (status = 400, description = "`invalid_json` (not a JSON object), `missing_field`, or `invalid_field` (a wrong type or value, a malformed path id, or a key this body does not have); `field` names the field", body = ErrorBody),
        (status = 404, description = "No such user (or another tenant's)", body = ErrorBody),
        (status = 409, description = "The chat id is already used in the tenant", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<UserPatchBody>,
) -> Result<Json<UserView>, ApiError> {
    let user = load(&state, caller, &raw).await?;
    let patch = UserPatch {
        name: body.name,
        active: body.active,
        telegram_chat_id: body.telegram_chat_id.map(|c| c.map(|StringOrInteger(c)| c)),
        email: body.email,
        phone: body.phone,
        designation: body.designation,
        department: body.department,
        skills: body.skills,
        buildings: body.buildings,
        onboarding: None,
    };
    Ok(Json(UserView::of(
        &state.fms.update_user(user.id, patch).await?,
    )))
}
