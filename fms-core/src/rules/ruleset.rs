//! The rule set: a tenant's rules, SLA policies and executor pools as versioned serde data,
//! and its validation. The JSON format is documented in `docs/rules.md`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::rules::RuleError;
use crate::rules::condition::Condition;
use crate::rules::decision::SlaTargets;
use crate::ticket::Priority;

/// The name of the SLA policy given by [`RuleSet::sla_targets`].
pub const DEFAULT_SLA_POLICY: &str = "default";

/// A tenant's rule set.
///
/// Rules run in the order of [`RuleSet::rules`] (a rule's position is its index). Every
/// enabled rule whose conditions hold applies its actions, in order, so a later rule overrides
/// an earlier one's SLA policy or assignment, and sees the priority earlier rules left; a rule
/// with `"stop": true` ends processing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// The rule set's revision, chosen by its author (or bumped by the store on save); recorded
    /// in every decision's trace. At least 1.
    pub version: u32,
    /// The rules, in evaluation order.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// The `default` SLA policy; absent priorities keep the built-in defaults.
    #[serde(default)]
    pub sla_targets: SlaTargets,
    /// Further named SLA policies that a rule's `sla_policy` action can choose.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sla_policies: BTreeMap<String, SlaTargets>,
    /// Named executor pools.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pools: BTreeMap<String, Pool>,
    /// Where tickets go when no matching rule assigns them; `None` leaves them unassigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_allocation: Option<Assign>,
    /// Filters that apply to every allocation.
    #[serde(default)]
    pub allocation: AllocationSettings,
}

impl RuleSet {
    /// An empty rule set of version 1: default SLA targets, no rules, no pools.
    pub fn new() -> Self {
        Self {
            version: 1,
            rules: Vec::new(),
            sla_targets: SlaTargets::default(),
            sla_policies: BTreeMap::new(),
            pools: BTreeMap::new(),
            default_allocation: None,
            allocation: AllocationSettings::default(),
        }
    }

    /// Parses a rule set from JSON and validates it. Syntax errors come back as one error at
    /// path `$`.
    pub fn from_json(json: &str) -> Result<Self, Vec<RuleError>> {
        let set: RuleSet =
            serde_json::from_str(json).map_err(|e| vec![RuleError::new("$", e.to_string())])?;
        set.validate()?;
        Ok(set)
    }

    /// The SLA targets of policy `name` (`default` is [`RuleSet::sla_targets`]).
    pub fn sla_policy(&self, name: &str) -> Option<&SlaTargets> {
        if name == DEFAULT_SLA_POLICY {
            Some(&self.sla_targets)
        } else {
            self.sla_policies.get(name)
        }
    }

