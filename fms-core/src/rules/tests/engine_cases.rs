//! Engine scenarios: the spec's HVAC flow, rule order and `stop`, choosers, filters, the
//! fallback chain, validation errors and the documented example.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::{complainant, executor, office, report, uid, user, utc};
use crate::ids::UserId;
use crate::rules::allocation::{Candidate, Rejection, round_robin};
use crate::rules::decision::{AllocationSource, Decision, RuleOutcome};
use crate::rules::engine::{DecisionInput, decide, dry_run};
use crate::rules::ruleset::RuleSet;
use crate::ticket::{Priority, Report};
use crate::user::{OnboardingStatus, Role};

fn rules(json: &str) -> RuleSet {
    RuleSet::from_json(json).unwrap_or_else(|e| panic!("invalid rule set: {e:?}"))
}

const HVAC_RULES: &str = r#"{
    "version": 1,
    "pools": {"hvac": {"skills": ["HVAC"]}},
    "rules": [{
        "id": "hvac-ac",
        "conditions": {"all": [{"category": "HVAC"}, {"keyword": ["AC", "air con"]}]},
        "actions": {"raise_priority_to": "critical", "assign": {"pool": "hvac"}}
    }]
}"#;

#[test]
fn spec_flow_hvac_high_becomes_critical_and_goes_to_hvac() {
    let set = rules(HVAC_RULES);
    let now = utc("2026-11-10T10:00:00Z");
    let r = report("HVAC", Priority::High);
    let who = complainant();
    let mut inactive = executor(1, "Ina Active", &["HVAC"], 0);
    inactive.user.active = false;
    let mut elsewhere = executor(2, "Else Where", &["HVAC"], 0);
    elsewhere.user.buildings = vec!["Annex".to_owned()];
    let roster = vec![
        inactive,
        elsewhere,
        executor(3, "Ivy Tee", &["IT"], 0),
        executor(4, "Mike Johnson", &["hvac"], 2),
    ];
    let d = decide(
        &DecisionInput::new(&r, &who, now)
            .with_rules(&set)
            .with_roster(&roster),
    );
    assert_eq!(d.priority, Priority::Critical);
    assert_eq!(d.executor, Some(uid(4)));
    assert_eq!(d.pool.as_deref(), Some("hvac"));
    assert_eq!(d.unassigned_reason, None);
    assert_eq!(d.sla.response_due_at, Some(now + Duration::hours(1)));
    assert_eq!(d.sla.resolution_due_at, Some(now + Duration::hours(4)));
    assert_eq!(d.sla_policy, "default");
    assert_eq!(d.sla_state.due(), d.sla);
    let cursor = d.round_robin.as_ref().unwrap();
    assert_eq!(
        (cursor.pool.as_str(), cursor.previous, cursor.next),
        ("hvac", None, uid(4))
    );
    // The trace says why.
    assert_eq!(d.trace.ruleset_version, Some(1));
    assert_eq!(d.trace.rules[0].outcome, RuleOutcome::Matched);
    assert!(
        d.trace.rules[0].why.contains("\"AC\""),
        "{:?}",
        d.trace.rules[0]
    );
    assert_eq!(
        d.trace.rules[0].effects,
        ["raise priority high -> critical", "assign pool \"hvac\""]
    );
    let attempt = &d.trace.allocation.attempts[0];
    let rejected: BTreeMap<UserId, &Vec<Rejection>> = attempt
        .rejected
        .iter()
        .map(|r| (r.user, &r.reasons))
        .collect();
    assert_eq!(rejected[&uid(1)], &vec![Rejection::Inactive]);
    assert_eq!(
        rejected[&uid(2)],
        &vec![Rejection::OtherBuilding {
            building: "HQ".to_owned()
        }]
    );
    // The IT executor is not in the pool (skills narrow it), so it is not listed.
    assert!(!rejected.contains_key(&uid(3)));
    assert_eq!(attempt.eligible, [uid(4)]);
    // The trace is JSON and comes back equal; a dry run is the same decision.
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(serde_json::from_value::<Decision>(json).unwrap(), d);
    assert_eq!(
        dry_run(
            &DecisionInput::new(&r, &who, now)
                .with_rules(&set)
                .with_roster(&roster)
        ),
        d
    );
}

/// The decision of an engine with no rules, for a complainant known only by the report's
/// reporter fields.
fn plain(report: &Report, now: DateTime<Utc>) -> Decision {
    let mut who = user(0, &report.reporter_name, Role::Complainant);
    who.onboarding = OnboardingStatus::None;
    who.created_at = now;
    who.designation = report.reporter_designation.clone();
    who.department = report.reporter_department.clone();
    decide(&DecisionInput::new(report, &who, now))
}

