//! Rule-engine cases: rule sets, calendars, executor loads and the round-robin cursor, through
//! intake on a real store.

use std::collections::BTreeMap;

use futures::future::join_all;
use serde_json::json;

use crate::activity::ActivityType;
use crate::ids::UserId;
use crate::rules::CalendarSpec;
use crate::store::TicketQuery;
use crate::ticket::{Priority, Status};
use crate::user::{NewUser, Role, User, UserPatch};

use super::{Fixture, Subject};

/// The rule set of the spec's complete flow: broken AC is critical and goes to the HVAC pool
/// (round robin).
const SPEC_RULES: &str = r#"{
  "version": 1,
  "pools": {"hvac": {"skills": ["HVAC"], "chooser": "round_robin"}},
  "rules": [{
    "id": "hvac-ac-critical",
    "conditions": {"all": [{"category": "HVAC"}, {"keyword": ["AC", "air con"]}]},
    "actions": {"raise_priority_to": "critical", "assign": {"pool": "hvac"}}
  }]
}"#;

async fn executor(f: &Fixture, name: &str, skills: &[&str], chat: &str) -> User {
    f.fms
        .create_user(
            NewUser::new(f.tenant.id, name, Role::Executor)
                .with_chat_id(chat)
                .with_skills(skills.iter().copied()),
        )
        .await
        .unwrap()
}

/// The spec's section 3 body (only the required fields).
fn section3_body(f: &Fixture) -> serde_json::Value {
    json!({
        "issue": "AC not working in Building A",
        "location": "Building A, Floor 3",
        "category": "HVAC",
        "priority": "high",
        "name": "John Doe",
        "chat_id": "123456789",
        "tenant_id": f.tenant.id.to_string()
    })
}

/// Saving rule sets bumps the version, keeps the newest in force, rejects invalid ones naming
/// the rule and field; calendars round-trip and clear.
pub async fn rule_sets_and_calendars_round_trip(s: &Subject) {
    let f = Fixture::new(s).await;
    assert_eq!(
        f.fms.rules(f.tenant.id).await.unwrap().version,
        0,
        "defaults"
    );
    let first = f.fms.put_rules_json(f.tenant.id, SPEC_RULES).await.unwrap();
    let second = f.fms.put_rules_json(f.tenant.id, SPEC_RULES).await.unwrap();
    assert_eq!((first.version, second.version), (1, 2));
    let current = f.fms.rules(f.tenant.id).await.unwrap();
    assert_eq!(current, second);

    let bad = SPEC_RULES.replace("\"critical\"", "\"urgent\"");
    let err = f.fms.put_rules_json(f.tenant.id, &bad).await.unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    let field = err.field().unwrap_or_default().to_owned();
    assert!(field.starts_with("rules[0](hvac-ac-critical)"), "{field}");
    assert!(err.to_string().contains("urgent"), "{err}");
    assert_eq!(f.fms.rules(f.tenant.id).await.unwrap().version, 2);

    assert_eq!(f.fms.calendar(f.tenant.id).await.unwrap(), None);
    let spec: CalendarSpec = serde_json::from_value(json!({
        "timezone": "Europe/Berlin",
        "windows": {"monday": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}]},
        "holidays": ["2026-12-25"]
    }))
    .unwrap();
    let calendar = spec.validate().unwrap();
    f.fms
        .set_calendar(f.tenant.id, Some(calendar.clone()))
        .await
        .unwrap();
    assert_eq!(f.fms.calendar(f.tenant.id).await.unwrap(), Some(calendar));
    f.fms.set_calendar(f.tenant.id, None).await.unwrap();
    assert_eq!(f.fms.calendar(f.tenant.id).await.unwrap(), None);
}

