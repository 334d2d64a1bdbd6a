//! The wire shapes of the HTTP API: their own serde types, separate from the domain types so
//! the format never drifts by accident. Each type is both what the server parses or writes and
//! what `/openapi.json` publishes (`utoipa::ToSchema`): a request body is decoded as its type
//! (see `body.rs`), so the schema cannot disagree with the parser. Management bodies deny
//! unknown fields (`additionalProperties: false`); the intake keeps the ones it does not read
//! and lists them in its answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::body::StringOrInteger;

use fms::activity::Activity;
use fms::notification::Notification;
use fms::payload::wire_time;
use fms::queue::QueueEntry;
use fms::tenant::Tenant;
use fms::ticket::Ticket;
use fms::user::User;

// Decoding checks the JSON type of every field fms reads and collects the other keys; the
// library (`Fms::ingest`, given `to_json()`) then validates the values (blank means missing,
// lengths, control characters, the priority's names, the tenant and the complainant) and
// reports the first missing field in the spec's order, which is why the required fields are
// `Option`s here. A unit test checks that every field here is one the library reads.
/// The spec's intake body (`POST /functions/v1/telegram-webhook`). Keys fms does not read are
/// accepted (a Make mapper may add some) and listed in the answer's `ignored_fields`. Null is
/// the same as absent; a blank required field is `missing_field`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub(crate) struct IntakeBody {
    /// The issue (the ticket's `title`), at most 4000 characters.
    #[schema(required = true, value_type = String, max_length = 4000, pattern = r"\S")]
    #[serde(skip_serializing_if = "Option::is_none")]
    issue: Option<String>,
    /// Where, at most 500 characters.
    #[schema(required = true, value_type = String, max_length = 500, pattern = r"\S")]
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    /// `HVAC`, `IT`, `Plumbing`, ... (at most 500 characters).
    #[schema(required = true, value_type = String, max_length = 500, pattern = r"\S")]
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    /// `critical`, `high`, `medium` or `low` (trimmed, case-insensitive).
    #[schema(required = true, value_type = String, max_length = 500, pattern = r"\S")]
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<String>,
    /// The complainant's name, at most 500 characters.
    #[schema(required = true, value_type = String, max_length = 500, pattern = r"\S")]
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Telegram chat id of a user of the tenant: a string (at most 64 characters) or an
    /// integer.
    #[schema(required = true, value_type = StringOrInteger)]
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_id: Option<StringOrInteger>,
    /// The tenant's UUID; a tenant key may only name its own tenant (403 otherwise).
    #[schema(required = true, value_type = String, format = Uuid)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tenant_id: Option<String>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    #[serde(skip_serializing_if = "Option::is_none")]
    designation: Option<String>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<String>,
    /// `Maintenance` when absent or blank; at most 500 characters.
    #[schema(max_length = 500)]
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    ticket_type: Option<String>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    #[serde(skip_serializing_if = "Option::is_none")]
    building: Option<String>,
    /// A string (at most 500 characters) or an integer.
    #[serde(skip_serializing_if = "Option::is_none")]
    floor: Option<StringOrInteger>,
    /// A string (at most 500 characters) or an integer.
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<StringOrInteger>,
    /// A longer description, at most 4000 characters.
    #[schema(max_length = 4000)]
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// An idempotency key, a string (at most 200 characters) or an integer; the
    /// `Idempotency-Key` header wins.
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<StringOrInteger>,
    /// Any other key: accepted, not read, listed in the answer's `ignored_fields`.
    #[serde(flatten)]
    pub(crate) ignored: BTreeMap<String, Value>,
}

impl IntakeBody {
    /// The keys fms did not read, sorted.
    pub(crate) fn take_ignored(&mut self) -> Vec<String> {
        std::mem::take(&mut self.ignored).into_keys().collect()
    }

