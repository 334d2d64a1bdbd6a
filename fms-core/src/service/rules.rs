//! A tenant's rule set and business calendar.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::ids::TenantId;
use crate::rules::{Assign, BusinessCalendar, Chooser, Pool, RuleError, RuleSet};

use super::Fms;

/// The pool of the default allocation.
pub const DEFAULT_POOL: &str = "default";

/// The rule set of a tenant that never saved one: the submitted priority, the default SLA
/// targets, and the least-loaded active executor whose skills cover the category (and who
/// covers the building). No other rules.
pub fn default_rules() -> RuleSet {
    let mut rules = RuleSet::new();
    rules.version = 0;
    rules.pools = BTreeMap::from([(
        DEFAULT_POOL.to_owned(),
        Pool {
            members: None,
            skills: Vec::new(),
            chooser: Chooser::LeastLoaded,
            max_open_tickets: None,
            require_skill: true,
            require_building: true,
            backup: None,
        },
    )]);
    rules.default_allocation = Some(Assign {
        executor: None,
        pool: Some(DEFAULT_POOL.to_owned()),
    });
    rules
}

fn rule_errors(field: &str, errors: Vec<RuleError>) -> Error {
    let first = errors
        .first()
        .map(|e| e.path.clone())
        .unwrap_or_else(|| field.to_owned());
    let reason = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    Error::InvalidField {
        field: first,
        reason,
    }
}

impl Fms {
    /// The tenant's rule set: the saved one, or [`default_rules`].
    pub async fn rules(&self, tenant: TenantId) -> Result<RuleSet> {
        self.store.tenant(tenant).await?;
        Ok(self
            .store
            .rules(tenant)
            .await?
            .unwrap_or_else(default_rules))
    }

    /// Validates and saves a new version of the tenant's rule set; its `version` becomes the
    /// previous version + 1. Errors name the rule (index and id) and the field.
    pub async fn put_rules(&self, tenant: TenantId, rules: RuleSet) -> Result<RuleSet> {
        rules.validate().map_err(|e| rule_errors("rules", e))?;
        let mut rules = rules;
        loop {
            let current = self.rules(tenant).await?.version;
            rules.version = current.saturating_add(1);
            match self.store.save_rules(tenant, &rules).await {
                Err(crate::store::StoreError::Conflict { .. }) => continue,
                other => {
                    other?;
                    return Ok(rules);
                }
            }
        }
    }

    /// Parses, validates and saves a rule set given as JSON.
    pub async fn put_rules_json(&self, tenant: TenantId, json: &str) -> Result<RuleSet> {
        let rules = RuleSet::from_json(json).map_err(|e| rule_errors("rules", e))?;
        self.put_rules(tenant, rules).await
    }

    /// The tenant's business calendar (`None`: 24x7).
    pub async fn calendar(&self, tenant: TenantId) -> Result<Option<BusinessCalendar>> {
        Ok(self.store.calendar(tenant).await?)
    }

    /// Sets (or, with `None`, clears) the tenant's business calendar. New SLA clocks count in
    /// it; existing tickets keep their due times until their next SLA event.
    pub async fn set_calendar(
        &self,
        tenant: TenantId,
        calendar: Option<BusinessCalendar>,
    ) -> Result<()> {
        self.store.tenant(tenant).await?;
        Ok(self.store.save_calendar(tenant, calendar.as_ref()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rules_are_valid() {
        // Version 0 marks the built-in set; saved sets start at 1.
        let mut rules = default_rules();
        assert_eq!(rules.version, 0);
        rules.version = 1;
        assert_eq!(rules.validate(), Ok(()));
    }
}
