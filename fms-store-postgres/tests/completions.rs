//! Concurrent completions through the store's combiner (group commit): each caller gets its
//! own answer, fenced by its own token, and a row the database refuses fails alone.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use std::sync::Arc;

use chrono::{Duration, Utc};
use fms_core::Fms;
use fms_core::delivery::{DeliverySettings, Outcome};
use fms_core::queue::{
    BreakerUpdate, Claim, ClaimOptions, Completion, QueueState, Resolution, TicketQueue,
};
use fms_core::store::StoreError;
use fms_core::store::prelude::*;
use fms_core::tenant::NewTenant;
use fms_core::user::{NewUser, Role};
use fms_store_postgres::PgStore;
use futures::future::join_all;
use serde_json::json;

fn completion(c: &Claim, token: i64, resolution: Resolution, breaker: bool) -> Completion {
    Completion {
        entry: c.entry.id,
        token,
        now: Utc::now(),
        resolution,
        attempted: true,
        status_code: Some(200),
        error: None,
        breaker: breaker.then(|| BreakerUpdate {
            outcome: Outcome::Delivered { status: 200 },
            settings: DeliverySettings::default(),
            jitter: 0.0,
        }),
    }
}

async fn hot_state(store: &PgStore, c: &Claim) -> Option<String> {
    sqlx::query_scalar("SELECT state FROM ticket_webhook_queue WHERE id = $1")
        .bind(c.entry.id.0)
        .fetch_optional(store.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_completions_are_fenced_and_answered_one_by_one() {
    let Some(store) = support::fresh_store().await else {
        eprintln!("skipped: FMS_TEST_POSTGRES_URL is not set");
        return;
    };
    let fms = Fms::new(Arc::new(store.clone()));
    let tenant = fms
        .create_tenant(NewTenant::new("ACME").with_webhook_url("http://127.0.0.1:9/hook"))
        .await
        .unwrap();
    fms.create_user(NewUser::new(tenant.id, "John Doe", Role::Complainant).with_chat_id("42"))
        .await
        .unwrap();
    let body = json!({
        "issue": "AC not working", "location": "Building A", "category": "HVAC",
        "priority": "high", "name": "John Doe", "chat_id": "42",
        "tenant_id": tenant.id.to_string(),
    });
    for _ in 0..24 {
        fms.ingest(&body, None).await.unwrap();
    }
    let tickets: &dyn QueueStore<TicketQueue> = &store;
    let claims = tickets
        .claim(&ClaimOptions {
            now: Utc::now() + Duration::seconds(1),
            limit: 50,
            lease: Duration::seconds(60),
        })
        .await
        .unwrap();
    assert_eq!(claims.len(), 24);

    // Row 20 cannot move to the archive: a row with its id is already there.
    sqlx::query(
        "INSERT INTO ticket_webhook_deliveries SELECT id, tenant_id, ticket_id, activity_id,
             sequence, 'delivered', attempts, next_attempt_at, lease_token, first_attempt_at,
             last_status_code, last_error, created_at, finished_at, snap_status, snap_priority,
             snap_executor_id, snap_response_due_at, snap_resolution_due_at
         FROM ticket_webhook_queue WHERE id = $1",
    )
    .bind(claims[20].entry.id.0)
    .execute(store.pool())
    .await
    .unwrap();

    let mut calls = Vec::new();
    for (i, c) in claims.iter().enumerate() {
        let call = match i {
            // Stale tokens, with and without a breaker update.
            8..12 => completion(c, c.token - 1, Resolution::Delivered, true),
            12..16 => completion(c, c.token - 1, Resolution::Skipped, false),
            // Skipped without a breaker update.
            16..20 => completion(c, c.token, Resolution::Skipped, false),
            // Delivered on a healthy endpoint (the guarded fast path); row 20 is refused.
            _ => completion(c, c.token, Resolution::Delivered, true),
        };
        calls.push(call);
    }
    // Row 21 twice with its token: finished once, the other call is a conflict.
    calls.push(completion(
        &claims[21],
        claims[21].token,
        Resolution::Delivered,
        true,
    ));
    let results = join_all(calls.iter().map(|c| tickets.complete(c))).await;

    for (i, r) in results.iter().enumerate() {
        match i {
            0..8 | 16..20 | 22..24 => assert!(r.is_ok(), "row {i}: {r:?}"),
            8..16 => assert!(
                matches!(r, Err(StoreError::Conflict { .. })),
                "row {i}: {r:?}"
            ),
            20 => assert!(r.is_err(), "the refused row fails: {r:?}"),
            _ => {}
        }
    }
    let twice = [&results[21], &results[24]];
    assert_eq!(twice.iter().filter(|r| r.is_ok()).count(), 1, "{twice:?}");
    assert!(
        twice
            .iter()
            .any(|r| matches!(r, Err(StoreError::Conflict { .. })))
    );

    for (i, c) in claims.iter().enumerate() {
        let state = match i {
            8..16 | 20 => {
                assert_eq!(
                    hot_state(&store, c).await.as_deref(),
                    Some("leased"),
                    "row {i}"
                );
                continue;
            }
            16..20 => QueueState::Skipped,
            _ => QueueState::Delivered,
        };
        assert_eq!(
            hot_state(&store, c).await,
            None,
            "row {i} left the hot table"
        );
        let entry = tickets.entry(c.entry.id).await.unwrap();
        assert_eq!(entry.state, state, "row {i}");
        assert_eq!(entry.attempts, 1, "row {i}");
        assert_eq!(entry.last_status_code, Some(200), "row {i}");
    }
}