    /// The body for the library: the fields fms reads, as JSON (call [`Self::take_ignored`]
    /// first, or the ignored keys come along; the library would ignore them too).
    pub(crate) fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The intake body of a dry run (`POST /api/v1/tenants/{tenant_id}/rules/dry-run`): the same
/// fields as [`IntakeBody`], `tenant_id` optional (the path's tenant), and strict: a key fms
/// does not read is a 400 naming it.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct DryRunBody(pub(crate) IntakeBody);

impl PartialSchema for DryRunBody {
    fn schema() -> RefOr<Schema> {
        let mut schema = IntakeBody::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.required.retain(|field| field != "tenant_id");
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            object.description = Some(
                "The intake body, `tenant_id` optional (the path's tenant); keys fms does not \
                 read are refused (400 naming the key)."
                    .to_owned(),
            );
        }
        schema
    }
}

impl ToSchema for DryRunBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((IntakeBody::name().into_owned(), IntakeBody::schema()));
        <IntakeBody as ToSchema>::schemas(schemas);
    }
}

/// The intake's answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IntakeAnswer {
    /// `true`.
    pub(crate) success: bool,
    /// The ticket's UUID.
    #[schema(format = Uuid)]
    pub(crate) ticket_id: String,
    /// `TKT-0001`.
    pub(crate) ticket_number: String,
    /// `true` when the idempotency key was seen before: this is the first ticket, nothing new
    /// was created.
    pub(crate) duplicate: bool,
    /// The body's keys that fms does not read (sorted; empty when there were none): check
    /// them for typos such as `prioritty`.
    pub(crate) ignored_fields: Vec<String>,
}

/// `POST /functions/v1/ticket-activity-webhook`: `{}` (or an empty body); no fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunBatchBody {}

/// What one dispatcher batch did (`POST /functions/v1/ticket-activity-webhook`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchAnswer {
    /// `true`.
    pub(crate) success: bool,
    /// Rows claimed.
    pub(crate) claimed: usize,
    /// Rows delivered (2xx).
    pub(crate) delivered: usize,
    /// Rows rescheduled after a failure.
    pub(crate) retried: usize,
    /// Rows skipped (tenant without a webhook URL).
    pub(crate) skipped: usize,
    /// Rows parked after the retry age.
    pub(crate) parked: usize,
    /// `sla_warning` / `sla_breached` activities the SLA sweeper wrote before the batch.
    pub(crate) sla_events: usize,
    /// The onboarding queue's batch (`MAKE_USER_ONBOARDING_WEBHOOK_URL`), run after the
    /// ticket batch.
    pub(crate) onboarding: BatchCounts,
}

/// What one batch of the onboarding queue did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchCounts {
    /// Rows claimed.
    pub(crate) claimed: usize,
    /// Rows delivered (2xx).
    pub(crate) delivered: usize,
    /// Rows rescheduled after a failure.
    pub(crate) retried: usize,
    /// Rows skipped (no onboarding webhook URL configured).
    pub(crate) skipped: usize,
    /// Rows parked after the retry age.
    pub(crate) parked: usize,
}

/// `POST /api/v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTenantBody {
    /// Display name (the payload's `tenant_name`), at most 500 characters.
    #[schema(max_length = 500, pattern = r"\S")]
    pub(crate) name: String,
    /// The Make webhook URL: https only (unless FMS_ALLOW_INSECURE_WEBHOOKS=1), no private
    /// or loopback targets; null or blank: none (rows are skipped until one is set).
    #[schema(format = Uri, max_length = 2000)]
    pub(crate) automation_webhook_url: Option<String>,
    /// IANA time zone of the business calendar (`Europe/Berlin`); `UTC` by default.
    pub(crate) timezone: Option<String>,
}

/// A new tenant, with its API key and webhook secret (the key is shown only here).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TenantCreated {
    /// The tenant's UUID.
    pub(crate) tenant_id: String,
    /// Name.
    pub(crate) name: String,
    /// The tenant's API key (`Authorization: Bearer ...`); stored hashed, shown once.
    pub(crate) api_key: String,
    /// The Standard Webhooks secret (`whsec_...`) that signs the tenant's webhooks.
    pub(crate) webhook_secret: String,
}

