//! Business calendars: an IANA time zone, working windows per weekday (local wall-clock
//! times) and holidays (local dates). SLA clocks count only working time. No calendar means
//! 24x7.
//!
//! # Time zone changes
//!
//! Working time is real elapsed time inside a window, never wall-clock arithmetic: a window
//! `09:00-17:00` is 8 hours of work on a DST day too, and a window `00:00-06:00` is 5 hours on
//! a spring-forward night and 7 on a fall-back night, because that is how long it lasts.
//! Local times are turned into instants like this:
//!
//! - A time that does not exist (skipped by a spring-forward gap) means the first instant
//!   after the gap, for a window's start and end alike.
//! - A time that exists twice (repeated by a fall-back) means its first occurrence for a
//!   window's start and its last occurrence for a window's end, so a window covers every
//!   instant its wall clock reads.
//!
//! Instants already counted are never counted twice, even if two windows would overlap in
//! real time around a transition at midnight.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::rules::RuleError;

/// Weekday keys of [`CalendarSpec::windows`], Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The farthest a calendar computation walks, in days (a backstop; a validated calendar with
/// validated targets never gets near it).
const MAX_DAYS: u32 = 400_000;

/// The serde form of a calendar, as stored and edited. Turn it into a [`BusinessCalendar`]
/// with [`CalendarSpec::validate`] (or deserialize a `BusinessCalendar` directly, which does
/// the same).
///
/// ```json
/// {
///   "timezone": "Europe/Berlin",
///   "windows": {
///     "monday": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
///     "saturday": [{"start": "09:00", "end": "13:00"}]
///   },
///   "holidays": ["2026-12-25", "2026-12-26"]
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA time zone name (`Europe/Berlin`).
    pub timezone: String,
    /// Working windows per weekday (`monday` .. `sunday`); a missing day has no work.
    pub windows: BTreeMap<String, Vec<WindowSpec>>,
    /// Holidays: local dates (`YYYY-MM-DD`) without work.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

/// One working window, local wall-clock times `HH:MM`; `end` may be `24:00`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Start, inclusive.
    pub start: String,
    /// End, exclusive; later than `start`.
    pub end: String,
}

fn parse_hhmm(s: &str, allow_24: bool) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    match (h, m) {
        (24, 0) if allow_24 => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn format_hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl CalendarSpec {
    /// Checks the spec and builds the calendar. Errors name the field
    /// (`windows.monday[1].start`, `holidays[0]`, `timezone`).
    pub fn validate(&self) -> Result<BusinessCalendar, Vec<RuleError>> {
        let mut errors = Vec::new();
        let tz = match self.timezone.trim().parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                errors.push(RuleError::new(
                    "timezone",
                    format!("unknown IANA time zone {:?}", self.timezone),
                ));
                None
            }
        };
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        for (day, windows) in &self.windows {
            let Some(index) = WEEKDAYS.iter().position(|d| d == day) else {
                errors.push(RuleError::new(
                    format!("windows.{day}"),
                    format!("unknown weekday, expected one of: {}", WEEKDAYS.join(", ")),
                ));
                continue;
            };
            let mut parsed = Vec::new();
            for (i, w) in windows.iter().enumerate() {
                let path = format!("windows.{day}[{i}]");
                let start = parse_hhmm(&w.start, false);
                let end = parse_hhmm(&w.end, true);
                if start.is_none() {
                    errors.push(RuleError::new(
                        format!("{path}.start"),
                        format!("invalid time {:?}, expected HH:MM", w.start),
                    ));
                }
                if end.is_none() {
                    errors.push(RuleError::new(
                        format!("{path}.end"),
                        format!("invalid time {:?}, expected HH:MM (or 24:00)", w.end),
                    ));
                }
                if let (Some(s), Some(e)) = (start, end) {
                    if s >= e {
                        errors.push(RuleError::new(
                            &path,
                            format!("start {} is not before end {}", w.start, w.end),
                        ));
                    } else {
                        parsed.push((s, e, i));
                    }
                }
            }
            parsed.sort_unstable();
            for pair in parsed.windows(2) {
                let ((_, end_a, a), (start_b, _, b)) = (pair[0], pair[1]);
                if start_b < end_a {
                    errors.push(RuleError::new(
                        format!("windows.{day}[{b}]"),
                        format!("overlaps windows.{day}[{a}]"),
                    ));
                }
            }
            week[index] = parsed.into_iter().map(|(s, e, _)| (s, e)).collect();
        }
        if week.iter().all(Vec::is_empty) && errors.is_empty() {
            errors.push(RuleError::new(
                "windows",
                "no working window on any weekday; omit the calendar for 24x7",
            ));
        }
        let mut holidays = BTreeSet::new();
        for (i, h) in self.holidays.iter().enumerate() {
            match NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d") {
                Ok(d) => {
                    holidays.insert(d);
                }
                Err(_) => errors.push(RuleError::new(
                    format!("holidays[{i}]"),
                    format!("invalid date {h:?}, expected YYYY-MM-DD"),
                )),
            }
        }
        match tz {
            Some(tz) if errors.is_empty() => Ok(BusinessCalendar { tz, week, holidays }),
            _ => Err(errors),
        }
    }
}

