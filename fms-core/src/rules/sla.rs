//! SLA clocks: first response and resolution, counted in business time, paused while a ticket
//! is `on-hold` (resolution only), recomputed on priority changes keeping the time used, with
//! warning and breach moments a sweeper turns into `sla_warning` / `sla_breached` activities
//! exactly once.
//!
//! [`SlaState`] is plain data, defined with the ticket it belongs to (so the ticket needs
//! nothing from the rule engine): a store persists it as JSON next to the ticket, and every
//! change (status, priority, sweep) is a pure function of the old state, the moment and the
//! calendar, implemented here. Used time is kept in milliseconds, so pausing and resuming
//! never drifts.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::ActivityType;
use crate::rules::calendar::{BusinessCalendar, add_working_time, working_time_between};
use crate::rules::decision::SlaTargets;
use crate::rules::ruleset::{DEFAULT_SLA_POLICY, RuleSet};
use crate::ticket::{Priority, SlaDue};

pub use crate::ticket::{ClockState, SlaState};

/// The SLA targets of `policy` in `rules`: the named policy, else the rule set's default
/// targets, else the built-in defaults.
pub fn targets_for(rules: Option<&RuleSet>, policy: &str) -> SlaTargets {
    match rules {
        Some(r) => r.sla_policy(policy).copied().unwrap_or(r.sla_targets),
        None => SlaTargets::default(),
    }
}

/// Which of a ticket's two clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaClockKind {
    /// Time to first response.
    Response,
    /// Time to resolution.
    Resolution,
}

/// A moment of a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaEventKind {
    /// The warning share of the target is used up (`sla_warning`).
    Warning,
    /// The target is used up (`sla_breached`).
    Breach,
}

/// A warning or breach that has come, to record as an activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaEvent {
    /// Which clock.
    pub clock: SlaClockKind,
    /// Warning or breach.
    pub kind: SlaEventKind,
    /// When it came (may be earlier than the sweep that noticed it).
    pub at: DateTime<Utc>,
}

impl SlaEvent {
    /// The activity type to record (`sla_warning` or `sla_breached`).
    pub fn activity_type(&self) -> ActivityType {
        match self.kind {
            SlaEventKind::Warning => ActivityType::SlaWarning,
            SlaEventKind::Breach => ActivityType::SlaBreached,
        }
    }
}

impl ClockState {
    fn start(target_minutes: u32, at: DateTime<Utc>) -> Self {
        Self {
            target_minutes,
            used_ms: 0,
            running_since: Some(at),
            completed_at: None,
            due_at: None,
            warn_at: None,
            warning_sent: false,
            breach_sent: false,
        }
    }

    /// Business time used up to `at`.
    pub fn used(&self, at: DateTime<Utc>, calendar: Option<&BusinessCalendar>) -> Duration {
        let before = Duration::milliseconds(self.used_ms);
        match self.running_since {
            Some(since) => before + working_time_between(calendar, since, at),
            None => before,
        }
    }

    /// Whether the clock runs.
    pub fn is_running(&self) -> bool {
        self.running_since.is_some()
    }

    /// Folds the running segment into `used_ms` at `at`.
    fn fold(&mut self, at: DateTime<Utc>, calendar: Option<&BusinessCalendar>) {
        if self.running_since.is_some() {
            self.used_ms = self.used(at, calendar).num_milliseconds();
        }
    }

    fn recompute(&mut self, warning_percent: u8, calendar: Option<&BusinessCalendar>) {
        let Some(since) = self.running_since else {
            if self.completed_at.is_none() {
                self.due_at = None;
                self.warn_at = None;
            }
            return;
        };
        let target_ms = i64::from(self.target_minutes) * 60_000;
        let warn_ms = target_ms * i64::from(warning_percent.min(100)) / 100;
        let after = |ms: i64| {
            let left = ms - self.used_ms;
            if left > 0 {
                add_working_time(calendar, since, Duration::milliseconds(left))
            } else {
                since
            }
        };
        self.due_at = Some(after(target_ms));
        self.warn_at = Some(after(warn_ms));
    }

    fn pause(&mut self, at: DateTime<Utc>, calendar: Option<&BusinessCalendar>) {
        if self.running_since.is_some() {
            self.fold(at, calendar);
            self.running_since = None;
            self.due_at = None;
            self.warn_at = None;
        }
    }

    fn resume(&mut self, at: DateTime<Utc>, percent: u8, calendar: Option<&BusinessCalendar>) {
        if self.running_since.is_none() {
            self.completed_at = None;
            self.running_since = Some(at);
            self.recompute(percent, calendar);
        }
    }

    fn complete(&mut self, at: DateTime<Utc>, calendar: Option<&BusinessCalendar>) {
        if self.completed_at.is_none() {
            self.fold(at, calendar);
            self.running_since = None;
            self.completed_at = Some(at);
        }
    }