/// `PATCH /api/v1/tenants/{tenant_id}`: absent (or null) fields are kept, except
/// `automation_webhook_url`, which null clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantPatchBody {
    /// New name, at most 500 characters.
    #[schema(max_length = 500, pattern = r"\S")]
    pub(crate) name: Option<String>,
    /// New webhook URL; `null` (or blank) clears it (rows are then skipped).
    #[schema(value_type = Option<String>, format = Uri, max_length = 2000)]
    #[serde(default, deserialize_with = "crate::body::patch")]
    pub(crate) automation_webhook_url: Option<Option<String>>,
    /// New IANA time zone.
    pub(crate) timezone: Option<String>,
    /// New signing secret(s), `whsec_...` (space-separated during a rotation).
    pub(crate) webhook_secret: Option<String>,
}

/// A tenant's settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TenantView {
    tenant_id: String,
    name: String,
    automation_webhook_url: Option<String>,
    /// The signing secret(s).
    webhook_secret: String,
    timezone: String,
    number_prefix: String,
    created_at: String,
}

impl TenantView {
    pub(crate) fn of(t: &Tenant) -> Self {
        Self {
            tenant_id: t.id.to_string(),
            name: t.name.clone(),
            automation_webhook_url: t.automation_webhook_url.clone(),
            webhook_secret: t.webhook_secret.clone(),
            timezone: t.timezone.to_string(),
            number_prefix: t.number_prefix.clone(),
            created_at: wire_time(t.created_at),
        }
    }
}

/// `POST /api/v1/tenants/{tenant_id}/users`. Text fields at most 500 characters.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserBody {
    /// The user's name.
    #[schema(max_length = 500, pattern = r"\S")]
    pub(crate) name: String,
    /// `complainant`, `executor` or `admin` (case-insensitive).
    pub(crate) role: String,
    /// Email address.
    pub(crate) email: Option<String>,
    /// Phone number.
    pub(crate) phone: Option<String>,
    /// Telegram chat id, string (at most 64 characters) or integer; unique within the tenant
    /// (409).
    pub(crate) telegram_chat_id: Option<StringOrInteger>,
    /// Default `true`.
    pub(crate) active: Option<bool>,
    /// Job title.
    pub(crate) designation: Option<String>,
    /// Department.
    pub(crate) department: Option<String>,
    /// Categories an executor handles (`HVAC`, ...), at most 100.
    pub(crate) skills: Option<Vec<String>>,
    /// Buildings an executor covers (empty: all), at most 100.
    pub(crate) buildings: Option<Vec<String>>,
}

/// `PATCH /api/v1/users/{user_id}`: absent fields are kept; `null` clears the optional text
/// fields and the chat id, and keeps `name`, `active`, `skills` and `buildings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserPatchBody {
    /// New name.
    #[schema(max_length = 500, pattern = r"\S")]
    pub(crate) name: Option<String>,
    /// Active or not (inactive users cannot report or be assigned).
    pub(crate) active: Option<bool>,
    /// Telegram chat id, string or integer; `null` unbinds it.
    #[schema(value_type = Option<StringOrInteger>)]
    #[serde(default, deserialize_with = "crate::body::patch")]
    pub(crate) telegram_chat_id: Option<Option<StringOrInteger>>,
    /// Email address; `null` clears it.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::body::patch")]
    pub(crate) email: Option<Option<String>>,
    /// Phone number; `null` clears it.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::body::patch")]
    pub(crate) phone: Option<Option<String>>,
    /// Job title; `null` clears it.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::body::patch")]
    pub(crate) designation: Option<Option<String>>,
    /// Department; `null` clears it.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::body::patch")]
    pub(crate) department: Option<Option<String>>,
    /// Categories an executor handles (replaces the list).
    pub(crate) skills: Option<Vec<String>>,
    /// Buildings an executor covers (replaces the list; empty: all).
    pub(crate) buildings: Option<Vec<String>>,
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserView {
    id: String,
    tenant_id: String,
    name: String,
    /// `complainant`, `executor` or `admin`.
    role: String,
    active: bool,
    telegram_chat_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    designation: Option<String>,
    department: Option<String>,
    skills: Vec<String>,
    buildings: Vec<String>,
    /// `none`, `pending` or `onboarded`.
    onboarding: String,
    created_at: String,
}