#[test]
fn no_rules_is_plain() {
    let r = report("IT", Priority::Medium);
    let now = utc("2026-06-01T00:00:00Z");
    let d = plain(&r, now);
    assert_eq!(d.priority, Priority::Medium);
    assert_eq!(d.executor, None);
    assert_eq!(d.unassigned_reason.as_deref(), Some("no allocation rules"));
    assert_eq!(d.sla.response_due_at, Some(now + Duration::hours(8)));
    assert_eq!(d.sla.resolution_due_at, Some(now + Duration::hours(72)));
    assert_eq!(d.trace.ruleset_version, None);
}

#[test]
fn rules_apply_in_order_and_stop_ends_processing() {
    let set = rules(
        r#"{"version": 2, "sla_policies": {"vip": {"high": {"response_minutes": 30, "resolution_minutes": 60}}},
        "rules": [
            {"id": "off", "enabled": false, "actions": {"set_priority": "low"}},
            {"id": "it-medium", "conditions": {"category": "IT"}, "actions": {"set_priority": "medium"}},
            {"id": "sales-vip", "conditions": {"department": "sales"},
             "actions": {"raise_priority_to": "high", "sla_policy": "vip", "stop": true}},
            {"id": "never", "actions": {"set_priority": "low"}}
        ]}"#,
    );
    let r = report("HVAC", Priority::Low);
    let who = complainant();
    let now = utc("2026-06-01T00:00:00Z");
    let d = decide(&DecisionInput::new(&r, &who, now).with_rules(&set));
    let outcomes: Vec<RuleOutcome> = d.trace.rules.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            RuleOutcome::Disabled,
            RuleOutcome::NotMatched,
            RuleOutcome::Matched,
            RuleOutcome::NotEvaluated
        ]
    );
    assert_eq!(d.priority, Priority::High);
    assert_eq!(d.sla_policy, "vip");
    assert_eq!(d.sla.resolution_due_at, Some(now + Duration::hours(1)));
    assert_eq!(
        d.trace.sla.as_ref().unwrap().chosen_by.as_deref(),
        Some("sales-vip")
    );
    assert!(d.trace.rules[1].why.contains("not one of"));
    assert!(d.unassigned_reason.unwrap().contains("default_allocation"));
}

#[test]
fn business_hours_condition_uses_the_calendar() {
    let set = rules(
        r#"{"version": 1, "rules": [{"id": "night", "conditions": {"business_hours": "outside"},
            "actions": {"raise_priority_to": "critical"}}]}"#,
    );
    let cal = office("Europe/Berlin", &[]);
    let r = report("Plumbing", Priority::Low);
    let who = complainant();
    for (now, expected) in [
        ("2026-06-01T08:00:00Z", Priority::Low), // Mon 10:00 CEST
        ("2026-06-01T20:00:00Z", Priority::Critical), // Mon 22:00 CEST
    ] {
        let input = DecisionInput::new(&r, &who, utc(now))
            .with_rules(&set)
            .with_calendar(&cal);
        assert_eq!(decide(&input).priority, expected, "{now}");
        // Without a calendar it is always inside business hours.
        let input = DecisionInput::new(&r, &who, utc(now)).with_rules(&set);
        assert_eq!(decide(&input).priority, Priority::Low, "{now}");
    }
}

fn pool_rules(chooser: &str, extra: &str) -> RuleSet {
    rules(&format!(
        r#"{{"version": 1, "pools": {{"p": {{"chooser": "{chooser}"{extra}}}}},
            "default_allocation": {{"pool": "p"}}}}"#
    ))
}

#[test]
fn least_loaded_picks_the_smallest_count_ties_by_id() {
    let set = pool_rules("least_loaded", "");
    let r = report("HVAC", Priority::High);
    let who = complainant();
    let now = utc("2026-06-01T00:00:00Z");
    let mut roster = vec![
        executor(7, "G", &["HVAC"], 3),
        executor(5, "E", &["HVAC"], 1),
        executor(6, "F", &["HVAC"], 1),
        executor(2, "B", &["HVAC"], 0),
    ];
    roster[3].user.active = false; // the least loaded is inactive
    let first = decide(
        &DecisionInput::new(&r, &who, now)
            .with_rules(&set)
            .with_roster(&roster),
    );
    assert_eq!(first.executor, Some(uid(5)));
    assert_eq!(first.round_robin, None);
    roster.reverse();
    let again = decide(
        &DecisionInput::new(&r, &who, now)
            .with_rules(&set)
            .with_roster(&roster),
    );
    assert_eq!(again, first);
}

