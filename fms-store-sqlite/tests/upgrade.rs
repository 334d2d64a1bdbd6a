//! Upgrading a version-1 database: migration 2 adds each executor's open-ticket count and
//! fills it from the tickets already there, so the first intake after the upgrade allocates
//! on the true counts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use fms_core::Fms;
use fms_core::store::TicketQuery;
use fms_core::store::prelude::*;
use fms_core::tenant::NewTenant;
use fms_core::ticket::Status;
use fms_core::user::{NewUser, Role};
use fms_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_2_fills_open_ticket_counts_from_existing_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fms.db");

    let (tenant, mike, ann) = {
        let fms = Fms::new(Arc::new(SqliteStore::open(&path).unwrap()));
        let tenant = fms.create_tenant(NewTenant::new("ACME")).await.unwrap();
        fms.create_user(NewUser::new(tenant.id, "John", Role::Complainant).with_chat_id("1"))
            .await
            .unwrap();
        let mike = fms
            .create_user(NewUser::new(tenant.id, "Mike", Role::Executor).with_chat_id("2"))
            .await
            .unwrap();
        let ann = fms
            .create_user(NewUser::new(tenant.id, "Ann", Role::Executor).with_chat_id("3"))
            .await
            .unwrap();
        let body = serde_json::json!({
            "issue": "AC not working", "location": "A3", "category": "HVAC",
            "priority": "high", "name": "John", "chat_id": "1",
            "tenant_id": tenant.id.to_string(),
        });
        for i in 0..5 {
            let t = fms.ingest(&body, None).await.unwrap().ticket;
            let to = if i < 3 { mike.id } else { ann.id };
            if t.executor_id != Some(to) {
                fms.assign_executor(t.id, to, None).await.unwrap();
            }
            if i == 0 {
                fms.change_status(t.id, Status::Resolved, None, None)
                    .await
                    .unwrap();
            }
        }
        (tenant, mike.id, ann.id)
    };

    // Make the file a version-1 database again: no counter column, no triggers.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TRIGGER tickets_executor_load_insert;
             DROP TRIGGER tickets_executor_load_update;
             DROP TRIGGER tickets_executor_load_delete;
             ALTER TABLE users DROP COLUMN open_tickets;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }

    let store = SqliteStore::open(&path).unwrap();
    let roster = store.intake_context(tenant.id, "1").await.unwrap().roster;
    let open = |user| {
        roster
            .iter()
            .find(|c| c.user.id == user)
            .map(|c| c.open_tickets)
            .unwrap()
    };
    assert_eq!((open(mike), open(ann)), (2, 2), "{roster:?}");

    // And the triggers are back: a resolved ticket leaves the count.
    let fms = Fms::new(Arc::new(store.clone()));
    let tickets = fms
        .tickets(&TicketQuery {
            tenant_id: tenant.id,
            status: Some(Status::InProgress),
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    let annas = tickets.iter().find(|t| t.executor_id == Some(ann)).unwrap();
    fms.change_status(annas.id, Status::Resolved, None, None)
        .await
        .unwrap();
    let roster = store.intake_context(tenant.id, "1").await.unwrap().roster;
    let anns = roster.iter().find(|c| c.user.id == ann).unwrap();
    assert_eq!(anns.open_tickets, 1);
}