/// The spec's complete flow: HVAC + "high" in, a rule raises it to critical, an HVAC executor
/// is assigned in the same transaction (two activities, two queue rows, in that order), the
/// ticket is `in-progress`, and the queued payload names the executor and carries the due
/// times.
pub async fn spec_complete_flow_assigns_and_raises(s: &Subject) {
    let f = Fixture::new(s).await;
    f.fms.put_rules_json(f.tenant.id, SPEC_RULES).await.unwrap();
    let mike = executor(&f, "Mike Johnson", &["HVAC"], "901").await;
    let t = f.fms.ingest(&section3_body(&f), None).await.unwrap().ticket;
    assert_eq!(t.priority, Priority::Critical);
    assert_eq!(t.status, Status::InProgress);
    assert_eq!(t.executor_id, Some(mike.id));
    let created = t.created_at;
    assert_eq!(
        t.sla.resolution_due_at,
        Some(created + chrono::Duration::hours(4))
    );
    assert_eq!(
        t.sla.response_due_at,
        Some(created + chrono::Duration::hours(1))
    );

    let activities = f.fms.activities(t.id).await.unwrap();
    let kinds: Vec<_> = activities.iter().map(|a| a.activity_type).collect();
    assert_eq!(
        kinds,
        [ActivityType::TicketCreated, ActivityType::ExecutorAssigned]
    );
    let meta = &activities[0].metadata;
    assert_eq!(meta["submitted_priority"], "high");
    assert_eq!(meta["final_priority"], "critical");
    assert_eq!(meta["trace"]["rules"][0]["outcome"], "matched");

    let queue = f.queue(t.id).await;
    assert_eq!(queue.iter().map(|q| q.sequence).collect::<Vec<_>>(), [1, 2]);
    let first = f.fms.payload(queue[0].id).await.unwrap();
    assert_eq!(
        (first.status.as_str(), first.executor.is_none()),
        ("open", true)
    );
    let assigned = f.fms.payload(queue[1].id).await.unwrap();
    assert_eq!(assigned.status, "in-progress");
    assert_eq!(assigned.priority, "critical");
    let named = assigned.executor.as_ref().map(|e| e.name.as_str());
    assert_eq!(named, Some("Mike Johnson"));
    assert!(assigned.sla.resolution_due_at.is_some() && assigned.sla.response_due_at.is_some());
    assert_eq!(assigned.latest_activity.activity_type, "executor_assigned");
}

/// 100 concurrent intakes over 4 eligible executors in a round-robin pool: 25 each (+-1).
pub async fn round_robin_is_fair_under_concurrency(s: &Subject) {
    let f = Fixture::new(s).await;
    f.fms.put_rules_json(f.tenant.id, SPEC_RULES).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            executor(&f, &format!("HVAC {i}"), &["HVAC"], &format!("90{i}"))
                .await
                .id,
        );
    }
    let body = section3_body(&f);
    let results = join_all((0..100).map(|_| f.fms.ingest(&body, None))).await;
    let mut counts: BTreeMap<UserId, usize> = BTreeMap::new();
    for r in results {
        let t = r.unwrap().ticket;
        *counts.entry(t.executor_id.unwrap()).or_default() += 1;
    }
    assert_eq!(counts.len(), 4, "{counts:?}");
    for id in ids {
        let n = counts.get(&id).copied().unwrap_or(0);
        assert!((24..=26).contains(&n), "{id}: {n} of 100 ({counts:?})");
    }
}