/// A validated business calendar. Serializes as its [`CalendarSpec`]; deserializing
/// validates (invalid input is a serde error listing every problem).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarSpec", into = "CalendarSpec")]
pub struct BusinessCalendar {
    tz: Tz,
    /// Per weekday (Monday first): sorted, disjoint windows in minutes after local midnight.
    week: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// The errors of a calendar that failed validation, for serde.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarErrors(pub Vec<RuleError>);

impl fmt::Display for CalendarErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl TryFrom<CalendarSpec> for BusinessCalendar {
    type Error = CalendarErrors;
    fn try_from(spec: CalendarSpec) -> Result<Self, Self::Error> {
        spec.validate().map_err(CalendarErrors)
    }
}

impl From<BusinessCalendar> for CalendarSpec {
    fn from(cal: BusinessCalendar) -> Self {
        let windows = WEEKDAYS
            .iter()
            .zip(&cal.week)
            .filter(|(_, w)| !w.is_empty())
            .map(|(day, w)| {
                let specs = w
                    .iter()
                    .map(|&(s, e)| WindowSpec {
                        start: format_hhmm(s),
                        end: format_hhmm(e),
                    })
                    .collect();
                ((*day).to_owned(), specs)
            })
            .collect();
        CalendarSpec {
            timezone: cal.tz.name().to_owned(),
            windows,
            holidays: cal
                .holidays
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect(),
        }
    }
}

impl BusinessCalendar {
    /// The time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Whether `date` (local) is a holiday.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }

    /// The instant of local `minute` after midnight of `date`; see the module docs for gaps
    /// and repeats.
    fn resolve(&self, date: NaiveDate, minute: u32, is_end: bool) -> DateTime<Utc> {
        let naive: NaiveDateTime = date.and_time(chrono::NaiveTime::MIN);
        let mut local = naive + Duration::minutes(i64::from(minute));
        for _ in 0..=(48 * 60) {
            match self.tz.from_local_datetime(&local) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(a, b) => {
                    let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
                    return if is_end { a.max(b) } else { a.min(b) };
                }
                // In a gap: the first wall-clock minute after it is the transition instant.
                LocalResult::None => local += Duration::minutes(1),
            }
        }
        // Unreachable for real zones (no gap lasts two days); fall back to UTC wall time.
        Utc.from_utc_datetime(&local)
    }

    /// The working windows of local `date` as instants (none on a holiday), in order.
    fn windows_on(&self, date: NaiveDate) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> {
        let windows: &[(u32, u32)] = if self.is_holiday(date) {
            &[]
        } else {
            &self.week[date.weekday().num_days_from_monday() as usize]
        };
        windows
            .iter()
            .map(move |&(s, e)| (self.resolve(date, s, false), self.resolve(date, e, true)))
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The instant `minutes` of working time after `start`. Zero minutes is `start` itself.
    pub fn add_business_minutes(&self, start: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
        self.add_business_time(start, Duration::minutes(i64::from(minutes)))
    }

    /// The instant `amount` of working time after `start` (millisecond precision). A zero or
    /// negative amount is `start` itself. If `start` is outside working time, counting begins
    /// at the next window; the result is the end of a window, never the start of the next,
    /// when the amount runs out exactly there.
    pub fn add_business_time(&self, start: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        if amount <= Duration::zero() {
            return start;
        }
        let mut remaining = amount;
        let mut cursor = start;
        let Some(mut date) = self.local_date(start).pred_opt() else {
            return start + amount;
        };
        for _ in 0..MAX_DAYS {
            for (ws, we) in self.windows_on(date) {
                let from = ws.max(cursor);
                if we <= from {
                    continue;
                }
                let available = we - from;
                if available >= remaining {
                    return from + remaining;
                }
                remaining -= available;
                cursor = we;
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// Working time between `a` and `b` (zero when `b` is not after `a`).
    pub fn business_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if b <= a {
            return total;
        }
        let mut cursor = a;
        let (Some(mut date), Some(last)) =
            (self.local_date(a).pred_opt(), self.local_date(b).succ_opt())
        else {
            return b - a;
        };
        while date <= last {
            for (ws, we) in self.windows_on(date) {
                let from = ws.max(cursor);
                let to = we.min(b);
                if to > from {
                    total += to - from;
                    cursor = to;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        total
    }

    /// Whole minutes of working time between `a` and `b` (rounded down).
    pub fn business_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        self.business_time_between(a, b).num_minutes()
    }

    /// Whether `t` falls inside a working window (start inclusive, end exclusive).
    pub fn is_business_time(&self, t: DateTime<Utc>) -> bool {
        let date = self.local_date(t);
        [date.pred_opt(), Some(date), date.succ_opt()]
            .into_iter()
            .flatten()
            .any(|d| self.windows_on(d).any(|(ws, we)| ws <= t && t < we))
    }
}

/// [`BusinessCalendar::add_business_time`], or plain addition without a calendar (24x7).
pub fn add_working_time(
    calendar: Option<&BusinessCalendar>,
    start: DateTime<Utc>,
    amount: Duration,
) -> DateTime<Utc> {
    match calendar {
        Some(cal) => cal.add_business_time(start, amount),
        None if amount <= Duration::zero() => start,
        None => start
            .checked_add_signed(amount)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    }
}

/// [`BusinessCalendar::business_time_between`], or plain elapsed time without a calendar.
pub fn working_time_between(
    calendar: Option<&BusinessCalendar>,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
) -> Duration {
    match calendar {
        Some(cal) => cal.business_time_between(a, b),
        None if b <= a => Duration::zero(),
        None => b - a,
    }
}

/// [`BusinessCalendar::is_business_time`], or `true` without a calendar.
pub fn is_working_time(calendar: Option<&BusinessCalendar>, t: DateTime<Utc>) -> bool {
    calendar.is_none_or(|cal| cal.is_business_time(t))
}
