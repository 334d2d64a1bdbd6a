//! Activities: the append-only log of everything that happens to a ticket. Every activity
//! becomes exactly one webhook queue row (the outbox).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{ActivityId, TenantId, TicketId, UserId};
use crate::ticket::UnknownName;

/// The kind of an activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityType {
    /// The ticket was created (its metadata holds the rule engine's trace).
    TicketCreated,
    /// An executor was assigned.
    ExecutorAssigned,
    /// The status changed (metadata: `from`, `to`).
    StatusChanged,
    /// The priority changed (metadata: `from`, `to`).
    PriorityChanged,
    /// A comment.
    Comment,
    /// An update from the executor.
    ExecutorUpdate,
    /// The complainant interacted (replied, confirmed, ...).
    ComplainantInteraction,
    /// An SLA target is about to be missed.
    SlaWarning,
    /// An SLA target was missed.
    SlaBreached,
}

impl ActivityType {
    /// Every activity type.
    pub const ALL: [ActivityType; 9] = [
        ActivityType::TicketCreated,
        ActivityType::ExecutorAssigned,
        ActivityType::StatusChanged,
        ActivityType::PriorityChanged,
        ActivityType::Comment,
        ActivityType::ExecutorUpdate,
        ActivityType::ComplainantInteraction,
        ActivityType::SlaWarning,
        ActivityType::SlaBreached,
    ];

    /// The types a caller may add directly; the others are written by fms itself as a side
    /// effect of an operation (creation, assignment, status change, SLA timers).
    pub const USER_WRITABLE: [ActivityType; 3] = [
        ActivityType::Comment,
        ActivityType::ExecutorUpdate,
        ActivityType::ComplainantInteraction,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityType::TicketCreated => "ticket_created",
            ActivityType::ExecutorAssigned => "executor_assigned",
            ActivityType::StatusChanged => "status_changed",
            ActivityType::PriorityChanged => "priority_changed",
            ActivityType::Comment => "comment",
            ActivityType::ExecutorUpdate => "executor_update",
            ActivityType::ComplainantInteraction => "complainant_interaction",
            ActivityType::SlaWarning => "sla_warning",
            ActivityType::SlaBreached => "sla_breached",
        }
    }

    /// Whether callers may add this type directly.
    pub fn is_user_writable(self) -> bool {
        Self::USER_WRITABLE.contains(&self)
    }
}

impl fmt::Display for ActivityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActivityType {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        ActivityType::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownName {
                kind: "activity type",
                value: s.to_owned(),
                allowed: ActivityType::ALL.map(ActivityType::as_str).join(", "),
            })
    }
}

/// A stored activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Its id (also the webhook's `webhook-id`, stable across retries).
    pub id: ActivityId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The ticket's tenant.
    pub tenant_id: TenantId,
    /// Kind.
    pub activity_type: ActivityType,
    /// Free text.
    pub comment: Option<String>,
    /// Structured details (a JSON object; `{}` when there are none).
    pub metadata: Value,
    /// Who did it; `None` for activities fms makes itself.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// An activity to append. The store assigns nothing but the queue row: id and time are set by
/// the service so they are deterministic under an injected clock.
#[derive(Debug, Clone, PartialEq)]
pub struct NewActivity {
    /// Its id.
    pub id: ActivityId,
    /// Kind.
    pub activity_type: ActivityType,
    /// Free text.
    pub comment: Option<String>,
    /// Structured details (a JSON object).
    pub metadata: Value,
    /// Who did it.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl NewActivity {
    /// An activity of `activity_type` at `at` with no comment, empty metadata and no author.
    pub fn new(activity_type: ActivityType, at: DateTime<Utc>) -> Self {
        Self {
            id: ActivityId::new(),
            activity_type,
            comment: None,
            metadata: Value::Object(Default::default()),
            created_by: None,
            created_at: at,
        }
    }

    /// Sets the comment.
    pub fn with_comment(mut self, comment: Option<String>) -> Self {
        self.comment = comment;
        self
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: Value) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets the author.
    pub fn with_created_by(mut self, by: Option<UserId>) -> Self {
        self.created_by = by;
        self
    }

    /// The stored form of this activity on `ticket`.
    pub fn into_activity(self, ticket_id: TicketId, tenant_id: TenantId) -> Activity {
        Activity {
            id: self.id,
            ticket_id,
            tenant_id,
            activity_type: self.activity_type,
            comment: self.comment,
            metadata: self.metadata,
            created_by: self.created_by,
            created_at: self.created_at,
        }
    }
}
