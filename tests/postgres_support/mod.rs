//! Shared set-up of the Postgres acceptance tests: a fresh migrated schema per test on the
//! database of `FMS_TEST_POSTGRES_URL` (skipped without it, unless `FMS_REQUIRE_POSTGRES=1`),
//! and views of the shared loopback webhook receiver (`fms-test-receiver`): arrival order per
//! ticket, and a `webhook-id` that was in flight twice at once.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use fms::postgres::sqlx::{self, AssertSqlSafe, PgPool};
use fms::postgres::{PgStore, PgStoreOptions};
use fms_test_receiver::{Received, Receiver, Reply};

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

/// A receiver on 127.0.0.1 that answers 200 after `hold`.
pub async fn start_receiver(hold: Duration) -> Receiver {
    Receiver::start(Reply::status(200).with_delay(hold))
        .await
        .unwrap()
}

/// Distinct `webhook-id`s answered so far.
pub fn distinct(receiver: &Receiver) -> usize {
    receiver.inspect(distinct_answered)
}

/// Waits until `n` distinct `webhook-id`s were answered or `limit` passed; returns the count.
pub async fn wait_distinct(receiver: &Receiver, n: usize, limit: Duration) -> usize {
    receiver
        .wait_until(limit, |got| distinct_answered(got) >= n)
        .await;
    distinct(receiver)
}

fn distinct_answered(requests: &[Received]) -> usize {
    requests
        .iter()
        .filter(|r| r.is_answered())
        .map(Received::webhook_id)
        .collect::<HashSet<_>>()
        .len()
}

/// What the receiver saw, per ticket and per `webhook-id`.
#[derive(Default)]
pub struct Log {
    /// Per ticket id: the `sequence` of each request, in arrival order.
    pub arrivals: BTreeMap<String, Vec<i64>>,
    /// Requests received.
    pub requests: usize,
    /// `webhook-id`s that arrived while a request with the same id was in flight.
    pub overlaps: Vec<String>,
}

impl Log {
    /// The log of `receiver`'s requests so far.
    pub fn of(receiver: &Receiver) -> Self {
        receiver.inspect(|requests| {
            let mut log = Self {
                requests: requests.len(),
                ..Self::default()
            };
            // Per id: until when its requests so far are in flight (`None`: still are).
            let mut busy: HashMap<&str, Option<Instant>> = HashMap::new();
            for r in requests {
                let body = r.json().unwrap_or_default();
                let ticket = body["ticket_id"].as_str().unwrap_or_default().to_owned();
                let sequence = body["sequence"].as_i64().unwrap_or(-1);
                log.arrivals.entry(ticket).or_default().push(sequence);
                let id = r.webhook_id();
                if let Some(until) = busy.get(id)
                    && until.is_none_or(|t| t > r.at)
                {
                    log.overlaps.push(id.to_owned());
                }
                let until = busy.entry(id).or_insert(r.answered_at);
                *until = match (*until, r.answered_at) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            log
        })
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
