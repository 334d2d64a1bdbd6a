//! What the rule engine reads and the tenant's rule sets and business calendar.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::ids::{TenantId, UserId};
use crate::rules::{BusinessCalendar, Candidate, RuleSet};
use crate::tenant::Tenant;
use crate::user::User;

use super::StoreError;

/// Everything the rule engine reads for one intake, read in one go.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeContext {
    /// The tenant.
    pub tenant: Tenant,
    /// The user with the intake's chat id in that tenant, if any.
    pub complainant: Option<User>,
    /// The tenant's current rule set, if one was saved.
    pub rules: Option<RuleSet>,
    /// The tenant's business calendar, if one was saved.
    pub calendar: Option<BusinessCalendar>,
    /// The tenant's executors with their open-ticket counts (open, in progress, on hold).
    pub roster: Vec<Candidate>,
    /// Round-robin cursors: pool name -> the executor that pool assigned last.
    pub cursors: BTreeMap<String, UserId>,
}

/// Rule sets, business calendars, and the one read an intake makes.
#[async_trait]
pub trait RuleStore: Send + Sync {
    /// Reads what an intake needs: the tenant (`NotFound` if missing), the complainant by chat
    /// id, the rule set, the calendar, the executor roster with loads and the cursors.
    async fn intake_context(
        &self,
        tenant: TenantId,
        chat_id: &str,
    ) -> Result<IntakeContext, StoreError>;
    /// Stores a new version of the tenant's rule set (`rules.version` must be unused for the
    /// tenant: `Conflict` otherwise). Older versions are kept.
    async fn save_rules(&self, tenant: TenantId, rules: &RuleSet) -> Result<(), StoreError>;
    /// The tenant's current (highest-version) rule set.
    async fn rules(&self, tenant: TenantId) -> Result<Option<RuleSet>, StoreError>;
    /// Sets or clears (24x7) the tenant's business calendar.
    async fn save_calendar(
        &self,
        tenant: TenantId,
        calendar: Option<&BusinessCalendar>,
    ) -> Result<(), StoreError>;
    /// The tenant's business calendar.
    async fn calendar(&self, tenant: TenantId) -> Result<Option<BusinessCalendar>, StoreError>;
}
