//! The decision: one pure, deterministic function from (ticket, complainant, rule set,
//! calendar, roster with loads, round-robin cursors, now) to final priority, SLA, executor and
//! the trace explaining all three.
//!
//! There is no separate dry-run engine: a dry run is [`decide`] whose result is not stored.
//! [`dry_run`] is an alias that says so at the call site.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::decision::{AllocationTrace, Decision, RuleOutcome, RuleTrace, SlaTrace, Trace};
use crate::ids::UserId;
use crate::rules::allocation::{AllocationRequest, Candidate, allocate};
use crate::rules::calendar::{BusinessCalendar, is_working_time};
use crate::rules::condition::Facts;
use crate::rules::ruleset::{Assign, DEFAULT_SLA_POLICY, RuleSet};
use crate::rules::sla::{SlaState, targets_for};
use crate::ticket::{Priority, Report};
use crate::user::User;

static NO_CURSORS: BTreeMap<String, UserId> = BTreeMap::new();

/// Everything a decision depends on. Build with [`DecisionInput::new`] and `with_*`.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    /// What was reported.
    pub report: &'a Report,
    /// Who reported it (for department/designation conditions).
    pub complainant: &'a User,
    /// The tenant's rule set; `None`: submitted priority, default SLA, no allocation.
    pub rules: Option<&'a RuleSet>,
    /// The tenant's business calendar; `None`: 24x7.
    pub calendar: Option<&'a BusinessCalendar>,
    /// Executors who might get the ticket, with their current open-ticket counts.
    pub roster: &'a [Candidate],
    /// Round-robin cursors: pool name -> the last executor that pool assigned. A pool that
    /// never assigned anyone has no entry.
    pub cursors: &'a BTreeMap<String, UserId>,
    /// The creation moment: SLA clocks start here, business-hours conditions look at it.
    pub now: DateTime<Utc>,
}

impl<'a> DecisionInput<'a> {
    /// An input with no rule set, no calendar, an empty roster and no cursors.
    pub fn new(report: &'a Report, complainant: &'a User, now: DateTime<Utc>) -> Self {
        Self {
            report,
            complainant,
            rules: None,
            calendar: None,
            roster: &[],
            cursors: &NO_CURSORS,
            now,
        }
    }

    /// Sets the rule set.
    pub fn with_rules(mut self, rules: &'a RuleSet) -> Self {
        self.rules = Some(rules);
        self
    }

    /// Sets the business calendar.
    pub fn with_calendar(mut self, calendar: &'a BusinessCalendar) -> Self {
        self.calendar = Some(calendar);
        self
    }

    /// Sets the roster.
    pub fn with_roster(mut self, roster: &'a [Candidate]) -> Self {
        self.roster = roster;
        self
    }

    /// Sets the round-robin cursors.
    pub fn with_cursors(mut self, cursors: &'a BTreeMap<String, UserId>) -> Self {
        self.cursors = cursors;
        self
    }
}

/// A dry run: exactly [`decide`]. Nothing is stored by either; the name documents intent.
pub fn dry_run(input: &DecisionInput<'_>) -> Decision {
    decide(input)
}

