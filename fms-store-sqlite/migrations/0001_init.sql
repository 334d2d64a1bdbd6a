-- fms schema, version 1. Times are integer milliseconds since the Unix epoch (UTC); ids are
-- UUID text; lists and JSON are text.

CREATE TABLE tenants (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    automation_webhook_url  TEXT,
    webhook_secret          TEXT NOT NULL,
    timezone                TEXT NOT NULL,
    number_prefix           TEXT NOT NULL,
    -- Last ticket number handed out; bumped inside the creating transaction, so numbers are
    -- unique and gap-free per tenant.
    ticket_counter          INTEGER NOT NULL DEFAULT 0,
    created_at              INTEGER NOT NULL,
    -- The webhook endpoint's circuit breaker (fms_core::delivery::BreakerState).
    endpoint_failures       INTEGER NOT NULL DEFAULT 0,
    endpoint_paused_until   INTEGER,
    endpoint_probe_until    INTEGER,
    endpoint_disabled_at    INTEGER,
    -- The business calendar (fms_core::rules::CalendarSpec as JSON); NULL: 24x7.
    calendar                TEXT,
    -- The hash of the tenant's API key (never the key).
    api_key_hash            TEXT UNIQUE
);

-- Every saved version of a tenant's rule set; the highest version is in force.
CREATE TABLE tenant_rule_sets (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- Round-robin cursors: the executor each pool assigned last.
CREATE TABLE round_robin_cursors (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    pool        TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (tenant_id, pool)
);

CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    name              TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('complainant', 'executor', 'admin')),
    active            INTEGER NOT NULL,
    telegram_chat_id  TEXT,
    email             TEXT,
    phone             TEXT,
    designation       TEXT,
    department        TEXT,
    skills            TEXT NOT NULL DEFAULT '[]',
    buildings         TEXT NOT NULL DEFAULT '[]',
    onboarding        TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    UNIQUE (tenant_id, telegram_chat_id)
);
CREATE INDEX users_tenant_role ON users (tenant_id, role);

CREATE TABLE tickets (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL REFERENCES tenants(id),
    seq                   INTEGER NOT NULL,
    number                TEXT NOT NULL,
    title                 TEXT NOT NULL,
    description           TEXT,
    location              TEXT NOT NULL,
    category              TEXT NOT NULL,
    ticket_type           TEXT NOT NULL,
    building              TEXT,
    floor                 TEXT,
    room                  TEXT,
    reporter_name         TEXT NOT NULL,
    reporter_designation  TEXT,
    reporter_department   TEXT,
    submitted_priority    TEXT NOT NULL,
    status                TEXT NOT NULL,
    priority              TEXT NOT NULL,
    complainant_id        TEXT NOT NULL REFERENCES users(id),
    executor_id           TEXT REFERENCES users(id),
    response_due_at       INTEGER,
    resolution_due_at     INTEGER,
    -- The SLA clocks (fms_core::rules::SlaState as JSON) and their next warning or breach
    -- moment (the sweeper's index).
    sla_state             TEXT,
    sla_next_event_at     INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    version               INTEGER NOT NULL DEFAULT 0,
    -- The per-ticket counter row of the outbox: the trigger bumps it for every activity.
    last_sequence         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, seq)
);
CREATE INDEX tickets_tenant_created ON tickets (tenant_id, created_at DESC, id DESC);
CREATE INDEX tickets_executor_status ON tickets (executor_id, status);
CREATE INDEX tickets_sla_due ON tickets (sla_next_event_at)
    WHERE sla_next_event_at IS NOT NULL AND status IN ('open', 'in-progress');

