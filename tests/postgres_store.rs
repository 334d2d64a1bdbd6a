//! Acceptance of fms-store-postgres without HTTP: concurrent intakes in one tenant get unique,
//! gap-free numbers; `migrate()` twice is a no-op; claims and finishes of both webhook queues
//! read rows in proportion to the batch, not to the backlog, even with plans made while the
//! queue was empty; the intake roster reads kept counts (filled in by migration 5 on upgrade).
//! Needs `FMS_TEST_POSTGRES_URL` (skipped without it unless `FMS_REQUIRE_POSTGRES=1`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod postgres_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use fms::Fms;
use fms::postgres::PgStore;
use fms::postgres::sqlx::{self, PgPool};
use fms::queue::{ClaimOptions, Completion, OnboardingQueue, Resolution, TicketQueue};
use fms::service::OnboardingRequest;
use fms::store::prelude::*;
use fms::tenant::{NewTenant, Tenant};
use fms::user::{NewUser, Role, User};
use futures::future::join_all;
use postgres_support::Schema;
use serde_json::{Value, json};

/// A migrated store on `connections` connections in `schema`, its service, and a tenant
/// "ACME" (with `webhook` as its automation URL, if any).
async fn acme(schema: &Schema, connections: u32, webhook: Option<&str>) -> (PgStore, Fms, Tenant) {
    let store = schema.store(connections).await;
    store.migrate().await.unwrap();
    let fms = Fms::new(Arc::new(store.clone()));
    let mut new = NewTenant::new("ACME");
    if let Some(url) = webhook {
        new = new.with_webhook_url(url);
    }
    let tenant = fms.create_tenant(new).await.unwrap();
    (store, fms, tenant)
}

/// The tenant's complainant John Doe (chat 42), and an intake body from him.
async fn john(fms: &Fms, tenant: &Tenant) -> (User, Value) {
    let user = fms
        .create_user(NewUser::new(tenant.id, "John Doe", Role::Complainant).with_chat_id("42"))
        .await
        .unwrap();
    let body = json!({
        "issue": "AC not working", "location": "Building A", "category": "HVAC",
        "priority": "high", "name": "John Doe", "chat_id": "42",
        "tenant_id": tenant.id.to_string(),
    });
    (user, body)
}

/// 8 concurrent writers x 500 intakes in one tenant: numbers unique and gap-free.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_500_intakes_each_get_gap_free_numbers() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let (_, fms, tenant) = acme(&schema, 8, None).await;
    let (_, body) = john(&fms, &tenant).await;
    let started = Instant::now();
    let writers = (0..8).map(|_| {
        let fms = fms.clone();
        let body = body.clone();
        async move {
            let mut seqs = Vec::with_capacity(500);
            for _ in 0..500 {
                let t = fms.ingest(&body, None).await.unwrap().ticket;
                assert_eq!(t.number, format!("TKT-{:04}", t.seq));
                seqs.push(t.seq);
            }
            seqs
        }
    });
    let mut all = Vec::new();
    for seqs in join_all(writers).await {
        all.extend(seqs);
    }
    println!("4000 intakes by 8 writers in {:?}", started.elapsed());
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a number was handed out twice");
    assert_eq!(unique, (1..=4000).collect(), "numbers are gap-free");
    schema.drop().await;
}

/// `migrate()` on an up-to-date schema changes nothing: no migration re-applied, no object
/// added or lost, data kept.
#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let (store, fms, tenant) = acme(&schema, 2, None).await;

    let shape = "SELECT (SELECT count(*) FROM _sqlx_migrations), \
                 (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                  WHERE n.nspname = current_schema()), \
                 (SELECT max(installed_on)::text FROM _sqlx_migrations)";
    let before: (i64, i64, String) = sqlx::query_as(shape).fetch_one(store.pool()).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let after: (i64, i64, String) = sqlx::query_as(shape).fetch_one(store.pool()).await.unwrap();
    assert_eq!(before, after);
    assert_eq!(before.0, fms::postgres::PgStore::schema_version());
    assert_eq!(fms.tenant(tenant.id).await.unwrap().name, "ACME");
    schema.drop().await;
}

