-- fms schema, version 1 (the same model as fms-store-sqlite's, in Postgres types). Times are
-- timestamptz written with millisecond precision; ids are uuid; JSON is jsonb. Every name is
-- unqualified: the schema is the connection's `search_path` (`public` unless configured).

CREATE TABLE tenants (
    id                      uuid PRIMARY KEY,
    name                    text NOT NULL,
    automation_webhook_url  text,
    webhook_secret          text NOT NULL,
    timezone                text NOT NULL,
    number_prefix           text NOT NULL,
    -- Last ticket number handed out; bumped inside the creating transaction (the row lock
    -- serialises intakes of one tenant), so numbers are unique and gap-free per tenant.
    ticket_counter          bigint NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL,
    -- The webhook endpoint's circuit breaker (fms_core::delivery::BreakerState).
    endpoint_failures       integer NOT NULL DEFAULT 0,
    endpoint_paused_until   timestamptz,
    endpoint_probe_until    timestamptz,
    endpoint_disabled_at    timestamptz,
    -- The business calendar (fms_core::rules::BusinessCalendar); NULL: 24x7.
    calendar                jsonb,
    -- The hash of the tenant's API key (the key itself is never stored).
    api_key_hash            text UNIQUE
);
-- The counter and the breaker change often and are not indexed: leave room for HOT updates.
ALTER TABLE tenants SET (fillfactor = 70);

CREATE TABLE users (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants(id),
    name              text NOT NULL,
    role              text NOT NULL CHECK (role IN ('complainant', 'executor', 'admin')),
    active            boolean NOT NULL,
    telegram_chat_id  text,
    email             text,
    phone             text,
    designation       text,
    department        text,
    skills            jsonb NOT NULL DEFAULT '[]',
    buildings         jsonb NOT NULL DEFAULT '[]',
    onboarding        text NOT NULL,
    created_at        timestamptz NOT NULL,
    UNIQUE (tenant_id, telegram_chat_id)
);
CREATE INDEX users_tenant_role ON users (tenant_id, role);

-- Every saved version of a tenant's rule set; the highest version is in force.
CREATE TABLE tenant_rule_sets (
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    version     bigint NOT NULL,
    body        jsonb NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- Round-robin cursors: the executor each pool assigned last.
CREATE TABLE round_robin_cursors (
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    pool        text NOT NULL,
    user_id     uuid NOT NULL REFERENCES users(id),
    PRIMARY KEY (tenant_id, pool)
);

CREATE TABLE tickets (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL REFERENCES tenants(id),
    seq                   bigint NOT NULL,
    number                text NOT NULL,
    title                 text NOT NULL,
    description           text,
    location              text NOT NULL,
    category              text NOT NULL,
    ticket_type           text NOT NULL,
    building              text,
    floor                 text,
    room                  text,
    reporter_name         text NOT NULL,
    reporter_designation  text,
    reporter_department   text,
    submitted_priority    text NOT NULL,
    status                text NOT NULL,
    priority              text NOT NULL,
    complainant_id        uuid NOT NULL REFERENCES users(id),
    executor_id           uuid REFERENCES users(id),
    response_due_at       timestamptz,
    resolution_due_at     timestamptz,
    -- The SLA clocks (fms_core::rules::SlaState), and their next warning or breach moment
    -- (SlaState::next_event_at), which the SLA sweeper looks up.
    sla_state             jsonb,
    sla_next_event_at     timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    version               bigint NOT NULL DEFAULT 0,
    -- The per-ticket counter row of the outbox: the trigger bumps it for every activity, and
    -- its row lock makes sequence order equal commit order.
    last_sequence         bigint NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, seq)
);
ALTER TABLE tickets SET (fillfactor = 85);
CREATE INDEX tickets_tenant_created ON tickets (tenant_id, created_at DESC, id DESC);
CREATE INDEX tickets_executor_status ON tickets (executor_id, status);
CREATE INDEX tickets_sla_due ON tickets (sla_next_event_at)
    WHERE sla_next_event_at IS NOT NULL AND status IN ('open', 'in-progress');

CREATE TABLE ticket_activities (
    id          uuid PRIMARY KEY,
    ticket_id   uuid NOT NULL REFERENCES tickets(id),
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    type        text NOT NULL,
    comment     text,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_by  uuid REFERENCES users(id),
    created_at  timestamptz NOT NULL
);
CREATE INDEX ticket_activities_ticket ON ticket_activities (ticket_id, created_at);

-- The hot queue: only rows that are not done (pending, leased, parked). Delivered and skipped
-- rows move to ticket_webhook_deliveries in the transaction that finishes them, so this table
-- stays small, its indexes stay shallow, and dead tuples are vacuumed away quickly.
CREATE TABLE ticket_webhook_queue (
    id                      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant_id               uuid NOT NULL,
    ticket_id               uuid NOT NULL REFERENCES tickets(id),
    activity_id             uuid NOT NULL REFERENCES ticket_activities(id),
    sequence                bigint NOT NULL,
    state                   text NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'leased', 'parked')),
    attempts                integer NOT NULL DEFAULT 0,
    -- When the row is claimable: its due time while pending, its lease expiry while leased.
    next_attempt_at         timestamptz NOT NULL,
    -- The fencing token: bumped by every claim; only its holder may finish the row.
    lease_token             bigint NOT NULL DEFAULT 0,
    first_attempt_at        timestamptz,
    last_status_code        integer,
    last_error              text,
    created_at              timestamptz NOT NULL,
    finished_at             timestamptz,
    -- The ticket right after the activity: a late retry never reports a later state.
    snap_status             text NOT NULL,
    snap_priority           text NOT NULL,
    snap_executor_id        uuid,
    snap_response_due_at    timestamptz,
    snap_resolution_due_at  timestamptz,
    -- Also the head-of-line index: "an earlier row of this ticket is still here".
    UNIQUE (ticket_id, sequence)
);
CREATE INDEX ticket_webhook_queue_due ON ticket_webhook_queue (next_attempt_at, id)
    WHERE state IN ('pending', 'leased');