CREATE TABLE ticket_activities (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    type        TEXT NOT NULL,
    comment     TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_by  TEXT REFERENCES users(id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX ticket_activities_ticket ON ticket_activities (ticket_id, created_at);

CREATE TABLE ticket_webhook_queue (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id               TEXT NOT NULL,
    ticket_id               TEXT NOT NULL REFERENCES tickets(id),
    activity_id             TEXT NOT NULL UNIQUE REFERENCES ticket_activities(id),
    sequence                INTEGER NOT NULL,
    state                   TEXT NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'leased', 'delivered', 'skipped', 'parked')),
    attempts                INTEGER NOT NULL DEFAULT 0,
    -- When the row is claimable: its due time while pending, its lease expiry while leased.
    next_attempt_at         INTEGER NOT NULL,
    -- The fencing token: bumped by every claim; only its holder may finish the row.
    lease_token             INTEGER NOT NULL DEFAULT 0,
    first_attempt_at        INTEGER,
    last_status_code        INTEGER,
    last_error              TEXT,
    created_at              INTEGER NOT NULL,
    finished_at             INTEGER,
    -- The ticket right after the activity: a late retry never reports a later state.
    snap_status             TEXT NOT NULL,
    snap_priority           TEXT NOT NULL,
    snap_executor_id        TEXT,
    snap_response_due_at    INTEGER,
    snap_resolution_due_at  INTEGER,
    UNIQUE (ticket_id, sequence)
);
-- Claims walk this in (next_attempt_at, id) order (the rowid is the last key column) and
-- stop at the batch size.
CREATE INDEX ticket_webhook_queue_open ON ticket_webhook_queue (next_attempt_at)
    WHERE state IN ('pending', 'leased');
-- The head-of-line check looks only at a ticket's undone rows.
CREATE INDEX ticket_webhook_queue_undone ON ticket_webhook_queue (ticket_id, sequence)
    WHERE state IN ('pending', 'leased', 'parked');
CREATE INDEX ticket_webhook_queue_tenant ON ticket_webhook_queue (tenant_id, id DESC);

CREATE TABLE idempotency_keys (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    key         TEXT NOT NULL,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- Telegram onboarding invitations.
CREATE TABLE invitations (
    correlation_id  TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    user_id         TEXT NOT NULL REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    chat_id         TEXT,
    completed_at    INTEGER
);

-- The onboarding webhook queue: the same delivery machinery as ticket webhooks, separate rows
-- and a separate endpoint breaker, so neither ever delays the other.
CREATE TABLE onboarding_webhook_queue (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    correlation_id    TEXT NOT NULL REFERENCES invitations(correlation_id),
    payload           TEXT NOT NULL,
    state             TEXT NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'leased', 'delivered', 'skipped', 'parked')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    lease_token       INTEGER NOT NULL DEFAULT 0,
    first_attempt_at  INTEGER,
    last_status_code  INTEGER,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    finished_at       INTEGER
);
CREATE INDEX onboarding_webhook_queue_open ON onboarding_webhook_queue (next_attempt_at)
    WHERE state IN ('pending', 'leased');

-- Breakers of endpoints that belong to no tenant (the onboarding webhook).
CREATE TABLE webhook_endpoints (
    name                    TEXT PRIMARY KEY,
    endpoint_failures       INTEGER NOT NULL DEFAULT 0,
    endpoint_paused_until   INTEGER,
    endpoint_probe_until    INTEGER,
    endpoint_disabled_at    INTEGER
);
INSERT INTO webhook_endpoints (name) VALUES ('onboarding');

CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    recipient_user  TEXT,
    recipient_role  TEXT,
    kind            TEXT NOT NULL,
    message         TEXT NOT NULL,
    ticket_id       TEXT,
    user_id         TEXT,
    created_at      INTEGER NOT NULL,
    read_at         INTEGER,
    CHECK ((recipient_user IS NULL) <> (recipient_role IS NULL))
);
CREATE INDEX notifications_tenant_created ON notifications (tenant_id, created_at DESC, id DESC);

-- The outbox, as the spec has it: every activity, whoever writes it, queues one webhook row
-- in the same transaction, with the next per-ticket sequence.
CREATE TRIGGER ticket_activities_enqueue AFTER INSERT ON ticket_activities
BEGIN
    UPDATE tickets
    SET last_sequence = last_sequence + 1, updated_at = max(updated_at, NEW.created_at)
    WHERE id = NEW.ticket_id;
    INSERT INTO ticket_webhook_queue (
        tenant_id, ticket_id, activity_id, sequence, next_attempt_at, created_at,
        snap_status, snap_priority, snap_executor_id, snap_response_due_at, snap_resolution_due_at
    )
    SELECT t.tenant_id, t.id, NEW.id, t.last_sequence, NEW.created_at, NEW.created_at,
           t.status, t.priority, t.executor_id, t.response_due_at, t.resolution_due_at
    FROM tickets t WHERE t.id = NEW.ticket_id;
END;
