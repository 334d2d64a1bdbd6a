//! fms-store-postgres: the [`Store`](fms_core::store::Store) of fms on Postgres, for deployments past one
//! machine: N stateless servers and M dispatchers on different hosts sharing one database,
//! with the database doing the coordination.
//!
//! **Key decisions.**
//! - The outbox is a trigger, as in the spec: an `AFTER INSERT` trigger on
//!   `ticket_activities` bumps the ticket's counter row and writes the `ticket_webhook_queue`
//!   row with the next per-ticket sequence and a snapshot of the ticket. The counter row's
//!   lock makes sequence order equal commit order; rows written by other tools are queued
//!   too.
//! - Claims are one statement: `FOR UPDATE SKIP LOCKED` over due rows that head their
//!   ticket's line, with the endpoint breaker's admission (one probe per paused endpoint,
//!   its slot taken in the same statement). Completions are fenced by the lease token and
//!   short; nothing is held across the HTTP call. Concurrent completions of delivered rows
//!   share one statement and one commit (group commit, a background task per store; each
//!   row still fenced on its own, each caller answered after the commit).
//! - The claim and the finish are SQL functions (`ticket_webhook_claim`,
//!   `ticket_webhook_finish`, migration 0004) whose own planner settings leave only key
//!   lookups and the due-index walk: a claim and a finish cost O(batch) whatever the backlog
//!   and whatever the table statistics. (A prepared statement's plan is made once per
//!   connection, often while the queue is empty, and kept while it grows: before these
//!   functions, such plans read the whole queue once per claim and once per finish.)
//! - The queue table is hot and small: delivered and skipped rows move to
//!   `ticket_webhook_deliveries` when they finish (`queue_entries` and `queue_entry` read
//!   both); its autovacuum triggers after a fixed number of dead tuples.
//! - Round trips are the cost that matters on a network database: an intake is two
//!   statements (read context, create) when nothing has to be rolled back conditionally.
//! - Queries are checked at run time (`sqlx::query_as` with private row structs), so building
//!   needs no database; migrations are embedded and run only by [`PgStore::migrate`].
//!
//! ```
//! use std::sync::Arc;
//!
//! use fms_core::Fms;
//! use fms_store_postgres::{PgStore, PgStoreOptions};
//!
//! async fn open(url: &str) -> Result<Fms, fms_core::store::StoreError> {
//!     let options = PgStoreOptions::default().with_max_connections(20);
//!     let store = PgStore::connect_with(url, options).await?;
//!     store.migrate().await?; // explicit: never done by connect
//!     Ok(Fms::new(Arc::new(store)))
//! }
//!
//! // Options are checked without a server.
//! let options = PgStoreOptions::default().with_schema("tenant_a").with_notify(false);
//! assert!(options.connect_options("postgres://fms@db.internal/fms?sslmode=require").is_ok());
//! let bad = PgStoreOptions::default().with_schema("a; drop");
//! assert!(bad.connect_options("postgres://fms@db.internal/fms").is_err());
//! # let _ = open;
//! ```

mod combiner;
mod directory;
mod error;
#[cfg(feature = "conformance")]
mod faults;
mod notifications;
mod notify;
mod onboarding;
mod queue;
mod row;
mod rules;
mod tickets;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fms_core::EnqueueListener;
use fms_core::store::{StoreError, WakeupForwarder, WakeupSource};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::task::JoinHandle;

pub use notify::{CHANNEL, QueueListener, Wake};
/// The sqlx this store is built on, for [`PgStore::from_pool`] and [`PgStore::pool`] users.
pub use sqlx;

/// The embedded migrations (`migrations/`), applied by [`PgStore::migrate`].
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How [`PgStore::connect_with`] builds its pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgStoreOptions {
    /// Pool size. Default 10.
    pub max_connections: u32,
    /// How long a call waits for a free connection before failing `Unavailable`. Default 10 s.
    pub acquire_timeout: Duration,
    /// LISTEN/NOTIFY wake-ups. Default on. Off: this store's writes do not notify (the
    /// connections set `fms.notify = off`), [`PgStore::listener`] returns `None`, and
    /// dispatchers rely on polling. Switch it off behind a transaction-pooling PgBouncer
    /// (and set `ALTER ROLE ... SET fms.notify = off` there, since poolers may drop startup
    /// options).
    pub notify: bool,
    /// The schema to work in (the connections' `search_path`). Default: the server's
    /// (`public`). Letters, digits and `_` only.
    pub schema: Option<String>,
}

impl Default for PgStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            notify: true,
            schema: None,
        }
    }
}

