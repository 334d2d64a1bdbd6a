//! Telegram deep-link onboarding, on the spec's function paths: the request (a pending user
//! and an expiring correlation id, queued for `MAKE_USER_ONBOARDING_WEBHOOK_URL`) and the
//! callback the bot makes when the user presses Start.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};

use fms::ids::TenantId;
use fms::payload::wire_time;
use fms::service::OnboardingRequest;
use fms::user::Role;

use crate::Shared;
use crate::auth::Caller;
use crate::body::{self, Body};
use crate::dto::{
    OnboardingAccepted, OnboardingCallbackBody, OnboardingDone, OnboardingRequestBody, UserView,
};
use crate::error::{ApiError, ErrorBody};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/functions/v1/user-onboarding-request", post(request))
        .route("/functions/v1/user-onboarding-callback", post(callback))
}

/// The tenant a body acts on: a tenant key's own (a `tenant_id` naming another is 403), or
/// for the operator the body's required `tenant_id`.
fn tenant_of(caller: Caller, tenant_id: Option<&str>) -> Result<TenantId, ApiError> {
    let named: Option<TenantId> = body::opt_id("tenant_id", tenant_id)?;
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
    request_body = OnboardingRequestBody,
    responses(
        (status = 202, description = "Accepted: the payload is queued for the onboarding webhook", body = OnboardingAccepted),
        (status = 400, description = "`missing_field`, `invalid_field` (e.g. `email`, `role`, or a key this body does not have) or `invalid_json`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the body names another tenant", body = ErrorBody),
        (status = 404, description = "No such tenant (operator token)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn request(
    State(state): State<Shared>,
    caller: Caller,
    Body(body): Body<OnboardingRequestBody>,
) -> Result<(StatusCode, Json<OnboardingAccepted>), ApiError> {
    let tenant_id = tenant_of(caller, body.tenant_id.as_deref())?;
    let email = body::non_blank("email", body.email)?;
    let role: Role = body::non_blank("role", body.role)?
        .trim()
        .parse()
        .map_err(|e: fms::ticket::UnknownName| ApiError::invalid("role", e))?;
    let name = body.name;
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
    request_body = OnboardingCallbackBody,
    responses(
        (status = 200, description = "Bound (or already bound to this same chat)", body = OnboardingDone),
        (status = 400, description = "`missing_field`, `invalid_field` (`correlation_id`, `chat_id`, or a key this body does not have) or `invalid_json`", body = ErrorBody),
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
    Body(body): Body<OnboardingCallbackBody>,
) -> Result<Json<OnboardingDone>, ApiError> {
    let tenant_id = tenant_of(caller, body.tenant_id.as_deref())?;
    let correlation_id = body::non_blank("correlation_id", body.correlation_id)?;
    let chat_id = body::non_blank("chat_id", body.chat_id.0)?;
    let user = state
        .fms
        .complete_onboarding(tenant_id, &correlation_id, &chat_id)
        .await?;
    Ok(Json(OnboardingDone {
        success: true,
        user: UserView::of(&user),
    }))
}
