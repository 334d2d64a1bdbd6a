//! The ticket: what was reported, where, by whom, and where it stands now, with the data of
//! its SLA clocks (their arithmetic is [`crate::rules::sla`]'s).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{TenantId, TicketId, UserId};

/// How urgent a ticket is. Ordered from least to most urgent, so `max` raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

impl Priority {
    /// Every priority, most urgent first (the order the spec lists them in).
    pub const ALL: [Priority; 4] = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];

    /// The wire name (`critical`, `high`, `medium`, `low`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }

    /// Parses a priority the way intake does: surrounding whitespace is ignored and case does
    /// not matter. Returns `None` for anything else.
    pub fn parse_lenient(s: &str) -> Option<Priority> {
        let s = s.trim();
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown priority or status name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}, expected one of: {allowed}")]
pub struct UnknownName {
    /// `priority` or `status`.
    pub kind: &'static str,
    /// What was given.
    pub value: String,
    /// The allowed values, comma-separated.
    pub allowed: String,
}

impl FromStr for Priority {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::parse_lenient(s).ok_or_else(|| UnknownName {
            kind: "priority",
            value: s.to_owned(),
            allowed: "critical, high, medium, low".to_owned(),
        })
    }
}

/// Where a ticket stands in its workflow (see [`crate::workflow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// `open`: reported, nobody working on it yet.
    Open,
    /// `in-progress`: an executor is on it.
    InProgress,
    /// `on-hold`: waiting (parts, access, the complainant); the resolution clock is paused.
    OnHold,
    /// `resolved`: the executor says it is fixed.
    Resolved,
    /// `closed`: final.
    Closed,
}

impl Status {
    /// Every status, in workflow order.
    pub const ALL: [Status; 5] = [
        Status::Open,
        Status::InProgress,
        Status::OnHold,
        Status::Resolved,
        Status::Closed,
    ];

    /// The wire name (`open`, `in-progress`, `on-hold`, `resolved`, `closed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in-progress",
            Status::OnHold => "on-hold",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownName {
                kind: "status",
                value: s.to_owned(),
                allowed: "open, in-progress, on-hold, resolved, closed".to_owned(),
            })
    }
}

/// The SLA due times of a ticket, computed by the rule engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SlaDue {
    /// When the first response is due.
    pub response_due_at: Option<DateTime<Utc>>,
    /// When the resolution is due.
    pub resolution_due_at: Option<DateTime<Utc>>,
}

/// What the complainant reported, as validated by intake. Immutable after creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The intake's `issue`; the payload's `title`.
    pub title: String,
    /// Optional longer description (not part of the spec's intake; null when absent).
    pub description: Option<String>,
    /// Free-text location (`location`).
    pub location: String,
    /// Category (`HVAC`, `IT`, `Plumbing`, ...).
    pub category: String,
    /// Ticket type; `Maintenance` when not given.
    pub ticket_type: String,
    /// Building name or number.
    pub building: Option<String>,
    /// Floor.
    pub floor: Option<String>,
    /// Room.
    pub room: Option<String>,
    /// The complainant's name as the intake gave it.
    pub reporter_name: String,
    /// The complainant's designation as the intake gave it.
    pub reporter_designation: Option<String>,
    /// The complainant's department as the intake gave it.
    pub reporter_department: Option<String>,
    /// The priority the complainant (or Make) submitted, before rules.
    pub submitted_priority: Priority,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Its id.
    pub id: TicketId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Per-tenant counter value (1, 2, 3, ...), never reused.
    pub seq: i64,
    /// The human number: the tenant's prefix and `seq` (`TKT-0001`).
    pub number: String,
    /// What was reported.
    pub report: Report,
    /// Current status.
    pub status: Status,
    /// Current (final, after rules) priority.
    pub priority: Priority,
    /// The complainant (the user the intake's `chat_id` resolved to).
    pub complainant_id: UserId,
    /// The assigned executor, if any.
    pub executor_id: Option<UserId>,
    /// SLA due times.
    pub sla: SlaDue,
    /// The SLA clocks behind the due times (paused while on hold, kept across priority
    /// changes); `None` for tickets stored without one.
    pub sla_state: Option<SlaState>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change of the ticket row; used for optimistic concurrency.
    pub version: i64,
}

/// A ticket's SLA clocks, to persist with the ticket as JSON. The rule engine starts them and
/// [`crate::rules::sla`] moves them; this module holds only the data.
///
/// Lifecycle, one call per ticket event (each takes the moment and the tenant's calendar):
/// [`SlaState::start`] at creation (the engine does it), [`SlaState::pause`] when the ticket
/// goes `on-hold`, [`SlaState::resume`] when it comes back, [`SlaState::respond`] at the first
/// response, [`SlaState::resolve`] when resolved, [`SlaState::reopen`] when reopened,
/// [`SlaState::change_priority`] when the priority changes; a sweeper calls
/// [`SlaState::take_due_events`] and writes one activity per returned event in the same
/// transaction as the new state, so each comes exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaState {
    /// The SLA policy (`default` or a named policy of the rule set).
    pub policy: String,
    /// The priority whose targets apply.
    pub priority: Priority,
    /// The warning share in percent.
    pub warning_percent: u8,
    /// Time to first response. Never paused.
    pub response: ClockState,
    /// Time to resolution. Paused while `on-hold`.
    pub resolution: ClockState,
}

/// One clock. Running: `running_since` is set. Paused: neither `running_since` nor
/// `completed_at`. Completed: `completed_at` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// The target in business minutes.
    pub target_minutes: u32,
    /// Business time used before `running_since` (or before the pause or completion), in
    /// milliseconds.
    pub used_ms: i64,
    /// Since when the clock runs; `None` while paused or completed.
    pub running_since: Option<DateTime<Utc>>,
    /// When the target was met (first response given, ticket resolved).
    pub completed_at: Option<DateTime<Utc>>,
    /// When the target is due; `None` while paused. Kept after completion. If the target was
    /// already used up when the clock (re)started, the moment it (re)started.
    pub due_at: Option<DateTime<Utc>>,
    /// When the warning comes; `None` while paused.
    pub warn_at: Option<DateTime<Utc>>,
    /// Whether `sla_warning` was emitted for this clock.
    pub warning_sent: bool,
    /// Whether `sla_breached` was emitted for this clock.
    pub breach_sent: bool,
}

/// Formats a ticket number: `prefix` + `-` + the counter, zero-padded to four digits.
pub fn format_ticket_number(prefix: &str, seq: i64) -> String {
    format!("{prefix}-{seq:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_parses_trimmed_and_case_insensitive() {
        for (input, expected) in [
            ("high", Some(Priority::High)),
            ("  HIGH ", Some(Priority::High)),
            ("Critical", Some(Priority::Critical)),
            ("low\n", Some(Priority::Low)),
            ("urgent", None),
            ("", None),
            ("hi gh", None),
        ] {
            assert_eq!(Priority::parse_lenient(input), expected, "{input:?}");
        }
        assert!(Priority::Critical > Priority::High && Priority::Medium > Priority::Low);
    }

    #[test]
    fn status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(s.as_str().into()));
        }
        assert!("done".parse::<Status>().is_err());
    }

    #[test]
    fn ticket_numbers_are_padded() {
        assert_eq!(format_ticket_number("TKT", 7), "TKT-0007");
        assert_eq!(format_ticket_number("TKT", 12345), "TKT-12345");
    }
}
