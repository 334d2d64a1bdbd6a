//! Users of a tenant: complainants, executors, admins.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use fms::ids::UserId;
use fms::user::{NewUser, Role, UserPatch};

use crate::app::Shared;
use crate::app::auth::Caller;
use crate::app::body::{self, JsonBody, parse_id};
use crate::app::dto::UserView;
use crate::app::error::{ApiError, ErrorBody};
use crate::app::routes::tenants::tenant_in_path;

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v1/tenants/{tenant_id}/users", post(create))
        .route("/api/v1/users/{user_id}", get(show).patch(update))
}

/// Creates a user.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant_id}/users", tag = "users",
    params(("tenant_id" = String, Path, description = "Tenant UUID")),
    request_body = crate::app::dto::NewUserBody,
    responses(
        (status = 201, body = UserView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The chat id is already used in the tenant", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let tenant = tenant_in_path(caller, &raw)?;
    let obj = body::object(&body)?;
    let name = body::req_str(obj, "name")?;
    let role: Role = body::req_str(obj, "role")?
        .parse()
        .map_err(|e: fms::ticket::UnknownName| ApiError::invalid("role", e))?;
    let mut new = NewUser::new(tenant, name, role);
    new.telegram_chat_id = body::opt_chat_id(obj, "telegram_chat_id")?.flatten();
    new.email = body::opt_str(obj, "email")?;
    new.phone = body::opt_str(obj, "phone")?;
    new.designation = body::opt_str(obj, "designation")?;
    new.department = body::opt_str(obj, "department")?;
    if let Some(active) = body::opt_bool(obj, "active")? {
        new.active = active;
    }
    new.skills = body::opt_list(obj, "skills")?.unwrap_or_default();
    new.buildings = body::opt_list(obj, "buildings")?.unwrap_or_default();
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
    params(("user_id" = String, Path, description = "User UUID")),
    responses((status = 200, body = UserView),
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
    params(("user_id" = String, Path, description = "User UUID")),
    request_body = crate::app::dto::UserPatchBody,
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<UserView>, ApiError> {
    let user = load(&state, caller, &raw).await?;
    let obj = body::object(&body)?;
    let patch = UserPatch {
        name: body::opt_str(obj, "name")?,
        active: body::opt_bool(obj, "active")?,
        telegram_chat_id: body::opt_chat_id(obj, "telegram_chat_id")?,
        email: body::patch_str(obj, "email")?,
        phone: body::patch_str(obj, "phone")?,
        designation: body::patch_str(obj, "designation")?,
        department: body::patch_str(obj, "department")?,
        skills: body::opt_list(obj, "skills")?,
        buildings: body::opt_list(obj, "buildings")?,
        onboarding: None,
    };
    Ok(Json(UserView::of(
        &state.fms.update_user(user.id, patch).await?,
    )))
}
