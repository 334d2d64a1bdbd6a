//! fms-store-sqlite: the [`TicketStore`] of fms on SQLite, the embedded default.
//!
//! SQLite is bundled (no system library needed). The store owns one connection on a thread
//! of its own; calls are sent to it and awaited, so they never block the async runtime (any
//! async runtime works). SQLite has one writer at a time anyway, so the thread uses that:
//! the calls waiting in its queue run together in one `BEGIN IMMEDIATE ... COMMIT` (group
//! commit), each in its own savepoint so a failing call rolls back alone, and every caller
//! is answered only after the commit. Files are opened in WAL mode with
//! `synchronous = FULL`, so a committed activity and its queue row survive a power cut, and
//! concurrent callers share the fsync.
//!
//! The outbox is a trigger, as in the spec: an `AFTER INSERT` trigger on `ticket_activities`
//! bumps the ticket's counter and writes the `ticket_webhook_queue` row with the next
//! per-ticket sequence and a snapshot of the ticket, in the same transaction. Rows written by
//! other tools are queued too.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use fms_core::{Fms, tenant::NewTenant};
//! use fms_store_sqlite::SqliteStore;
//!
//! let fms = Fms::new(Arc::new(SqliteStore::in_memory()?));
//! let tenant = fms.create_tenant(NewTenant::new("ACME Facilities")).await?;
//! assert_eq!(fms.tenant(tenant.id).await?.name, "ACME Facilities");
//! # Ok(()) }
//! ```

mod directory;
mod error;
#[cfg(feature = "conformance")]
mod faults;
mod notifications;
mod onboarding;
mod queue;
mod row;
mod rules;
mod schema;
mod tickets;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fms_core::activity::Activity;
use fms_core::delivery::BreakerState;
use fms_core::ids::{QueueEntryId, TenantId, TicketId, UserId};
use fms_core::notification::{Notification, NotificationQuery};
use fms_core::onboarding::Invitation;
use fms_core::payload::PayloadParts;
use fms_core::queue::{
    Claim, ClaimOptions, Completion, CompletionEffect, QueueEntry, QueueQuery, QueueState,
};
use fms_core::rules::{BusinessCalendar, RuleSet};
use fms_core::store::{
    CompleteInvitation, CreateTicket, CreatedTicket, IntakeContext, NewInvitation, OnboardingClaim,
    OnboardingEntry, StoreError, TicketChange, TicketQuery, TicketStore,
};
use fms_core::tenant::{Tenant, TenantPatch};
use fms_core::ticket::Ticket;
use fms_core::user::{Role, User, UserPatch};
use rusqlite::Connection;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store. Cheap to clone (clones share the connection and its thread).
#[derive(Clone)]
pub struct SqliteStore {
    writer: writer::Writer,
    label: Arc<str>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("database", &self.label)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and brings its schema up to
    /// date. WAL mode, `synchronous = FULL`, foreign keys on, 5 s busy timeout.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let conn = Connection::open(path).map_err(error::Error::from)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(error::Error::from)?;
        Self::setup(conn, path.display().to_string())
    }

    /// A private in-memory database, gone when the last clone is dropped. For tests and
    /// examples.
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(error::Error::from)?;
        Self::setup(conn, ":memory:".to_owned())
    }

    fn setup(mut conn: Connection, label: String) -> Result<Self, StoreError> {
        let mut init = || -> error::Result<()> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            schema::migrate(&mut conn)?;
            Ok(())
        };
        init()?;
        let writer = writer::Writer::spawn(conn, &label).map_err(|e| StoreError::Backend {
            backend: "sqlite",
            source: Box::new(e),
        })?;
        Ok(Self {
            writer,
            label: label.into(),
        })
    }

    /// The schema version of the database (equal to this build's after `open`).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        self.call(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .await
    }

    /// Runs `f` on the connection's thread (group commit, see `writer.rs`).
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> error::Result<T> + Send + 'static,
    {
        self.writer.call(f).await.map_err(StoreError::from)
    }
}

