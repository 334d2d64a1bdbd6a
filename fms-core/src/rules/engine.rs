//! The decision: one pure, deterministic function from (ticket, complainant, rule set,
//! calendar, roster with loads, round-robin cursors, now) to final priority, SLA, executor and
//! the trace explaining all three.
//!
//! There is no separate dry-run engine: a dry run is [`decide`] whose result is not stored.
//! [`dry_run`] is an alias that says so at the call site.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::ids::UserId;
use crate::rules::allocation::{AllocationRequest, Candidate, allocate};
use crate::rules::calendar::{BusinessCalendar, is_working_time};
use crate::rules::condition::Facts;
use crate::rules::decision::{
    AllocationTrace, CursorUpdate, Decision, RuleOutcome, RuleTrace, SlaTrace, Trace,
};
use crate::rules::ruleset::{Assign, DEFAULT_SLA_POLICY, Rule, RuleSet};
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
/// Each step appends its part of the [`Trace`]. Equal inputs give equal decisions: nothing
/// depends on the roster's order, hash order, randomness or the clock.
pub fn decide(input: &DecisionInput<'_>) -> Decision {
    let mut trace = Trace {
        ruleset_version: input.rules.map(|r| r.version),
        ..Trace::default()
    };
    let matched = match_rules(input, &mut trace);
    trace_final_priority(
        input.report.submitted_priority,
        matched.priority,
        &mut trace,
    );
    let sla_state = start_sla(input, &matched, &mut trace);
    let allocation = allocate_executor(input, matched.assign.as_ref(), &mut trace);
    Decision {
        priority: matched.priority,
        sla: sla_state.due(),
        executor: allocation.executor,
        unassigned_reason: allocation.unassigned_reason,
        trace,
        sla_policy: matched.policy,
        sla_state,
        pool: allocation.pool,
        round_robin: allocation.round_robin,
    }
}

/// What the rules made of a ticket: the state [`decide`]'s later steps start from.
#[derive(Debug)]
struct Matched {
    /// The final priority.
    priority: Priority,
    /// The SLA policy.
    policy: String,
    /// The rule that chose the policy, if any.
    policy_by: Option<String>,
    /// What to allocate, and what asked for it (`rule "hvac-ac"`, `default_allocation`).
    assign: Option<(Assign, String)>,
}

/// Step 1: runs the rules in order, recording each in `trace`; without a rule set, the
/// submitted priority and the default SLA policy stand.
fn match_rules(input: &DecisionInput<'_>, trace: &mut Trace) -> Matched {
    let mut matched = Matched {
        priority: input.report.submitted_priority,
        policy: DEFAULT_SLA_POLICY.to_owned(),
        policy_by: None,
        assign: None,
    };
    let Some(rules) = input.rules else {
        trace.steps.push(format!(
            "no rule set: priority {} as submitted, default SLA targets",
            matched.priority
        ));
        return matched;
    };
    trace.steps.push(format!(
        "rule set version {}: {} rules, submitted priority {}",
        rules.version,
        rules.rules.len(),
        matched.priority
    ));
    let inside_hours = is_working_time(input.calendar, input.now);
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
        } else if !rule.enabled {
            line.outcome = RuleOutcome::Disabled;
            line.why = "disabled".to_owned();
        } else {
            let facts = Facts {
                report: input.report,
                complainant: input.complainant,
                priority: matched.priority,
                inside_hours,
            };
            let (holds, why) = match &rule.conditions {
                Some(c) => c.eval(&facts),
                None => (true, "no conditions: matches every ticket".to_owned()),
            };
            line.why = why;
            if holds {
                line.outcome = RuleOutcome::Matched;
                if apply_actions(rule, &mut matched, &mut line.effects) {
                    stopped_by = Some(rule.id.clone());
                }
                trace.steps.push(format!(
                    "rule {:?} matched ({}): {}",
                    rule.id,
                    line.why,
                    line.effects.join(", ")
                ));
            }
        }
        trace.rules.push(line);
    }
    if matched.assign.is_none()
        && let Some(default) = &rules.default_allocation
    {
        matched.assign = Some((default.clone(), "default_allocation".to_owned()));
    }
    matched
}

