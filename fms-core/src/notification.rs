//! Dashboard notifications: stored per tenant, addressed to a user or to every user of a role,
//! listed newest first and marked read.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{TenantId, TicketId, UserId};
use crate::ticket::UnknownName;
use crate::user::Role;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A user finished Telegram onboarding.
    UserOnboarded,
    /// A new ticket could not be assigned to any executor.
    TicketUnassigned,
    /// A ticket missed an SLA target.
    SlaBreached,
    /// The tenant's webhook endpoint answered 410 Gone and was disabled.
    EndpointDisabled,
    /// A webhook row was parked after the retry age.
    WebhookParked,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 5] = [
        NotificationKind::UserOnboarded,
        NotificationKind::TicketUnassigned,
        NotificationKind::SlaBreached,
        NotificationKind::EndpointDisabled,
        NotificationKind::WebhookParked,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::UserOnboarded => "user_onboarded",
            NotificationKind::TicketUnassigned => "ticket_unassigned",
            NotificationKind::SlaBreached => "sla_breached",
            NotificationKind::EndpointDisabled => "endpoint_disabled",
            NotificationKind::WebhookParked => "webhook_parked",
        }
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NotificationKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NotificationKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "notification kind",
                value: s.to_owned(),
                allowed: NotificationKind::ALL
                    .map(NotificationKind::as_str)
                    .join(", "),
            })
    }
}

/// Who a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Recipient {
    /// One user.
    User(UserId),
    /// Every user of a role (the dashboard of admins, for instance).
    Role(Role),
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Its id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Who it is for.
    pub recipient: Recipient,
    /// What it is about.
    pub kind: NotificationKind,
    /// Human-readable text.
    pub message: String,
    /// The ticket concerned, if any.
    pub ticket_id: Option<TicketId>,
    /// The user concerned, if any.
    pub user_id: Option<UserId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was read; `None` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// A new unread notification for the tenant's admins.
    pub fn for_admins(
        tenant_id: TenantId,
        kind: NotificationKind,
        message: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            tenant_id,
            recipient: Recipient::Role(Role::Admin),
            kind,
            message: message.into(),
            ticket_id: None,
            user_id: None,
            created_at: at,
            read_at: None,
        }
    }

    /// Sets the ticket concerned.
    pub fn about_ticket(mut self, ticket: TicketId) -> Self {
        self.ticket_id = Some(ticket);
        self
    }

    /// Sets the user concerned.
    pub fn about_user(mut self, user: UserId) -> Self {
        self.user_id = Some(user);
        self
    }
}

/// Which notifications to list: one tenant, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationQuery {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Only those a user sees: addressed to them or to their role.
    pub recipient: Option<(UserId, Role)>,
    /// Only unread ones.
    pub unread_only: bool,
    /// Only those created strictly before this `(created_at, id)` position.
    pub before: Option<(DateTime<Utc>, Uuid)>,
    /// At most this many.
    pub limit: u32,
}