/// Decides priority, SLA and executor for a new ticket.
///
/// 1. Rules run in order. Each enabled rule whose conditions hold applies its actions:
///    `set_priority`, then `raise_priority_to`, then `sla_policy` and `assign` (a later
///    matching rule overrides an earlier one's), then `stop` ends processing.
/// 2. The SLA clocks start at `now` with the chosen policy's targets for the final priority,
///    counted in the calendar.
/// 3. The executor comes from the last matching rule's `assign`, else the rule set's
///    `default_allocation`, through [`allocate`]'s filters, chooser and fallback chain.
///
/// Equal inputs give equal decisions: nothing depends on the roster's order, hash order,
/// randomness or the clock.
pub fn decide(input: &DecisionInput<'_>) -> Decision {
    let report = input.report;
    let inside_hours = is_working_time(input.calendar, input.now);
    let mut trace = Trace {
        ruleset_version: input.rules.map(|r| r.version),
        ..Trace::default()
    };
    let mut priority = report.submitted_priority;
    let mut policy = DEFAULT_SLA_POLICY.to_owned();
    let mut policy_by: Option<String> = None;
    let mut assign: Option<(Assign, String)> = None;

    match input.rules {
        None => trace.steps.push(format!(
            "no rule set: priority {priority} as submitted, default SLA targets"
        )),
        Some(rules) => {
            trace.steps.push(format!(
                "rule set version {}: {} rules, submitted priority {priority}",
                rules.version,
                rules.rules.len()
            ));
            let mut stopped_by: Option<String> = None;
            for (index, rule) in rules.rules.iter().enumerate() {
                let mut line = RuleTrace {
                    index,
                    id: rule.id.clone(),
                    outcome: RuleOutcome::NotMatched,
                    why: String::new(),
                    effects: Vec::new(),
                };
                if let Some(stopper) = &stopped_by {
                    line.outcome = RuleOutcome::NotEvaluated;
                    line.why = format!("processing stopped by rule {stopper:?}");
                    trace.rules.push(line);
                    continue;
                }
                if !rule.enabled {
                    line.outcome = RuleOutcome::Disabled;
                    line.why = "disabled".to_owned();
                    trace.rules.push(line);
                    continue;
                }
                let facts = Facts {
                    report,
                    complainant: input.complainant,
                    priority,
                    inside_hours,
                };
                let (matched, why) = match &rule.conditions {
                    Some(c) => c.eval(&facts),
                    None => (true, "no conditions: matches every ticket".to_owned()),
                };
                line.why = why;
                if !matched {
                    trace.rules.push(line);
                    continue;
                }
                line.outcome = RuleOutcome::Matched;
                let a = &rule.actions;
                if let Some(p) = &a.set_priority {
                    match Priority::parse_lenient(p) {
                        Some(p) => {
                            line.effects.push(format!("set priority {priority} -> {p}"));
                            priority = p;
                        }
                        None => line.effects.push(format!("ignored unknown priority {p:?}")),
                    }
                }
                if let Some(p) = &a.raise_priority_to {
                    match Priority::parse_lenient(p) {
                        Some(p) if p > priority => {
                            line.effects
                                .push(format!("raise priority {priority} -> {p}"));
                            priority = p;
                        }
                        Some(p) => line.effects.push(format!(
                            "priority {priority} already at least {p}, unchanged"
                        )),
                        None => line.effects.push(format!("ignored unknown priority {p:?}")),
                    }
                }
                if let Some(name) = &a.sla_policy {
                    line.effects.push(format!("SLA policy {name:?}"));
                    policy = name.clone();
                    policy_by = Some(rule.id.clone());
                }
                if let Some(target) = &a.assign {
                    line.effects.push(describe_assign(target));
                    assign = Some((target.clone(), format!("rule {:?}", rule.id)));
                }
                if a.stop {
                    line.effects.push("stop".to_owned());
                    stopped_by = Some(rule.id.clone());
                }
                trace.steps.push(format!(
                    "rule {:?} matched ({}): {}",
                    rule.id,
                    line.why,
                    line.effects.join(", ")
                ));
                trace.rules.push(line);
            }
            if assign.is_none()
                && let Some(default) = &rules.default_allocation
            {
                assign = Some((default.clone(), "default_allocation".to_owned()));
            }
        }
    }
    if priority != report.submitted_priority {
        trace.steps.push(format!(
            "final priority {priority} (submitted {})",
            report.submitted_priority
        ));
    } else {
        trace
            .steps
            .push(format!("final priority {priority} as submitted"));
    }

    // SLA.
    let targets = targets_for(input.rules, &policy);
    let sla_state = SlaState::start(&policy, priority, &targets, input.now, input.calendar);
    let calendar_name = input.calendar.map(|c| c.timezone().name().to_owned());
    trace.steps.push(format!(
        "SLA policy {policy:?}, {priority}: response {} min, resolution {} min, {}",
        targets.for_priority(priority).response_minutes,
        targets.for_priority(priority).resolution_minutes,
        calendar_name
            .as_deref()
            .map_or_else(|| "24x7".to_owned(), |z| format!("business calendar {z}")),
    ));
    trace.sla = Some(SlaTrace {
        policy: policy.clone(),
        chosen_by: policy_by,
        priority,
        target: targets.for_priority(priority),
        calendar: calendar_name,
    });

    // Allocation.
    let (executor, pool, round_robin, unassigned_reason) = match (&assign, input.rules) {
        (Some((target, requested_by)), Some(rules)) => {
            let allocation = allocate(&AllocationRequest {
                rules,
                assign: target,
                report,
                roster: input.roster,
                cursors: input.cursors,
            });
            trace.allocation = allocation.trace;
            trace.allocation.requested_by = Some(requested_by.clone());
            let reason = allocation
                .executor
                .is_none()
                .then(|| trace.allocation.reason.clone());
            (
                allocation.executor,
                allocation.pool,
                allocation.cursor,
                reason,
            )
        }
        (_, None) => {
            let reason = "no allocation rules".to_owned();
            trace.allocation = AllocationTrace {
                reason: reason.clone(),
                ..AllocationTrace::default()
            };
            (None, None, None, Some(reason))
        }
        (None, Some(_)) => {
            let reason =
                "no matching rule assigns the ticket and there is no default_allocation".to_owned();
            trace.allocation = AllocationTrace {
                reason: reason.clone(),
                ..AllocationTrace::default()
            };
            (None, None, None, Some(reason))
        }
    };
    match executor {
        Some(id) => trace
            .steps
            .push(format!("assigned {id}: {}", trace.allocation.reason)),
        None => trace
            .steps
            .push(format!("unassigned: {}", trace.allocation.reason)),
    }

    Decision {
        priority,
        sla: sla_state.due(),
        executor,
        unassigned_reason,
        trace,
        sla_policy: policy,
        sla_state,
        pool,
        round_robin,
    }
}

fn describe_assign(a: &Assign) -> String {
    match (&a.executor, &a.pool) {
        (Some(e), Some(p)) => format!("assign executor {e}, else pool {p:?}"),
        (Some(e), None) => format!("assign executor {e}"),
        (None, Some(p)) => format!("assign pool {p:?}"),
        (None, None) => "assign nothing".to_owned(),
    }
}