/// Whether the server has `pg_stat_force_next_flush` (PostgreSQL 15 and later), which the
/// row-count tests need; says it skipped them otherwise.
async fn flushes_statistics_on_demand(schema: &Schema) -> bool {
    let admin = schema.admin().await;
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&admin)
        .await
        .unwrap();
    admin.close().await;
    if version < 150_000 {
        println!("skipped: counting rows read needs PostgreSQL 15 or later (server {version})");
        return false;
    }
    true
}

/// Rows of `table` read so far (sequential scans, plus entries returned by scans of its
/// indexes), as of the store's one connection's last flush of its statistics.
async fn rows_read(pool: &PgPool, table: &str) -> i64 {
    // Make the backend report its pending counters when this statement's transaction ends.
    sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query_scalar(
        "SELECT (SELECT coalesce(seq_tup_read, 0) FROM pg_stat_user_tables \
                 WHERE relid = $1::regclass) \
              + (SELECT coalesce(sum(idx_tup_read), 0)::bigint FROM pg_stat_user_indexes \
                 WHERE relid = $1::regclass)",
    )
    .bind(table)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Which webhook queue.
#[derive(Clone, Copy)]
enum Queue {
    Tickets,
    Onboarding,
}

/// Claims up to `limit` due rows of `queue` and completes each as delivered; returns how many.
async fn claim_and_deliver(store: &PgStore, queue: Queue, limit: u32) -> u32 {
    let now = Utc::now();
    let options = ClaimOptions {
        now,
        limit,
        lease: chrono::Duration::seconds(60),
    };
    let claimed: Vec<_> = match queue {
        Queue::Tickets => QueueStore::<TicketQueue>::claim(store, &options)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.entry.id, c.token))
            .collect(),
        Queue::Onboarding => QueueStore::<OnboardingQueue>::claim(store, &options)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.entry.id, c.token))
            .collect(),
    };
    for &(entry, token) in &claimed {
        let done = Completion {
            entry,
            token,
            now,
            resolution: Resolution::Delivered,
            attempted: true,
            status_code: Some(200),
            error: None,
            breaker: None,
        };
        match queue {
            Queue::Tickets => QueueStore::<TicketQueue>::complete(store, &done)
                .await
                .unwrap(),
            Queue::Onboarding => QueueStore::<OnboardingQueue>::complete(store, &done)
                .await
                .unwrap(),
        };
    }
    u32::try_from(claimed.len()).unwrap()
}

/// Rows of `queue`'s table read per delivery over 20 claims of 10 and their finishes (every
/// claim must find 10 due rows).
async fn rows_read_per_delivery(store: &PgStore, queue: Queue) -> f64 {
    let table = match queue {
        Queue::Tickets => "ticket_webhook_queue",
        Queue::Onboarding => "onboarding_webhook_queue",
    };
    let before = rows_read(store.pool(), table).await;
    let mut delivered = 0;
    for _ in 0..20 {
        delivered += claim_and_deliver(store, queue, 10).await;
    }
    assert_eq!(delivered, 200, "rows are due");
    let read = rows_read(store.pool(), table).await - before;
    let per_delivery = read as f64 / f64::from(delivered);
    println!("{read} {table} rows read for {delivered} deliveries ({per_delivery:.1} each)");
    per_delivery
}

