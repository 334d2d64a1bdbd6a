//! Rows <-> domain values: column lists and the functions that read them.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use fms_core::activity::Activity;
use fms_core::ids::QueueEntryId;
use fms_core::queue::{QueueEntry, TicketSnapshot};
use fms_core::tenant::Tenant;
use fms_core::ticket::{Report, SlaDue, Ticket};
use fms_core::user::{OnboardingStatus, User};
use rusqlite::Row;
use rusqlite::types::{FromSqlError, Type};

pub(crate) const TENANT_COLUMNS: &str = "id, name, automation_webhook_url, webhook_secret, \
     timezone, number_prefix, created_at";

pub(crate) const USER_COLUMNS: &str = "id, tenant_id, name, role, active, telegram_chat_id, \
     email, phone, designation, department, skills, buildings, onboarding, created_at";

pub(crate) const TICKET_COLUMNS: &str = "id, tenant_id, seq, number, title, description, \
     location, category, ticket_type, building, floor, room, reporter_name, \
     reporter_designation, reporter_department, submitted_priority, status, priority, \
     complainant_id, executor_id, response_due_at, resolution_due_at, created_at, updated_at, \
     version, sla_state";

pub(crate) const ACTIVITY_COLUMNS: &str =
    "id, ticket_id, tenant_id, type, comment, metadata, created_by, created_at";

pub(crate) const QUEUE_COLUMNS: &str = "id, tenant_id, ticket_id, activity_id, sequence, state, \
     attempts, next_attempt_at, last_status_code, last_error, created_at, snap_status, \
     snap_priority, snap_executor_id, snap_response_due_at, snap_resolution_due_at";

/// Milliseconds since the epoch.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn conversion(idx: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, msg.into())
}

fn parsed<T: FromStr>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T::Err: std::fmt::Display,
{
    let s: String = row.get(idx)?;
    s.parse::<T>()
        .map_err(|e| conversion(idx, format!("{s:?}: {e}")))
}

fn parsed_opt<T: FromStr>(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    let s: Option<String> = row.get(idx)?;
    s.map(|s| {
        s.parse::<T>()
            .map_err(|e| conversion(idx, format!("{s:?}: {e}")))
    })
    .transpose()
}

fn time(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let v: i64 = row.get(idx)?;
    DateTime::from_timestamp_millis(v).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            Type::Integer,
            Box::new(FromSqlError::OutOfRange(v)),
        )
    })
}

fn time_opt(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let v: Option<i64> = row.get(idx)?;
    v.map(|v| {
        DateTime::from_timestamp_millis(v).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                idx,
                Type::Integer,
                Box::new(FromSqlError::OutOfRange(v)),
            )
        })
    })
    .transpose()
}

fn json<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    serde_json::from_str(&s).map_err(|e| conversion(idx, e.to_string()))
}

fn json_opt<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<T>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| serde_json::from_str(&s).map_err(|e| conversion(idx, e.to_string())))
        .transpose()
}

pub(crate) fn tenant(row: &Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: parsed(row, 0)?,
        name: row.get(1)?,
        automation_webhook_url: row.get(2)?,
        webhook_secret: row.get(3)?,
        timezone: parsed(row, 4)?,
        number_prefix: row.get(5)?,
        created_at: time(row, 6)?,
    })
}

pub(crate) fn user(row: &Row<'_>) -> rusqlite::Result<User> {
    let onboarding: String = row.get(12)?;
    Ok(User {
        id: parsed(row, 0)?,
        tenant_id: parsed(row, 1)?,
        name: row.get(2)?,
        role: parsed(row, 3)?,
        active: row.get(4)?,
        telegram_chat_id: row.get(5)?,
        email: row.get(6)?,
        phone: row.get(7)?,
        designation: row.get(8)?,
        department: row.get(9)?,
        skills: json(row, 10)?,
        buildings: json(row, 11)?,
        onboarding: OnboardingStatus::parse(&onboarding)
            .ok_or_else(|| conversion(12, format!("onboarding {onboarding:?}")))?,
        created_at: time(row, 13)?,
    })
}

pub(crate) fn ticket(row: &Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: parsed(row, 0)?,
        tenant_id: parsed(row, 1)?,
        seq: row.get(2)?,
        number: row.get(3)?,
        report: Report {
            title: row.get(4)?,
            description: row.get(5)?,
            location: row.get(6)?,
            category: row.get(7)?,
            ticket_type: row.get(8)?,
            building: row.get(9)?,
            floor: row.get(10)?,
            room: row.get(11)?,
            reporter_name: row.get(12)?,
            reporter_designation: row.get(13)?,
            reporter_department: row.get(14)?,
            submitted_priority: parsed(row, 15)?,
        },
        status: parsed(row, 16)?,
        priority: parsed(row, 17)?,
        complainant_id: parsed(row, 18)?,
        executor_id: parsed_opt(row, 19)?,
        sla: SlaDue {
            response_due_at: time_opt(row, 20)?,
            resolution_due_at: time_opt(row, 21)?,
        },
        created_at: time(row, 22)?,
        updated_at: time(row, 23)?,
        version: row.get(24)?,
        sla_state: json_opt(row, 25)?,
    })
}