impl UserView {
    pub(crate) fn of(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            tenant_id: u.tenant_id.to_string(),
            name: u.name.clone(),
            role: u.role.as_str().to_owned(),
            active: u.active,
            telegram_chat_id: u.telegram_chat_id.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
            designation: u.designation.clone(),
            department: u.department.clone(),
            skills: u.skills.clone(),
            buildings: u.buildings.clone(),
            onboarding: u.onboarding.as_str().to_owned(),
            created_at: wire_time(u.created_at),
        }
    }
}

/// `complainant` of a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ComplainantView {
    id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    chat_id: Option<String>,
}

/// `executor` of a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExecutorView {
    id: String,
    name: String,
    phone: Option<String>,
    chat_id: Option<String>,
}

/// `sla` of a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SlaView {
    response_due_at: Option<String>,
    resolution_due_at: Option<String>,
}

/// `created_by` of an activity.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActorView {
    id: String,
    name: String,
}

/// An activity.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActivityView {
    id: String,
    /// `ticket_created, executor_assigned, status_changed, priority_changed, comment,
    /// executor_update, complainant_interaction, sla_warning, sla_breached`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    activity_type: String,
    comment: Option<String>,
    #[schema(value_type = Object)]
    metadata: Value,
    created_at: String,
    /// Null for activities fms itself makes.
    created_by: Option<ActorView>,
}

impl ActivityView {
    pub(crate) fn of(a: &Activity, author: Option<&User>) -> Self {
        Self {
            id: a.id.to_string(),
            activity_type: a.activity_type.as_str().to_owned(),
            comment: a.comment.clone(),
            metadata: a.metadata.clone(),
            created_at: wire_time(a.created_at),
            created_by: a.created_by.map(|id| ActorView {
                id: id.to_string(),
                name: author.map(|u| u.name.clone()).unwrap_or_default(),
            }),
        }
    }
}

/// A ticket: the webhook payload's ticket fields, timestamps, and (for a single ticket) its
/// activities, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TicketView {
    ticket_id: String,
    tenant_id: String,
    ticket_number: String,
    /// `open, in-progress, on-hold, resolved, closed`.
    status: String,
    /// Final priority, after rules.
    priority: String,
    /// The priority submitted at intake.
    submitted_priority: String,
    /// The intake's `issue`.
    title: String,
    description: Option<String>,
    location: String,
    category: String,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    ticket_type: String,
    building: Option<String>,
    floor: Option<String>,
    room: Option<String>,
    complainant: ComplainantView,
    /// Null when unassigned.
    executor: Option<ExecutorView>,
    sla: SlaView,
    created_at: String,
    updated_at: String,
    /// Oldest first; absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    activities: Option<Vec<ActivityView>>,
}

impl TicketView {
    pub(crate) fn of(
        t: &Ticket,
        complainant: &User,
        executor: Option<&User>,
        activities: Option<Vec<ActivityView>>,
    ) -> Self {
        let r = &t.report;
        Self {
            ticket_id: t.id.to_string(),
            tenant_id: t.tenant_id.to_string(),
            ticket_number: t.number.clone(),
            status: t.status.as_str().to_owned(),
            priority: t.priority.as_str().to_owned(),
            submitted_priority: r.submitted_priority.as_str().to_owned(),
            title: r.title.clone(),
            description: r.description.clone(),
            location: r.location.clone(),
            category: r.category.clone(),
            ticket_type: r.ticket_type.clone(),
            building: r.building.clone(),
            floor: r.floor.clone(),
            room: r.room.clone(),
            complainant: ComplainantView {
                id: complainant.id.to_string(),
                name: complainant.name.clone(),
                email: complainant.email.clone(),
                phone: complainant.phone.clone(),
                chat_id: complainant.telegram_chat_id.clone(),
            },
            executor: executor.map(|e| ExecutorView {
                id: e.id.to_string(),
                name: e.name.clone(),
                phone: e.phone.clone(),
                chat_id: e.telegram_chat_id.clone(),
            }),
            sla: SlaView {
                response_due_at: t.sla.response_due_at.map(wire_time),
                resolution_due_at: t.sla.resolution_due_at.map(wire_time),
            },
            created_at: wire_time(t.created_at),
            updated_at: wire_time(t.updated_at),
            activities,
        }
    }
}