    fn take_events(&mut self, clock: SlaClockKind, now: DateTime<Utc>, out: &mut Vec<SlaEvent>) {
        if self.running_since.is_none() {
            return;
        }
        let breached = self.due_at.filter(|due| *due <= now);
        if let Some(at) = self.warn_at.filter(|w| *w <= now)
            && !self.warning_sent
        {
            self.warning_sent = true;
            // A warning that arrives together with its breach is noise: only the breach goes.
            if breached.is_none() || self.breach_sent {
                out.push(SlaEvent {
                    clock,
                    kind: SlaEventKind::Warning,
                    at,
                });
            }
        }
        if let Some(at) = breached
            && !self.breach_sent
        {
            self.breach_sent = true;
            out.push(SlaEvent {
                clock,
                kind: SlaEventKind::Breach,
                at,
            });
        }
    }
}

impl SlaState {
    /// Both clocks start at `created_at`.
    pub fn start(
        policy: &str,
        priority: Priority,
        targets: &SlaTargets,
        created_at: DateTime<Utc>,
        calendar: Option<&BusinessCalendar>,
    ) -> Self {
        let target = targets.for_priority(priority);
        let mut state = Self {
            policy: policy.to_owned(),
            priority,
            warning_percent: targets.warning_percent,
            response: ClockState::start(target.response_minutes, created_at),
            resolution: ClockState::start(target.resolution_minutes, created_at),
        };
        state.response.recompute(state.warning_percent, calendar);
        state.resolution.recompute(state.warning_percent, calendar);
        state
    }

    /// [`SlaState::start`] with the built-in default targets and policy.
    pub fn start_default(
        priority: Priority,
        created_at: DateTime<Utc>,
        calendar: Option<&BusinessCalendar>,
    ) -> Self {
        Self::start(
            DEFAULT_SLA_POLICY,
            priority,
            &SlaTargets::default(),
            created_at,
            calendar,
        )
    }

    /// The due times to show on the ticket (`None` while paused).
    pub fn due(&self) -> SlaDue {
        SlaDue {
            response_due_at: self.response.due_at,
            resolution_due_at: self.resolution.due_at,
        }
    }

    /// The ticket goes `on-hold`: the resolution clock stops, keeping the time used. Does
    /// nothing if it is not running.
    pub fn pause(&mut self, at: DateTime<Utc>, calendar: Option<&BusinessCalendar>) {
        self.resolution.pause(at, calendar);
    }

    /// The ticket leaves `on-hold`: the resolution clock runs again from `at` with the time it
    /// had used. Does nothing if it runs or is completed.
    pub fn resume(&mut self, at: DateTime<Utc>, calendar: Option<&BusinessCalendar>) {
        if self.resolution.completed_at.is_none() {
            self.resolution.resume(at, self.warning_percent, calendar);
        }
    }

    /// The first response was given: the response clock stops for good.
    pub fn respond(&mut self, at: DateTime<Utc>, calendar: Option<&BusinessCalendar>) {
        self.response.complete(at, calendar);
    }

    /// The ticket was resolved: the resolution clock stops (and the response clock, if still
    /// running, since a resolution answers the complainant too).
    pub fn resolve(&mut self, at: DateTime<Utc>, calendar: Option<&BusinessCalendar>) {
        self.response.complete(at, calendar);
        self.resolution.complete(at, calendar);
    }

    /// The ticket was reopened: the resolution clock runs again with the time it had used.
    pub fn reopen(&mut self, at: DateTime<Utc>, calendar: Option<&BusinessCalendar>) {
        self.resolution.resume(at, self.warning_percent, calendar);
    }

    /// The priority changed at `at`: both clocks keep the time they used and get the new
    /// priority's targets from `targets` (use [`targets_for`] with [`SlaState::policy`]).
    /// A paused clock stays paused; a completed one stays completed. Warnings or breaches
    /// already emitted are not emitted again.
    pub fn change_priority(
        &mut self,
        priority: Priority,
        targets: &SlaTargets,
        at: DateTime<Utc>,
        calendar: Option<&BusinessCalendar>,
    ) {
        let target = targets.for_priority(priority);
        self.priority = priority;
        self.warning_percent = targets.warning_percent;
        for (clock, minutes) in [
            (&mut self.response, target.response_minutes),
            (&mut self.resolution, target.resolution_minutes),
        ] {
            if clock.completed_at.is_some() {
                continue;
            }
            if clock.running_since.is_some() {
                clock.fold(at, calendar);
                clock.running_since = Some(at);
            }
            clock.target_minutes = minutes;
            clock.recompute(self.warning_percent, calendar);
        }
    }

    /// The warnings and breaches that have come by `now` and were not emitted yet, in order;
    /// marks them emitted. Persist the new state together with the activities.
    pub fn take_due_events(&mut self, now: DateTime<Utc>) -> Vec<SlaEvent> {
        let mut out = Vec::new();
        self.response
            .take_events(SlaClockKind::Response, now, &mut out);
        self.resolution
            .take_events(SlaClockKind::Resolution, now, &mut out);
        out.sort_by_key(|e| (e.at, e.kind == SlaEventKind::Breach));
        out
    }

    /// The earliest warning or breach still to come (for a sweeper's index), if any.
    pub fn next_event_at(&self) -> Option<DateTime<Utc>> {
        [&self.response, &self.resolution]
            .into_iter()
            .filter(|c| c.is_running())
            .flat_map(|c| {
                [
                    c.warn_at.filter(|_| !c.warning_sent),
                    c.due_at.filter(|_| !c.breach_sent),
                ]
            })
            .flatten()
            .min()
    }
}