impl PgStoreOptions {
    /// Sets the pool size.
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets the acquire timeout.
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Switches LISTEN/NOTIFY wake-ups on or off.
    pub fn with_notify(mut self, notify: bool) -> Self {
        self.notify = notify;
        self
    }

    /// Works in `schema` instead of the server's default.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The connect options for `url` with these settings applied.
    pub fn connect_options(&self, url: &str) -> Result<PgConnectOptions, StoreError> {
        let mut options = PgConnectOptions::from_str(url)
            .map_err(error::Error::from)?
            // Timestamps in `to_jsonb` output are then in UTC (they decode either way).
            .options([("timezone", "UTC")]);
        if !self.notify {
            options = options.options([("fms.notify", "off")]);
        }
        if let Some(schema) = &self.schema {
            if schema.is_empty()
                || !schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(StoreError::Invalid {
                    reason: format!("schema name {schema:?}: letters, digits and _ only"),
                });
            }
            options = options.options([("search_path", schema.as_str())]);
        }
        Ok(options)
    }

    /// The pool options: these limits, and no ping before each checkout (a round trip per
    /// call; a dead connection fails its statement and is replaced instead).
    pub fn pool_options(&self) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .test_before_acquire(false)
    }
}

/// The Postgres store. Cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    notify: bool,
    /// Group commit for completions (shared by the clones; its task stops with the last).
    completions: Arc<combiner::Combiner>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool_size", &self.pool.size())
            .field("notify", &self.notify)
            .finish()
    }
}

impl PgStore {
    /// Connects to `url` with the default [`PgStoreOptions`]. Does not migrate. On a loopback
    /// or private network, add `sslmode=disable` to the URL (the default `prefer` pays for
    /// TLS when the server offers it).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PgStoreOptions::default()).await
    }

    /// Connects to `url` with `options`. Does not migrate.
    pub async fn connect_with(url: &str, options: PgStoreOptions) -> Result<Self, StoreError> {
        let pool = options
            .pool_options()
            .connect_with(options.connect_options(url)?)
            .await
            .map_err(error::Error::from)?;
        Ok(Self::new(pool, options.notify))
    }

    /// A store over an existing pool (LISTEN/NOTIFY on; use [`PgStore::with_notify`] to
    /// switch it off). Does not migrate.
    pub fn from_pool(pool: PgPool) -> Self {
        Self::new(pool, true)
    }

    fn new(pool: PgPool, notify: bool) -> Self {
        Self {
            completions: Arc::new(combiner::Combiner::new(pool.clone())),
            pool,
            notify,
        }
    }

    /// Switches [`PgStore::listener`] off or on. (To stop writes from notifying, the
    /// connections need `fms.notify = off`, see [`PgStoreOptions::notify`].)
    pub fn with_notify(mut self, notify: bool) -> Self {
        self.notify = notify;
        self
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Brings the schema up to date with the embedded migrations. Safe to run on every start
    /// and from several processes at once (an advisory lock serialises them); a second run
    /// is a no-op. A database migrated by a newer build is refused.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(error::Error::from)?;
        Ok(())
    }

    /// The number of migrations this build applies.
    pub fn schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// A dedicated connection listening for enqueued rows, or `None` when notifications are
    /// switched off.
    pub async fn listener(&self) -> Result<Option<QueueListener>, StoreError> {
        if !self.notify {
            return Ok(None);
        }
        QueueListener::start(&self.pool).await.map(Some)
    }

    /// Starts listening and forwards every NOTIFY to `listener` (e.g. the wake-up of an
    /// `fms_http::DispatchLoop`) from a background task; `None` when notifications are off.
    /// LISTEN is active when this returns.
    pub async fn spawn_notify_forwarder(
        &self,
        listener: Arc<dyn EnqueueListener>,
    ) -> Result<Option<JoinHandle<()>>, StoreError> {
        Ok(self
            .listener()
            .await?
            .map(|l| l.forward_to(listener, LISTEN_RETRY)))
    }
}

/// How long a lost LISTEN connection waits before reconnecting again.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// Postgres offers wake-ups on other processes' commits through LISTEN/NOTIFY (off with
/// [`PgStoreOptions::with_notify`], e.g. behind a transaction-pooling PgBouncer).
#[async_trait]
impl WakeupSource for PgStore {
    async fn listen(
        &self,
        listener: Arc<dyn EnqueueListener>,
    ) -> Result<Option<WakeupForwarder>, StoreError> {
        Ok(self.listener().await?.map(|l| {
            let forwarder: WakeupForwarder = Box::pin(l.forward(listener, LISTEN_RETRY));
            forwarder
        }))
    }
}
