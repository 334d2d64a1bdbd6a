//! The tenant: one organisation, with its own users, tickets, rules and webhook endpoint.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::ids::TenantId;

/// A stored tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Display name (the payload's `tenant_name`).
    pub name: String,
    /// Where ticket webhooks go (the spec's "Automation Webhook URL"); `None` means rows are
    /// marked skipped.
    pub automation_webhook_url: Option<String>,
    /// Standard Webhooks signing secret(s), `whsec_...`; a space-separated list during rotation
    /// (the first signs, all are sent).
    pub webhook_secret: String,
    /// IANA time zone of the tenant's business calendar.
    pub timezone: Tz,
    /// Ticket number prefix (`TKT`).
    pub number_prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// What is needed to create a tenant. Built with [`NewTenant::new`] and `with_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTenant {
    /// Display name.
    pub name: String,
    /// Optional webhook URL.
    pub automation_webhook_url: Option<String>,
    /// Signing secret; generated when `None`.
    pub webhook_secret: Option<String>,
    /// Time zone; UTC by default.
    pub timezone: Tz,
    /// Ticket number prefix; `TKT` by default.
    pub number_prefix: String,
}

impl NewTenant {
    /// A tenant named `name`, time zone UTC, prefix `TKT`, no webhook URL, generated secret.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            automation_webhook_url: None,
            webhook_secret: None,
            timezone: Tz::UTC,
            number_prefix: "TKT".to_owned(),
        }
    }

    /// Sets the automation webhook URL.
    pub fn with_webhook_url(mut self, url: impl Into<String>) -> Self {
        self.automation_webhook_url = Some(url.into());
        self
    }

    /// Sets the signing secret (`whsec_...`).
    pub fn with_webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }

    /// Sets the time zone.
    pub fn with_timezone(mut self, tz: Tz) -> Self {
        self.timezone = tz;
        self
    }

    /// Sets the ticket number prefix.
    pub fn with_number_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.number_prefix = prefix.into();
        self
    }
}

/// A change to a tenant's settings; `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantPatch {
    /// New name.
    pub name: Option<String>,
    /// New webhook URL; `Some(None)` clears it.
    pub automation_webhook_url: Option<Option<String>>,
    /// New signing secret(s).
    pub webhook_secret: Option<String>,
    /// New time zone.
    pub timezone: Option<Tz>,
}
