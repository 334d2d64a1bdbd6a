//! What every graceful-shutdown test checks once the dispatcher (a `DispatchLoop` or the
//! `Runtime`) has stopped with sends in flight.

use std::time::Duration;

use fms::Fms;
use fms::ids::TenantId;
use fms::queue::{QueueQuery, QueueState};
use fms_test_receiver::Receiver;

/// `queued` rows of `tenant` were queued before the stop: none is left `leased`, some but not
/// all were delivered (the stop came while sends were in flight), and every request that
/// reached `receiver` was recorded as delivered.
pub(crate) async fn assert_stopped_cleanly(
    fms: &Fms,
    tenant: TenantId,
    receiver: &Receiver,
    queued: usize,
) {
    let rows = fms
        .queue_entries(&QueueQuery::tenant(tenant, None, 100))
        .await
        .unwrap();
    assert_eq!(rows.len(), queued);
    let leased: Vec<_> = rows
        .iter()
        .filter(|q| q.state == QueueState::Leased)
        .collect();
    assert!(leased.is_empty(), "{leased:?}");
    let delivered = rows
        .iter()
        .filter(|q| q.state == QueueState::Delivered)
        .count();
    assert!((1..queued).contains(&delivered), "{delivered}");
    // Every request that reached the receiver was recorded as delivered.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.count(), delivered);
}
