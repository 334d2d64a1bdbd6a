//! The fms-core conformance suite on Postgres: every case on a fresh schema of the database
//! named by `FMS_TEST_POSTGRES_URL`. Without it the cases print that they were skipped,
//! unless `FMS_REQUIRE_POSTGRES=1` (CI), which makes a missing database a failure.

#![allow(clippy::expect_used, clippy::panic)]

mod support;

mod on_a_fresh_schema {
    use fms_core::conformance::Subject;

    // Without FMS_TEST_POSTGRES_URL every case says it was skipped (and fails instead when
    // FMS_REQUIRE_POSTGRES=1, see `support::database_url`).
    fms_core::conformance_tests!(async { crate::support::fresh_store().await.map(Subject::new) });
}
