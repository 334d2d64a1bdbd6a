//! The rule engine's cost: one decision with 100 rules and 50 executors, and, in the same run,
//! a full intake into a SQLite file (validation, context read, decision, one transaction with
//! ticket, activities and queue rows, fsync). Prints the engine's share of the intake.
//! Target: < 5 %.
//!
//! Run with `cargo bench --bench rules`.

#![allow(clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group};
use fms::Fms;
use fms::ids::UserId;
use fms::intake::NewTicket;
use fms::rules::{Candidate, DecisionInput, RuleSet, decide};
use fms::sqlite::SqliteStore;
use fms::tenant::NewTenant;
use fms::user::{NewUser, Role, User};
use serde_json::{Value, json};

const SKILLS: [&str; 5] = ["HVAC", "IT", "Plumbing", "Electrical", "Cleaning"];
const BUILDINGS: [&str; 5] = ["Building A", "Building B", "Building C", "HQ", "Annex"];

/// 100 rules: 99 that look at the ticket and do not match it, then the one that does.
fn rule_set() -> RuleSet {
    let mut rules = Vec::new();
    for i in 0..99 {
        let condition = match i % 5 {
            0 => json!({"all": [{"category": "Cleaning"}, {"keyword": [format!("spill{i}")]}]}),
            1 => json!({"any": [{"building": format!("Tower {i}")}, {"room": format!("{i}99")}]}),
            2 => json!({"all": [{"department": "Legal"}, {"priority": ["low", "medium"]}]}),
            3 => json!({"issue_contains": [format!("elevator {i}"), "escalator"]}),
            _ => json!({"all": [{"type": "Inspection"}, {"business_hours": "outside"}]}),
        };
        rules.push(json!({
            "id": format!("r{i}"),
            "conditions": condition,
            "actions": {"set_priority": "low"}
        }));
    }
    rules.push(json!({
        "id": "hvac-ac",
        "conditions": {"all": [{"category": "HVAC"}, {"keyword": ["AC", "air con"]}]},
        "actions": {"raise_priority_to": "critical", "assign": {"pool": "hvac"}}
    }));
    let doc = json!({
        "version": 1,
        "pools": {"hvac": {"skills": ["HVAC"], "chooser": "least_loaded", "max_open_tickets": 1000}},
        "rules": rules,
    });
    RuleSet::from_json(&doc.to_string()).expect("the benchmark rule set is valid")
}

fn new_executor(tenant: fms::ids::TenantId, i: usize) -> NewUser {
    NewUser::new(tenant, format!("Executor {i}"), Role::Executor)
        .with_chat_id(format!("e{i}"))
        .with_skills([SKILLS[i % 5]])
        .with_buildings([BUILDINGS[i % 5]])
}

fn body(tenant: &str) -> Value {
    json!({
        "issue": "AC not working in Building A",
        "location": "Building A, Floor 3",
        "category": "HVAC",
        "priority": "high",
        "name": "John Doe",
        "department": "IT",
        "chat_id": "123456789",
        "tenant_id": tenant,
        "building": "Building A"
    })
}

struct Engine {
    rules: RuleSet,
    roster: Vec<Candidate>,
    complainant: User,
    draft: NewTicket,
}

fn engine() -> Engine {
    let tenant = fms::ids::TenantId::new();
    let roster = (0..50)
        .map(|i| {
            let n = new_executor(tenant, i);
            Candidate {
                user: User {
                    id: UserId::new(),
                    tenant_id: tenant,
                    name: n.name,
                    role: Role::Executor,
                    active: i % 7 != 0,
                    telegram_chat_id: n.telegram_chat_id,
                    email: None,
                    phone: None,
                    designation: None,
                    department: None,
                    skills: n.skills,
                    buildings: n.buildings,
                    onboarding: fms::user::OnboardingStatus::Onboarded,
                    created_at: Utc::now(),
                },
                open_tickets: (i % 4) as u32,
            }
        })
        .collect();
    let draft = NewTicket::from_json(&body(&tenant.to_string())).expect("a valid intake");
    let mut complainant = roster_user(tenant);
    complainant.department = Some("IT".into());
    Engine {
        rules: rule_set(),
        roster,
        complainant,
        draft,
    }
}

fn roster_user(tenant: fms::ids::TenantId) -> User {
    User {
        id: UserId::new(),
        tenant_id: tenant,
        name: "John Doe".into(),
        role: Role::Complainant,
        active: true,
        telegram_chat_id: Some("123456789".into()),
        email: None,
        phone: None,
        designation: None,
        department: None,
        skills: vec![],
        buildings: vec![],
        onboarding: fms::user::OnboardingStatus::Onboarded,
        created_at: Utc::now(),
    }
}

fn one_decision(e: &Engine, cursors: &BTreeMap<String, UserId>) -> fms::rules::Decision {
    let input = DecisionInput::new(&e.draft.report, &e.complainant, Utc::now())
        .with_rules(&e.rules)
        .with_roster(&e.roster)
        .with_cursors(cursors);
    decide(&input)
}

struct Intake {
    fms: Fms,
    body: Value,
    _dir: tempfile::TempDir,
}

async fn intake_setup() -> Intake {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("bench.db")).expect("a database file");
    let fms = Fms::new(Arc::new(store));
    let setup = async {
        let tenant = fms.create_tenant(NewTenant::new("Bench")).await?;
        fms.create_user(
            NewUser::new(tenant.id, "John Doe", Role::Complainant)
                .with_chat_id("123456789")
                .with_department("IT"),
        )
        .await?;
        for i in 0..50 {
            fms.create_user(new_executor(tenant.id, i)).await?;
        }
        fms.put_rules(tenant.id, rule_set()).await?;
        Ok::<_, fms::Error>(tenant)
    };
    let tenant = setup.await.expect("the benchmark tenant");
    Intake {
        body: body(&tenant.id.to_string()),
        fms,
        _dir: dir,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn benches(c: &mut Criterion) {
    let e = engine();
    let cursors = BTreeMap::new();
    let d = one_decision(&e, &cursors);
    assert!(d.executor.is_some(), "the benchmark decision must allocate");
    c.bench_function("decide_100_rules_50_executors", |b| {
        b.iter(|| one_decision(black_box(&e), &cursors))
    });

    let rt = runtime();
    let intake = rt.block_on(intake_setup());
    c.bench_function("ingest_sqlite_file", |b| {
        b.to_async(&rt).iter(|| async {
            intake
                .fms
                .ingest(black_box(&intake.body), None)
                .await
                .expect("the benchmark intake succeeds");
        })
    });
}

/// Medians of `samples` batches of `per` runs each, in microseconds per run.
fn median_us(samples: usize, per: usize, mut run: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per {
                run();
            }
            start.elapsed().as_secs_f64() * 1e6 / per as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn share() {
    let e = engine();
    let cursors = BTreeMap::new();
    let decide_us = median_us(31, 200, || {
        black_box(one_decision(&e, &cursors));
    });
    let rt = runtime();
    let intake = rt.block_on(intake_setup());
    let ingest_us = median_us(31, 20, || {
        rt.block_on(intake.fms.ingest(&intake.body, None))
            .expect("the benchmark intake succeeds");
    });
    println!(
        "rules: decision (100 rules, 50 executors) median {decide_us:.1} us; \
         SQLite-file ingest median {ingest_us:.1} us; engine share {:.2} % (target < 5 %)",
        100.0 * decide_us / ingest_us
    );
}

criterion_group! {
    name = group;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = benches
}

fn main() {
    group();
    share();
    Criterion::default().configure_from_args().final_summary();
}
