//! Fault injection for the conformance suite (feature `conformance`): makes every queue insert
//! fail, after the activity insert of the same statement, through a connection-local trigger.

use async_trait::async_trait;
use fms_core::conformance::FaultInjection;
use fms_core::store::StoreError;

use crate::SqliteStore;

#[async_trait]
impl FaultInjection for SqliteStore {
    async fn fail_queue_inserts(&self, fail: bool) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute_batch(if fail {
                "CREATE TEMP TRIGGER IF NOT EXISTS fms_injected_fault \
                 BEFORE INSERT ON main.ticket_webhook_queue \
                 BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
            } else {
                "DROP TRIGGER IF EXISTS temp.fms_injected_fault;"
            })?;
            Ok(())
        })
        .await
    }
}
