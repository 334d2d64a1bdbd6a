//! Queue cases: claims, leases and fencing, head-of-line order, retries, parking, replay and
//! skip, the endpoint breaker, tenants without a URL.

/// The queue cases, one test each (expanded by [`conformance_tests!`](crate::conformance_tests)).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_queue_cases {
    ($subject:expr) => {
        $crate::__conformance_cases!($subject;);
    };
}
