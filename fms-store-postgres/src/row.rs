//! Rows <-> domain values. Each table has a private row struct that decodes as a result row
//! (`FromRow`), as a nested `to_jsonb(row)` object (`Deserialize`, where a statement nests
//! rows), or from prefixed columns (a queue row together with its ticket, activity, tenant
//! and users: [`PartsRow`]).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use fms_core::activity::Activity;
use fms_core::clock::truncate_millis;
use fms_core::delivery::BreakerState;
use fms_core::ids::QueueEntryId;
use fms_core::payload::PayloadParts;
use fms_core::queue::{Completion, QueueEntry, Resolution, TicketSnapshot};
use fms_core::rules::SlaState;
use fms_core::tenant::Tenant;
use fms_core::ticket::{Report, SlaDue, Ticket};
use fms_core::user::{OnboardingStatus, User};
use serde::Deserialize;
use sqlx::postgres::{PgRow, Postgres};
use sqlx::types::Json;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A time as stored: milliseconds, like every other store.
pub(crate) fn at(t: DateTime<Utc>) -> DateTime<Utc> {
    truncate_millis(t)
}

/// What a completion writes on its queue row (ticket and onboarding queues alike): the new
/// state, the new due time if it changes, and the finish time of a row that is done.
pub(crate) fn resolution_columns(
    done: &Completion,
) -> (&'static str, Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let now = at(done.now);
    match done.resolution {
        Resolution::Delivered => ("delivered", None, Some(now)),
        Resolution::Skipped => ("skipped", None, Some(now)),
        Resolution::Retry { at: when } => ("pending", Some(at(when)), None),
        Resolution::Park => ("parked", None, None),
        Resolution::Release => ("pending", Some(now), None),
    }
}

fn parsed<T: FromStr>(what: &'static str, s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| Error::Corrupt(format!("{what} {s:?}: {e}")))
}

#[derive(Debug, sqlx::FromRow, Deserialize)]
pub(crate) struct TenantRow {
    id: Uuid,
    name: String,
    automation_webhook_url: Option<String>,
    webhook_secret: String,
    timezone: String,
    number_prefix: String,
    created_at: DateTime<Utc>,
}