pub(crate) fn activity(row: &Row<'_>) -> rusqlite::Result<Activity> {
    Ok(Activity {
        id: parsed(row, 0)?,
        ticket_id: parsed(row, 1)?,
        tenant_id: parsed(row, 2)?,
        activity_type: parsed(row, 3)?,
        comment: row.get(4)?,
        metadata: json(row, 5)?,
        created_by: parsed_opt(row, 6)?,
        created_at: time(row, 7)?,
    })
}

/// A queue row.
pub(crate) fn queue_entry(row: &Row<'_>) -> rusqlite::Result<QueueEntry> {
    let status_code: Option<i64> = row.get(8)?;
    Ok(QueueEntry {
        id: QueueEntryId(row.get(0)?),
        tenant_id: parsed(row, 1)?,
        ticket_id: parsed(row, 2)?,
        activity_id: parsed(row, 3)?,
        sequence: row.get(4)?,
        state: parsed(row, 5)?,
        attempts: row.get(6)?,
        next_attempt_at: time(row, 7)?,
        last_status_code: status_code.and_then(|c| u16::try_from(c).ok()),
        last_error: row.get(9)?,
        created_at: time(row, 10)?,
        snapshot: TicketSnapshot {
            status: parsed(row, 11)?,
            priority: parsed(row, 12)?,
            executor_id: parsed_opt(row, 13)?,
            sla: SlaDue {
                response_due_at: time_opt(row, 14)?,
                resolution_due_at: time_opt(row, 15)?,
            },
        },
    })
}

/// The endpoint breaker columns of a tenant.
pub(crate) fn breaker(row: &Row<'_>) -> rusqlite::Result<fms_core::delivery::BreakerState> {
    Ok(fms_core::delivery::BreakerState {
        consecutive_failures: row.get(0)?,
        paused_until: time_opt(row, 1)?,
        probe_until: time_opt(row, 2)?,
        disabled_at: time_opt(row, 3)?,
    })
}

/// A notification (`notifications::COLUMNS` order).
pub(crate) fn notification(
    row: &Row<'_>,
) -> rusqlite::Result<fms_core::notification::Notification> {
    use fms_core::notification::{Notification, Recipient};
    let recipient = match (parsed_opt(row, 2)?, parsed_opt(row, 3)?) {
        (Some(u), None) => Recipient::User(u),
        (None, Some(r)) => Recipient::Role(r),
        _ => {
            return Err(conversion(
                2,
                "exactly one of recipient_user, recipient_role".into(),
            ));
        }
    };
    Ok(Notification {
        id: parsed(row, 0)?,
        tenant_id: parsed(row, 1)?,
        recipient,
        kind: parsed(row, 4)?,
        message: row.get(5)?,
        ticket_id: parsed_opt(row, 6)?,
        user_id: parsed_opt(row, 7)?,
        created_at: time(row, 8)?,
        read_at: time_opt(row, 9)?,
    })
}

/// An onboarding invitation.
pub(crate) fn invitation(row: &Row<'_>) -> rusqlite::Result<fms_core::onboarding::Invitation> {
    Ok(fms_core::onboarding::Invitation {
        correlation_id: row.get(0)?,
        tenant_id: parsed(row, 1)?,
        user_id: parsed(row, 2)?,
        created_at: time(row, 3)?,
        expires_at: time(row, 4)?,
        chat_id: row.get(5)?,
        completed_at: time_opt(row, 6)?,
    })
}

/// An onboarding queue row.
pub(crate) fn onboarding_entry(
    row: &Row<'_>,
) -> rusqlite::Result<fms_core::queue::OnboardingEntry> {
    let code: Option<i64> = row.get(6)?;
    Ok(fms_core::queue::OnboardingEntry {
        id: QueueEntryId(row.get(0)?),
        tenant_id: parsed(row, 1)?,
        correlation_id: row.get(2)?,
        state: parsed(row, 3)?,
        attempts: row.get(4)?,
        next_attempt_at: time(row, 5)?,
        last_status_code: code.and_then(|c| u16::try_from(c).ok()),
        last_error: row.get(7)?,
        created_at: time(row, 8)?,
    })
}
