//! Fault injection for the conformance suite (feature `conformance`): makes every queue insert
//! of this store's schema fail, after the activity insert of the same statement, through a
//! trigger created in (and dropped from) that schema only.

use async_trait::async_trait;
use fms_core::conformance::FaultInjection;
use fms_core::store::StoreError;

use crate::PgStore;
use crate::error::Error;

const FAIL: &str = "
CREATE OR REPLACE FUNCTION fms_injected_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'injected fault'; END $$;
DROP TRIGGER IF EXISTS fms_injected_fault ON ticket_webhook_queue;
CREATE TRIGGER fms_injected_fault BEFORE INSERT ON ticket_webhook_queue
    FOR EACH ROW EXECUTE FUNCTION fms_injected_fault();";

const HEAL: &str = "DROP TRIGGER IF EXISTS fms_injected_fault ON ticket_webhook_queue;";

#[async_trait]
impl FaultInjection for PgStore {
    async fn fail_queue_inserts(&self, fail: bool) -> Result<(), StoreError> {
        sqlx::raw_sql(if fail { FAIL } else { HEAL })
            .execute(self.pool())
            .await
            .map_err(Error::from)?;
        Ok(())
    }
}
