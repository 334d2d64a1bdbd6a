//! The rule engine's output: final priority, SLA due times, executor, and the trace that
//! explains them. The engine itself lives in [`crate::rules`].

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::ticket::{Priority, Report, SlaDue};

/// First-response and resolution targets for one priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// SLA targets per priority. Defaults: critical 1 h / 4 h, high 4 h / 24 h, medium 8 h / 72 h,
/// low 24 h / 120 h (first response / resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTargets {
    /// `critical`
    pub critical: SlaTarget,
    /// `high`
    pub high: SlaTarget,
    /// `medium`
    pub medium: SlaTarget,
    /// `low`
    pub low: SlaTarget,
}

impl Default for SlaTargets {
    fn default() -> Self {
        Self {
            critical: SlaTarget::hours(1, 4),
            high: SlaTarget::hours(4, 24),
            medium: SlaTarget::hours(8, 72),
            low: SlaTarget::hours(24, 120),
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

/// Why the engine decided what it decided. Stored in the `ticket_created` activity's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// Human-readable steps, in order.
    pub steps: Vec<String>,
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
}

impl Decision {
    /// The decision of an engine with no rules: the submitted priority, no executor, the
    /// default SLA targets counted around the clock from `now`.
    pub fn plain(report: &Report, now: DateTime<Utc>) -> Self {
        let target = SlaTargets::default().for_priority(report.submitted_priority);
        Decision {
            priority: report.submitted_priority,
            sla: SlaDue {
                response_due_at: Some(now + Duration::minutes(target.response_minutes.into())),
                resolution_due_at: Some(now + Duration::minutes(target.resolution_minutes.into())),
            },
            executor: None,
            unassigned_reason: Some("no allocation rules".to_owned()),
            trace: Trace {
                steps: vec![format!(
                    "no rules: priority {} as submitted, default SLA targets, 24x7",
                    report.submitted_priority
                )],
            },
        }
    }
}
