//! SLA events survive a restart exactly once: a sweep, a "crash" (the store and service are
//! dropped), a reopen of the same file, and sweeps after it emit nothing twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use fms_core::Fms;
use fms_core::activity::ActivityType;
use fms_core::clock::ManualClock;
use fms_core::tenant::NewTenant;
use fms_core::user::{NewUser, Role};
use fms_store_sqlite::SqliteStore;

fn sla_kinds(activities: &[fms_core::activity::Activity]) -> Vec<ActivityType> {
    activities
        .iter()
        .map(|a| a.activity_type)
        .filter(|k| matches!(k, ActivityType::SlaWarning | ActivityType::SlaBreached))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_events_are_emitted_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fms.db");
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ));
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();

    let ticket = {
        let fms = Fms::new(Arc::new(SqliteStore::open(&path).unwrap())).with_clock(clock.clone());
        let tenant = fms.create_tenant(NewTenant::new("ACME")).await.unwrap();
        fms.create_user(NewUser::new(tenant.id, "John", Role::Complainant).with_chat_id("1"))
            .await
            .unwrap();
        let body = serde_json::json!({
            "issue": "AC not working", "location": "A3", "category": "HVAC",
            "priority": "critical", "name": "John", "chat_id": "1",
            "tenant_id": tenant.id.to_string()
        });
        let t = fms.ingest(&body, None).await.unwrap().ticket; // critical: 1 h / 4 h
        clock.set(start + Duration::minutes(50)); // response warning at 48 min
        assert_eq!(fms.sweep_sla(10).await.unwrap(), 1);
        t
        // The store and the service are dropped here: the process "dies".
    };

    let fms = Fms::new(Arc::new(SqliteStore::open(&path).unwrap())).with_clock(clock.clone());
    assert_eq!(
        fms.sweep_sla(10).await.unwrap(),
        0,
        "the warning is not emitted again"
    );
    clock.set(start + Duration::minutes(70)); // response breach at 60 min
    assert_eq!(fms.sweep_sla(10).await.unwrap(), 1);
    assert_eq!(fms.sweep_sla(10).await.unwrap(), 0);
    let kinds = sla_kinds(&fms.activities(ticket.id).await.unwrap());
    assert_eq!(kinds, [ActivityType::SlaWarning, ActivityType::SlaBreached]);
}
