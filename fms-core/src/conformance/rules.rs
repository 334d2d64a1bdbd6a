//! Rule-engine cases: rule sets, calendars, executor loads and the round-robin cursor.

/// The rule-engine cases, one test each (expanded by
/// [`conformance_tests!`](crate::conformance_tests)).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_rules_cases {
    ($subject:expr) => {
        $crate::__conformance_cases!($subject;);
    };
}
