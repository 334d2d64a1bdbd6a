//! The rule engine's output: final priority, SLA due times, executor, and the trace that
//! explains them, plus the SLA targets a rule set configures. [`super::engine`] computes it.

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::rules::allocation::Rejection;
use crate::rules::sla::SlaState;
use crate::ticket::{Priority, SlaDue};

/// First-response and resolution targets for one priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTarget {
    /// Minutes until the first response is due.
    pub response_minutes: u32,
    /// Minutes until the resolution is due.
    pub resolution_minutes: u32,
}

impl SlaTarget {
    /// A target in hours.
    pub const fn hours(response: u32, resolution: u32) -> Self {
        Self {
            response_minutes: response * 60,
            resolution_minutes: resolution * 60,
        }
    }
}

/// The default warning moment: 80 % of a target.
pub const DEFAULT_WARNING_PERCENT: u8 = 80;

/// SLA targets per priority. Defaults: critical 1 h / 4 h, high 4 h / 24 h, medium 8 h / 72 h,
/// low 24 h / 120 h (first response / resolution), warning at 80 % of a target.
///
/// Every field has its default when absent from JSON, so `{"critical": {...}}` overrides only
/// the critical target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTargets {
    /// `critical`
    #[serde(default = "default_critical")]
    pub critical: SlaTarget,
    /// `high`
    #[serde(default = "default_high")]
    pub high: SlaTarget,
    /// `medium`
    #[serde(default = "default_medium")]
    pub medium: SlaTarget,
    /// `low`
    #[serde(default = "default_low")]
    pub low: SlaTarget,
    /// When the `sla_warning` moment comes, in percent of a target (1..=100; default 80).
    #[serde(default = "default_warning_percent")]
    pub warning_percent: u8,
}

fn default_critical() -> SlaTarget {
    SlaTarget::hours(1, 4)
}
fn default_high() -> SlaTarget {
    SlaTarget::hours(4, 24)
}
fn default_medium() -> SlaTarget {
    SlaTarget::hours(8, 72)
}
fn default_low() -> SlaTarget {
    SlaTarget::hours(24, 120)
}
fn default_warning_percent() -> u8 {
    DEFAULT_WARNING_PERCENT
}

impl Default for SlaTargets {
    fn default() -> Self {
        Self {
            critical: default_critical(),
            high: default_high(),
            medium: default_medium(),
            low: default_low(),
            warning_percent: DEFAULT_WARNING_PERCENT,
        }
    }
}

impl SlaTargets {
    /// The target for `priority`.
    pub fn for_priority(&self, priority: Priority) -> SlaTarget {
        match priority {
            Priority::Critical => self.critical,
            Priority::High => self.high,
            Priority::Medium => self.medium,
            Priority::Low => self.low,
        }
    }
}

/// What happened to one rule during a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// Its conditions held; its actions were applied.
    Matched,
    /// Its conditions did not hold.
    NotMatched,
    /// It is disabled (`"enabled": false`).
    Disabled,
    /// An earlier matching rule had `stop`, so it was not evaluated.
    NotEvaluated,
}

/// One rule's line in the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTrace {
    /// Its position in the rule set (0-based).
    pub index: usize,
    /// Its id.
    pub id: String,
    /// What happened.
    pub outcome: RuleOutcome,
    /// Why: which conditions held, or the first that did not.
    pub why: String,
    /// What its actions changed (`priority high -> critical`, `assign pool "hvac"`, `stop`).
    pub effects: Vec<String>,
}

/// How the SLA was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTrace {
    /// The SLA policy (`default` or a name from the rule set's `sla_policies`).
    pub policy: String,
    /// The rule that chose the policy, if any.
    pub chosen_by: Option<String>,
    /// The final priority whose target applies.
    pub priority: Priority,
    /// The target applied.
    pub target: SlaTarget,
    /// The calendar's time zone, or `None` for 24x7.
    pub calendar: Option<String>,
}

/// Where one allocation attempt looked for an executor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AllocationSource {
    /// A fixed executor.
    Executor {
        /// Who.
        id: UserId,
    },
    /// A pool.
    Pool {
        /// The pool's name.
        name: String,
        /// Its chooser (`round_robin`, `least_loaded`).
        chooser: String,
    },
}

/// A candidate an allocation filter rejected, with every reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedCandidate {
    /// The user.
    pub user: UserId,
    /// Display name, for humans reading the trace.
    pub name: String,
    /// Every filter it failed.
    pub reasons: Vec<Rejection>,
}

/// One step of the allocation fallback chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationAttempt {
    /// Where it looked.
    pub source: AllocationSource,
    /// Candidates filtered out, and why.
    pub rejected: Vec<RejectedCandidate>,
    /// Candidates that passed every filter, in user id order.
    pub eligible: Vec<UserId>,
    /// The one chosen, if any.
    pub chosen: Option<UserId>,
    /// Why it was chosen, or why nobody was.
    pub why: String,
}

/// How the executor was chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationTrace {
    /// What asked for the allocation (`rule "hvac-ac"`, `default_allocation`), if anything.
    pub requested_by: Option<String>,
    /// The fallback chain, in the order tried.
    pub attempts: Vec<AllocationAttempt>,
    /// The executor chosen.
    pub chosen: Option<UserId>,
    /// Why it was chosen, or why the ticket stays unassigned.
    pub reason: String,
}

/// Why the engine decided what it decided. Stored in the `ticket_created` activity's metadata
/// and returned by the dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// The rule set's `version`, or `None` when the tenant has no rule set.
    pub ruleset_version: Option<u32>,
    /// Every rule, in order, with what happened to it.
    pub rules: Vec<RuleTrace>,
    /// How the SLA was chosen.
    pub sla: Option<SlaTrace>,
    /// How the executor was chosen.
    pub allocation: AllocationTrace,
    /// The same story as human-readable lines, in order.
    pub steps: Vec<String>,
}

/// The round-robin cursor move a decision made. The store applies it as a compare-and-set:
/// set the cursor of `pool` to `next` only if it still is `previous`; if it moved (another
/// intake won the race), re-run [`super::decide`] with the fresh cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorUpdate {
    /// The pool whose cursor moves.
    pub pool: String,
    /// The cursor the decision read (`None`: the pool never assigned anyone).
    pub previous: Option<UserId>,
    /// The executor just chosen: the new cursor.
    pub next: UserId,
}

/// What the rule engine decided for a new ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Final priority.
    pub priority: Priority,
    /// SLA due times.
    pub sla: SlaDue,
    /// The executor to assign, if any.
    pub executor: Option<UserId>,
    /// Why no executor was chosen, when none was.
    pub unassigned_reason: Option<String>,
    /// The explanation.
    pub trace: Trace,
    /// The SLA policy applied (`default` unless a rule chose another).
    pub sla_policy: String,
    /// The SLA clocks, to persist with the ticket (JSON) and update on status and priority
    /// changes; see [`SlaState`].
    pub sla_state: SlaState,
    /// The pool the executor came from, when it came from a pool.
    pub pool: Option<String>,
    /// The round-robin cursor move to compare-and-set, when a round-robin pool chose.
    pub round_robin: Option<CursorUpdate>,
}