CREATE INDEX ticket_webhook_queue_tenant ON ticket_webhook_queue (tenant_id, id);
-- Every row is inserted, updated two or three times and deleted within seconds: vacuum after
-- a fixed number of dead tuples instead of a fraction of the table, without throttling.
ALTER TABLE ticket_webhook_queue SET (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.0,
    autovacuum_analyze_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0
);

-- Finished rows (delivered or skipped), same columns and ids, append-mostly.
CREATE TABLE ticket_webhook_deliveries (
    id                      bigint PRIMARY KEY,
    tenant_id               uuid NOT NULL,
    ticket_id               uuid NOT NULL REFERENCES tickets(id),
    activity_id             uuid NOT NULL UNIQUE REFERENCES ticket_activities(id),
    sequence                bigint NOT NULL,
    state                   text NOT NULL CHECK (state IN ('delivered', 'skipped')),
    attempts                integer NOT NULL,
    next_attempt_at         timestamptz NOT NULL,
    lease_token             bigint NOT NULL,
    first_attempt_at        timestamptz,
    last_status_code        integer,
    last_error              text,
    created_at              timestamptz NOT NULL,
    finished_at             timestamptz,
    snap_status             text NOT NULL,
    snap_priority           text NOT NULL,
    snap_executor_id        uuid,
    snap_response_due_at    timestamptz,
    snap_resolution_due_at  timestamptz,
    UNIQUE (ticket_id, sequence)
);
CREATE INDEX ticket_webhook_deliveries_tenant ON ticket_webhook_deliveries (tenant_id, id);

-- Every queue row, wherever it is (the predicates of a query on the view are pushed into
-- both branches).
CREATE VIEW ticket_webhook_rows AS
    SELECT * FROM ticket_webhook_queue
    UNION ALL
    SELECT * FROM ticket_webhook_deliveries;