/// A page of tickets, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TicketPage {
    pub(crate) items: Vec<TicketView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub(crate) next_cursor: Option<String>,
}

/// `POST /api/v1/tickets/{ticket_id}/activities`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewActivityBody {
    /// `comment`, `executor_update` or `complainant_interaction`.
    #[serde(rename = "type")]
    pub(crate) activity_type: String,
    /// At most 4000 characters.
    #[schema(max_length = 4000)]
    pub(crate) comment: Option<String>,
    /// A JSON object, at most 16 KiB serialized.
    #[schema(value_type = Option<Object>)]
    pub(crate) metadata: Option<Map<String, Value>>,
    /// The author: a user of the ticket's tenant.
    #[schema(format = Uuid)]
    pub(crate) created_by: String,
}

/// `POST /api/v1/tickets/{ticket_id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    /// `open, in-progress, on-hold, resolved, closed`; the workflow decides which moves are
    /// allowed (409 `invalid_transition` names them).
    pub(crate) status: String,
    /// At most 4000 characters.
    #[schema(max_length = 4000)]
    pub(crate) comment: Option<String>,
    /// Who: a user of the ticket's tenant.
    #[schema(format = Uuid)]
    pub(crate) changed_by: String,
}

/// `POST /api/v1/tickets/{ticket_id}/assign`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignBody {
    /// An active executor of the ticket's tenant.
    #[schema(format = Uuid)]
    pub(crate) executor_id: String,
}

/// `PUT /api/v1/tenants/{tenant_id}/rules`: a rule set (`docs/rules.md`), decoded as the
/// library's own serde type `fms::rules::RuleSet` (which refuses unknown fields at every
/// level) and validated by `Fms::put_rules`. The library has no OpenAPI dependency, so its
/// schema is written here: the top-level fields in full, the nested objects by name (their
/// format is `docs/rules.md`); a unit test keeps the two in step.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct RulesBody(pub(crate) fms::rules::RuleSet);

impl PartialSchema for RulesBody {
    fn schema() -> RefOr<Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
        let object = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(description))
        };
        let sla_targets = "SLA targets per priority: `{critical, high, medium, low}` each \
            `{response_minutes, resolution_minutes}`, and `warning_percent`; absent ones keep \
            the defaults";
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A rule set (docs/rules.md). Unknown fields are refused at every level; its \
                 `version` becomes the saved one's + 1.",
            ))
            .property(
                "version",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Int32,
                    )))
                    .minimum(Some(1))
                    .maximum(Some(u32::MAX)),
            )
            .required("version")
            .property(
                "rules",
                ArrayBuilder::new()
                    .items(
                        object("A rule; `conditions` and `actions` as in docs/rules.md")
                            .property("id", ObjectBuilder::new().schema_type(Type::String))
                            .required("id")
                            .property(
                                "description",
                                ObjectBuilder::new()
                                    .schema_type(SchemaType::from_iter([Type::String, Type::Null])),
                            )
                            .property("enabled", ObjectBuilder::new().schema_type(Type::Boolean))
                            .property("conditions", object("When the rule applies"))
                            .property("actions", object("What it does"))
                            .required("actions")
                            .additional_properties(Some(AdditionalProperties::FreeForm(false))),
                    )
                    .description(Some("The rules, in evaluation order")),
            )
            .property("sla_targets", object(sla_targets))
            .property(
                "sla_policies",
                object("Further named SLA policies, each like `sla_targets`")
                    .additional_properties(Some(object(sla_targets))),
            )
            .property(
                "pools",
                object("Named executor pools").additional_properties(Some(object(
                    "A pool: `{members?, skills?, chooser?, max_open_tickets?, \
                     require_skill?, require_building?, backup?}`",
                ))),
            )
            .property(
                "default_allocation",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
                    .description(Some(
                        "Where tickets go when no rule assigns them: `{executor?, pool?}`",
                    )),
            )
            .property(
                "allocation",
                object("Filters for every allocation: `{require_onboarded?, max_open_tickets?}`"),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for RulesBody {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("RuleSet")
    }
}