    /// Checks everything serde cannot: unknown names, empty lists, duplicate ids, zero
    /// targets, pool chains. Each error names the rule (`rules[2]`, with its id) and the field.
    pub fn validate(&self) -> Result<(), Vec<RuleError>> {
        let mut errors = Vec::new();
        if self.version == 0 {
            errors.push(RuleError::new("version", "must be at least 1"));
        }
        validate_targets("sla_targets", &self.sla_targets, &mut errors);
        for (name, targets) in &self.sla_policies {
            let path = format!("sla_policies.{name}");
            if name == DEFAULT_SLA_POLICY {
                errors.push(RuleError::new(
                    &path,
                    "\"default\" is reserved for `sla_targets`",
                ));
            }
            if name.trim().is_empty() {
                errors.push(RuleError::new(&path, "empty policy name"));
            }
            validate_targets(&path, targets, &mut errors);
        }
        self.validate_pools(&mut errors);
        if let Some(assign) = &self.default_allocation {
            self.validate_assign("default_allocation", assign, &mut errors);
        }
        if self.allocation.max_open_tickets == Some(0) {
            errors.push(RuleError::new(
                "allocation.max_open_tickets",
                "0 would make every executor ineligible",
            ));
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let path = format!("rules[{index}]");
            let named = if rule.id.is_empty() {
                path.clone()
            } else {
                format!("{path}({})", rule.id)
            };
            if rule.id.trim().is_empty() {
                errors.push(RuleError::new(format!("{path}.id"), "empty rule id"));
            } else if let Some(first) = seen.insert(&rule.id, index) {
                errors.push(RuleError::new(
                    format!("{named}.id"),
                    format!("duplicate rule id {:?} (also rules[{first}])", rule.id),
                ));
            }
            if let Some(c) = &rule.conditions {
                c.validate(&format!("{named}.conditions"), 0, &mut errors);
            }
            self.validate_actions(&format!("{named}.actions"), &rule.actions, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn validate_actions(&self, path: &str, a: &Actions, errors: &mut Vec<RuleError>) {
        if a.set_priority.is_none()
            && a.raise_priority_to.is_none()
            && a.sla_policy.is_none()
            && a.assign.is_none()
            && !a.stop
        {
            errors.push(RuleError::new(path, "a rule needs at least one action"));
        }
        for (key, value) in [
            ("set_priority", &a.set_priority),
            ("raise_priority_to", &a.raise_priority_to),
        ] {
            if let Some(p) = value
                && Priority::parse_lenient(p).is_none()
            {
                errors.push(RuleError::new(
                    format!("{path}.{key}"),
                    format!("unknown priority {p:?}, expected one of: critical, high, medium, low"),
                ));
            }
        }
        if let Some(name) = &a.sla_policy
            && self.sla_policy(name).is_none()
        {
            errors.push(RuleError::new(
                format!("{path}.sla_policy"),
                format!("unknown SLA policy {name:?}"),
            ));
        }
        if let Some(assign) = &a.assign {
            self.validate_assign(&format!("{path}.assign"), assign, errors);
        }
    }

    fn validate_assign(&self, path: &str, assign: &Assign, errors: &mut Vec<RuleError>) {
        if assign.executor.is_none() && assign.pool.is_none() {
            errors.push(RuleError::new(
                path,
                "name an `executor`, a `pool`, or both",
            ));
        }
        if let Some(pool) = &assign.pool
            && !self.pools.contains_key(pool)
        {
            errors.push(RuleError::new(
                format!("{path}.pool"),
                format!("unknown pool {pool:?}"),
            ));
        }
    }

    fn validate_pools(&self, errors: &mut Vec<RuleError>) {
        for (name, pool) in &self.pools {
            let path = format!("pools.{name}");
            if name.trim().is_empty() {
                errors.push(RuleError::new(&path, "empty pool name"));
            }
            if pool.members.as_ref().is_some_and(Vec::is_empty) {
                errors.push(RuleError::new(
                    format!("{path}.members"),
                    "empty list; omit `members` to mean every executor",
                ));
            }
            for (i, s) in pool.skills.iter().enumerate() {
                if s.trim().is_empty() {
                    errors.push(RuleError::new(format!("{path}.skills[{i}]"), "empty value"));
                }
            }
            if pool.max_open_tickets == Some(0) {
                errors.push(RuleError::new(
                    format!("{path}.max_open_tickets"),
                    "0 would make every executor ineligible",
                ));
            }
            if let Some(backup) = &pool.backup {
                if !self.pools.contains_key(backup) {
                    errors.push(RuleError::new(
                        format!("{path}.backup"),
                        format!("unknown pool {backup:?}"),
                    ));
                } else if chain_loops(&self.backup_chain(name)) {
                    errors.push(RuleError::new(
                        format!("{path}.backup"),
                        "the backup chain loops back on itself",
                    ));
                }
            }
        }
    }

    /// The pools tried for `pool`: itself, its backup, the backup's backup, ... Stops at an
    /// unknown pool or the first repeat (one repeat is included, so a loop is detectable).
    pub(crate) fn backup_chain<'a>(&'a self, pool: &'a str) -> Vec<&'a str> {
        let mut chain = vec![pool];
        let mut seen = BTreeSet::from([pool]);
        let mut current = pool;
        while let Some(next) = self.pools.get(current).and_then(|p| p.backup.as_deref()) {
            chain.push(next);
            if !seen.insert(next) {
                break;
            }
            current = next;
        }
        chain
    }
}

impl Default for RuleSet {
    fn default() -> Self {
        Self::new()
    }
}

fn chain_loops(chain: &[&str]) -> bool {
    chain
        .split_last()
        .is_some_and(|(last, rest)| rest.contains(last))
}

fn validate_targets(path: &str, t: &SlaTargets, errors: &mut Vec<RuleError>) {
    for p in Priority::ALL {
        let target = t.for_priority(p);
        if target.response_minutes == 0 {
            errors.push(RuleError::new(
                format!("{path}.{p}.response_minutes"),
                "must be greater than 0",
            ));
        }
        if target.resolution_minutes == 0 {
            errors.push(RuleError::new(
                format!("{path}.{p}.resolution_minutes"),
                "must be greater than 0",
            ));
        }
    }
    if !(1..=100).contains(&t.warning_percent) {
        errors.push(RuleError::new(
            format!("{path}.warning_percent"),
            "must be between 1 and 100",
        ));
    }
}

/// One rule: when its conditions hold, its actions apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A stable id, unique in the rule set (`hvac-ac-critical`); named in traces and errors.
    pub id: String,
    /// What the rule is for, for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Disabled rules are kept but skipped (default `true`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// When the rule applies; absent means every ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Condition>,
    /// What it does.
    pub actions: Actions,
}

fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// What a matching rule does. Applied in this order: `set_priority`, `raise_priority_to`,
/// `sla_policy`, `assign`, `stop`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    /// Sets the priority (`critical`, `high`, `medium`, `low`), up or down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_priority: Option<String>,
    /// Raises the priority to at least this; never lowers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raise_priority_to: Option<String>,
    /// Chooses a named SLA policy (`default` or a key of `sla_policies`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_policy: Option<String>,
    /// Chooses who gets the ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Assign>,
    /// Stops processing: later rules are not evaluated.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stop: bool,
}

/// An allocation request: a fixed executor, a pool, or both (the executor first; the pool if
/// the executor fails a filter). A pool falls back to its `backup` chain; when everything
/// fails the ticket stays unassigned with the reason in the trace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// A fixed executor (a user id); it must still pass every filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<UserId>,
    /// A pool name (a key of `pools`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
}

