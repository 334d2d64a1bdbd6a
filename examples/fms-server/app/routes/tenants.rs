//! Tenants: creation (operator), settings, rules and the rules' dry run.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use fms::ids::TenantId;
use fms::tenant::{NewTenant, TenantPatch};

use crate::app::Shared;
use crate::app::auth::{Caller, generate_token, hash_token};
use crate::app::body::{self, JsonBody, parse_id};
use crate::app::dto::{TenantCreated, TenantView};
use crate::app::error::{ApiError, ErrorBody};

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
    request_body = crate::app::dto::NewTenantBody,
    responses(
        (status = 201, description = "Created; `api_key` is shown only now", body = TenantCreated),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Not the operator", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<TenantCreated>), ApiError> {
    caller.require_operator()?;
    let obj = body::object(&body)?;
    let mut new = NewTenant::new(body::req_str(obj, "name")?);
    if let Some(Some(url)) = body::patch_str(obj, "automation_webhook_url")? {
        check_webhook_url(&state, &url)?;
        new = new.with_webhook_url(url);
    }
    if let Some(tz) = body::opt_str(obj, "timezone")? {
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
    params(("tenant_id" = String, Path, description = "Tenant UUID")),
    responses(
        (status = 200, body = TenantView),
        (status = 403, description = "Another tenant's key", body = ErrorBody),
        (status = 404, body = ErrorBody),
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
    params(("tenant_id" = String, Path, description = "Tenant UUID")),
    request_body = crate::app::dto::TenantPatchBody,
    responses(
        (status = 200, body = TenantView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<TenantView>, ApiError> {
    let id = tenant_in_path(caller, &raw)?;
    let obj = body::object(&body)?;
    let mut patch = TenantPatch::default();
    if let Some(name) = body::opt_str(obj, "name")? {
        patch.name = Some(name);
    }
    if let Some(url) = body::patch_str(obj, "automation_webhook_url")? {
        let url = url.filter(|u| !u.trim().is_empty());
        if let Some(u) = &url {
            check_webhook_url(&state, u)?;
        }
        patch.automation_webhook_url = Some(url);
    }
    if let Some(tz) = body::opt_str(obj, "timezone")? {
        patch.timezone = Some(timezone(&tz)?);
    }
    if let Some(secret) = body::opt_str(obj, "webhook_secret")? {
        patch.webhook_secret = Some(secret);
    }
    Ok(Json(TenantView::of(
        &state.fms.update_tenant(id, patch).await?,
    )))
}

/// The tenant's rule set (the default one until a rule set is saved). The format is
/// documented in `docs/rules.md`.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant_id}/rules", tag = "rules",
    params(("tenant_id" = String, Path, description = "Tenant UUID")),
    responses((status = 200, description = "The rule set (see docs/rules.md)", body = Object),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
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
    params(("tenant_id" = String, Path, description = "Tenant UUID")),
    request_body(content = Object, description = "A rule set (see docs/rules.md); unknown fields are errors"),
    responses((status = 200, description = "The saved rule set", body = Object),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn put_rules(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let id = tenant_in_path(caller, &raw)?;
    body::object(&body)?;
    state.fms.tenant(id).await?;
    let saved = state.fms.put_rules_json(id, &body.to_string()).await?;
    Ok(Json(
        serde_json::to_value(&saved).map_err(|e| ApiError::internal(&e))?,
    ))
}

/// Runs the tenant's rules on an intake body and returns the decision with its trace;
/// stores nothing. `tenant_id` may be left out of the body.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant_id}/rules/dry-run", tag = "rules",
    params(("tenant_id" = String, Path, description = "Tenant UUID")),
    request_body = crate::app::dto::IntakeBody,
    responses((status = 200, description = "The decision: final priority, SLA due times, executor, trace", body = Object),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn dry_run(
    State(state): State<Shared>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(mut body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let id = tenant_in_path(caller, &raw)?;
    let obj = body
        .as_object_mut()
        .ok_or_else(|| ApiError::invalid_json("the body must be a JSON object"))?;
    match obj.get("tenant_id") {
        None | Some(Value::Null) => {
            obj.insert("tenant_id".into(), Value::String(id.to_string()));
        }
        Some(Value::String(s)) if s.trim().parse::<TenantId>().ok() != Some(id) => {
            return Err(ApiError::invalid(
                "tenant_id",
                "must be the tenant of the path (or left out)",
            ));
        }
        _ => {}
    }
    let decision = state.fms.dry_run(&body).await?;
    Ok(Json(
        serde_json::to_value(&decision).map_err(|e| ApiError::internal(&e))?,
    ))
}
