//! Rule conditions: what a rule looks at (category, place, text, complainant, time) and how
//! `all`/`any`/`not` combine them. Evaluation explains itself for the trace.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::rules::RuleError;
use crate::ticket::{Priority, Report};
use crate::user::User;

/// How deep `all`/`any`/`not` may nest.
pub const MAX_CONDITION_DEPTH: usize = 16;

/// A list of values that matches when any of them does. In JSON either one string
/// (`"HVAC"`) or a list (`["HVAC", "Electrical"]`); always written back as a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(transparent)]
pub struct Values(pub Vec<String>);

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(s) => Ok(Values(vec![s])),
            OneOrMany::Many(v) => Ok(Values(v)),
        }
    }
}

impl<const N: usize> From<[&str; N]> for Values {
    fn from(values: [&str; N]) -> Self {
        Values(values.iter().map(|s| (*s).to_owned()).collect())
    }
}

impl fmt::Display for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{v:?}")?;
        }
        f.write_str("]")
    }
}

/// Inside or outside the tenant's business hours (24x7 without a calendar: always inside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hours {
    /// The ticket arrives inside a working window on a working day.
    Inside,
    /// The ticket arrives outside every working window, or on a holiday.
    Outside,
}

/// One condition. In JSON an object with exactly one key, e.g. `{"category": "HVAC"}`,
/// `{"keyword": ["AC", "air con"]}`, `{"any": [{...}, {...}]}`.
///
/// Names (category, type, building, floor, room, department, designation) match when equal to
/// any listed value, ignoring case and surrounding whitespace. Keywords match when contained
/// anywhere in the text, ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// Every listed condition holds.
    All(Vec<Condition>),
    /// At least one listed condition holds.
    Any(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
    /// The category is one of these.
    Category(Values),
    /// The ticket type is one of these.
    Type(Values),
    /// The priority is one of these. This is the priority as earlier rules left it (the
    /// submitted one if no earlier rule changed it).
    Priority(Values),
    /// The building is one of these (a ticket without a building never matches).
    Building(Values),
    /// The floor is one of these.
    Floor(Values),
    /// The room is one of these.
    Room(Values),
    /// The issue (title and description) or the location contains one of these.
    Keyword(Values),
    /// The issue (title and description) contains one of these.
    IssueContains(Values),
    /// The location contains one of these.
    LocationContains(Values),
    /// The complainant's department is one of these (the user record's or the intake's).
    Department(Values),
    /// The complainant's designation is one of these (the user record's or the intake's).
    Designation(Values),
    /// The ticket arrives inside or outside business hours.
    BusinessHours(Hours),
}

/// What conditions are evaluated against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts<'a> {
    pub(crate) report: &'a Report,
    pub(crate) complainant: &'a User,
    pub(crate) priority: Priority,
    pub(crate) inside_hours: bool,
}

fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

fn name_in(field: &str, value: Option<&str>, values: &Values) -> (bool, String) {
    match value {
        None => (
            false,
            format!("{field} is not set (wanted one of {values})"),
        ),
        Some(v) => match values.0.iter().find(|w| same_name(v, w)) {
            Some(w) => (true, format!("{field} {v:?} is {w:?}")),
            None => (false, format!("{field} {v:?} is not one of {values}")),
        },
    }
}

fn names_in(field: &str, candidates: &[Option<&str>], values: &Values) -> (bool, String) {
    let present: Vec<&str> = candidates.iter().flatten().copied().collect();
    for v in &present {
        if let Some(w) = values.0.iter().find(|w| same_name(v, w)) {
            return (true, format!("{field} {v:?} is {w:?}"));
        }
    }
    match present.first() {
        None => (
            false,
            format!("{field} is not set (wanted one of {values})"),
        ),
        Some(v) => (false, format!("{field} {v:?} is not one of {values}")),
    }
}

fn contains_any(field: &str, texts: &[&str], values: &Values) -> (bool, String) {
    let lowered: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
    for keyword in &values.0 {
        let k = keyword.trim().to_lowercase();
        if k.is_empty() {
            continue;
        }
        if lowered.iter().any(|t| t.contains(&k)) {
            return (true, format!("{field} contains {keyword:?}"));
        }
    }
    (false, format!("{field} contains none of {values}"))
}

