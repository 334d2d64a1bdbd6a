//! Acceptance of fms-store-postgres without HTTP: concurrent intakes in one tenant get unique,
//! gap-free numbers; `migrate()` twice is a no-op. Needs `FMS_TEST_POSTGRES_URL` (skipped
//! without it unless `FMS_REQUIRE_POSTGRES=1`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod postgres_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use fms::Fms;
use fms::postgres::sqlx;
use fms::tenant::NewTenant;
use fms::user::{NewUser, Role};
use futures::future::join_all;
use postgres_support::Schema;
use serde_json::json;

/// 8 concurrent writers x 500 intakes in one tenant: numbers unique and gap-free.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_500_intakes_each_get_gap_free_numbers() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let store = schema.store(8).await;
    store.migrate().await.unwrap();
    let fms = Fms::new(Arc::new(store));
    let tenant = fms.create_tenant(NewTenant::new("ACME")).await.unwrap();
    fms.create_user(NewUser::new(tenant.id, "John Doe", Role::Complainant).with_chat_id("42"))
        .await
        .unwrap();
    let body = json!({
        "issue": "AC not working", "location": "Building A", "category": "HVAC",
        "priority": "high", "name": "John Doe", "chat_id": "42",
        "tenant_id": tenant.id.to_string(),
    });
    let started = Instant::now();
    let writers = (0..8).map(|_| {
        let fms = fms.clone();
        let body = body.clone();
        async move {
            let mut seqs = Vec::with_capacity(500);
            for _ in 0..500 {
                let t = fms.ingest(&body, None).await.unwrap().ticket;
                assert_eq!(t.number, format!("TKT-{:04}", t.seq));
                seqs.push(t.seq);
            }
            seqs
        }
    });
    let mut all = Vec::new();
    for seqs in join_all(writers).await {
        all.extend(seqs);
    }
    println!("4000 intakes by 8 writers in {:?}", started.elapsed());
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a number was handed out twice");
    assert_eq!(unique, (1..=4000).collect(), "numbers are gap-free");
    schema.drop().await;
}

/// `migrate()` on an up-to-date schema changes nothing: no migration re-applied, no object
/// added or lost, data kept.
#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let store = schema.store(2).await;
    store.migrate().await.unwrap();
    let fms = Fms::new(Arc::new(store.clone()));
    let tenant = fms.create_tenant(NewTenant::new("ACME")).await.unwrap();

    let shape = "SELECT (SELECT count(*) FROM _sqlx_migrations), \
                 (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                  WHERE n.nspname = current_schema()), \
                 (SELECT max(installed_on)::text FROM _sqlx_migrations)";
    let before: (i64, i64, String) = sqlx::query_as(shape).fetch_one(store.pool()).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let after: (i64, i64, String) = sqlx::query_as(shape).fetch_one(store.pool()).await.unwrap();
    assert_eq!(before, after);
    assert_eq!(before.0, fms::postgres::PgStore::schema_version());
    assert_eq!(fms.tenant(tenant.id).await.unwrap().name, "ACME");
    schema.drop().await;
}
