//! SLA clock cases: creation in and out of hours, on-hold pause and resume, priority changes
//! keeping the time used, warning and breach moments emitted exactly once.

use chrono::Duration;

use super::{office, utc};
use crate::rules::decision::SlaTargets;
use crate::rules::sla::{SlaClockKind, SlaEventKind, SlaState};
use crate::ticket::Priority;

#[test]
fn due_times_table() {
    let berlin = office("Europe/Berlin", &["2026-12-25"]);
    let new_york = office("America/New_York", &[]);
    #[rustfmt::skip]
    let cases = [
        // (name, calendar, priority, created, response due, resolution due)
        ("24x7 critical", None, Priority::Critical, "2026-03-29T00:30:00Z",
            "2026-03-29T01:30:00Z", "2026-03-29T04:30:00Z"),
        ("outside hours, high", Some(&berlin), Priority::High, "2026-03-03T17:30:00Z",
            "2026-03-04T12:00:00Z", "2026-03-06T16:00:00Z"),
        // Fri 15:00 CET: 2 h Friday, rest after the spring change.
        ("Berlin DST weekend, high", Some(&berlin), Priority::High, "2026-03-27T14:00:00Z",
            "2026-03-30T09:00:00Z", "2026-04-01T13:00:00Z"),
        // Thu 16:30 CET before a Friday holiday: 30 min Thursday, then Monday.
        ("holiday, critical", Some(&berlin), Priority::Critical, "2026-12-24T15:30:00Z",
            "2026-12-28T08:30:00Z", "2026-12-28T11:30:00Z"),
        ("NY autumn weekend, critical", Some(&new_york), Priority::Critical, "2026-10-30T20:30:00Z",
            "2026-11-02T14:30:00Z", "2026-11-02T17:30:00Z"),
    ];
    for (name, cal, priority, created, response, resolution) in cases {
        let state = SlaState::start_default(priority, utc(created), cal);
        let due = state.due();
        assert_eq!(due.response_due_at, Some(utc(response)), "{name}: response");
        assert_eq!(
            due.resolution_due_at,
            Some(utc(resolution)),
            "{name}: resolution"
        );
    }
}

#[test]
fn on_hold_pauses_resolution_and_keeps_time_used() {
    let berlin = office("Europe/Berlin", &[]);
    let cal = Some(&berlin);
    // Mon 2026-06-01 09:00 CEST, high: resolution 24 business hours (3 days).
    let mut state = SlaState::start_default(Priority::High, utc("2026-06-01T07:00:00Z"), cal);
    assert_eq!(
        state.due().resolution_due_at,
        Some(utc("2026-06-03T15:00:00Z"))
    );
    // On hold Mon 13:00 after 4 h of work.
    state.pause(utc("2026-06-01T11:00:00Z"), cal);
    assert_eq!(state.resolution.used_ms, 4 * 3_600_000);
    assert_eq!(state.due().resolution_due_at, None, "unknown while paused");
    assert_eq!(
        state.due().response_due_at,
        Some(utc("2026-06-01T11:00:00Z")),
        "the response clock is not paused"
    );
    // Nothing is emitted for the paused clock, however late.
    let mut probe = state.clone();
    let events = probe.take_due_events(utc("2026-06-30T00:00:00Z"));
    assert!(events.iter().all(|e| e.clock == SlaClockKind::Response));
    // Pausing twice changes nothing.
    let again = {
        let mut s = state.clone();
        s.pause(utc("2026-06-02T11:00:00Z"), cal);
        s
    };
    assert_eq!(again, state);
    // Back Wed 09:00: 20 h left -> Wed 8, Thu 8, Fri 4 -> Fri 13:00 CEST.
    state.resume(utc("2026-06-03T07:00:00Z"), cal);
    assert_eq!(
        state.due().resolution_due_at,
        Some(utc("2026-06-05T11:00:00Z"))
    );
    // The state survives a JSON round trip, as a store keeps it.
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<SlaState>(&json).unwrap(), state);
}

#[test]
fn priority_raised_midway_keeps_time_used() {
    let berlin = office("Europe/Berlin", &[]);
    let cal = Some(&berlin);
    let targets = SlaTargets::default();
    // Mon 09:00 CEST, high (4 h / 24 h).
    let mut state = SlaState::start_default(Priority::High, utc("2026-06-01T07:00:00Z"), cal);
    // Mon 11:00: 2 h used; raised to critical (1 h / 4 h): resolution has 2 h left.
    let at = utc("2026-06-01T09:00:00Z");
    state.change_priority(Priority::Critical, &targets, at, cal);
    assert_eq!(state.priority, Priority::Critical);
    assert_eq!(
        state.due().resolution_due_at,
        Some(utc("2026-06-01T11:00:00Z"))
    );
    // The response target (1 h) is already used up: due at the change itself.
    assert_eq!(state.due().response_due_at, Some(at));
    // Lowered again to low (24 h / 120 h) Mon 12:00: 3 h used, 117 h left.
    state.change_priority(Priority::Low, &targets, utc("2026-06-01T10:00:00Z"), cal);
    assert_eq!(state.resolution.used_ms, 3 * 3_600_000);
    let left = berlin.business_time_between(
        utc("2026-06-01T10:00:00Z"),
        state.due().resolution_due_at.unwrap(),
    );
    assert_eq!(left, Duration::hours(117));
}