/// Applies a matching rule's actions to `matched`, describing each in `effects`. Returns
/// whether the rule stops processing.
fn apply_actions(rule: &Rule, matched: &mut Matched, effects: &mut Vec<String>) -> bool {
    let a = &rule.actions;
    let priority = &mut matched.priority;
    if let Some(p) = &a.set_priority {
        match Priority::parse_lenient(p) {
            Some(p) => {
                effects.push(format!("set priority {priority} -> {p}"));
                *priority = p;
            }
            None => effects.push(format!("ignored unknown priority {p:?}")),
        }
    }
    if let Some(p) = &a.raise_priority_to {
        match Priority::parse_lenient(p) {
            Some(p) if p > *priority => {
                effects.push(format!("raise priority {priority} -> {p}"));
                *priority = p;
            }
            Some(p) => effects.push(format!(
                "priority {priority} already at least {p}, unchanged"
            )),
            None => effects.push(format!("ignored unknown priority {p:?}")),
        }
    }
    if let Some(name) = &a.sla_policy {
        effects.push(format!("SLA policy {name:?}"));
        matched.policy = name.clone();
        matched.policy_by = Some(rule.id.clone());
    }
    if let Some(target) = &a.assign {
        effects.push(describe_assign(target));
        matched.assign = Some((target.clone(), format!("rule {:?}", rule.id)));
    }
    if a.stop {
        effects.push("stop".to_owned());
    }
    a.stop
}

/// Records the final priority against the submitted one.
fn trace_final_priority(submitted: Priority, priority: Priority, trace: &mut Trace) {
    if priority != submitted {
        trace
            .steps
            .push(format!("final priority {priority} (submitted {submitted})"));
    } else {
        trace
            .steps
            .push(format!("final priority {priority} as submitted"));
    }
}

/// Step 2: starts the SLA clocks at `now` with the chosen policy's targets for the final
/// priority, counted in the calendar.
fn start_sla(input: &DecisionInput<'_>, matched: &Matched, trace: &mut Trace) -> SlaState {
    let Matched {
        priority, policy, ..
    } = matched;
    let priority = *priority;
    let targets = targets_for(input.rules, policy);
    let target = targets.for_priority(priority);
    let calendar = input.calendar.map(|c| c.timezone().name().to_owned());
    trace.steps.push(format!(
        "SLA policy {policy:?}, {priority}: response {} min, resolution {} min, {}",
        target.response_minutes,
        target.resolution_minutes,
        calendar
            .as_deref()
            .map_or_else(|| "24x7".to_owned(), |z| format!("business calendar {z}")),
    ));
    trace.sla = Some(SlaTrace {
        policy: policy.clone(),
        chosen_by: matched.policy_by.clone(),
        priority,
        target,
        calendar,
    });
    SlaState::start(policy, priority, &targets, input.now, input.calendar)
}

/// What step 3 chose.
#[derive(Debug, Default)]
struct Allocated {
    executor: Option<UserId>,
    pool: Option<String>,
    round_robin: Option<CursorUpdate>,
    unassigned_reason: Option<String>,
}

/// Step 3: allocates the executor `assign` asks for, recording how in `trace`.
fn allocate_executor(
    input: &DecisionInput<'_>,
    assign: Option<&(Assign, String)>,
    trace: &mut Trace,
) -> Allocated {
    let allocated = match (assign, input.rules) {
        (Some((target, requested_by)), Some(rules)) => {
            let allocation = allocate(&AllocationRequest {
                rules,
                assign: target,
                report: input.report,
                roster: input.roster,
                cursors: input.cursors,
            });
            trace.allocation = allocation.trace;
            trace.allocation.requested_by = Some(requested_by.clone());
            Allocated {
                unassigned_reason: allocation
                    .executor
                    .is_none()
                    .then(|| trace.allocation.reason.clone()),
                executor: allocation.executor,
                pool: allocation.pool,
                round_robin: allocation.cursor,
            }
        }
        (_, None) => unassigned("no allocation rules", trace),
        (None, Some(_)) => unassigned(
            "no matching rule assigns the ticket and there is no default_allocation",
            trace,
        ),
    };
    match allocated.executor {
        Some(id) => trace
            .steps
            .push(format!("assigned {id}: {}", trace.allocation.reason)),
        None => trace
            .steps
            .push(format!("unassigned: {}", trace.allocation.reason)),
    }
    allocated
}

/// No allocation was attempted, for `reason`.
fn unassigned(reason: &str, trace: &mut Trace) -> Allocated {
    trace.allocation = AllocationTrace {
        reason: reason.to_owned(),
        ..AllocationTrace::default()
    };
    Allocated {
        unassigned_reason: Some(reason.to_owned()),
        ..Allocated::default()
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
