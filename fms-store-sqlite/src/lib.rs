//! fms-store-sqlite: the [`Store`](fms_core::store::Store) of fms on SQLite, the embedded default.
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

use fms_core::store::StoreError;
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
