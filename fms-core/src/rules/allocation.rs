//! Executor allocation: filters (executor role, active, onboarded, skill covers the category,
//! covers the building, under the open-ticket cap), then a chooser (round-robin, least-loaded,
//! or a fixed executor), then a fallback chain (backup pools, then unassigned with a reason).
//! Every filtered-out candidate is recorded with every reason.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::rules::decision::{
    AllocationAttempt, AllocationSource, AllocationTrace, CursorUpdate, RejectedCandidate,
};
use crate::rules::ruleset::{Assign, Chooser, Pool, RuleSet};
use crate::ticket::Report;
use crate::user::{OnboardingStatus, Role, User};

/// A user who might get the ticket, with their current load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The user.
    pub user: User,
    /// Their open tickets (open, in progress or on hold) right now.
    pub open_tickets: u32,
}

/// Why a filter rejected a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "filter", rename_all = "snake_case")]
pub enum Rejection {
    /// The user's role is not `executor`.
    NotExecutor {
        /// Their role.
        role: Role,
    },
    /// The user is inactive.
    Inactive,
    /// The tenant requires onboarding and the user is not onboarded.
    NotOnboarded {
        /// Their onboarding status.
        onboarding: OnboardingStatus,
    },
    /// None of the user's skills is the ticket's category.
    MissingSkill {
        /// The ticket's category.
        category: String,
    },
    /// The user does not cover the ticket's building.
    OtherBuilding {
        /// The ticket's building.
        building: String,
    },
    /// The user is at or above the open-ticket cap.
    AtCapacity {
        /// Their open tickets.
        open_tickets: u32,
        /// The cap.
        max: u32,
    },
    /// A fixed executor who is not in the roster (unknown user, or another tenant's).
    NotInRoster,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::NotExecutor { role } => write!(f, "role is {role}, not executor"),
            Rejection::Inactive => f.write_str("inactive"),
            Rejection::NotOnboarded { onboarding } => {
                write!(f, "not onboarded ({})", onboarding.as_str())
            }
            Rejection::MissingSkill { category } => write!(f, "no skill {category:?}"),
            Rejection::OtherBuilding { building } => {
                write!(f, "does not cover building {building:?}")
            }
            Rejection::AtCapacity { open_tickets, max } => {
                write!(f, "{open_tickets} open tickets, cap {max}")
            }
            Rejection::NotInRoster => f.write_str("not in the roster"),
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// The filters one allocation step applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filters<'a> {
    /// Reject users who are not onboarded.
    pub require_onboarded: bool,
    /// Reject users with this many open tickets or more.
    pub max_open_tickets: Option<u32>,
    /// Reject users without this skill (case-insensitive); `None`: no skill check.
    pub category: Option<&'a str>,
    /// Reject users who do not cover this building (no buildings = all); `None`: no check.
    pub building: Option<&'a str>,
}

impl Filters<'_> {
    /// Every filter `candidate` fails; empty when it is eligible.
    pub fn check(&self, candidate: &Candidate) -> Vec<Rejection> {
        let user = &candidate.user;
        let mut out = Vec::new();
        if user.role != Role::Executor {
            out.push(Rejection::NotExecutor { role: user.role });
        }
        if !user.active {
            out.push(Rejection::Inactive);
        }
        if self.require_onboarded && user.onboarding != OnboardingStatus::Onboarded {
            out.push(Rejection::NotOnboarded {
                onboarding: user.onboarding,
            });
        }
        if let Some(category) = self.category
            && !user.skills.iter().any(|s| same(s, category))
        {
            out.push(Rejection::MissingSkill {
                category: category.to_owned(),
            });
        }
        if let Some(building) = self.building
            && !user.buildings.is_empty()
            && !user.buildings.iter().any(|b| same(b, building))
        {
            out.push(Rejection::OtherBuilding {
                building: building.to_owned(),
            });
        }
        if let Some(max) = self.max_open_tickets
            && candidate.open_tickets >= max
        {
            out.push(Rejection::AtCapacity {
                open_tickets: candidate.open_tickets,
                max,
            });
        }
        out
    }
}

