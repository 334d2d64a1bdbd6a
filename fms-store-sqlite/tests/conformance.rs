//! The fms-core conformance suite on SQLite: every case on a fresh in-memory database, and
//! again on a fresh database file.

#![allow(clippy::expect_used)]

mod in_memory {
    use fms_core::conformance::Subject;
    use fms_store_sqlite::SqliteStore;

    fms_core::conformance_tests!(async {
        Subject::new(SqliteStore::in_memory().expect("in-memory database"))
    });
}

mod file {
    use fms_core::conformance::Subject;
    use fms_store_sqlite::SqliteStore;

    fms_core::conformance_tests!(async {
        // The directory lives as long as the test process; each test gets its own file.
        let dir = Box::leak(Box::new(tempfile::tempdir().expect("temp dir")));
        let path = dir.path().join("fms.db");
        Subject::new(SqliteStore::open(path).expect("database file"))
    });
}
