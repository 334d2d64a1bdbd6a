//! Business calendar cases: outside hours, weekends, holidays, DST in Europe/Berlin and
//! America/New_York, two windows a day, nonexistent and repeated local times, validation.

use super::{calendar, office, utc};
use crate::rules::calendar::{CalendarSpec, add_working_time, working_time_between};

#[test]
fn add_business_minutes_table() {
    let berlin = office("Europe/Berlin", &["2026-12-25"]);
    let new_york = office("America/New_York", &[]);
    let split = calendar(
        r#"{"timezone": "Europe/Berlin", "windows": {"monday": [
            {"start": "13:00", "end": "17:00"}, {"start": "08:00", "end": "12:00"}]}}"#,
    );
    // Sundays with work, to exercise the DST nights and days themselves.
    let berlin_sunday = calendar(
        r#"{"timezone": "Europe/Berlin", "windows": {"sunday": [
            {"start": "00:00", "end": "06:00"}, {"start": "09:00", "end": "17:00"}]}}"#,
    );
    let ny_sunday = calendar(
        r#"{"timezone": "America/New_York", "windows": {"sunday": [
            {"start": "01:00", "end": "04:00"}, {"start": "09:00", "end": "17:00"}]}}"#,
    );
    let ny_ambiguous = calendar(
        r#"{"timezone": "America/New_York", "windows": {"sunday": [
            {"start": "01:30", "end": "03:00"}]}}"#,
    );
    #[rustfmt::skip]
    let cases = [
        // (name, calendar, start, minutes, expected due)
        ("inside hours", &berlin, "2026-06-02T07:00:00Z", 60, "2026-06-02T08:00:00Z"),
        ("runs out exactly at window end", &berlin, "2026-06-01T07:00:00Z", 480, "2026-06-01T15:00:00Z"),
        ("arrives after hours", &berlin, "2026-03-03T17:30:00Z", 240, "2026-03-04T12:00:00Z"),
        ("arrives before hours", &berlin, "2026-03-04T05:00:00Z", 30, "2026-03-04T08:30:00Z"),
        ("across a weekend", &berlin, "2026-03-06T14:00:00Z", 240, "2026-03-09T10:00:00Z"),
        ("arrives on a Saturday", &berlin, "2026-03-07T10:00:00Z", 60, "2026-03-09T09:00:00Z"),
        ("across a holiday and weekend", &berlin, "2026-12-24T15:00:00Z", 240, "2026-12-28T11:00:00Z"),
        ("Berlin spring weekend", &berlin, "2026-03-27T14:00:00Z", 240, "2026-03-30T09:00:00Z"),
        ("Berlin autumn weekend", &berlin, "2026-10-23T13:00:00Z", 240, "2026-10-26T10:00:00Z"),
        ("NY spring weekend", &new_york, "2026-03-06T20:00:00Z", 240, "2026-03-09T15:00:00Z"),
        ("NY autumn weekend", &new_york, "2026-10-30T19:00:00Z", 240, "2026-11-02T16:00:00Z"),
        ("two windows, lunch skipped", &split, "2026-06-01T09:00:00Z", 180, "2026-06-01T13:00:00Z"),
        ("two windows, next week", &split, "2026-06-01T14:00:00Z", 120, "2026-06-08T07:00:00Z"),
        // 00:00-06:00 loses an hour on the spring night and gains one on the autumn night.
        ("Berlin spring night is 5 h", &berlin_sunday, "2026-03-28T23:00:00Z", 300, "2026-03-29T04:00:00Z"),
        ("Berlin spring night, 6 h", &berlin_sunday, "2026-03-28T23:00:00Z", 360, "2026-03-29T08:00:00Z"),
        ("Berlin autumn night is 7 h", &berlin_sunday, "2026-10-24T22:00:00Z", 420, "2026-10-25T05:00:00Z"),
        // 09:00-17:00 stays 8 h on the DST days.
        ("Berlin spring day 8 h", &berlin_sunday, "2026-03-29T07:00:00Z", 480, "2026-03-29T15:00:00Z"),
        ("Berlin autumn day 8 h", &berlin_sunday, "2026-10-25T08:00:00Z", 480, "2026-10-25T16:00:00Z"),
        ("NY spring day 8 h", &ny_sunday, "2026-03-08T13:00:00Z", 480, "2026-03-08T21:00:00Z"),
        ("NY autumn day 8 h", &ny_sunday, "2026-11-01T14:00:00Z", 480, "2026-11-01T22:00:00Z"),
        // 01:00-04:00 spans the gap (2 h) or the repeat (4 h).
        ("NY spring night is 2 h", &ny_sunday, "2026-03-08T06:00:00Z", 120, "2026-03-08T08:00:00Z"),
        ("NY spring night, then day", &ny_sunday, "2026-03-08T06:00:00Z", 180, "2026-03-08T14:00:00Z"),
        ("NY autumn night is 4 h", &ny_sunday, "2026-11-01T05:00:00Z", 240, "2026-11-01T09:00:00Z"),
        // 01:30 happens twice: the window starts at the first, ends at 03:00 EST.
        ("NY repeated start", &ny_ambiguous, "2026-11-01T00:00:00Z", 150, "2026-11-01T08:00:00Z"),
    ];
    for (name, cal, start, minutes, expected) in cases {
        let start = utc(start);
        let due = cal.add_business_minutes(start, minutes);
        assert_eq!(due, utc(expected), "{name}");
        assert!(due >= start, "{name}");
        let used = cal.business_minutes_between(start, due);
        assert_eq!(used, i64::from(minutes), "{name}: between(start, due)");
    }
}

