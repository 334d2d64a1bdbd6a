//! Property tests: decisions are deterministic (and independent of roster order), due times
//! are never before creation, 24x7 due = created + target exactly, the chosen executor passes
//! every filter, and calendar arithmetic is consistent across DST.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::{complainant, office, report, uid, user};
use crate::rules::allocation::Candidate;
use crate::rules::calendar::BusinessCalendar;
use crate::rules::decision::SlaTargets;
use crate::rules::engine::{DecisionInput, decide};
use crate::rules::ruleset::RuleSet;
use crate::rules::sla::SlaState;
use crate::ticket::Priority;
use crate::user::{OnboardingStatus, Role};

const CATEGORIES: [&str; 3] = ["HVAC", "IT", "Plumbing"];
const BUILDINGS: [&str; 2] = ["HQ", "Annex"];

fn priority() -> impl Strategy<Value = Priority> {
    prop::sample::select(Priority::ALL.to_vec())
}

/// Any moment in 2026 (both DST changes of both zones included), to the millisecond.
fn moment() -> impl Strategy<Value = DateTime<Utc>> {
    let start = super::utc("2026-01-01T00:00:00Z").timestamp_millis();
    (0i64..365 * 86_400_000)
        .prop_map(move |ms| DateTime::from_timestamp_millis(start + ms).unwrap_or_default())
}

fn calendars() -> Vec<Option<BusinessCalendar>> {
    vec![
        None,
        Some(office("Europe/Berlin", &["2026-12-25", "2026-05-01"])),
        Some(office("America/New_York", &["2026-07-03"])),
        Some(super::calendar(
            r#"{"timezone": "America/New_York", "windows": {"sunday": [
                {"start": "01:00", "end": "04:00"}, {"start": "22:00", "end": "24:00"}],
                "wednesday": [{"start": "00:00", "end": "24:00"}]}}"#,
        )),
    ]
}

fn candidate() -> impl Strategy<Value = Candidate> {
    (
        1u128..40,
        prop::sample::select(vec![
            Role::Executor,
            Role::Executor,
            Role::Admin,
            Role::Complainant,
        ]),
        prop::bool::weighted(0.8),
        prop::sample::select(vec![OnboardingStatus::Onboarded, OnboardingStatus::Pending]),
        prop::sample::subsequence(CATEGORIES.to_vec(), 0..=2),
        prop::sample::subsequence(BUILDINGS.to_vec(), 0..=1),
        0u32..6,
    )
        .prop_map(|(n, role, active, onboarding, skills, buildings, open)| {
            let mut u = user(n, "x", role);
            u.active = active;
            u.onboarding = onboarding;
            u.skills = skills.into_iter().map(str::to_lowercase).collect();
            u.buildings = buildings.into_iter().map(str::to_owned).collect();
            Candidate {
                user: u,
                open_tickets: open,
            }
        })
}