/// Round-robin: the first of `eligible` (any order) whose id comes after `cursor` in id order,
/// wrapping around to the smallest id. `None` only when `eligible` is empty.
pub fn round_robin(eligible: &[UserId], cursor: Option<UserId>) -> Option<UserId> {
    let after = eligible
        .iter()
        .filter(|id| cursor.is_none_or(|c| **id > c))
        .min();
    after.or_else(|| eligible.iter().min()).copied()
}

/// Least-loaded: the fewest open tickets; ties go to the smallest user id.
pub fn least_loaded(eligible: &[&Candidate]) -> Option<UserId> {
    eligible
        .iter()
        .min_by_key(|c| (c.open_tickets, c.user.id))
        .map(|c| c.user.id)
}

/// What an allocation needs.
#[derive(Debug, Clone, Copy)]
pub struct AllocationRequest<'a> {
    /// The rule set (pools, global filters).
    pub rules: &'a RuleSet,
    /// What to try.
    pub assign: &'a Assign,
    /// The ticket (category, building).
    pub report: &'a Report,
    /// Everyone who might get it, with their loads.
    pub roster: &'a [Candidate],
    /// Round-robin cursors by pool name (absent: the pool never assigned anyone).
    pub cursors: &'a BTreeMap<String, UserId>,
}

/// What an allocation decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The executor, if anyone passed.
    pub executor: Option<UserId>,
    /// The pool that chose, when a pool did.
    pub pool: Option<String>,
    /// The cursor move to compare-and-set, when a round-robin pool chose.
    pub cursor: Option<CursorUpdate>,
    /// The attempts, the chosen one and why (`requested_by` is left empty).
    pub trace: AllocationTrace,
}

/// Runs the pipeline: the fixed executor (if any), then the pool (if any) and its backups,
/// in order, until someone passes every filter.
pub fn allocate(req: &AllocationRequest<'_>) -> Allocation {
    let settings = req.rules.allocation;
    let building = req
        .report
        .building
        .as_deref()
        .filter(|b| !b.trim().is_empty());
    let mut trace = AllocationTrace::default();
    // Stable order, one entry per user.
    let mut seen = BTreeSet::new();
    let mut roster: Vec<&Candidate> = req
        .roster
        .iter()
        .filter(|c| seen.insert(c.user.id))
        .collect();
    roster.sort_by_key(|c| c.user.id);

    if let Some(id) = req.assign.executor {
        let filters = Filters {
            require_onboarded: settings.require_onboarded,
            max_open_tickets: settings.max_open_tickets,
            category: Some(&req.report.category),
            building,
        };
        let (rejected, chosen) = match roster.iter().find(|c| c.user.id == id) {
            None => (
                vec![(id, String::new(), vec![Rejection::NotInRoster])],
                None,
            ),
            Some(c) => {
                let reasons = filters.check(c);
                if reasons.is_empty() {
                    (Vec::new(), Some(id))
                } else {
                    (vec![(id, c.user.name.clone(), reasons)], None)
                }
            }
        };
        let why = match chosen {
            Some(_) => "fixed executor passes every filter".to_owned(),
            None => "fixed executor fails a filter".to_owned(),
        };
        trace.attempts.push(AllocationAttempt {
            source: AllocationSource::Executor { id },
            rejected: rejected
                .into_iter()
                .map(|(user, name, reasons)| RejectedCandidate {
                    user,
                    name,
                    reasons,
                })
                .collect(),
            eligible: chosen.into_iter().collect(),
            chosen,
            why: why.clone(),
        });
        if let Some(id) = chosen {
            trace.chosen = Some(id);
            trace.reason = format!("fixed executor {id}: {why}");
            return Allocation {
                executor: Some(id),
                pool: None,
                cursor: None,
                trace,
            };
        }
    }

    if let Some(first) = req.assign.pool.as_deref() {
        let mut tried = BTreeSet::new();
        for name in req.rules.backup_chain(first) {
            if !tried.insert(name) {
                break;
            }
            let Some(pool) = req.rules.pools.get(name) else {
                trace.attempts.push(AllocationAttempt {
                    source: AllocationSource::Pool {
                        name: name.to_owned(),
                        chooser: String::new(),
                    },
                    rejected: Vec::new(),
                    eligible: Vec::new(),
                    chosen: None,
                    why: format!("unknown pool {name:?}"),
                });
                break;
            };
            let (attempt, cursor) = try_pool(req, name, pool, &roster, building);
            let chosen = attempt.chosen;
            let why = attempt.why.clone();
            trace.attempts.push(attempt);
            if let Some(id) = chosen {
                trace.chosen = Some(id);
                trace.reason = format!("pool {name:?}: {why}");
                return Allocation {
                    executor: Some(id),
                    pool: Some(name.to_owned()),
                    cursor,
                    trace,
                };
            }
        }
    }

    trace.reason = unassigned_reason(req.assign, &trace.attempts);
    Allocation {
        executor: None,
        pool: None,
        cursor: None,
        trace,
    }
}