/// How a pool picks among its eligible executors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chooser {
    /// Takes turns in user id order: the first eligible executor after the pool's cursor
    /// (the last one assigned), wrapping around.
    #[default]
    RoundRobin,
    /// The fewest open tickets; ties go to the smallest user id.
    LeastLoaded,
}

impl Chooser {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Chooser::RoundRobin => "round_robin",
            Chooser::LeastLoaded => "least_loaded",
        }
    }
}

/// A named group of executors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    /// Its members; absent means every user in the roster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<UserId>>,
    /// Narrows the members to those with any of these skills (case-insensitive); empty: no
    /// narrowing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    /// How it picks (default `round_robin`).
    #[serde(default)]
    pub chooser: Chooser,
    /// The open-ticket cap for its members; overrides `allocation.max_open_tickets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_tickets: Option<u32>,
    /// Whether an executor's skills must cover the ticket's category (default `true`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub require_skill: bool,
    /// Whether an executor must cover the ticket's building (default `true`; an executor with
    /// no buildings covers all).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub require_building: bool,
    /// The pool to try when nobody here is eligible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

impl Default for Pool {
    fn default() -> Self {
        Self {
            members: None,
            skills: Vec::new(),
            chooser: Chooser::RoundRobin,
            max_open_tickets: None,
            require_skill: true,
            require_building: true,
            backup: None,
        }
    }
}

/// Filters that apply to every allocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationSettings {
    /// Only executors who finished Telegram onboarding are assigned (default `false`).
    #[serde(default)]
    pub require_onboarded: bool,
    /// The open-ticket cap (open, in progress or on hold); `None`: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_tickets: Option<u32>,
}
