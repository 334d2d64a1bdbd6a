//! The outgoing webhook payload: wire types, separate from the domain types so the format is
//! pinned by a snapshot test and never drifts by accident.
//!
//! Exactly the spec's shape (`tenant_id, tenant_name, ticket_id, ticket_number, status,
//! priority, title, description, location, complainant{id,name,email,phone,chat_id},
//! latest_activity{id,type,comment,metadata,created_at,created_by{id,name}}, generated_at`),
//! plus `sequence`, `category, type, building, floor, room`, `executor{id,name,phone,chat_id}`
//! (null when unassigned) and `sla{response_due_at, resolution_due_at}`. Timestamps are
//! RFC 3339 UTC with milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::activity::Activity;
use crate::tenant::Tenant;
use crate::ticket::Ticket;
use crate::user::User;

/// What a payload is built from: the ticket already as it was right after the activity.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadParts {
    /// The tenant.
    pub tenant: Tenant,
    /// The ticket, with the queue row's snapshot applied.
    pub ticket: Ticket,
    /// The complainant.
    pub complainant: User,
    /// The executor of the snapshot, if any.
    pub executor: Option<User>,
    /// The activity the row announces.
    pub activity: Activity,
    /// The activity's author, if any.
    pub author: Option<User>,
    /// The row's per-ticket sequence.
    pub sequence: i64,
}

/// The webhook body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// Tenant id.
    pub tenant_id: String,
    /// Tenant name.
    pub tenant_name: String,
    /// Ticket id.
    pub ticket_id: String,
    /// `TKT-0001`.
    pub ticket_number: String,
    /// Per-ticket sequence of this event (1, 2, 3, ...).
    pub sequence: i64,
    /// Status right after the activity.
    pub status: String,
    /// Priority right after the activity.
    pub priority: String,
    /// The intake's `issue`.
    pub title: String,
    /// Optional description.
    pub description: Option<String>,
    /// Location.
    pub location: String,
    /// Category.
    pub category: String,
    /// Ticket type.
    #[serde(rename = "type")]
    pub ticket_type: String,
    /// Building.
    pub building: Option<String>,
    /// Floor.
    pub floor: Option<String>,
    /// Room.
    pub room: Option<String>,
    /// Who reported it.
    pub complainant: WireComplainant,
    /// Who is on it (null when unassigned).
    pub executor: Option<WireExecutor>,
    /// Due times.
    pub sla: WireSla,
    /// The activity this event announces.
    pub latest_activity: WireActivity,
    /// When the dispatcher sent it.
    pub generated_at: String,
}

/// `complainant`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireComplainant {
    /// User id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Telegram chat id used to reach the complainant.
    pub chat_id: Option<String>,
}

/// `executor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireExecutor {
    /// User id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Telegram chat id.
    pub chat_id: Option<String>,
}

/// `sla`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireSla {
    /// First response due.
    pub response_due_at: Option<String>,
    /// Resolution due.
    pub resolution_due_at: Option<String>,
}

/// `latest_activity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireActivity {
    /// Activity id.
    pub id: String,
    /// Activity type.
    #[serde(rename = "type")]
    pub activity_type: String,
    /// Comment.
    pub comment: Option<String>,
    /// Metadata object.
    pub metadata: Value,
    /// When.
    pub created_at: String,
    /// Author (null for activities fms makes itself).
    pub created_by: Option<WireActor>,
}

/// `latest_activity.created_by`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireActor {
    /// User id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// Formats a time the way every payload does: RFC 3339, UTC, milliseconds, `Z`.
pub fn wire_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl WebhookPayload {
    /// Builds the payload of one queue row, sent at `generated_at`.
    pub fn build(parts: &PayloadParts, generated_at: DateTime<Utc>) -> Self {
        let PayloadParts {
            tenant,
            ticket,
            complainant,
            executor,
            activity,
            author,
            sequence,
        } = parts;
        let report = &ticket.report;
        WebhookPayload {
            tenant_id: tenant.id.to_string(),
            tenant_name: tenant.name.clone(),
            ticket_id: ticket.id.to_string(),
            ticket_number: ticket.number.clone(),
            sequence: *sequence,
            status: ticket.status.as_str().to_owned(),
            priority: ticket.priority.as_str().to_owned(),
            title: report.title.clone(),
            description: report.description.clone(),
            location: report.location.clone(),
            category: report.category.clone(),
            ticket_type: report.ticket_type.clone(),
            building: report.building.clone(),
            floor: report.floor.clone(),
            room: report.room.clone(),
            complainant: WireComplainant {
                id: complainant.id.to_string(),
                name: complainant.name.clone(),
                email: complainant.email.clone(),
                phone: complainant.phone.clone(),
                chat_id: complainant.telegram_chat_id.clone(),
            },
            executor: executor.as_ref().map(|e| WireExecutor {
                id: e.id.to_string(),
                name: e.name.clone(),
                phone: e.phone.clone(),
                chat_id: e.telegram_chat_id.clone(),
            }),
            sla: WireSla {
                response_due_at: ticket.sla.response_due_at.map(wire_time),
                resolution_due_at: ticket.sla.resolution_due_at.map(wire_time),
            },
            latest_activity: WireActivity {
                id: activity.id.to_string(),
                activity_type: activity.activity_type.as_str().to_owned(),
                comment: activity.comment.clone(),
                metadata: activity.metadata.clone(),
                created_at: wire_time(activity.created_at),
                created_by: author.as_ref().map(|a| WireActor {
                    id: a.id.to_string(),
                    name: a.name.clone(),
                }),
            },
            generated_at: wire_time(generated_at),
        }
    }

    /// The exact bytes sent (compact JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain structs of strings and `Value`s cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
