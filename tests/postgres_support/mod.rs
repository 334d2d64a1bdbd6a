//! Shared set-up of the Postgres acceptance tests: a fresh migrated schema per test on the
//! database of `FMS_TEST_POSTGRES_URL` (skipped without it, unless `FMS_REQUIRE_POSTGRES=1`),
//! and a loopback webhook receiver that records arrival order per ticket and catches a
//! `webhook-id` that is in flight twice at once.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fms::postgres::sqlx::{self, AssertSqlSafe, PgPool};
use fms::postgres::{PgStore, PgStoreOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The test database URL; `None` (the caller prints the skip) when unset, a failure when
/// `FMS_REQUIRE_POSTGRES=1`.
pub fn database_url() -> Option<String> {
    match std::env::var("FMS_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("FMS_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "FMS_REQUIRE_POSTGRES=1 but FMS_TEST_POSTGRES_URL is not set"
            );
            println!("skipped: FMS_TEST_POSTGRES_URL not set");
            None
        }
    }
}

/// A fresh schema of the test database.
pub struct Schema {
    pub url: String,
    pub name: String,
}

impl Schema {
    /// Creates a schema with a random name; `None` without a database.
    pub async fn create() -> Option<Self> {
        let url = database_url()?;
        let name = format!("fms_pgtest_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPool::connect(&url).await.unwrap();
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        Some(Self { url, name })
    }

    /// Options for a store in this schema.
    pub fn options(&self, connections: u32) -> PgStoreOptions {
        PgStoreOptions::default()
            .with_max_connections(connections)
            .with_schema(self.name.clone())
    }

    /// A store (its own pool) in this schema.
    pub async fn store(&self, connections: u32) -> PgStore {
        PgStore::connect_with(&self.url, self.options(connections))
            .await
            .unwrap()
    }

    /// A pool on the database (no schema), for administration.
    pub async fn admin(&self) -> PgPool {
        PgPool::connect(&self.url).await.unwrap()
    }

    /// Drops the schema.
    pub async fn drop(self) {
        let admin = self.admin().await;
        let _ = sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            self.name
        )))
        .execute(&admin)
        .await;
        admin.close().await;
    }
}

/// What the receiver saw.
#[derive(Default)]
pub struct Log {
    /// Per ticket id: the `sequence` of each request, in arrival order.
    pub arrivals: BTreeMap<String, Vec<i64>>,
    /// Distinct `webhook-id`s received.
    pub ids: HashSet<String>,
    /// Requests received.
    pub requests: usize,
    /// When each request arrived, in arrival order.
    pub arrived: Vec<std::time::Instant>,
    /// `webhook-id`s that arrived while a request with the same id was in flight.
    pub overlaps: Vec<String>,
    in_flight: HashSet<String>,
}

/// A keep-alive HTTP/1.1 receiver on 127.0.0.1 that answers 200 after `hold`.
pub struct Receiver {
    pub url: String,
    pub log: Arc<Mutex<Log>>,
}

impl Receiver {
    /// Starts the receiver; each request is held for `hold` before the answer.
    pub async fn start(hold: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Log::default()));
        let shared = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(stream, log, hold).await;
                });
            }
        });
        Self { url, log }
    }

    /// Distinct webhook ids received so far.
    pub fn distinct(&self) -> usize {
        self.log.lock().unwrap().ids.len()
    }

    /// Waits until `n` distinct webhook ids arrived or `limit` passed; returns the count.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> usize {
        let end = tokio::time::Instant::now() + limit;
        loop {
            let got = self.distinct();
            if got >= n || tokio::time::Instant::now() >= end {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Log>>, hold: Duration) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let header = |name: &str| {
            head.split("\r\n")
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let id = header("webhook-id").unwrap_or_default();
        while buf.len() < head_end + 4 + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: serde_json::Value =
            serde_json::from_slice(&buf[head_end + 4..head_end + 4 + length]).unwrap_or_default();
        buf.drain(..head_end + 4 + length);
        {
            let mut log = log.lock().unwrap();
            if !log.in_flight.insert(id.clone()) {
                log.overlaps.push(id.clone());
            }
            log.requests += 1;
            log.arrived.push(std::time::Instant::now());
            let ticket = body["ticket_id"].as_str().unwrap_or_default().to_owned();
            let sequence = body["sequence"].as_i64().unwrap_or(-1);
            log.arrivals.entry(ticket).or_default().push(sequence);
        }
        if !hold.is_zero() {
            tokio::time::sleep(hold).await;
        }
        {
            let mut log = log.lock().unwrap();
            log.in_flight.remove(&id);
            log.ids.insert(id);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await?;
    }
}

/// Checks the per-ticket arrival order: every ticket's sequences arrive in order (a repeat
/// of the previous one, an at-least-once redelivery, is allowed), and together they are
/// exactly `1..=n` per ticket. Returns the tickets whose order is broken.
pub fn order_violations(log: &Log, expected: &BTreeMap<String, i64>) -> Vec<String> {
    let mut bad = Vec::new();
    for (ticket, n) in expected {
        let got = log.arrivals.get(ticket).cloned().unwrap_or_default();
        let mut dedup = got.clone();
        dedup.dedup();
        if dedup != (1..=*n).collect::<Vec<_>>() {
            bad.push(format!("{ticket}: {got:?}"));
        }
    }
    bad
}
