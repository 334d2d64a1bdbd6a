//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::routes::{functions, notifications, onboarding, ops, queue, tenants, tickets, users};

const DESCRIPTION: &str = "\
The fms ticket library behind HTTP. The spec's functions keep their Supabase paths \
(`/functions/v1/...`), so a Make scenario only changes its base URL.

**Auth.** `Authorization: Bearer <token>`: the operator token (FMS_ADMIN_TOKEN) or a tenant \
API key (returned once by `POST /api/v1/tenants`, stored hashed). A tenant key acts on its own \
tenant only: a body or path naming another tenant, or an operator-only endpoint, is 403; a \
ticket, user or queue row of another tenant is 404, as if it did not exist. Missing or \
unknown token: 401. `/healthz`, `/metrics` and `/openapi.json` need no token.

**Errors.** Always `{\"success\": false, \"error\": {\"code\", \"message\", \"field\"}}`: \
`missing_field` / `invalid_field` / `invalid_json` 400, `unauthorized` 401, `forbidden` / \
`user_inactive` 403, `user_not_found` / `not_found` 404, `method_not_allowed` 405, `timeout` \
408, `conflict` / `invalid_transition` 409, `gone` 410, `payload_too_large` 413, `internal` \
500. Bodies are limited to 65 536 bytes and read as JSON whatever the Content-Type says. \
Text limits: `issue` and `comment` 4000 characters, other text 500.

**Lists.** `{\"items\": [...], \"next_cursor\": \"...\"|null}`, newest first, `limit` 1-200 \
(default 50), `cursor` = the previous page's `next_cursor`.

**Onboarding.** `POST /functions/v1/user-onboarding-request` (202) creates a pending user \
and an unguessable correlation id (Telegram's `start` parameter, valid for \
FMS_ONBOARDING_TTL_SECS, 7 days by default) and queues `{event, tenant_id, user_id, email, \
role, name, correlation_id, deep_link, expires_at}` for MAKE_USER_ONBOARDING_WEBHOOK_URL on \
its own queue, signed like ticket webhooks (Standard Webhooks headers `webhook-id: \
onb_<correlation_id>`, `webhook-timestamp`, `webhook-signature`) with \
FMS_ONBOARDING_WEBHOOK_SECRET, unsigned when that is unset. \
`POST /functions/v1/user-onboarding-callback` binds the chat: 200 (also for the same chat \
again), 404 unknown, 409 another chat or a chat id of another user, 410 expired.

**Notifications.** Stored per tenant for its admins' dashboard: `user_onboarded`, \
`ticket_unassigned`, `sla_breached`, `endpoint_disabled`, `webhook_parked`.

**Rules.** A new tenant has the default SLA targets (critical 1 h / 4 h, high 4 h / 24 h, \
medium 8 h / 72 h, low 24 h / 120 h) and the default allocation (least-loaded active executor \
whose skills cover the category); the rule set format is in docs/rules.md.";

#[derive(OpenApi)]
#[openapi(
    info(title = "fms-server", description = DESCRIPTION),
    paths(
        functions::intake, functions::run_dispatcher,
        onboarding::request, onboarding::callback,
        tenants::create, tenants::show, tenants::update, tenants::rules, tenants::put_rules,
        tenants::dry_run,
        users::create, users::show, users::update,
        tickets::show, tickets::list, tickets::add_activity, tickets::change_status,
        tickets::assign,
        queue::list, queue::replay, queue::skip,
        notifications::list, notifications::read,
        ops::healthz, ops::metrics, ops::openapi,
    ),
    modifiers(&Bearer),
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
