//! Telegram deep-link onboarding, on the spec's function paths: the request (a pending user
//! and an expiring correlation id, queued for `MAKE_USER_ONBOARDING_WEBHOOK_URL`) and the
//! callback the bot makes when the user presses Start.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Map, Value};

use fms::ids::TenantId;
use fms::payload::wire_time;
use fms::service::OnboardingRequest;
use fms::user::Role;

use crate::app::Shared;
use crate::app::auth::Caller;
use crate::app::body::{self, JsonBody, parse_id};
use crate::app::dto::{OnboardingAccepted, OnboardingDone, UserView};
use crate::app::error::{ApiError, ErrorBody};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/functions/v1/user-onboarding-request", post(request))
        .route("/functions/v1/user-onboarding-callback", post(callback))
}

/// The tenant a body acts on: a tenant key's own (a `tenant_id` naming another is 403), or
/// for the operator the body's required `tenant_id`.
fn tenant_of(caller: Caller, obj: &Map<String, Value>) -> Result<TenantId, ApiError> {
    let named: Option<TenantId> = match body::opt_str(obj, "tenant_id")? {
        Some(raw) if !raw.trim().is_empty() => Some(parse_id("tenant_id", &raw)?),
        _ => None,
    };
    match (caller.tenant(), named) {
        (_, Some(named)) => {
            caller.may_act_on(named)?;
            Ok(named)
        }
        (Some(own), None) => Ok(own),
        (None, None) => Err(ApiError::missing("tenant_id")),
    }
}

/// Invites a user by email: creates (or, for an email the tenant already has, updates) a
/// pending user, issues a correlation id that expires after FMS_ONBOARDING_TTL_SECS, and
/// queues `{event: "user_onboarding_requested", tenant_id, user_id, email, role, name,
/// correlation_id, deep_link, expires_at}` for MAKE_USER_ONBOARDING_WEBHOOK_URL, signed with
/// FMS_ONBOARDING_WEBHOOK_SECRET (Standard Webhooks; unsigned when unset). Onboarding rows
/// have their own queue and dispatcher: a slow onboarding endpoint never delays ticket
/// webhooks, nor the reverse.
#[utoipa::path(
    post, path = "/functions/v1/user-onboarding-request", tag = "spec functions",
    request_body = crate::app::dto::OnboardingRequestBody,
    responses(
        (status = 202, description = "Accepted: the payload is queued for the onboarding webhook", body = OnboardingAccepted),
        (status = 400, description = "`missing_field`, `invalid_field` (e.g. `email`, `role`) or `invalid_json`", body = ErrorBody),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "`forbidden`: the body names another tenant", body = ErrorBody),
        (status = 404, description = "No such tenant (operator token)", body = ErrorBody),
        (status = 413, description = "Body over 65 536 bytes", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn request(
    State(state): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<OnboardingAccepted>), ApiError> {
    let obj = body::object(&body)?;
    let tenant_id = tenant_of(caller, obj)?;
    let email = body::req_str(obj, "email")?;
    let role: Role = body::req_str(obj, "role")?
        .trim()
        .parse()
        .map_err(|e: fms::ticket::UnknownName| ApiError::invalid("role", e))?;
    let name = body::opt_str(obj, "name")?;
    let started = state
        .fms
        .request_onboarding(OnboardingRequest {
            tenant_id,
            email,
            role,
            name,
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(OnboardingAccepted {
            success: true,
            correlation_id: started.invitation.correlation_id,
            user_id: started.user.id.to_string(),
            deep_link: started.deep_link,
            expires_at: wire_time(started.invitation.expires_at),
        }),
    ))
}

/// The bot's callback when the user pressed Start: binds the chat to the invited user and
/// marks them onboarded (the tenant's admins get a `user_onboarded` notification). The same
/// chat again is a success (Telegram clients resend /start), even after expiry.
#[utoipa::path(
    post, path = "/functions/v1/user-onboarding-callback", tag = "spec functions",
    request_body = crate::app::dto::OnboardingCallbackBody,
    responses(
        (status = 200, description = "Bound (or already bound to this same chat)", body = OnboardingDone),
        (status = 400, description = "`missing_field`, `invalid_field` (`correlation_id`, `chat_id`) or `invalid_json`", body = ErrorBody),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "`forbidden`: the body names another tenant", body = ErrorBody),
        (status = 404, description = "`not_found`: unknown correlation id (or another tenant's)", body = ErrorBody),
        (status = 409, description = "`conflict`: already bound to another chat, or the chat id belongs to another user of the tenant", body = ErrorBody),
        (status = 410, description = "`gone`: the correlation id expired", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn callback(
    State(state): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<OnboardingDone>, ApiError> {
    let obj = body::object(&body)?;
    let tenant_id = tenant_of(caller, obj)?;
    let correlation_id = body::req_str(obj, "correlation_id")?;
    let chat_id = match body::opt_chat_id(obj, "chat_id")? {
        Some(Some(c)) if !c.trim().is_empty() => c,
        _ => return Err(ApiError::missing("chat_id")),
    };
    let user = state
        .fms
        .complete_onboarding(tenant_id, &correlation_id, &chat_id)
        .await?;
    Ok(Json(OnboardingDone {
        success: true,
        user: UserView::of(&user),
    }))
}
