//! The store conformance suite (feature `conformance`): plain `pub async fn` cases that every
//! [`Store`] must pass, and [`conformance_tests!`](crate::conformance_tests), which
//! expands to one `#[tokio::test]` per case so one failing case never hides the next.
//!
//! An adapter's test file needs only this (and `tokio` as a dev-dependency):
//!
//! ```text
//! fms_core::conformance_tests!(async {
//!     fms_core::conformance::Subject::new(MyStore::fresh().await)
//! });
//! ```
//!
//! The expression is evaluated once per test, so each case gets a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod fixtures;
mod intake;
mod machine;
mod onboarding;
mod outbox;
mod queue;
mod rules;

use std::sync::Arc;

use async_trait::async_trait;

use crate::store::{Store, StoreError};

pub use fixtures::{Fixture, spec_body};
pub use intake::*;
pub use machine::*;
pub use onboarding::*;
pub use outbox::*;
pub use queue::*;
pub use rules::*;

/// The ability to make the store's queue inserts fail, so the suite can prove that an activity
/// and its queue row are written together or not at all.
#[async_trait]
pub trait FaultInjection: Send + Sync {
    /// While `fail` is set, every insert into the webhook queue fails (after the activity's
    /// own insert in the same transaction).
    async fn fail_queue_inserts(&self, fail: bool) -> Result<(), StoreError>;
}

/// What a case runs against.
#[derive(Clone)]
pub struct Subject {
    /// The store under test.
    pub store: Arc<dyn Store>,
    /// Its fault injection.
    pub faults: Arc<dyn FaultInjection>,
}

impl Subject {
    /// A subject over `store`.
    pub fn new<S: Store + FaultInjection>(store: S) -> Self {
        let store = Arc::new(store);
        Self {
            store: store.clone(),
            faults: store,
        }
    }
}

/// What a test's subject expression may yield: a [`Subject`], or `Option<Subject>` where
/// `None` means the backend is not available here (the case prints that it was skipped and
/// passes; a CI that requires the backend must turn `None` into a failure itself).
pub trait MaybeSubject {
    /// The subject, if there is one.
    fn into_subject(self) -> Option<Subject>;
}

impl MaybeSubject for Subject {
    fn into_subject(self) -> Option<Subject> {
        Some(self)
    }
}

impl MaybeSubject for Option<Subject> {
    fn into_subject(self) -> Option<Subject> {
        self
    }
}

/// Expands to one `#[tokio::test]` per conformance case. `$subject` is an expression of type
/// `impl Future<Output = S>` with `S` a [`Subject`] or an `Option<Subject>` (see
/// [`MaybeSubject`]), evaluated once per test.
#[macro_export]
macro_rules! conformance_tests {
    ($subject:expr) => {
        $crate::__conformance_cases!(
            $subject;
            spec_example_ingests,
            missing_required_fields_are_named,
            invalid_priority_is_rejected,
            unknown_chat_id_is_not_found,
            inactive_user_is_forbidden,
            chat_id_of_another_tenant_is_not_found,
            duplicate_chat_id_is_a_conflict,
            activity_and_queue_row_are_atomic,
            sequences_run_one_to_n,
            ticket_numbers_are_gap_free_under_concurrency,
            idempotency_key_creates_one_ticket,
            concurrent_idempotent_intakes_create_one_ticket,
            status_transition_table,
            concurrent_status_changes_never_lose_an_update,
            snapshot_keeps_the_state_after_its_activity,
            tickets_list_newest_first_with_cursor,
            queue_rows_page_newest_first_by_keyset,
            queue_backlog_counts_undone_rows_only,
            roster_counts_follow_assignments_and_status_changes,
        );
        $crate::__conformance_queue_cases!($subject);
        $crate::__conformance_rules_cases!($subject);
        $crate::__conformance_onboarding_cases!($subject);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($subject:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let subject = $crate::conformance::MaybeSubject::into_subject(($subject).await);
                match subject {
                    Some(subject) => $crate::conformance::$case(&subject).await,
                    None => println!("skipped: {}: the store under test is not available", stringify!($case)),
                }
            }
        )*
    };
}
