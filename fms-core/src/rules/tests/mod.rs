//! Tests of the rule engine: table-driven calendar and SLA cases, engine scenarios and
//! property tests. Shared fixtures live here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod calendar_cases;
mod engine_cases;
mod properties;
mod sla_cases;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ids::{TenantId, UserId};
use crate::rules::allocation::Candidate;
use crate::rules::calendar::BusinessCalendar;
use crate::ticket::{Priority, Report};
use crate::user::{OnboardingStatus, Role, User};

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad time {s}: {e}"))
        .with_timezone(&Utc)
}

pub(super) fn calendar(json: &str) -> BusinessCalendar {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad calendar: {e}"))
}

/// Mon-Fri 09:00-17:00 in `zone`, with `holidays`.
pub(super) fn office(zone: &str, holidays: &[&str]) -> BusinessCalendar {
    let day = r#"[{"start": "09:00", "end": "17:00"}]"#;
    calendar(&format!(
        r#"{{"timezone": "{zone}", "windows": {{"monday": {day}, "tuesday": {day},
        "wednesday": {day}, "thursday": {day}, "friday": {day}}}, "holidays": {}}}"#,
        serde_json::to_string(holidays).unwrap()
    ))
}

pub(super) fn uid(n: u128) -> UserId {
    UserId(Uuid::from_u128(n))
}

pub(super) fn report(category: &str, priority: Priority) -> Report {
    Report {
        title: "AC not cooling".to_owned(),
        description: None,
        location: "Conference Room B, 3rd Floor".to_owned(),
        category: category.to_owned(),
        ticket_type: "Maintenance".to_owned(),
        building: Some("HQ".to_owned()),
        floor: Some("3".to_owned()),
        room: Some("B".to_owned()),
        reporter_name: "John Doe".to_owned(),
        reporter_designation: Some("Manager".to_owned()),
        reporter_department: Some("Sales".to_owned()),
        submitted_priority: priority,
    }
}

pub(super) fn user(n: u128, name: &str, role: Role) -> User {
    User {
        id: uid(n),
        tenant_id: TenantId(Uuid::nil()),
        name: name.to_owned(),
        role,
        active: true,
        telegram_chat_id: None,
        email: None,
        phone: None,
        designation: None,
        department: None,
        skills: Vec::new(),
        buildings: Vec::new(),
        onboarding: OnboardingStatus::Onboarded,
        created_at: utc("2026-01-01T00:00:00Z"),
    }
}

pub(super) fn executor(n: u128, name: &str, skills: &[&str], open: u32) -> Candidate {
    let mut u = user(n, name, Role::Executor);
    u.skills = skills.iter().map(|s| (*s).to_owned()).collect();
    Candidate {
        user: u,
        open_tickets: open,
    }
}

pub(super) fn complainant() -> User {
    let mut u = user(999, "John Doe", Role::Complainant);
    u.department = Some("Sales".to_owned());
    u.designation = Some("Manager".to_owned());
    u
}