fn rule_sets() -> Vec<RuleSet> {
    [
        r#"{"version": 1, "pools": {"rr": {"max_open_tickets": 4}},
            "default_allocation": {"pool": "rr"}}"#,
        r#"{"version": 1, "allocation": {"require_onboarded": true, "max_open_tickets": 3},
            "pools": {"ll": {"chooser": "least_loaded", "backup": "any"},
                      "any": {"require_skill": false, "require_building": false}},
            "rules": [{"id": "hvac", "conditions": {"category": "HVAC"},
                       "actions": {"raise_priority_to": "critical", "assign": {"pool": "ll"}}},
                      {"id": "fixed", "conditions": {"not": {"category": "HVAC"}},
                       "actions": {"assign": {"executor": "00000000-0000-0000-0000-000000000007", "pool": "any"}}}]}"#,
    ]
    .iter()
    .map(|j| RuleSet::from_json(j).unwrap_or_else(|e| panic!("{e:?}")))
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn decisions_are_deterministic_and_chosen_executors_pass_every_filter(
        roster in prop::collection::vec(candidate(), 0..10),
        category in prop::sample::select(CATEGORIES.to_vec()),
        building in prop::option::of(prop::sample::select(BUILDINGS.to_vec())),
        submitted in priority(),
        now in moment(),
        cursor in prop::option::of(1u128..40),
        set_index in 0usize..2,
        cal_index in 0usize..4,
    ) {
        let sets = rule_sets();
        let set = &sets[set_index];
        let cals = calendars();
        let cal = cals[cal_index].as_ref();
        let mut r = report(category, submitted);
        r.building = building.map(str::to_owned);
        let who = complainant();
        let mut cursors = BTreeMap::new();
        if let Some(c) = cursor {
            cursors.insert("rr".to_owned(), uid(c));
        }
        let mut input = DecisionInput::new(&r, &who, now)
            .with_rules(set)
            .with_roster(&roster)
            .with_cursors(&cursors);
        if let Some(cal) = cal {
            input = input.with_calendar(cal);
        }
        let d = decide(&input);
        prop_assert_eq!(&decide(&input), &d);
        // Roster order does not matter (when user ids are unique).
        let mut unique: Vec<Candidate> = Vec::new();
        for c in &roster {
            if !unique.iter().any(|u| u.user.id == c.user.id) {
                unique.push(c.clone());
            }
        }
        let mut reversed = unique.clone();
        reversed.reverse();
        prop_assert_eq!(&decide(&input.with_roster(&unique)), &d);
        prop_assert_eq!(&decide(&input.with_roster(&reversed)), &d);

        prop_assert!(d.sla.response_due_at.is_some_and(|t| t >= now));
        prop_assert!(d.sla.resolution_due_at.is_some_and(|t| t >= now));
        match d.executor {
            None => prop_assert!(d.unassigned_reason.is_some()),
            Some(id) => {
                prop_assert!(d.unassigned_reason.is_none());
                let c = unique.iter().find(|c| c.user.id == id);
                prop_assert!(c.is_some(), "chosen executor is not in the roster");
                let Some(c) = c else { return Ok(()) };
                let pool = d.pool.as_ref().and_then(|p| set.pools.get(p));
                let cap = pool.and_then(|p| p.max_open_tickets).or(set.allocation.max_open_tickets);
                prop_assert_eq!(c.user.role, Role::Executor);
                prop_assert!(c.user.active);
                prop_assert!(!set.allocation.require_onboarded
                    || c.user.onboarding == OnboardingStatus::Onboarded);
                prop_assert!(cap.is_none_or(|cap| c.open_tickets < cap));
                if pool.is_none_or(|p| p.require_skill) {
                    prop_assert!(c.user.skills.iter().any(|s| s.eq_ignore_ascii_case(category)));
                }
                if let Some(b) = building
                    && pool.is_none_or(|p| p.require_building)
                {
                    prop_assert!(c.user.buildings.is_empty() || c.user.buildings.iter().any(|x| x == b));
                }
                if let Some(update) = &d.round_robin {
                    prop_assert_eq!(update.next, id);
                    prop_assert_eq!(update.previous, cursors.get(&update.pool).copied());
                }
            }
        }
    }

    #[test]
    fn due_never_before_creation_and_exact_without_calendar(
        p in priority(),
        created in moment(),
        cal_index in 0usize..4,
    ) {
        let cals = calendars();
        let cal = cals[cal_index].as_ref();
        let state = SlaState::start_default(p, created, cal);
        let due = state.due();
        let (response, resolution) = (due.response_due_at.unwrap(), due.resolution_due_at.unwrap());
        prop_assert!(response >= created && resolution >= response);
        prop_assert!(state.response.warn_at.is_some_and(|w| w >= created && w <= response));
        let target = SlaTargets::default().for_priority(p);
        match cal {
            None => {
                prop_assert_eq!(response, created + Duration::minutes(target.response_minutes.into()));
                prop_assert_eq!(resolution, created + Duration::minutes(target.resolution_minutes.into()));
            }
            Some(cal) => {
                prop_assert_eq!(
                    cal.business_time_between(created, resolution),
                    Duration::minutes(target.resolution_minutes.into())
                );
                prop_assert!(cal.is_business_time(resolution - Duration::milliseconds(1)));
            }
        }
    }

    #[test]
    fn pausing_never_loses_or_invents_time(
        created in moment(),
        pause_after in 0i64..200_000_000,
        paused_for in 0i64..400_000_000,
        cal_index in 0usize..4,
    ) {
        let cals = calendars();
        let cal = cals[cal_index].as_ref();
        let mut state = SlaState::start_default(Priority::Low, created, cal);
        let pause_at = created + Duration::milliseconds(pause_after);
        let resume_at = pause_at + Duration::milliseconds(paused_for);
        let used = state.resolution.used(pause_at, cal);
        state.pause(pause_at, cal);
        prop_assert_eq!(state.resolution.used_ms, used.num_milliseconds());
        state.resume(resume_at, cal);
        let due = state.due().resolution_due_at.unwrap();
        prop_assert!(due >= resume_at);
        let left = crate::rules::calendar::working_time_between(cal, resume_at, due);
        let target = Duration::minutes(SlaTargets::default().low.resolution_minutes.into());
        prop_assert_eq!(left, (target - used).max(Duration::zero()));
    }

    #[test]
    fn adding_then_measuring_gives_the_same_amount(
        start in moment(),
        minutes in 0u32..20_000,
        cal_index in 1usize..4,
    ) {
        let cals = calendars();
        let Some(cal) = cals[cal_index].as_ref() else { return Ok(()) };
        let due = cal.add_business_minutes(start, minutes);
        prop_assert!(due >= start);
        prop_assert_eq!(cal.business_minutes_between(start, due), i64::from(minutes));
        // Monotone: more minutes never come earlier.
        prop_assert!(cal.add_business_minutes(start, minutes + 1) > due);
    }
}