impl TenantRow {
    pub(crate) fn into_domain(self) -> Result<Tenant> {
        Ok(Tenant {
            id: self.id.into(),
            name: self.name,
            automation_webhook_url: self.automation_webhook_url,
            webhook_secret: self.webhook_secret,
            timezone: parsed("timezone", &self.timezone)?,
            number_prefix: self.number_prefix,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow, Deserialize)]
pub(crate) struct UserRow {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    role: String,
    active: bool,
    telegram_chat_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    designation: Option<String>,
    department: Option<String>,
    skills: Json<Vec<String>>,
    buildings: Json<Vec<String>>,
    onboarding: String,
    created_at: DateTime<Utc>,
}

impl UserRow {
    pub(crate) fn into_domain(self) -> Result<User> {
        Ok(User {
            id: self.id.into(),
            tenant_id: self.tenant_id.into(),
            name: self.name,
            role: parsed("role", &self.role)?,
            active: self.active,
            telegram_chat_id: self.telegram_chat_id,
            email: self.email,
            phone: self.phone,
            designation: self.designation,
            department: self.department,
            skills: self.skills.0,
            buildings: self.buildings.0,
            onboarding: OnboardingStatus::parse(&self.onboarding)
                .ok_or_else(|| Error::Corrupt(format!("onboarding {:?}", self.onboarding)))?,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow, Deserialize)]
pub(crate) struct TicketRow {
    id: Uuid,
    tenant_id: Uuid,
    seq: i64,
    number: String,
    title: String,
    description: Option<String>,
    location: String,
    category: String,
    ticket_type: String,
    building: Option<String>,
    floor: Option<String>,
    room: Option<String>,
    reporter_name: String,
    reporter_designation: Option<String>,
    reporter_department: Option<String>,
    submitted_priority: String,
    status: String,
    priority: String,
    complainant_id: Uuid,
    executor_id: Option<Uuid>,
    response_due_at: Option<DateTime<Utc>>,
    resolution_due_at: Option<DateTime<Utc>>,
    sla_state: Option<Json<SlaState>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl TicketRow {
    pub(crate) fn into_domain(self) -> Result<Ticket> {
        Ok(Ticket {
            id: self.id.into(),
            tenant_id: self.tenant_id.into(),
            seq: self.seq,
            number: self.number,
            report: Report {
                title: self.title,
                description: self.description,
                location: self.location,
                category: self.category,
                ticket_type: self.ticket_type,
                building: self.building,
                floor: self.floor,
                room: self.room,
                reporter_name: self.reporter_name,
                reporter_designation: self.reporter_designation,
                reporter_department: self.reporter_department,
                submitted_priority: parsed("priority", &self.submitted_priority)?,
            },
            status: parsed("status", &self.status)?,
            priority: parsed("priority", &self.priority)?,
            complainant_id: self.complainant_id.into(),
            executor_id: self.executor_id.map(Into::into),
            sla: SlaDue {
                response_due_at: self.response_due_at,
                resolution_due_at: self.resolution_due_at,
            },
            sla_state: self.sla_state.map(|j| j.0),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

#[derive(Debug, sqlx::FromRow, Deserialize)]
pub(crate) struct ActivityRow {
    id: Uuid,
    ticket_id: Uuid,
    tenant_id: Uuid,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    activity_type: String,
    comment: Option<String>,
    metadata: Json<serde_json::Value>,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl ActivityRow {
    pub(crate) fn into_domain(self) -> Result<Activity> {
        Ok(Activity {
            id: self.id.into(),
            ticket_id: self.ticket_id.into(),
            tenant_id: self.tenant_id.into(),
            activity_type: parsed("activity type", &self.activity_type)?,
            comment: self.comment,
            metadata: self.metadata.0,
            created_by: self.created_by.map(Into::into),
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow, Deserialize)]
pub(crate) struct QueueRow {
    id: i64,
    tenant_id: Uuid,
    ticket_id: Uuid,
    activity_id: Uuid,
    sequence: i64,
    state: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    snap_status: String,
    snap_priority: String,
    snap_executor_id: Option<Uuid>,
    snap_response_due_at: Option<DateTime<Utc>>,
    snap_resolution_due_at: Option<DateTime<Utc>>,
}

impl QueueRow {
    pub(crate) fn into_domain(self) -> Result<QueueEntry> {
        Ok(QueueEntry {
            id: QueueEntryId(self.id),
            tenant_id: self.tenant_id.into(),
            ticket_id: self.ticket_id.into(),
            activity_id: self.activity_id.into(),
            sequence: self.sequence,
            state: parsed("queue state", &self.state)?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            next_attempt_at: self.next_attempt_at,
            last_status_code: self.last_status_code.and_then(|c| u16::try_from(c).ok()),
            last_error: self.last_error,
            created_at: self.created_at,
            snapshot: TicketSnapshot {
                status: parsed("status", &self.snap_status)?,
                priority: parsed("priority", &self.snap_priority)?,
                executor_id: self.snap_executor_id.map(Into::into),
                sla: SlaDue {
                    response_due_at: self.snap_response_due_at,
                    resolution_due_at: self.snap_resolution_due_at,
                },
            },
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BreakerRow {
    endpoint_failures: i32,
    endpoint_paused_until: Option<DateTime<Utc>>,
    endpoint_probe_until: Option<DateTime<Utc>>,
    endpoint_disabled_at: Option<DateTime<Utc>>,
}

impl BreakerRow {
    pub(crate) fn into_domain(self) -> BreakerState {
        BreakerState {
            consecutive_failures: u32::try_from(self.endpoint_failures).unwrap_or(0),
            paused_until: self.endpoint_paused_until,
            probe_until: self.endpoint_probe_until,
            disabled_at: self.endpoint_disabled_at,
        }
    }
}

/// A queue row with everything its payload needs, from one statement: the queue row's own
/// columns unprefixed, then each joined row's columns under its prefix (`tk_`, `a_`, `tn_`,
/// `c_`, `x_`, `au_`; see [`parts_columns!`]). Plain columns, not `to_jsonb`: the claim is
/// the dispatcher's hot path, and building and parsing seven JSON objects per row cost more
/// than the rest of the statement.
#[derive(Debug)]
pub(crate) struct PartsRow {
    pub(crate) entry: QueueRow,
    ticket: TicketRow,
    activity: ActivityRow,
    tenant: TenantRow,
    complainant: UserRow,
    executor: Option<UserRow>,
    author: Option<UserRow>,
}

impl<'r> FromRow<'r, PgRow> for PartsRow {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(Self {
            entry: QueueRow::from_row(row)?,
            ticket: TicketRow::prefixed(&Prefixed { row, prefix: "tk_" })?,
            activity: ActivityRow::prefixed(&Prefixed { row, prefix: "a_" })?,
            tenant: TenantRow::prefixed(&Prefixed { row, prefix: "tn_" })?,
            complainant: UserRow::prefixed(&Prefixed { row, prefix: "c_" })?,
            executor: UserRow::joined(&Prefixed { row, prefix: "x_" })?,
            author: UserRow::joined(&Prefixed { row, prefix: "au_" })?,
        })
    }
}

impl PartsRow {
    pub(crate) fn into_domain(self) -> Result<(QueueEntry, PayloadParts)> {
        let entry = self.entry.into_domain()?;
        let ticket = entry.snapshot.apply_to(self.ticket.into_domain()?);
        let parts = PayloadParts {
            tenant: self.tenant.into_domain()?,
            complainant: self.complainant.into_domain()?,
            executor: self.executor.map(UserRow::into_domain).transpose()?,
            author: self.author.map(UserRow::into_domain).transpose()?,
            activity: self.activity.into_domain()?,
            ticket,
            sequence: entry.sequence,
        };
        Ok((entry, parts))
    }
}

/// The columns of one joined row in a result row, under a prefix.
struct Prefixed<'r> {
    row: &'r PgRow,
    prefix: &'static str,
}

impl<'r> Prefixed<'r> {
    fn get<T>(&self, column: &str) -> sqlx::Result<T>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        let mut name = String::with_capacity(self.prefix.len() + column.len());
        name.push_str(self.prefix);
        name.push_str(column);
        self.row.try_get(name.as_str())
    }
}

impl TicketRow {
    fn prefixed(p: &Prefixed<'_>) -> sqlx::Result<Self> {
        Ok(Self {
            id: p.get("id")?,
            tenant_id: p.get("tenant_id")?,
            seq: p.get("seq")?,
            number: p.get("number")?,
            title: p.get("title")?,
            description: p.get("description")?,
            location: p.get("location")?,
            category: p.get("category")?,
            ticket_type: p.get("ticket_type")?,
            building: p.get("building")?,
            floor: p.get("floor")?,
            room: p.get("room")?,
            reporter_name: p.get("reporter_name")?,
            reporter_designation: p.get("reporter_designation")?,
            reporter_department: p.get("reporter_department")?,
            submitted_priority: p.get("submitted_priority")?,
            status: p.get("status")?,
            priority: p.get("priority")?,
            complainant_id: p.get("complainant_id")?,
            executor_id: p.get("executor_id")?,
            response_due_at: p.get("response_due_at")?,
            resolution_due_at: p.get("resolution_due_at")?,
            sla_state: p.get("sla_state")?,
            created_at: p.get("created_at")?,
            updated_at: p.get("updated_at")?,
            version: p.get("version")?,
        })
    }
}

impl ActivityRow {
    fn prefixed(p: &Prefixed<'_>) -> sqlx::Result<Self> {
        Ok(Self {
            id: p.get("id")?,
            ticket_id: p.get("ticket_id")?,
            tenant_id: p.get("tenant_id")?,
            activity_type: p.get("type")?,
            comment: p.get("comment")?,
            metadata: p.get("metadata")?,
            created_by: p.get("created_by")?,
            created_at: p.get("created_at")?,
        })
    }
}

impl TenantRow {
    fn prefixed(p: &Prefixed<'_>) -> sqlx::Result<Self> {
        Ok(Self {
            id: p.get("id")?,
            name: p.get("name")?,
            automation_webhook_url: p.get("automation_webhook_url")?,
            webhook_secret: p.get("webhook_secret")?,
            timezone: p.get("timezone")?,
            number_prefix: p.get("number_prefix")?,
            created_at: p.get("created_at")?,
        })
    }
}

impl UserRow {
    fn prefixed(p: &Prefixed<'_>) -> sqlx::Result<Self> {
        Ok(Self {
            id: p.get("id")?,
            tenant_id: p.get("tenant_id")?,
            name: p.get("name")?,
            role: p.get("role")?,
            active: p.get("active")?,
            telegram_chat_id: p.get("telegram_chat_id")?,
            email: p.get("email")?,
            phone: p.get("phone")?,
            designation: p.get("designation")?,
            department: p.get("department")?,
            skills: p.get("skills")?,
            buildings: p.get("buildings")?,
            onboarding: p.get("onboarding")?,
            created_at: p.get("created_at")?,
        })
    }

    /// A `LEFT JOIN`ed user: `None` when the join found no row (`id` is NULL).
    fn joined(p: &Prefixed<'_>) -> sqlx::Result<Option<Self>> {
        match p.get::<Option<Uuid>>("id")? {
            Some(_) => Self::prefixed(p).map(Some),
            None => Ok(None),
        }
    }
}

/// The select list of a [`PartsRow`]: the queue row `$q` unprefixed, then the joined rows
/// under the aliases `tk` (ticket), `a` (activity), `tn` (tenant), `c` (complainant), `x`
/// (executor) and `au` (author), each column as `<alias>_<column>`.
macro_rules! parts_columns {
    ($q:literal) => {
        concat!(
            $q,
            ".id, ",
            $q,
            ".tenant_id, ",
            $q,
            ".ticket_id, ",
            $q,
            ".activity_id, ",
            $q,
            ".sequence, ",
            $q,
            ".state, ",
            $q,
            ".attempts, ",
            $q,
            ".next_attempt_at, ",
            $q,
            ".last_status_code, ",
            $q,
            ".last_error, ",
            $q,
            ".created_at, ",
            $q,
            ".snap_status, ",
            $q,
            ".snap_priority, ",
            $q,
            ".snap_executor_id, ",
            $q,
            ".snap_response_due_at, ",
            $q,
            ".snap_resolution_due_at,
            tk.id AS tk_id, tk.tenant_id AS tk_tenant_id, tk.seq AS tk_seq,
            tk.number AS tk_number, tk.title AS tk_title, tk.description AS tk_description,
            tk.location AS tk_location, tk.category AS tk_category,
            tk.ticket_type AS tk_ticket_type, tk.building AS tk_building,
            tk.floor AS tk_floor, tk.room AS tk_room, tk.reporter_name AS tk_reporter_name,
            tk.reporter_designation AS tk_reporter_designation,
            tk.reporter_department AS tk_reporter_department,
            tk.submitted_priority AS tk_submitted_priority, tk.status AS tk_status,
            tk.priority AS tk_priority, tk.complainant_id AS tk_complainant_id,
            tk.executor_id AS tk_executor_id, tk.response_due_at AS tk_response_due_at,
            tk.resolution_due_at AS tk_resolution_due_at, tk.sla_state AS tk_sla_state,
            tk.created_at AS tk_created_at, tk.updated_at AS tk_updated_at,
            tk.version AS tk_version,
            a.id AS a_id, a.ticket_id AS a_ticket_id, a.tenant_id AS a_tenant_id,
            a.type AS a_type, a.comment AS a_comment, a.metadata AS a_metadata,
            a.created_by AS a_created_by, a.created_at AS a_created_at,
            tn.id AS tn_id, tn.name AS tn_name,
            tn.automation_webhook_url AS tn_automation_webhook_url,
            tn.webhook_secret AS tn_webhook_secret, tn.timezone AS tn_timezone,
            tn.number_prefix AS tn_number_prefix, tn.created_at AS tn_created_at, ",
            $crate::row::user_columns!("c"),
            ", ",
            $crate::row::user_columns!("x"),
            ", ",
            $crate::row::user_columns!("au")
        )
    };
}
pub(crate) use parts_columns;

/// The columns of the `users` row aliased `$u`, each as `<alias>_<column>`.
macro_rules! user_columns {
    ($u:literal) => {
        concat!(
            $u,
            ".id AS ",
            $u,
            "_id, ",
            $u,
            ".tenant_id AS ",
            $u,
            "_tenant_id, ",
            $u,
            ".name AS ",
            $u,
            "_name, ",
            $u,
            ".role AS ",
            $u,
            "_role, ",
            $u,
            ".active AS ",
            $u,
            "_active, ",
            $u,
            ".telegram_chat_id AS ",
            $u,
            "_telegram_chat_id, ",
            $u,
            ".email AS ",
            $u,
            "_email, ",
            $u,
            ".phone AS ",
            $u,
            "_phone, ",
            $u,
            ".designation AS ",
            $u,
            "_designation, ",
            $u,
            ".department AS ",
            $u,
            "_department, ",
            $u,
            ".skills AS ",
            $u,
            "_skills, ",
            $u,
            ".buildings AS ",
            $u,
            "_buildings, ",
            $u,
            ".onboarding AS ",
            $u,
            "_onboarding, ",
            $u,
            ".created_at AS ",
            $u,
            "_created_at"
        )
    };
}
pub(crate) use user_columns;

/// A claimed row: [`PartsRow`] plus the lease (the claim function also returns the tenant's
/// breaker at claim time, which the dispatcher does not need).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ClaimRow {
    #[sqlx(flatten)]
    pub(crate) parts: PartsRow,
    pub(crate) lease_token: i64,
    pub(crate) first_attempt_at: Option<DateTime<Utc>>,
}

/// One executor of the intake roster with their open-ticket count.
#[derive(Debug, Deserialize)]
pub(crate) struct RosterRow {
    pub(crate) user: UserRow,
    pub(crate) open: i64,
}