#[test]
fn round_robin_takes_turns_in_id_order() {
    assert_eq!(round_robin(&[], None), None);
    let ids = [uid(30), uid(10), uid(20)];
    assert_eq!(round_robin(&ids, None), Some(uid(10)));
    assert_eq!(round_robin(&ids, Some(uid(10))), Some(uid(20)));
    assert_eq!(
        round_robin(&ids, Some(uid(15))),
        Some(uid(20)),
        "cursor left the pool"
    );
    assert_eq!(round_robin(&ids, Some(uid(30))), Some(uid(10)), "wraps");

    let set = pool_rules("round_robin", "");
    let r = report("HVAC", Priority::High);
    let who = complainant();
    let now = utc("2026-06-01T00:00:00Z");
    let roster: Vec<Candidate> = (1..=4).map(|n| executor(n, "x", &["HVAC"], 0)).collect();
    let mut cursors = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for _ in 0..100 {
        let input = DecisionInput::new(&r, &who, now)
            .with_rules(&set)
            .with_roster(&roster)
            .with_cursors(&cursors);
        let d = decide(&input);
        let update = d.round_robin.unwrap();
        assert_eq!(update.previous, cursors.get("p").copied());
        *counts.entry(update.next).or_insert(0) += 1;
        cursors.insert(update.pool, update.next);
    }
    assert!(counts.values().all(|c| *c == 25), "{counts:?}");
}

#[test]
fn no_eligible_executor_leaves_the_ticket_unassigned_with_the_reason() {
    let set = pool_rules("round_robin", r#", "max_open_tickets": 2"#);
    let r = report("HVAC", Priority::High);
    let who = complainant();
    let now = utc("2026-06-01T00:00:00Z");
    let mut inactive = executor(1, "A", &["HVAC"], 0);
    inactive.user.active = false;
    let roster = vec![
        inactive,
        executor(2, "B", &["IT"], 0),
        executor(3, "C", &["HVAC"], 2),
        Candidate {
            user: super::user(4, "D", crate::user::Role::Admin),
            open_tickets: 0,
        },
    ];
    let d = decide(
        &DecisionInput::new(&r, &who, now)
            .with_rules(&set)
            .with_roster(&roster),
    );
    assert_eq!(d.executor, None);
    assert_eq!(d.round_robin, None);
    let reason = d.unassigned_reason.unwrap();
    assert!(
        reason.contains("no eligible executor") && reason.contains("4 filtered out"),
        "{reason}"
    );
    let reasons: Vec<&Rejection> = d.trace.allocation.attempts[0]
        .rejected
        .iter()
        .flat_map(|r| &r.reasons)
        .collect();
    assert!(reasons.contains(&&Rejection::Inactive));
    assert!(reasons.contains(&&Rejection::MissingSkill {
        category: "HVAC".to_owned()
    }));
    assert!(reasons.contains(&&Rejection::AtCapacity {
        open_tickets: 2,
        max: 2
    }));
    assert!(reasons.contains(&&Rejection::NotExecutor {
        role: crate::user::Role::Admin
    }));
}

#[test]
fn fixed_executor_falls_back_to_pool_then_backup() {
    let set = rules(
        r#"{"version": 1, "allocation": {"require_onboarded": true},
        "pools": {"main": {"members": ["00000000-0000-0000-0000-000000000002"], "backup": "spare"},
                  "spare": {"chooser": "least_loaded", "require_skill": false}},
        "rules": [{"id": "fixed", "actions": {"assign": {
            "executor": "00000000-0000-0000-0000-000000000001", "pool": "main"}}}]}"#,
    );
    let r = report("HVAC", Priority::High);
    let who = complainant();
    let now = utc("2026-06-01T00:00:00Z");
    let mut fixed = executor(1, "Fixed", &["HVAC"], 0);
    fixed.user.onboarding = crate::user::OnboardingStatus::Pending;
    let roster = vec![
        fixed.clone(),
        executor(2, "Main", &["IT"], 9),
        executor(3, "Spare", &[], 5),
    ];
    let d = decide(
        &DecisionInput::new(&r, &who, now)
            .with_rules(&set)
            .with_roster(&roster),
    );
    assert_eq!(d.executor, Some(uid(3)));
    assert_eq!(d.pool.as_deref(), Some("spare"));
    let sources: Vec<&AllocationSource> = d
        .trace
        .allocation
        .attempts
        .iter()
        .map(|a| &a.source)
        .collect();
    assert_eq!(sources.len(), 3);
    assert!(matches!(sources[0], AllocationSource::Executor { id } if *id == uid(1)));
    assert_eq!(
        d.trace.allocation.attempts[0].rejected[0].reasons,
        [Rejection::NotOnboarded {
            onboarding: crate::user::OnboardingStatus::Pending
        }]
    );
    // Onboarded, the fixed executor wins.
    let mut roster = roster;
    roster[0].user.onboarding = crate::user::OnboardingStatus::Onboarded;
    let d = decide(
        &DecisionInput::new(&r, &who, now)
            .with_rules(&set)
            .with_roster(&roster),
    );
    assert_eq!((d.executor, d.pool), (Some(uid(1)), None));
}

