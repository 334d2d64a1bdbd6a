//! The rule engine: a tenant's rules decide a new ticket's final priority, SLA due times and
//! executor, and explain every decision in a trace.
//!
//! Everything here is pure, synchronous and deterministic: stores persist rule sets,
//! calendars, SLA states and round-robin cursors; this module only computes.
//!
//! - [`ruleset`]: the rule set as versioned serde data, and its validation.
//! - [`condition`]: what rules look at and how conditions combine.
//! - [`calendar`]: business calendars (IANA zone, working windows, holidays).
//! - [`sla`]: SLA clocks with pause, resume, priority changes, warnings and breaches.
//! - [`allocation`]: filters, choosers and the fallback chain.
//! - [`engine`]: [`decide`] ties them together into a [`Decision`].
//! - [`decision`]: the engine's output, [`Decision`], and the [`Trace`] that explains it.

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod allocation;
pub mod calendar;
pub mod condition;
pub mod decision;
pub mod engine;
pub mod ruleset;
pub mod sla;

#[cfg(test)]
mod tests;

pub use allocation::{Candidate, Rejection};
pub use calendar::{BusinessCalendar, CalendarSpec};
pub use condition::{Condition, Values};
pub use decision::{CursorUpdate, Decision, SlaTarget, SlaTargets, Trace};
pub use engine::{DecisionInput, decide, dry_run};
pub use ruleset::{Actions, Assign, Chooser, Pool, Rule, RuleSet};
pub use sla::SlaState;

/// A validation problem in a rule set or calendar: where (`rules[2](hvac).actions.assign.pool`)
/// and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct RuleError {
    /// The offending field, as a path from the document's root.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl RuleError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