fn try_pool(
    req: &AllocationRequest<'_>,
    name: &str,
    pool: &Pool,
    roster: &[&Candidate],
    building: Option<&str>,
) -> (AllocationAttempt, Option<CursorUpdate>) {
    let settings = req.rules.allocation;
    let filters = Filters {
        require_onboarded: settings.require_onboarded,
        max_open_tickets: pool.max_open_tickets.or(settings.max_open_tickets),
        category: pool.require_skill.then_some(req.report.category.as_str()),
        building: building.filter(|_| pool.require_building),
    };
    let members = roster.iter().copied().filter(|c| {
        pool.members.as_ref().is_none_or(|m| m.contains(&c.user.id))
            && (pool.skills.is_empty()
                || c.user
                    .skills
                    .iter()
                    .any(|s| pool.skills.iter().any(|p| same(s, p))))
    });
    let mut rejected = Vec::new();
    let mut eligible: Vec<&Candidate> = Vec::new();
    for c in members {
        let reasons = filters.check(c);
        if reasons.is_empty() {
            eligible.push(c);
        } else {
            rejected.push(RejectedCandidate {
                user: c.user.id,
                name: c.user.name.clone(),
                reasons,
            });
        }
    }
    let ids: Vec<UserId> = eligible.iter().map(|c| c.user.id).collect();
    let previous = req.cursors.get(name).copied();
    let (chosen, why, cursor) = match pool.chooser {
        Chooser::RoundRobin => match round_robin(&ids, previous) {
            Some(next) => {
                let why = match previous {
                    Some(p) => format!("round-robin: next eligible executor after {p}"),
                    None => "round-robin: first eligible executor (no cursor yet)".to_owned(),
                };
                let update = CursorUpdate {
                    pool: name.to_owned(),
                    previous,
                    next,
                };
                (Some(next), why, Some(update))
            }
            None => (None, String::new(), None),
        },
        Chooser::LeastLoaded => match least_loaded(&eligible) {
            Some(id) => {
                let open = eligible
                    .iter()
                    .find(|c| c.user.id == id)
                    .map_or(0, |c| c.open_tickets);
                let why = format!("least-loaded: {open} open tickets, fewest (ties by user id)");
                (Some(id), why, None)
            }
            None => (None, String::new(), None),
        },
    };
    let why = if chosen.is_some() {
        why
    } else if rejected.is_empty() {
        "no members".to_owned()
    } else {
        format!("no eligible executor ({} filtered out)", rejected.len())
    };
    let attempt = AllocationAttempt {
        source: AllocationSource::Pool {
            name: name.to_owned(),
            chooser: pool.chooser.as_str().to_owned(),
        },
        rejected,
        eligible: ids,
        chosen,
        why,
    };
    (attempt, cursor)
}

fn unassigned_reason(assign: &Assign, attempts: &[AllocationAttempt]) -> String {
    if attempts.is_empty() {
        return "nothing to try".to_owned();
    }
    let parts: Vec<String> = attempts
        .iter()
        .map(|a| match &a.source {
            AllocationSource::Executor { id } => {
                let reasons: Vec<String> = a
                    .rejected
                    .iter()
                    .flat_map(|r| r.reasons.iter().map(ToString::to_string))
                    .collect();
                format!("executor {id}: {}", reasons.join(", "))
            }
            AllocationSource::Pool { name, .. } => format!("pool {name:?}: {}", a.why),
        })
        .collect();
    let what = if assign.pool.is_some() {
        "no eligible executor"
    } else {
        "fixed executor not eligible and no pool to fall back to"
    };
    format!("{what}: {}", parts.join("; "))
}