#[test]
fn validation_names_rule_and_field() {
    #[rustfmt::skip]
    let cases: [(&str, &[&str]); 7] = [
        (r#"{"version": 1, "rules": [{"id": "a", "actions": {"stop": true}}, {"id": "b", "actions": {"stop": true}},
            {"id": "c", "conditions": {"any": [{"priority": "urgent"}]}, "actions": {"stop": true}}]}"#,
            &["rules[2](c).conditions.any[0].priority[0]"]),
        (r#"{"version": 1, "rules": [{"id": "a", "conditions": {"keyword": []}, "actions": {"stop": true}}]}"#,
            &["rules[0](a).conditions.keyword"]),
        (r#"{"version": 1, "rules": [{"id": "a", "actions": {"assign": {"pool": "nope"}}}]}"#,
            &["rules[0](a).actions.assign.pool"]),
        (r#"{"version": 1, "rules": [{"id": "a", "actions": {"stop": true}}, {"id": "a", "actions": {"stop": true}}]}"#,
            &["rules[1](a).id"]),
        (r#"{"version": 1, "rules": [{"id": "a", "actions": {"sla_policy": "gold", "set_priority": "p1"}}]}"#,
            &["rules[0](a).actions.set_priority", "rules[0](a).actions.sla_policy"]),
        (r#"{"version": 0, "sla_targets": {"high": {"response_minutes": 0, "resolution_minutes": 60}}}"#,
            &["version", "sla_targets.high.response_minutes"]),
        (r#"{"version": 1, "pools": {"a": {"backup": "b"}, "b": {"backup": "a"}, "c": {"backup": "a"}}}"#,
            &["pools.a.backup", "pools.b.backup", "pools.c.backup"]),
    ];
    for (json, paths) in cases {
        let set: RuleSet = serde_json::from_str(json).unwrap();
        let errors = set.validate().expect_err(json);
        let got: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(got, paths, "{json}: {errors:?}");
    }
    let err = RuleSet::from_json(
        r#"{"version": 1, "rules": [{"id": "a", "conditions": {"any": [{"priority": "urgent"}]}, "actions": {"stop": true}}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        err[0].to_string(),
        "rules[0](a).conditions.any[0].priority[0]: unknown priority \"urgent\", expected one of: critical, high, medium, low"
    );
    // Typos are serde errors, not silently ignored fields.
    assert!(RuleSet::from_json(r#"{"version": 1, "rulez": []}"#).is_err());
    assert!(RuleSet::from_json(r#"{"version": 1, "rules": [{"id": "a", "conditions": {"catgory": "x"}, "actions": {"stop": true}}]}"#).is_err());
}

#[test]
fn documented_example_is_valid_and_round_trips() {
    let doc = include_str!("../../../../docs/rules.md");
    let start = doc.find("```json\n").unwrap() + "```json\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let set = rules(&doc[start..end]);
    assert_eq!(set.version, 3);
    assert_eq!(set.rules.len(), 5);
    let json = serde_json::to_string(&set).unwrap();
    assert_eq!(rules(&json), set);
    // The example's HVAC rule fires on the spec's ticket.
    let r = report("HVAC", Priority::High);
    let who = complainant();
    let mut mike = executor(4, "Mike Johnson", &["HVAC"], 0);
    mike.user.onboarding = crate::user::OnboardingStatus::Onboarded;
    let roster = [mike];
    let d = decide(
        &DecisionInput::new(&r, &who, utc("2026-06-01T08:00:00Z"))
            .with_rules(&set)
            .with_roster(&roster),
    );
    assert_eq!((d.priority, d.executor), (Priority::Critical, Some(uid(4))));
    assert_eq!(d.trace.sla.unwrap().target.response_minutes, 30);
}