/// A webhook queue row.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueueRowView {
    id: i64,
    ticket_id: String,
    activity_id: String,
    /// Per-ticket sequence, 1, 2, 3, ... in commit order.
    sequence: i64,
    /// `pending, leased, delivered, skipped, parked`.
    state: String,
    attempts: u32,
    next_attempt_at: String,
    last_status_code: Option<u16>,
    last_error: Option<String>,
    created_at: String,
}

impl QueueRowView {
    pub(crate) fn of(e: &QueueEntry) -> Self {
        Self {
            id: e.id.0,
            ticket_id: e.ticket_id.to_string(),
            activity_id: e.activity_id.to_string(),
            sequence: e.sequence,
            state: e.state.as_str().to_owned(),
            attempts: e.attempts,
            next_attempt_at: wire_time(e.next_attempt_at),
            last_status_code: e.last_status_code,
            last_error: e.last_error.clone(),
            created_at: wire_time(e.created_at),
        }
    }
}

/// A page of queue rows, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueuePage {
    pub(crate) items: Vec<QueueRowView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub(crate) next_cursor: Option<String>,
}

/// `POST /functions/v1/user-onboarding-request`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OnboardingRequestBody {
    /// Where Make sends the invitation.
    #[schema(format = Email)]
    pub(crate) email: String,
    /// `complainant`, `executor` or `admin` (case-insensitive).
    pub(crate) role: String,
    /// Display name, at most 500 characters; a new user is named after the email's local
    /// part when absent.
    #[schema(max_length = 500)]
    pub(crate) name: Option<String>,
    /// Required with the operator token; a tenant key may leave it out or name its own
    /// tenant (403 otherwise).
    #[schema(format = Uuid)]
    pub(crate) tenant_id: Option<String>,
}

/// An onboarding request accepted (202): the pending user and the invitation, queued for
/// `MAKE_USER_ONBOARDING_WEBHOOK_URL`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OnboardingAccepted {
    /// `true`.
    pub(crate) success: bool,
    /// Telegram's `start` parameter (base64url, 43 characters, unguessable).
    pub(crate) correlation_id: String,
    /// The pending user (an existing user of the tenant with this email is reused).
    pub(crate) user_id: String,
    /// `https://t.me/<bot>?start=<correlation_id>` when FMS_TELEGRAM_BOT is set, else null
    /// (Make builds the link).
    pub(crate) deep_link: Option<String>,
    /// When the correlation id stops working (FMS_ONBOARDING_TTL_SECS after the request).
    pub(crate) expires_at: String,
}

/// `POST /functions/v1/user-onboarding-callback`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OnboardingCallbackBody {
    /// The `start` parameter Telegram passed to the bot.
    #[schema(pattern = r"\S")]
    pub(crate) correlation_id: String,
    /// The Telegram chat id: a string or an integer.
    pub(crate) chat_id: StringOrInteger,
    /// Required with the operator token; a tenant key may leave it out or name its own
    /// tenant (403 otherwise).
    #[schema(format = Uuid)]
    pub(crate) tenant_id: Option<String>,
}

/// The onboarded user (200).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OnboardingDone {
    /// `true`.
    pub(crate) success: bool,
    /// The user, `onboarding: "onboarded"`, with the bound `telegram_chat_id`.
    pub(crate) user: UserView,
}

/// A dashboard notification.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationView {
    id: String,
    /// `user_onboarded`, `ticket_unassigned`, `sla_breached`, `endpoint_disabled` or
    /// `webhook_parked`.
    kind: String,
    message: String,
    /// The ticket concerned, if any.
    ticket_id: Option<String>,
    /// The user concerned, if any.
    user_id: Option<String>,
    created_at: String,
    /// Null while unread.
    read_at: Option<String>,
}