#[async_trait]
impl TicketStore for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let tenant = tenant.clone();
        self.call(move |c| directory::create_tenant(c, &tenant))
            .await
    }

    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        self.call(move |c| directory::tenant(c, id)).await
    }

    async fn update_tenant(&self, id: TenantId, patch: &TenantPatch) -> Result<Tenant, StoreError> {
        let patch = patch.clone();
        self.call(move |c| directory::update_tenant(c, id, &patch))
            .await
    }

    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.call(move |c| directory::create_user(c, &user)).await
    }

    async fn user(&self, id: UserId) -> Result<User, StoreError> {
        self.call(move |c| directory::user(c, id)).await
    }

    async fn user_by_chat_id(
        &self,
        tenant: TenantId,
        chat_id: &str,
    ) -> Result<Option<User>, StoreError> {
        let chat_id = chat_id.to_owned();
        self.call(move |c| directory::user_by_chat_id(c, tenant, &chat_id))
            .await
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<User, StoreError> {
        let patch = patch.clone();
        self.call(move |c| directory::update_user(c, id, &patch))
            .await
    }

    async fn users(&self, tenant: TenantId, role: Option<Role>) -> Result<Vec<User>, StoreError> {
        self.call(move |c| directory::users(c, tenant, role)).await
    }

    async fn intake_context(
        &self,
        tenant: TenantId,
        chat_id: &str,
    ) -> Result<IntakeContext, StoreError> {
        let chat_id = chat_id.to_owned();
        self.call(move |c| rules::intake_context(c, tenant, &chat_id))
            .await
    }

    async fn save_rules(&self, tenant: TenantId, rules: &RuleSet) -> Result<(), StoreError> {
        let rules = rules.clone();
        self.call(move |c| rules::save_rules(c, tenant, &rules))
            .await
    }

    async fn rules(&self, tenant: TenantId) -> Result<Option<RuleSet>, StoreError> {
        self.call(move |c| rules::rules(c, tenant)).await
    }

    async fn save_calendar(
        &self,
        tenant: TenantId,
        calendar: Option<&BusinessCalendar>,
    ) -> Result<(), StoreError> {
        let calendar = calendar.cloned();
        self.call(move |c| rules::save_calendar(c, tenant, calendar.as_ref()))
            .await
    }

    async fn calendar(&self, tenant: TenantId) -> Result<Option<BusinessCalendar>, StoreError> {
        self.call(move |c| rules::calendar(c, tenant)).await
    }

    async fn create_ticket(&self, new: &CreateTicket) -> Result<CreatedTicket, StoreError> {
        let new = new.clone();
        self.call(move |c| tickets::create_ticket(c, &new)).await
    }

    async fn change_ticket(&self, change: &TicketChange) -> Result<Ticket, StoreError> {
        let change = change.clone();
        self.call(move |c| tickets::change_ticket(c, &change)).await
    }

    async fn ticket(&self, id: TicketId) -> Result<Ticket, StoreError> {
        self.call(move |c| tickets::ticket(c, id)).await
    }

    async fn tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>, StoreError> {
        let query = query.clone();
        self.call(move |c| tickets::tickets(c, &query)).await
    }

    async fn activities(&self, ticket: TicketId) -> Result<Vec<Activity>, StoreError> {
        self.call(move |c| tickets::activities(c, ticket)).await
    }

    async fn queue_entries(&self, query: &QueueQuery) -> Result<Vec<QueueEntry>, StoreError> {
        let query = query.clone();
        self.call(move |c| tickets::queue_entries(c, &query)).await
    }

    async fn payload_parts(&self, entry: QueueEntryId) -> Result<PayloadParts, StoreError> {
        self.call(move |c| tickets::payload_parts(c, entry)).await
    }

    async fn claim(&self, options: &ClaimOptions) -> Result<Vec<Claim>, StoreError> {
        let options = *options;
        self.call(move |c| queue::claim(c, &options)).await
    }

    async fn complete(&self, completion: &Completion) -> Result<CompletionEffect, StoreError> {
        let completion = completion.clone();
        self.call(move |c| queue::complete(c, &completion)).await
    }

    async fn replay(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<QueueEntry, StoreError> {
        self.call(move |c| queue::replay(c, entry, now)).await
    }

    async fn skip(
        &self,
        entry: QueueEntryId,
        now: DateTime<Utc>,
    ) -> Result<QueueEntry, StoreError> {
        self.call(move |c| queue::skip(c, entry, now)).await
    }

    async fn queue_entry(&self, entry: QueueEntryId) -> Result<QueueEntry, StoreError> {
        self.call(move |c| tickets::queue_entry(c, entry)).await
    }

    async fn endpoint_state(&self, tenant: TenantId) -> Result<BreakerState, StoreError> {
        self.call(move |c| queue::endpoint_state(c, tenant)).await
    }

    async fn reset_endpoint(&self, tenant: TenantId) -> Result<(), StoreError> {
        self.call(move |c| queue::reset_endpoint(c, tenant)).await
    }

    async fn set_api_key_hash(&self, tenant: TenantId, hash: &str) -> Result<(), StoreError> {
        let hash = hash.to_owned();
        self.call(move |c| directory::set_api_key_hash(c, tenant, &hash))
            .await
    }

    async fn tenant_by_api_key_hash(&self, hash: &str) -> Result<Option<TenantId>, StoreError> {
        let hash = hash.to_owned();
        self.call(move |c| directory::tenant_by_api_key_hash(c, &hash))
            .await
    }

    async fn queue_counts(&self) -> Result<Vec<(QueueState, u64)>, StoreError> {
        self.call(queue::counts).await
    }

    async fn queue_backlog(&self) -> Result<Vec<(QueueState, u64)>, StoreError> {
        self.call(queue::backlog).await
    }

    async fn create_invitation(&self, new: &NewInvitation) -> Result<User, StoreError> {
        let new = new.clone();
        self.call(move |c| onboarding::create(c, &new)).await
    }

    async fn invitation(&self, correlation_id: &str) -> Result<Invitation, StoreError> {
        let id = correlation_id.to_owned();
        self.call(move |c| onboarding::invitation(c, &id)).await
    }

    async fn complete_invitation(&self, done: &CompleteInvitation) -> Result<User, StoreError> {
        let done = done.clone();
        self.call(move |c| onboarding::complete(c, &done)).await
    }

    async fn claim_onboarding(
        &self,
        options: &ClaimOptions,
    ) -> Result<Vec<OnboardingClaim>, StoreError> {
        let options = *options;
        self.call(move |c| onboarding::claim(c, &options)).await
    }

    async fn complete_onboarding(
        &self,
        completion: &Completion,
    ) -> Result<CompletionEffect, StoreError> {
        let completion = completion.clone();
        self.call(move |c| onboarding::complete_delivery(c, &completion))
            .await
    }

    async fn onboarding_entries(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> Result<Vec<OnboardingEntry>, StoreError> {
        self.call(move |c| onboarding::entries(c, tenant, limit))
            .await
    }

    async fn add_notification(&self, notification: &Notification) -> Result<(), StoreError> {
        let n = notification.clone();
        self.call(move |c| notifications::insert(c, &n)).await
    }

    async fn notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError> {
        let q = query.clone();
        self.call(move |c| notifications::list(c, &q)).await
    }

    async fn mark_notification_read(
        &self,
        tenant: Option<TenantId>,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<Notification, StoreError> {
        self.call(move |c| notifications::mark_read(c, tenant, id, now))
            .await
    }

    async fn sla_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Ticket>, StoreError> {
        self.call(move |c| tickets::sla_due(c, row::ms(now), limit))
            .await
    }
}
