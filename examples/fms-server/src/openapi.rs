//! The OpenAPI document, generated from the handlers' annotations and the wire types (the
//! request bodies' schemas are the types the server decodes them as). The statuses that the
//! layers and extractors every handler shares can answer are added to every operation they
//! apply to by [`SharedResponses`], so each operation lists every status it can answer with.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use super::error::ErrorBody;

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
`user_inactive` 403, `user_not_found` / `not_found` 404, `method_not_allowed` 405 (a method \
a path does not have), `timeout` 408 (a request still unanswered after 30 s), `conflict` / \
`invalid_transition` 409, `gone` 410, `payload_too_large` 413, `internal` 500. Bodies are \
limited to 65 536 bytes (413 for any request over it) and read as JSON whatever the \
Content-Type says. Text limits: `issue` and `comment` 4000 characters, other text 500.

**Bodies.** Each request body's schema below is the type the server decodes it as. Every \
body except the intake's is strict: a key it does not have is a 400 `invalid_field` naming \
the key (`additionalProperties: false`). The intake (`POST /functions/v1/telegram-webhook`) \
accepts keys it does not read, since a Make mapper may add some, and lists them in its \
answer's `ignored_fields`. A wrong JSON type is a 400 `invalid_field` naming the field; an \
absent or null required field a 400 `missing_field`.

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
    modifiers(&Bearer, &SharedResponses),
)]
struct ApiDoc;

/// The statuses of the layers and extractors every handler shares (see `router()` and
/// `auth.rs`), added to each operation they apply to unless the handler documents them itself:
///
/// - 401 `unauthorized`: every operation with a bearer `security` requirement (missing,
///   malformed or unknown token);
/// - 500 `internal`: the same ones (the token lookup reads the store, and so do the handlers);
/// - 408 `timeout`: the same ones (the timeout layer answers for a request still unanswered
///   after 30 s; `/healthz` and `/openapi.json` never wait on anything);
/// - 413 `payload_too_large`: every operation with a request body (the body limit).
struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let authenticated = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                if authenticated {
                    add(
                        operation,
                        401,
                        "`unauthorized`: missing, malformed or unknown bearer token",
                    );
                    add(operation, 408, "`timeout`: unanswered after 30 s");
                    add(
                        operation,
                        500,
                        "`internal`: the store failed (the cause is logged, not sent)",
                    );
                }
                if let Some(body) = &mut operation.request_body {
                    optional_is_absent_not_null(body);
                    add(
                        operation,
                        413,
                        "`payload_too_large`: a body over 65 536 bytes",
                    );
                }
            }
        }
    }
}

/// utoipa writes an optional body (`request_body(content = Option<T>)`, not `required`) as
/// `oneOf: [null, T]`, but the server never accepts a `null` body: an optional body may be
/// left out, and when it is sent it is a `T`. Keeps `T` alone.
fn optional_is_absent_not_null(body: &mut utoipa::openapi::request_body::RequestBody) {
    use utoipa::openapi::schema::{Schema, SchemaType, Type};
    let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema
            && one_of.items.len() == 2
            && one_of.items.iter().any(is_null)
        {
            content.schema = one_of.items.iter().find(|s| !is_null(s)).cloned();
        }
    }
}

/// Adds an error response with `status` to `operation` unless it has one.
fn add(operation: &mut Operation, status: u16, description: &str) {
    let response: RefOr<Response> = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    ErrorBody::name(),
                ))))
                .build(),
        )
        .into();
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert(response);
}

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