/// Claims of 10 and their finishes read a bounded number of queue rows per delivery with a
/// backlog of 5,000 rows, although every statement was first planned (and its plan cached)
/// while the queue held a handful of rows: the claim walks the due index and stops after the
/// batch, everything else is looked up by key. (Before migration 0004 the cached plans read the
/// whole queue once per claim and once per finish: 5,502 rows per delivery here, growing with
/// the backlog.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_and_finishes_read_rows_in_proportion_to_the_batch_not_the_backlog() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    if !flushes_statistics_on_demand(&schema).await {
        return;
    }
    // One connection: every statement below runs, and is planned, on the same backend.
    let (store, fms, tenant) = acme(&schema, 1, Some("http://127.0.0.1:9/hook")).await;
    let (user, body) = john(&fms, &tenant).await;
    // Plan every statement on a nearly empty queue, more than the five custom plans after
    // which a prepared statement may settle on its generic plan.
    for _ in 0..8 {
        fms.ingest(&body, None).await.unwrap();
        assert_eq!(claim_and_deliver(&store, Queue::Tickets, 10).await, 1);
    }

    // A backlog of 5,000 rows, queued by the outbox trigger.
    sqlx::query(
        "INSERT INTO tickets (id, tenant_id, seq, number, title, location, category, \
             ticket_type, reporter_name, submitted_priority, status, priority, complainant_id, \
             created_at, updated_at) \
         SELECT gen_random_uuid(), $1, 100 + g, 'TKT-' || (100 + g), 'AC not working', \
             'Building A', 'HVAC', 'Maintenance', 'John Doe', 'high', 'open', 'high', $2, \
             now(), now() \
         FROM generate_series(1, 5000) g",
    )
    .bind(tenant.id.as_uuid())
    .bind(user.id.as_uuid())
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO ticket_activities (id, ticket_id, tenant_id, type, metadata, created_by, \
             created_at) \
         SELECT gen_random_uuid(), id, tenant_id, 'ticket_created', '{}', $1, \
             now() - interval '1 minute' \
         FROM tickets WHERE seq > 100",
    )
    .bind(user.id.as_uuid())
    .execute(store.pool())
    .await
    .unwrap();

    let per_delivery = rows_read_per_delivery(&store, Queue::Tickets).await;
    assert!(
        per_delivery < 20.0,
        "{per_delivery:.1} queue rows read per delivery with a backlog of 5,000: a claim or a \
         finish scans the queue"
    );
    schema.drop().await;
}

/// The onboarding queue keeps its finished rows, so it only grows: a claim and a finish read
/// a bounded number of its rows per delivery with 4,800 finished and 200 due rows, although
/// their plans were cached while the table held a handful of rows. (A guard: unlike the ticket
/// queue's, these plans were never seen to scan the table; 4 rows per delivery here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_claims_read_rows_in_proportion_to_the_batch_not_the_history() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    if !flushes_statistics_on_demand(&schema).await {
        return;
    }
    let (store, fms, tenant) = acme(&schema, 1, None).await;
    for i in 0..8 {
        fms.request_onboarding(OnboardingRequest {
            tenant_id: tenant.id,
            email: format!("warm{i}@example.com"),
            role: Role::Executor,
            name: None,
        })
        .await
        .unwrap();
        assert_eq!(claim_and_deliver(&store, Queue::Onboarding, 10).await, 1);
    }

    // 5,000 invitations: 4,800 already delivered, 200 due.
    for sql in [
        "INSERT INTO users (id, tenant_id, name, role, active, email, onboarding, created_at) \
         SELECT gen_random_uuid(), $1, 'user ' || g, 'executor', true, \
             'user' || g || '@example.com', 'pending', now() \
         FROM generate_series(1, 5000) g",
        "INSERT INTO invitations (correlation_id, tenant_id, user_id, created_at, expires_at) \
         SELECT 'bulk-' || id, tenant_id, id, now(), now() + interval '7 days' \
         FROM users WHERE name LIKE 'user %'",
        "INSERT INTO onboarding_webhook_queue (tenant_id, correlation_id, payload, state, \
             next_attempt_at, created_at) \
         SELECT tenant_id, correlation_id, '{}', \
             CASE WHEN n <= 4800 THEN 'delivered' ELSE 'pending' END, \
             now() - interval '1 minute', now() \
         FROM (SELECT i.*, row_number() OVER (ORDER BY correlation_id) AS n \
               FROM invitations i WHERE correlation_id LIKE 'bulk-%' AND tenant_id = $1) s",
    ] {
        sqlx::query(sql)
            .bind(tenant.id.as_uuid())
            .execute(store.pool())
            .await
            .unwrap();
    }

    let per_delivery = rows_read_per_delivery(&store, Queue::Onboarding).await;
    assert!(
        per_delivery < 20.0,
        "{per_delivery:.1} onboarding rows read per delivery with 5,000 rows: a claim or a \
         finish scans the table"
    );
    schema.drop().await;
}

