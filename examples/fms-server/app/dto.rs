//! The wire shapes of the HTTP API: their own serde types (documented in `/openapi.json`),
//! separate from the domain types so the format never drifts by accident. Request bodies are
//! read field by field (see `body.rs`) so that every error names its field; the request types
//! here document them.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use fms::activity::Activity;
use fms::notification::Notification;
use fms::payload::wire_time;
use fms::queue::QueueEntry;
use fms::tenant::Tenant;
use fms::ticket::Ticket;
use fms::user::User;

/// The spec's intake body (`POST /functions/v1/telegram-webhook`). Unknown fields are ignored.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct IntakeBody {
    /// The issue (the ticket's `title`), at most 4000 characters.
    issue: String,
    /// Where, at most 500 characters.
    location: String,
    /// `HVAC`, `IT`, `Plumbing`, ...
    category: String,
    /// `critical`, `high`, `medium` or `low` (trimmed, case-insensitive).
    priority: String,
    /// The complainant's name.
    name: String,
    /// Telegram chat id of a user of the tenant: a string or an integer.
    #[schema(value_type = String)]
    chat_id: Value,
    /// The tenant's UUID; a tenant key may only name its own tenant (403 otherwise).
    tenant_id: String,
    /// Optional.
    designation: Option<String>,
    /// Optional.
    department: Option<String>,
    /// Optional; `Maintenance` when absent.
    #[schema(rename = "type")]
    ticket_type: Option<String>,
    /// Optional.
    building: Option<String>,
    /// Optional (string or integer).
    floor: Option<String>,
    /// Optional (string or integer).
    room: Option<String>,
    /// Optional longer description, at most 4000 characters.
    description: Option<String>,
    /// Optional idempotency key (string or integer); the `Idempotency-Key` header wins.
    message_id: Option<String>,
}

/// The intake's answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IntakeAnswer {
    /// `true`.
    pub(crate) success: bool,
    /// The ticket's UUID.
    pub(crate) ticket_id: String,
    /// `TKT-0001`.
    pub(crate) ticket_number: String,
    /// `true` when the idempotency key was seen before: this is the first ticket, nothing new
    /// was created.
    pub(crate) duplicate: bool,
}

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
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct NewTenantBody {
    /// Display name (the payload's `tenant_name`).
    name: String,
    /// The Make webhook URL: https only (unless FMS_ALLOW_INSECURE_WEBHOOKS=1), no private
    /// or loopback targets.
    automation_webhook_url: Option<String>,
    /// IANA time zone of the business calendar; `UTC` by default.
    timezone: Option<String>,
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

/// `PATCH /api/v1/tenants/{tenant_id}`: absent fields are kept.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct TenantPatchBody {
    /// New name.
    name: Option<String>,
    /// New webhook URL; `null` clears it (rows are then skipped).
    automation_webhook_url: Option<String>,
    /// New IANA time zone.
    timezone: Option<String>,
    /// New signing secret(s), `whsec_...` (space-separated during a rotation).
    webhook_secret: Option<String>,
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

/// `POST /api/v1/tenants/{tenant_id}/users`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct NewUserBody {
    name: String,
    /// `complainant`, `executor` or `admin`.
    role: String,
    email: Option<String>,
    phone: Option<String>,
    /// Telegram chat id, string or integer; unique within the tenant (409).
    #[schema(value_type = Option<String>)]
    telegram_chat_id: Option<Value>,
    /// Default `true`.
    active: Option<bool>,
    designation: Option<String>,
    department: Option<String>,
    /// Categories an executor handles (`HVAC`, ...).
    skills: Option<Vec<String>>,
    /// Buildings an executor covers (empty: all).
    buildings: Option<Vec<String>>,
}

/// `PATCH /api/v1/users/{user_id}`: absent fields are kept, `null` clears.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct UserPatchBody {
    name: Option<String>,
    active: Option<bool>,
    #[schema(value_type = Option<String>)]
    telegram_chat_id: Option<Value>,
    email: Option<String>,
    phone: Option<String>,
    designation: Option<String>,
    department: Option<String>,
    skills: Option<Vec<String>>,
    buildings: Option<Vec<String>>,
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
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct NewActivityBody {
    /// `comment`, `executor_update` or `complainant_interaction`.
    #[schema(rename = "type")]
    activity_type: String,
    /// At most 4000 characters.
    comment: Option<String>,
    /// A JSON object, at most 16 KiB.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    /// The author: a user of the ticket's tenant.
    created_by: String,
}

/// `POST /api/v1/tickets/{ticket_id}/status`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct StatusBody {
    /// `open, in-progress, on-hold, resolved, closed`; the workflow decides which moves are
    /// allowed (409 `invalid_transition` names them).
    status: String,
    /// At most 4000 characters.
    comment: Option<String>,
    /// Who: a user of the ticket's tenant.
    changed_by: String,
}

/// `POST /api/v1/tickets/{ticket_id}/assign`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct AssignBody {
    /// An active executor of the ticket's tenant.
    executor_id: String,
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

/// `POST /functions/v1/user-onboarding-request`. Unknown fields are ignored.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct OnboardingRequestBody {
    /// Where Make sends the invitation.
    email: String,
    /// `complainant`, `executor` or `admin`.
    role: String,
    /// Display name, at most 500 characters; a new user is named after the email's local
    /// part when absent.
    name: Option<String>,
    /// Only for the operator token (required then); a tenant key may only name its own
    /// tenant (403 otherwise).
    tenant_id: Option<String>,
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

/// `POST /functions/v1/user-onboarding-callback`. Unknown fields are ignored.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub(crate) struct OnboardingCallbackBody {
    /// The `start` parameter Telegram passed to the bot.
    correlation_id: String,
    /// The Telegram chat id: a string or an integer.
    #[schema(value_type = String)]
    chat_id: Value,
    /// Only for the operator token (required then); a tenant key may only name its own
    /// tenant (403 otherwise).
    tenant_id: Option<String>,
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