#[test]
fn is_business_time_table() {
    let berlin = office("Europe/Berlin", &["2026-12-25"]);
    for (t, expected) in [
        ("2026-06-01T07:00:00Z", true),  // Mon 09:00 CEST, start inclusive
        ("2026-06-01T15:00:00Z", false), // Mon 17:00 CEST, end exclusive
        ("2026-06-01T06:59:59Z", false),
        ("2026-01-05T08:00:00Z", true),  // Mon 09:00 CET
        ("2026-06-06T10:00:00Z", false), // Saturday
        ("2026-12-25T10:00:00Z", false), // holiday
        ("2026-12-24T10:00:00Z", true),
    ] {
        assert_eq!(berlin.is_business_time(utc(t)), expected, "{t}");
    }
}

#[test]
fn between_counts_only_working_time() {
    let berlin = office("Europe/Berlin", &[]);
    // Fri 16:00 CET .. Mon 10:00 CEST across the spring change: 1 h + 1 h.
    let a = utc("2026-03-27T15:00:00Z");
    let b = utc("2026-03-30T08:00:00Z");
    assert_eq!(berlin.business_minutes_between(a, b), 120);
    assert_eq!(berlin.business_minutes_between(b, a), 0);
    assert_eq!(working_time_between(None, a, b), b - a);
}

#[test]
fn no_calendar_is_around_the_clock() {
    let t = utc("2026-03-29T01:30:00Z");
    assert_eq!(
        add_working_time(None, t, chrono::Duration::minutes(90)),
        utc("2026-03-29T03:00:00Z")
    );
}

#[test]
fn calendar_round_trips_through_json() {
    let cal = office("America/New_York", &["2026-07-03"]);
    let json = serde_json::to_string(&cal).unwrap();
    let back: crate::rules::BusinessCalendar = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cal);
}

#[test]
fn calendar_validation_names_fields() {
    #[rustfmt::skip]
    let cases: [(&str, &[&str]); 7] = [
        (r#"{"timezone": "Mars/Olympus", "windows": {"monday": [{"start": "09:00", "end": "17:00"}]}}"#,
            &["timezone"]),
        (r#"{"timezone": "UTC", "windows": {"monday": [{"start": "17:00", "end": "09:00"}]}}"#,
            &["windows.monday[0]"]),
        (r#"{"timezone": "UTC", "windows": {"monday": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]}}"#,
            &["windows.monday[1]"]),
        (r#"{"timezone": "UTC", "windows": {"funday": [{"start": "09:00", "end": "17:00"}]}}"#,
            &["windows.funday"]),
        (r#"{"timezone": "UTC", "windows": {"monday": [{"start": "9am", "end": "25:00"}]}}"#,
            &["windows.monday[0].start", "windows.monday[0].end"]),
        (r#"{"timezone": "UTC", "windows": {"monday": [{"start": "09:00", "end": "24:00"}]}, "holidays": ["2026-02-30"]}"#,
            &["holidays[0]"]),
        (r#"{"timezone": "UTC", "windows": {}}"#, &["windows"]),
    ];
    for (json, paths) in cases {
        let spec: CalendarSpec = serde_json::from_str(json).unwrap();
        let errors = spec.validate().expect_err(json);
        let got: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(got, paths, "{json}: {errors:?}");
        assert!(serde_json::from_str::<crate::rules::BusinessCalendar>(json).is_err());
    }
}
