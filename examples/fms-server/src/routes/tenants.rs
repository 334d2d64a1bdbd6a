//! Tenants: creation (operator), settings, rules and the rules' dry run.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use fms::ids::TenantId;
use fms::tenant::{NewTenant, TenantPatch};

use crate::Shared;
use crate::auth::{Caller, generate_token, hash_token};
use crate::body::{Body, parse_id};
use crate::dto::{
    DryRunBody, NewTenantBody, RulesBody, TenantCreated, TenantPatchBody, TenantView,
};
use crate::error::{ApiError, ErrorBody};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v1/tenants", post(create))
        .route("/api/v1/tenants/{tenant_id}", get(show).patch(update))
        .route(
            "/api/v1/tenants/{tenant_id}/rules",
            get(rules).put(put_rules),
        )
        .route("/api/v1/tenants/{tenant_id}/rules/dry-run", post(dry_run))
}

/// The tenant named by a path, after checking the caller may act on it.
pub(crate) fn tenant_in_path(caller: Caller, raw: &str) -> Result<TenantId, ApiError> {
    let id: TenantId = parse_id("tenant_id", raw)?;
    caller.may_act_on(id)?;
    Ok(id)
}

fn check_webhook_url(state: &Shared, url: &str) -> Result<(), ApiError> {
    fms::http::check_url(url, state.allow_insecure)
        .map_err(|e| ApiError::invalid("automation_webhook_url", e))
}

fn timezone(raw: &str) -> Result<chrono_tz::Tz, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::invalid("timezone", "not an IANA time zone (e.g. Europe/Berlin)"))
}