#[test]
fn priority_change_while_on_hold_stays_paused() {
    let mut state = SlaState::start_default(Priority::Medium, utc("2026-06-01T00:00:00Z"), None);
    state.pause(utc("2026-06-01T10:00:00Z"), None);
    state.change_priority(
        Priority::Critical,
        &SlaTargets::default(),
        utc("2026-06-01T11:00:00Z"),
        None,
    );
    assert_eq!(state.due().resolution_due_at, None);
    assert_eq!(state.resolution.target_minutes, 240);
    state.resume(utc("2026-06-02T00:00:00Z"), None);
    // 10 h used of 4 h: overdue at once.
    assert_eq!(
        state.due().resolution_due_at,
        Some(utc("2026-06-02T00:00:00Z"))
    );
}

#[test]
fn warning_and_breach_come_exactly_once() {
    let created = utc("2026-06-01T00:00:00Z");
    let mut state = SlaState::start_default(Priority::Critical, created, None);
    // Critical: response 1 h (warning at 48 min), resolution 4 h (warning at 3 h 12 min).
    assert_eq!(
        state.response.warn_at,
        Some(created + Duration::minutes(48))
    );
    assert_eq!(
        state.resolution.warn_at,
        Some(created + Duration::minutes(192))
    );
    assert_eq!(state.next_event_at(), Some(created + Duration::minutes(48)));
    assert!(
        state
            .take_due_events(created + Duration::minutes(47))
            .is_empty()
    );
    let events = state.take_due_events(created + Duration::minutes(50));
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].clock, events[0].kind),
        (SlaClockKind::Response, SlaEventKind::Warning)
    );
    assert!(
        state
            .take_due_events(created + Duration::minutes(50))
            .is_empty()
    );
    state.respond(created + Duration::minutes(55), None);
    // The response clock stopped in time: no breach, ever.
    let events = state.take_due_events(created + Duration::hours(3) + Duration::minutes(30));
    assert_eq!(
        events.iter().map(|e| (e.clock, e.kind)).collect::<Vec<_>>(),
        [(SlaClockKind::Resolution, SlaEventKind::Warning)]
    );
    // A late sweep sees the breach once and no second warning.
    let events = state.take_due_events(created + Duration::hours(10));
    assert_eq!(
        events
            .iter()
            .map(|e| (e.clock, e.kind, e.at))
            .collect::<Vec<_>>(),
        [(
            SlaClockKind::Resolution,
            SlaEventKind::Breach,
            created + Duration::hours(4)
        )]
    );
    assert!(
        state
            .take_due_events(created + Duration::hours(20))
            .is_empty()
    );
    assert_eq!(state.next_event_at(), None);
    // The response due time stays visible after completion.
    assert_eq!(
        state.due().response_due_at,
        Some(created + Duration::hours(1))
    );
}

#[test]
fn a_breach_found_late_skips_its_warning() {
    let created = utc("2026-06-01T00:00:00Z");
    let mut state = SlaState::start_default(Priority::Critical, created, None);
    state.respond(created + Duration::minutes(1), None);
    let events = state.take_due_events(created + Duration::hours(5));
    assert_eq!(
        events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [SlaEventKind::Breach]
    );
    assert!(state.resolution.warning_sent && state.resolution.breach_sent);
}

#[test]
fn warning_percent_is_configurable() {
    let targets = SlaTargets {
        warning_percent: 50,
        ..SlaTargets::default()
    };
    let created = utc("2026-06-01T00:00:00Z");
    let state = SlaState::start("default", Priority::High, &targets, created, None);
    assert_eq!(state.response.warn_at, Some(created + Duration::hours(2)));
    assert_eq!(
        state.resolution.warn_at,
        Some(created + Duration::hours(12))
    );
}

#[test]
fn resolve_and_reopen_keep_time_used() {
    let created = utc("2026-06-01T00:00:00Z");
    let mut state = SlaState::start_default(Priority::Critical, created, None);
    state.resolve(created + Duration::hours(1), None);
    assert_eq!(
        state.due().resolution_due_at,
        Some(created + Duration::hours(4))
    );
    state.reopen(created + Duration::hours(10), None);
    assert_eq!(
        state.due().resolution_due_at,
        Some(created + Duration::hours(13))
    );
}