/// Least-loaded picks the executor with the fewest open tickets; ties go to the smallest id;
/// resolved and closed tickets do not count.
pub async fn least_loaded_picks_the_smallest_open_count(s: &Subject) {
    let f = Fixture::new(s).await;
    let rules = r#"{"version": 1,
      "pools": {"hvac": {"skills": ["HVAC"], "chooser": "least_loaded"}},
      "default_allocation": {"pool": "hvac"}}"#;
    // No allocation while the executors are loaded by hand.
    f.fms
        .put_rules_json(f.tenant.id, r#"{"version": 1}"#)
        .await
        .unwrap();
    let mut team = Vec::new();
    for i in 0..3 {
        team.push(executor(&f, &format!("HVAC {i}"), &["HVAC"], &format!("80{i}")).await);
    }
    team.sort_by_key(|u| u.id);
    let (small, middle, large) = (&team[0], &team[1], &team[2]);
    // `small` gets 2 open tickets, `middle` 1 open + 2 closed, `large` none.
    for (who, n) in [(small, 2), (middle, 3)] {
        for _ in 0..n {
            let t = f.ingest().await;
            f.fms.assign_executor(t.id, who.id, None).await.unwrap();
        }
    }
    let middle_tickets = f
        .fms
        .tickets(&TicketQuery {
            tenant_id: f.tenant.id,
            status: Some(Status::InProgress),
            before: None,
            limit: 100,
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.executor_id == Some(middle.id))
        .take(2)
        .collect::<Vec<_>>();
    for t in middle_tickets {
        f.fms
            .change_status(t.id, Status::Resolved, None, None)
            .await
            .unwrap();
        f.fms
            .change_status(t.id, Status::Closed, None, None)
            .await
            .unwrap();
    }
    f.fms.put_rules_json(f.tenant.id, rules).await.unwrap();
    // Loads: small 2, middle 1, large 0 -> large; then small 2, middle 1, large 1 -> the tie
    // between middle and large goes to the smaller id (middle).
    let first = f.fms.ingest(&section3_body(&f), None).await.unwrap().ticket;
    assert_eq!(first.executor_id, Some(large.id));
    let second = f.fms.ingest(&section3_body(&f), None).await.unwrap().ticket;
    assert_eq!(second.executor_id, Some(middle.id));
}

/// Inactive, wrong-skill and wrong-building executors are never chosen; with nobody eligible
/// the ticket stays open and unassigned with the reason in the trace; an eligible executor
/// is chosen as soon as there is one.
pub async fn ineligible_executors_are_never_chosen(s: &Subject) {
    // The tenant default: least-loaded executor whose skills cover the category.
    let f = Fixture::new(s).await;
    let inactive = executor(&f, "Inactive", &["HVAC"], "701").await;
    f.fms
        .update_user(
            inactive.id,
            UserPatch {
                active: Some(false),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    executor(&f, "Plumber", &["Plumbing"], "702").await;
    f.fms
        .create_user(
            NewUser::new(f.tenant.id, "Elsewhere", Role::Executor)
                .with_chat_id("703")
                .with_skills(["HVAC"])
                .with_buildings(["Building B"]),
        )
        .await
        .unwrap();
    let body = f.body(); // Building A
    let t = f.fms.ingest(&body, None).await.unwrap().ticket;
    assert_eq!((t.status, t.executor_id), (Status::Open, None));
    let activities = f.fms.activities(t.id).await.unwrap();
    assert_eq!(activities.len(), 1);
    let meta = &activities[0].metadata;
    assert!(meta["unassigned_reason"].is_string(), "{meta}");
    let rejected = meta["trace"]["allocation"].to_string();
    for why in ["Inactive", "Plumber", "Elsewhere"] {
        assert!(rejected.contains(why), "{why} missing from {rejected}");
    }
    let good = executor(&f, "Good", &["hvac"], "704").await;
    let t = f.fms.ingest(&body, None).await.unwrap().ticket;
    assert_eq!(t.executor_id, Some(good.id));
}

/// A dry run returns the decision and its trace and stores nothing.
pub async fn dry_run_stores_nothing(s: &Subject) {
    let f = Fixture::new(s).await;
    f.fms.put_rules_json(f.tenant.id, SPEC_RULES).await.unwrap();
    let mike = executor(&f, "Mike Johnson", &["HVAC"], "901").await;
    let decision = f.fms.dry_run(&section3_body(&f)).await.unwrap();
    assert_eq!(decision.priority, Priority::Critical);
    assert_eq!(decision.executor, Some(mike.id));
    assert!(!decision.trace.rules.is_empty());
    let all = TicketQuery {
        tenant_id: f.tenant.id,
        status: None,
        before: None,
        limit: 10,
    };
    assert!(f.fms.tickets(&all).await.unwrap().is_empty());
    // The cursor did not move: the real intake gets the same decision.
    let t = f.fms.ingest(&section3_body(&f), None).await.unwrap().ticket;
    assert_eq!(t.executor_id, Some(mike.id));
}

/// The roster's loads count open, in-progress and on-hold tickets only.
pub async fn roster_loads_count_active_tickets(s: &Subject) {
    let f = Fixture::new(s).await;
    let t1 = f.ingest().await;
    let t2 = f.ingest().await;
    let t3 = f.ingest().await;
    for t in [&t1, &t2, &t3] {
        f.fms
            .assign_executor(t.id, f.executor.id, None)
            .await
            .unwrap();
    }
    f.fms
        .change_status(t2.id, Status::OnHold, None, None)
        .await
        .unwrap();
    f.fms
        .change_status(t3.id, Status::Resolved, None, None)
        .await
        .unwrap();
    let ctx = s
        .store
        .intake_context(f.tenant.id, "123456789")
        .await
        .unwrap();
    assert_eq!(ctx.complainant.map(|u| u.id), Some(f.complainant.id));
    let load = ctx
        .roster
        .iter()
        .find(|c| c.user.id == f.executor.id)
        .map(|c| c.open_tickets);
    assert_eq!(load, Some(2));
    assert!(ctx.roster.iter().all(|c| c.user.role == Role::Executor));
}

/// The rule-engine cases, one test each (expanded by
/// [`conformance_tests!`](crate::conformance_tests)).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_rules_cases {
    ($subject:expr) => {
        $crate::__conformance_cases!(
            $subject;
            rule_sets_and_calendars_round_trip,
            spec_complete_flow_assigns_and_raises,
            round_robin_is_fair_under_concurrency,
            least_loaded_picks_the_smallest_open_count,
            ineligible_executors_are_never_chosen,
            dry_run_stores_nothing,
            roster_loads_count_active_tickets,
        );
    };
}