-- The foreign keys are checked at commit: an intake claims its key first, in the statement
-- that then inserts the ticket (a concurrent intake with the same key waits on it).
CREATE TABLE idempotency_keys (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) DEFERRABLE INITIALLY DEFERRED,
    key         text NOT NULL,
    ticket_id   uuid NOT NULL REFERENCES tickets(id) DEFERRABLE INITIALLY DEFERRED,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- The outbox, as the spec has it: every activity, whoever writes it, queues one webhook row
-- in the same transaction, with the next per-ticket sequence and the ticket as it is now.
-- The UPDATE locks the ticket row until commit, so a concurrent writer of the same ticket
-- waits and takes the next sequence: sequence order is commit order. A NOTIFY on
-- `fms_webhook_queue` (payload: the tenant id) wakes listening dispatchers at commit; a
-- connection or role with `fms.notify = off` skips it (connection poolers without LISTEN).
CREATE FUNCTION ticket_activities_enqueue() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    UPDATE tickets
    SET last_sequence = last_sequence + 1, updated_at = greatest(updated_at, NEW.created_at)
    WHERE id = NEW.ticket_id
    RETURNING id, tenant_id, last_sequence, status, priority, executor_id, response_due_at,
              resolution_due_at
    INTO t;
    INSERT INTO ticket_webhook_queue (
        tenant_id, ticket_id, activity_id, sequence, next_attempt_at, created_at,
        snap_status, snap_priority, snap_executor_id, snap_response_due_at, snap_resolution_due_at
    ) VALUES (
        t.tenant_id, t.id, NEW.id, t.last_sequence, NEW.created_at, NEW.created_at,
        t.status, t.priority, t.executor_id, t.response_due_at, t.resolution_due_at
    );
    IF coalesce(current_setting('fms.notify', true), '') <> 'off' THEN
        PERFORM pg_notify('fms_webhook_queue', t.tenant_id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ticket_activities_enqueue AFTER INSERT ON ticket_activities
    FOR EACH ROW EXECUTE FUNCTION ticket_activities_enqueue();

-- Dashboard notifications: to one user, or to every user of a role.
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants(id),
    recipient_user  uuid,
    recipient_role  text,
    kind            text NOT NULL,
    message         text NOT NULL,
    ticket_id       uuid,
    user_id         uuid,
    created_at      timestamptz NOT NULL,
    read_at         timestamptz,
    CHECK ((recipient_user IS NULL) <> (recipient_role IS NULL))
);
CREATE INDEX notifications_tenant_created ON notifications (tenant_id, created_at DESC, id DESC);

-- Telegram onboarding invitations.
CREATE TABLE invitations (
    correlation_id  text PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants(id),
    user_id         uuid NOT NULL REFERENCES users(id),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    chat_id         text,
    completed_at    timestamptz
);

-- The onboarding webhook queue: the same delivery machinery as ticket webhooks, separate rows
-- and a separate endpoint breaker, so neither ever delays the other. Low volume: rows stay.
CREATE TABLE onboarding_webhook_queue (
    id                bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants(id),
    correlation_id    text NOT NULL REFERENCES invitations(correlation_id),
    payload           jsonb NOT NULL,
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'leased', 'delivered', 'skipped', 'parked')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL,
    lease_token       bigint NOT NULL DEFAULT 0,
    first_attempt_at  timestamptz,
    last_status_code  integer,
    last_error        text,
    created_at        timestamptz NOT NULL,
    finished_at       timestamptz
);
CREATE INDEX onboarding_webhook_queue_open ON onboarding_webhook_queue (next_attempt_at, id)
    WHERE state IN ('pending', 'leased');
CREATE INDEX onboarding_webhook_queue_tenant ON onboarding_webhook_queue (tenant_id, id);

-- Breakers of endpoints that belong to no tenant (the onboarding webhook).
CREATE TABLE webhook_endpoints (
    name                    text PRIMARY KEY,
    endpoint_failures       integer NOT NULL DEFAULT 0,
    endpoint_paused_until   timestamptz,
    endpoint_probe_until    timestamptz,
    endpoint_disabled_at    timestamptz
);
INSERT INTO webhook_endpoints (name) VALUES ('onboarding');
