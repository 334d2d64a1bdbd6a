//! A fresh, migrated schema per test on the database of `FMS_TEST_POSTGRES_URL`.

#![allow(dead_code, unreachable_pub)]

use fms_store_postgres::{PgStore, PgStoreOptions};

/// The test database URL; `None` (skip) when unset, a failure when `FMS_REQUIRE_POSTGRES=1`.
pub fn database_url() -> Option<String> {
    match std::env::var("FMS_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("FMS_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "FMS_REQUIRE_POSTGRES=1 but FMS_TEST_POSTGRES_URL is not set"
            );
            None
        }
    }
}

/// A new schema with a random name, migrated; `None` without a database.
pub async fn fresh_store() -> Option<PgStore> {
    fresh_store_with(PgStoreOptions::default().with_max_connections(8)).await
}

/// [`fresh_store`] with pool options (the schema is set on them).
pub async fn fresh_store_with(options: PgStoreOptions) -> Option<PgStore> {
    let url = database_url()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let schema = format!("fms_test_{now}_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url)
        .await
        .expect("connect to the test database");
    if !SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        sweep(&admin, now).await;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .expect("create the test schema");
    admin.close().await;
    let store = PgStore::connect_with(&url, options.with_schema(schema))
        .await
        .expect("connect the store");
    store.migrate().await.expect("migrate");
    Some(store)
}

static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Drops the schemas of earlier test runs (older than an hour; a test never runs that long),
/// since a case cannot clean up after itself.
async fn sweep(admin: &sqlx::PgPool, now: u64) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'fms\\_test\\_%'",
    )
    .fetch_all(admin)
    .await
    .unwrap_or_default();
    for name in names {
        let born = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        if born + 3600 < now {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE"
            )))
            .execute(admin)
            .await;
        }
    }
}