impl NotificationView {
    pub(crate) fn of(n: &Notification) -> Self {
        Self {
            id: n.id.to_string(),
            kind: n.kind.as_str().to_owned(),
            message: n.message.clone(),
            ticket_id: n.ticket_id.map(|t| t.to_string()),
            user_id: n.user_id.map(|u| u.to_string()),
            created_at: wire_time(n.created_at),
            read_at: n.read_at.map(wire_time),
        }
    }
}

/// A page of notifications, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationPage {
    pub(crate) items: Vec<NotificationView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub(crate) next_cursor: Option<String>,
}

/// `/healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok`.
    pub(crate) status: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    use fms::intake::NewTicket;
    use fms::rules::RuleSet;
    use serde_json::json;

    use super::*;

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn strings(v: &Value) -> BTreeSet<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn the_rules_schema_names_the_rule_sets_fields() {
        let schema = serde_json::to_value(RulesBody::schema()).unwrap();
        // A rule set with every field present, as the library writes it.
        let full: RuleSet = serde_json::from_value(json!({
            "version": 1,
            "rules": [{"id": "r", "description": "d", "enabled": false,
                       "conditions": {"category": "HVAC"}, "actions": {"stop": true}}],
            "sla_targets": {}, "sla_policies": {"p": {}}, "pools": {"x": {}},
            "default_allocation": {"pool": "x"}, "allocation": {}
        }))
        .unwrap();
        let written = serde_json::to_value(&full).unwrap();
        assert_eq!(keys(&written), keys(&schema["properties"]));
        let rule = &schema["properties"]["rules"]["items"];
        assert_eq!(keys(&written["rules"][0]), keys(&rule["properties"]));
        // What serde requires is what the schema requires.
        assert_eq!(
            strings(&schema["required"]),
            BTreeSet::from(["version".to_owned()])
        );
        assert!(serde_json::from_value::<RuleSet>(json!({"version": 1})).is_ok());
        assert_eq!(
            strings(&rule["required"]),
            BTreeSet::from(["actions".to_owned(), "id".to_owned()])
        );
        let minimal = json!({"version": 1, "rules": [{"id": "r", "actions": {}}]});
        assert!(serde_json::from_value::<RuleSet>(minimal).is_ok());
    }

    #[test]
    fn the_intake_schema_names_what_the_library_reads() {
        let schema = serde_json::to_value(IntakeBody::schema()).unwrap();
        assert_eq!(
            strings(&schema["required"]),
            fms::intake::REQUIRED_FIELDS
                .iter()
                .map(|f| (*f).to_owned())
                .collect()
        );
        let valid = json!({
            "issue": "AC", "location": "A", "category": "HVAC", "priority": "high",
            "name": "John", "chat_id": "1", "tenant_id": "6f1c1f38-2a9e-4c47-a3f4-4f55b8d0e0a1"
        });
        assert!(NewTicket::from_json(&valid).is_ok());
        // Every field of the schema is one the library reads: a wrong type there is an error
        // naming it.
        for field in keys(&schema["properties"]) {
            let mut body = valid.clone();
            body[&field] = json!({"wrong": "type"});
            let err = NewTicket::from_json(&body).unwrap_err();
            assert_eq!(err.field(), Some(field.as_str()), "{field}");
        }
        // And the server's parse hands the library the same fields.
        let mut parsed: IntakeBody = crate::body::decode(&valid).unwrap();
        assert!(parsed.take_ignored().is_empty());
        assert_eq!(parsed.to_json(), valid);
    }

    #[test]
    fn strict_bodies_refuse_unknown_fields_and_the_intake_lists_them() {
        let err =
            crate::body::decode::<TenantPatchBody>(&json!({"webhook_events": []})).unwrap_err();
        assert_eq!(err.parts().2, Some("webhook_events"));
        let mut intake: IntakeBody =
            crate::body::decode(&json!({"issue": "AC", "prioritty": "high", "zone": 1})).unwrap();
        assert_eq!(intake.take_ignored(), ["prioritty", "zone"]);
    }
}