/// Creates a tenant and its API key.
#[utoipa::path(
    post, path = "/api/v1/tenants", tag = "tenants",
    request_body = NewTenantBody,
    responses(
        (status = 201, description = "Created; `api_key` is shown only now", body = TenantCreated),
        (status = 400, description = "`invalid_json` (not a JSON object), `missing_field`, or `invalid_field` (a wrong type or value, or a key this body does not have); `field` names the field", body = ErrorBody),
        (status = 403, description = "Not the operator", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<Shared>,
    caller: Caller,
    Body(body): Body<NewTenantBody>,
) -> Result<(StatusCode, Json<TenantCreated>), ApiError> {
    caller.require_operator()?;
    let mut new = NewTenant::new(body.name);
    if let Some(url) = body.automation_webhook_url.filter(|u| !u.trim().is_empty()) {
        check_webhook_url(&state, &url)?;
        new = new.with_webhook_url(url);
    }
    if let Some(tz) = body.timezone {
        new = new.with_timezone(timezone(&tz)?);
    }
    let tenant = state.fms.create_tenant(new).await?;
    let api_key = generate_token("fms_");
    state
        .fms
        .set_api_key_hash(tenant.id, &hash_token(&api_key))
        .await?;
    tracing::info!(tenant_id = %tenant.id, "tenant created");
    Ok((
        StatusCode::CREATED,
        Json(TenantCreated {
            tenant_id: tenant.id.to_string(),
            name: tenant.name,
            api_key,
            webhook_secret: tenant.webhook_secret,
        }),
    ))
}

/// A tenant's settings.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = Uuid, Path, description = "Tenant UUID")),
    responses(
        (status = 200, body = TenantView),
        (status = 400, description = "`invalid_field`: `tenant_id` is not a UUID", body = ErrorBody),
        (status = 403, description = "Another tenant's key", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    let id = tenant_in_path(caller, &raw)?;
    Ok(Json(TenantView::of(&state.fms.tenant(id).await?)))
}

/// Changes a tenant's settings (absent fields are kept; `automation_webhook_url: null`
/// clears the URL).
#[utoipa::path(
    patch, path = "/api/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = Uuid, Path, description = "Tenant UUID")),
    request_body = TenantPatchBody,
    responses(
        (status = 200, body = TenantView),
        (status = 400, description = "`invalid_json` (not a JSON object), `missing_field`, or `invalid_field` (a wrong type or value, a malformed path id, or a key this body does not have); `field` names the field", body = ErrorBody),
        (status = 403, description = "Another tenant's key", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<TenantPatchBody>,
) -> Result<Json<TenantView>, ApiError> {
    let id = tenant_in_path(caller, &raw)?;
    let mut patch = TenantPatch {
        name: body.name,
        webhook_secret: body.webhook_secret,
        ..TenantPatch::default()
    };
    if let Some(url) = body.automation_webhook_url {
        let url = url.filter(|u| !u.trim().is_empty());
        if let Some(u) = &url {
            check_webhook_url(&state, u)?;
        }
        patch.automation_webhook_url = Some(url);
    }
    if let Some(tz) = body.timezone {
        patch.timezone = Some(timezone(&tz)?);
    }
    Ok(Json(TenantView::of(
        &state.fms.update_tenant(id, patch).await?,
    )))
}

/// The tenant's rule set (the default one until a rule set is saved). The format is
/// documented in `docs/rules.md`.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant_id}/rules", tag = "rules",
    params(("tenant_id" = Uuid, Path, description = "Tenant UUID")),
    responses((status = 200, description = "The rule set (see docs/rules.md)", body = Object),
        (status = 400, description = "`invalid_field`: `tenant_id` is not a UUID", body = ErrorBody),
        (status = 403, description = "Another tenant's key", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn rules(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = tenant_in_path(caller, &raw)?;
    let rules = state.fms.rules(id).await?;
    Ok(Json(
        serde_json::to_value(&rules).map_err(|e| ApiError::internal(&e))?,
    ))
}

/// Validates and saves a new rule set; its `version` becomes the previous one + 1. Errors
/// name the rule and the field.
#[utoipa::path(
    put, path = "/api/v1/tenants/{tenant_id}/rules", tag = "rules",
    params(("tenant_id" = Uuid, Path, description = "Tenant UUID")),
    request_body = RulesBody,
    responses((status = 200, description = "The saved rule set", body = Object),
        (status = 400, description = "`invalid_json`, `missing_field` or `invalid_field`; `field` is the path of the first problem (`rules[2](hvac).actions.assign.pool`), the message lists them all", body = ErrorBody),
        (status = 403, description = "Another tenant's key", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn put_rules(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(RulesBody(rules)): Body<RulesBody>,
) -> Result<Json<Value>, ApiError> {
    let id = tenant_in_path(caller, &raw)?;
    state.fms.tenant(id).await?;
    let saved = state.fms.put_rules(id, rules).await?;
    Ok(Json(
        serde_json::to_value(&saved).map_err(|e| ApiError::internal(&e))?,
    ))
}

/// Runs the tenant's rules on an intake body and returns the decision with its trace;
/// stores nothing. `tenant_id` may be left out of the body.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant_id}/rules/dry-run", tag = "rules",
    params(("tenant_id" = Uuid, Path, description = "Tenant UUID")),
    request_body = DryRunBody,
    responses((status = 200, description = "The decision: final priority, SLA due times, executor, trace", body = Object),
        (status = 400, description = "`invalid_json` (not a JSON object), `missing_field`, or `invalid_field` (a wrong type or value, a malformed path id, or a key this body does not have); `field` names the field", body = ErrorBody),
        (status = 403, description = "Another tenant's key, or `user_inactive`", body = ErrorBody),
        (status = 404, description = "`user_not_found`: no user with this `chat_id` in the tenant", body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn dry_run(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(DryRunBody(mut body)): Body<DryRunBody>,
) -> Result<Json<Value>, ApiError> {
    let id = tenant_in_path(caller, &raw)?;
    if let Some(key) = body.take_ignored().into_iter().next() {
        return Err(ApiError::invalid(
            &key,
            "unknown field; a dry run takes the intake's fields only",
        ));
    }
    match body.tenant_id.as_deref().map(str::trim) {
        None | Some("") => body.tenant_id = Some(id.to_string()),
        Some(s) if s.parse::<TenantId>().ok() != Some(id) => {
            return Err(ApiError::invalid(
                "tenant_id",
                "must be the tenant of the path (or left out)",
            ));
        }
        Some(_) => {}
    }
    let decision = state.fms.dry_run(&body.to_json()).await?;
    Ok(Json(
        serde_json::to_value(&decision).map_err(|e| ApiError::internal(&e))?,
    ))
}