/// The intake's roster reads each executor's open-ticket count from a column the store keeps,
/// not by counting tickets: with 2,000 open tickets on one executor, intake contexts read no
/// ticket rows at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intake_roster_reads_no_tickets_however_many_are_open() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    if !flushes_statistics_on_demand(&schema).await {
        return;
    }
    let (store, fms, tenant) = acme(&schema, 1, None).await;
    let (complainant, _) = john(&fms, &tenant).await;
    let executor = fms
        .create_user(NewUser::new(tenant.id, "Mike", Role::Executor).with_chat_id("555"))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO tickets (id, tenant_id, seq, number, title, location, category, \
             ticket_type, reporter_name, submitted_priority, status, priority, complainant_id, \
             executor_id, created_at, updated_at) \
         SELECT gen_random_uuid(), $1, g, 'TKT-' || g, 'AC not working', 'Building A', \
             'HVAC', 'Maintenance', 'John Doe', 'high', \
             CASE WHEN g % 2 = 0 THEN 'open' ELSE 'in-progress' END, 'high', $2, $3, \
             now(), now() \
         FROM generate_series(1, 2000) g",
    )
    .bind(tenant.id.as_uuid())
    .bind(complainant.id.as_uuid())
    .bind(executor.id.as_uuid())
    .execute(store.pool())
    .await
    .unwrap();

    let before = rows_read(store.pool(), "tickets").await;
    for _ in 0..10 {
        let context = store.intake_context(tenant.id, "42").await.unwrap();
        assert_eq!(context.roster.len(), 1);
        assert_eq!(context.roster[0].open_tickets, 2000);
    }
    let read = rows_read(store.pool(), "tickets").await - before;
    assert_eq!(read, 0, "intake contexts read {read} ticket rows");
    schema.drop().await;
}

/// Upgrading a schema at version 4: migration 5 adds each executor's open-ticket count and
/// fills it from the tickets already there; the trigger keeps it from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_5_fills_open_ticket_counts_from_existing_tickets() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let (store, fms, tenant) = acme(&schema, 2, None).await;
    let (_, body) = john(&fms, &tenant).await;
    let mike = fms
        .create_user(NewUser::new(tenant.id, "Mike", Role::Executor).with_chat_id("555"))
        .await
        .unwrap();
    let mut tickets = Vec::new();
    for _ in 0..3 {
        let t = fms.ingest(&body, None).await.unwrap().ticket;
        if t.executor_id != Some(mike.id) {
            fms.assign_executor(t.id, mike.id, None).await.unwrap();
        }
        tickets.push(t.id);
    }

    // Back to version 4: no counter column, no trigger, migration 5 not recorded.
    sqlx::raw_sql(
        "DROP TRIGGER tickets_executor_load ON tickets; \
         DROP FUNCTION tickets_executor_load(); \
         ALTER TABLE users DROP COLUMN open_tickets; \
         DELETE FROM _sqlx_migrations WHERE version = 5;",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let open =
        || async { store.intake_context(tenant.id, "42").await.unwrap().roster[0].open_tickets };
    assert_eq!(open().await, 3);
    fms.change_status(tickets[0], fms::ticket::Status::Resolved, None, None)
        .await
        .unwrap();
    assert_eq!(open().await, 2);
    schema.drop().await;
}