impl Condition {
    /// Evaluates the condition; the string says why it holds or not.
    pub(crate) fn eval(&self, facts: &Facts<'_>) -> (bool, String) {
        let report = facts.report;
        match self {
            Condition::All(items) => {
                let mut whys = Vec::with_capacity(items.len());
                for item in items {
                    let (ok, why) = item.eval(facts);
                    if !ok {
                        return (false, why);
                    }
                    whys.push(why);
                }
                (true, whys.join(" and "))
            }
            Condition::Any(items) => {
                let mut whys = Vec::with_capacity(items.len());
                for item in items {
                    let (ok, why) = item.eval(facts);
                    if ok {
                        return (true, why);
                    }
                    whys.push(why);
                }
                (false, whys.join(" and "))
            }
            Condition::Not(inner) => {
                let (ok, why) = inner.eval(facts);
                (!ok, format!("not ({why})"))
            }
            Condition::Category(v) => name_in("category", Some(&report.category), v),
            Condition::Type(v) => name_in("type", Some(&report.ticket_type), v),
            Condition::Priority(v) => name_in("priority", Some(facts.priority.as_str()), v),
            Condition::Building(v) => name_in("building", report.building.as_deref(), v),
            Condition::Floor(v) => name_in("floor", report.floor.as_deref(), v),
            Condition::Room(v) => name_in("room", report.room.as_deref(), v),
            Condition::Keyword(v) => {
                let mut texts = vec![report.title.as_str(), report.location.as_str()];
                texts.extend(report.description.as_deref());
                contains_any("issue or location", &texts, v)
            }
            Condition::IssueContains(v) => {
                let mut texts = vec![report.title.as_str()];
                texts.extend(report.description.as_deref());
                contains_any("issue", &texts, v)
            }
            Condition::LocationContains(v) => contains_any("location", &[&report.location], v),
            Condition::Department(v) => names_in(
                "department",
                &[
                    facts.complainant.department.as_deref(),
                    report.reporter_department.as_deref(),
                ],
                v,
            ),
            Condition::Designation(v) => names_in(
                "designation",
                &[
                    facts.complainant.designation.as_deref(),
                    report.reporter_designation.as_deref(),
                ],
                v,
            ),
            Condition::BusinessHours(hours) => {
                let wanted = *hours == Hours::Inside;
                let now = if facts.inside_hours {
                    "inside"
                } else {
                    "outside"
                };
                (
                    facts.inside_hours == wanted,
                    format!("arrived {now} business hours"),
                )
            }
        }
    }

    /// Appends every problem of this condition to `errors`; `path` names it.
    pub(crate) fn validate(&self, path: &str, depth: usize, errors: &mut Vec<RuleError>) {
        if depth > MAX_CONDITION_DEPTH {
            errors.push(RuleError::new(
                path,
                format!("conditions nest deeper than {MAX_CONDITION_DEPTH} levels"),
            ));
            return;
        }
        let values = |key: &str, v: &Values, errors: &mut Vec<RuleError>| {
            let p = format!("{path}.{key}");
            if v.0.is_empty() {
                errors.push(RuleError::new(&p, "empty list never matches"));
            }
            for (i, s) in v.0.iter().enumerate() {
                if s.trim().is_empty() {
                    errors.push(RuleError::new(format!("{p}[{i}]"), "empty value"));
                }
            }
        };
        match self {
            Condition::All(items) | Condition::Any(items) => {
                let key = if matches!(self, Condition::All(_)) {
                    "all"
                } else {
                    "any"
                };
                if items.is_empty() {
                    errors.push(RuleError::new(
                        format!("{path}.{key}"),
                        "empty list; omit `conditions` to match every ticket",
                    ));
                }
                for (i, item) in items.iter().enumerate() {
                    item.validate(&format!("{path}.{key}[{i}]"), depth + 1, errors);
                }
            }
            Condition::Not(inner) => inner.validate(&format!("{path}.not"), depth + 1, errors),
            Condition::Priority(v) => {
                values("priority", v, errors);
                for (i, s) in v.0.iter().enumerate() {
                    if !s.trim().is_empty() && Priority::parse_lenient(s).is_none() {
                        errors.push(RuleError::new(
                            format!("{path}.priority[{i}]"),
                            format!(
                                "unknown priority {s:?}, expected one of: critical, high, medium, low"
                            ),
                        ));
                    }
                }
            }
            Condition::Category(v) => values("category", v, errors),
            Condition::Type(v) => values("type", v, errors),
            Condition::Building(v) => values("building", v, errors),
            Condition::Floor(v) => values("floor", v, errors),
            Condition::Room(v) => values("room", v, errors),
            Condition::Keyword(v) => values("keyword", v, errors),
            Condition::IssueContains(v) => values("issue_contains", v, errors),
            Condition::LocationContains(v) => values("location_contains", v, errors),
            Condition::Department(v) => values("department", v, errors),
            Condition::Designation(v) => values("designation", v, errors),
            Condition::BusinessHours(_) => {}
        }
    }
}
