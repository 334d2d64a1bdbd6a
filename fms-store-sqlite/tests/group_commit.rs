//! Group commit keeps every call atomic on its own: calls that fail inside a shared
//! transaction roll back alone (their savepoint), the others of the group commit, and
//! nothing of a failed call remains (no ticket, activity, queue row or ticket number).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Utc;
use fms_core::Fms;
use fms_core::activity::{ActivityType, NewActivity};
use fms_core::ids::{TicketId, UserId};
use fms_core::intake::NewTicket;
use fms_core::queue::QueueQuery;
use fms_core::rules::CursorUpdate;
use fms_core::store::{CreateTicket, Step, Store, StoreError, TicketQuery};
use fms_core::tenant::NewTenant;
use fms_core::user::{NewUser, Role};
use fms_store_sqlite::SqliteStore;
use futures::future::join_all;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_calls_in_a_group_roll_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("fms.db")).unwrap());
    let fms = Fms::new(store.clone());
    let tenant = fms.create_tenant(NewTenant::new("ACME")).await.unwrap();
    let john = fms
        .create_user(NewUser::new(tenant.id, "John", Role::Complainant).with_chat_id("1"))
        .await
        .unwrap();
    let body = serde_json::json!({
        "issue": "AC not working", "location": "A3", "category": "HVAC", "priority": "high",
        "name": "John", "chat_id": "1", "tenant_id": tenant.id.to_string()
    });
    let draft = NewTicket::from_json(&body).unwrap();

    // A create whose round-robin compare-and-set cannot hold: it inserts the ticket and its
    // activity (queue row by trigger), then fails; its savepoint must undo all of it.
    let doomed = || CreateTicket {
        id: TicketId::new(),
        tenant_id: tenant.id,
        complainant_id: john.id,
        report: draft.report.clone(),
        priority: draft.report.submitted_priority,
        sla: Default::default(),
        sla_state: None,
        cursor: Some(CursorUpdate {
            pool: "p".into(),
            previous: Some(UserId::new()),
            next: john.id,
        }),
        created_at: Utc::now(),
        steps: vec![Step::activity(NewActivity::new(
            ActivityType::TicketCreated,
            Utc::now(),
        ))],
        idempotency_key: None,
        notifications: Vec::new(),
    };
    let store_dyn: Arc<dyn Store> = store.clone();
    let good = (0..40).map(|_| {
        let fms = fms.clone();
        let body = body.clone();
        tokio::spawn(async move { fms.ingest(&body, None).await.map(|i| i.ticket) })
    });
    let bad = (0..40).map(|_| {
        let store = store_dyn.clone();
        let new = doomed();
        tokio::spawn(async move { store.create_ticket(&new).await })
    });
    let good = join_all(good).await;
    let bad = join_all(bad).await;
    for r in bad {
        assert!(matches!(r.unwrap(), Err(StoreError::Conflict { .. })));
    }
    let mut seqs: Vec<i64> = good.into_iter().map(|r| r.unwrap().unwrap().seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=40).collect::<Vec<_>>(),
        "gap-free: failed creates used no number"
    );
    let tickets = fms
        .tickets(&TicketQuery {
            tenant_id: tenant.id,
            status: None,
            before: None,
            limit: 1000,
        })
        .await
        .unwrap();
    assert_eq!(tickets.len(), 40);
    let rows = fms
        .queue_entries(&QueueQuery::tenant(tenant.id, None, 1000))
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        40,
        "one queue row per surviving ticket, none of the failed"
    );

    // And what committed survives a reopen of the file.
    drop((fms, store, store_dyn));
    let reopened = Fms::new(Arc::new(
        SqliteStore::open(dir.path().join("fms.db")).unwrap(),
    ));
    let after = reopened
        .tickets(&TicketQuery {
            tenant_id: tenant.id,
            status: None,
            before: None,
            limit: 1000,
        })
        .await
        .unwrap();
    assert_eq!(after.len(), 40);
}
