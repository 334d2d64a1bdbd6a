//! Rows <-> domain values. Each table has a private row struct that decodes both as a result
//! row (`FromRow`) and as a nested `to_jsonb(row)` object (`Deserialize`), so one statement can
//! return a queue row together with its ticket, activity, tenant and users.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use fms_core::activity::Activity;
use fms_core::clock::truncate_millis;
use fms_core::delivery::BreakerState;
use fms_core::ids::QueueEntryId;
use fms_core::payload::PayloadParts;
use fms_core::queue::{QueueEntry, TicketSnapshot};
use fms_core::rules::SlaState;
use fms_core::tenant::Tenant;
use fms_core::ticket::{Report, SlaDue, Ticket};
use fms_core::user::{OnboardingStatus, User};
use serde::Deserialize;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{Error, Result};

/// A time as stored: milliseconds, like every other store.
pub(crate) fn at(t: DateTime<Utc>) -> DateTime<Utc> {
    truncate_millis(t)
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

/// A queue row with everything its payload needs, from one statement (`to_jsonb` of each
/// joined row).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PartsRow {
    pub(crate) entry: Json<QueueRow>,
    ticket: Json<TicketRow>,
    activity: Json<ActivityRow>,
    tenant: Json<TenantRow>,
    complainant: Json<UserRow>,
    executor: Option<Json<UserRow>>,
    author: Option<Json<UserRow>>,
}

impl PartsRow {
    pub(crate) fn into_domain(self) -> Result<(QueueEntry, PayloadParts)> {
        let entry = self.entry.0.into_domain()?;
        let ticket = entry.snapshot.apply_to(self.ticket.0.into_domain()?);
        let parts = PayloadParts {
            tenant: self.tenant.0.into_domain()?,
            complainant: self.complainant.0.into_domain()?,
            executor: self.executor.map(|u| u.0.into_domain()).transpose()?,
            author: self.author.map(|u| u.0.into_domain()).transpose()?,
            activity: self.activity.0.into_domain()?,
            ticket,
            sequence: entry.sequence,
        };
        Ok((entry, parts))
    }
}

/// A claimed row: [`PartsRow`] plus the lease and the tenant's breaker at claim time.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ClaimRow {
    #[sqlx(flatten)]
    pub(crate) parts: PartsRow,
    pub(crate) lease_token: i64,
    pub(crate) first_attempt_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub(crate) breaker: BreakerRow,
}

/// One executor of the intake roster with their open-ticket count.
#[derive(Debug, Deserialize)]
pub(crate) struct RosterRow {
    pub(crate) user: UserRow,
    pub(crate) open: i64,
}
