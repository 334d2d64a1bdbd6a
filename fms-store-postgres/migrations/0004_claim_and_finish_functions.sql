-- The webhook queue's hot path, the claim and the finish, as functions whose plans do not
-- depend on table statistics.
--
-- Why: a prepared statement's generic plan is made once per connection and kept until the
-- tables' statistics change. The hot queue is empty at start, grows to any backlog within
-- seconds and is vacuumed and analyzed only now and then, so a plan chosen while it was small
-- is the plan used when it holds 100,000 rows. Measured before this migration (delivery
-- benchmark, 600 queued rows, statistics never gathered): the claim's lease update ran as a
-- sequential scan of the whole queue, and the combined finish as a bitmap scan of the whole
-- due index, both once per batch: O(queue) per delivery, and most of the database's time.
--
-- How: every access on the path is by key, and the functions' own settings leave the planner
-- nothing else to pick, whatever the statistics (these settings hold for these queries only):
-- - candidates walk the due index in order and stop after `p_limit` rows (a sequential or
--   bitmap scan would read every due row); the tenant and the head-of-line check are index
--   lookups per candidate (nested loops only: no hash or merge join builds over a table);
-- - the lease update finds its rows by the `ctid` the candidate scan locked (a TID scan:
--   `id = ANY (...)` could be answered by a full scan of the due index, which also holds `id`);
-- - the payload's rows (ticket, activity, tenant, complainant, executor, author) are one
--   primary-key lookup each per claimed row;
-- - the finish works row by row on the primary key (`id = v_id`; a scan of any other index
--   holding `id` reads the whole index and always costs more).
-- `force_generic_plan`: each query is planned once per connection (a custom plan would be
-- made on every call, as the parameters are always new).
--
-- They replace `ticket_webhook_claimable` (migration 0003) and the statements `CLAIM`,
-- `FINISH_MOVE`, `FINISH_STAY` and `FINISH_MOVE_MANY` the store sent before. Nothing in this
-- version calls `ticket_webhook_claimable`; it stays, so that dispatchers of the previous
-- version still running while the database is upgraded keep claiming.

-- Claims up to `p_limit` due rows: rows (pending, or leased with an expired lease) that head
-- their ticket's line (no earlier row of the ticket is still in this table: every row here is
-- undone), on an endpoint the breaker admits, earliest first, locked with SKIP LOCKED so
-- concurrent dispatchers take disjoint rows. For an endpoint due a probe, only its first
-- candidate is claimed, and only if it wins the probe slot (the conditional update re-checks
-- the tenant row under its lock, so of two dispatchers racing for the same probe one wins).
-- Each claimed row is leased until `p_lease_until` (state, fencing token, expiry, first
-- attempt) and returned with the rows its payload needs and the tenant's probe slot.
CREATE FUNCTION ticket_webhook_claim(p_now timestamptz, p_limit bigint,
                                     p_lease_until timestamptz)
RETURNS TABLE (o_entry ticket_webhook_queue, o_ticket tickets, o_activity ticket_activities,
               o_tenant tenants, o_complainant users, o_executor users, o_author users,
               o_probe_until timestamptz)
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_material = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    WITH cand AS MATERIALIZED (
        SELECT q.ctid AS tid, q.id, q.tenant_id, q.next_attempt_at, t.probe
        FROM ticket_webhook_queue q
        CROSS JOIN LATERAL (
            SELECT (t.automation_webhook_url IS NOT NULL AND t.endpoint_paused_until IS NOT NULL)
                       AS probe,
                   (t.automation_webhook_url IS NULL OR (
                        t.endpoint_disabled_at IS NULL
                    AND (t.endpoint_probe_until IS NULL OR t.endpoint_probe_until <= p_now)
                    AND (t.endpoint_paused_until IS NULL OR t.endpoint_paused_until <= p_now)))
                       AS admitted
            FROM tenants t WHERE t.id = q.tenant_id
            OFFSET 0) t
        WHERE q.state IN ('pending', 'leased') AND q.next_attempt_at <= p_now AND t.admitted
          AND NOT EXISTS (
              SELECT 1 FROM ticket_webhook_queue e
              WHERE e.ticket_id = q.ticket_id AND e.sequence < q.sequence)
        ORDER BY q.next_attempt_at, q.id
        LIMIT p_limit
        FOR UPDATE OF q SKIP LOCKED
    ), ranked AS MATERIALIZED (
        SELECT c.tid, c.id, c.tenant_id, c.probe,
               row_number() OVER (PARTITION BY c.tenant_id ORDER BY c.next_attempt_at, c.id)
                   AS rn
        FROM cand c
    ), probes AS (
        UPDATE tenants t SET endpoint_probe_until = p_lease_until
        WHERE t.id = ANY (ARRAY(SELECT r.tenant_id FROM ranked r WHERE r.probe AND r.rn = 1))
          AND t.automation_webhook_url IS NOT NULL
          AND t.endpoint_disabled_at IS NULL
          AND t.endpoint_paused_until IS NOT NULL AND t.endpoint_paused_until <= p_now
          AND (t.endpoint_probe_until IS NULL OR t.endpoint_probe_until <= p_now)
        RETURNING t.id, t.endpoint_probe_until
    ), leased AS (
        UPDATE ticket_webhook_queue q
        SET state = 'leased', lease_token = q.lease_token + 1, next_attempt_at = p_lease_until,
            first_attempt_at = COALESCE(q.first_attempt_at, p_now)
        WHERE q.ctid = ANY (ARRAY(
            SELECT r.tid FROM ranked r
            WHERE NOT r.probe
               OR (r.rn = 1 AND r.tenant_id = ANY (ARRAY(SELECT p.id FROM probes p)))))
        RETURNING q
    ), parts AS MATERIALIZED (
        SELECT l.q AS entry,
               (SELECT tk FROM tickets tk WHERE tk.id = (l.q).ticket_id) AS ticket,
               (SELECT a FROM ticket_activities a WHERE a.id = (l.q).activity_id) AS activity,
               (SELECT tn FROM tenants tn WHERE tn.id = (l.q).tenant_id) AS tenant
        FROM leased l
    )
    SELECT p.entry, p.ticket, p.activity, p.tenant,
           (SELECT c FROM users c WHERE c.id = (p.ticket).complainant_id),
           (SELECT x FROM users x WHERE x.id = (p.entry).snap_executor_id),
           (SELECT au FROM users au WHERE au.id = (p.activity).created_by),
           (SELECT pr.endpoint_probe_until FROM probes pr WHERE pr.id = (p.entry).tenant_id)
    FROM parts p
    ORDER BY (p.entry).id;
END
$$;

-- Finishes leased rows, one element of the arrays per row, each fenced by its lease token
-- (and, where `p_guard` is set, by "the tenant's breaker is healthy"): a row that fails its
-- fence is left untouched and not returned. `delivered` and `skipped` rows move to the
-- archive (`ticket_webhook_deliveries`), any other state (`pending` for a retry or a
-- release, `parked`) is written in place. `p_attempted`: the row was sent (attempts + 1, and
-- status and error replace the previous ones); `p_next`: the new due time, if any. Returns
-- the finished rows' id, lease token and tenant.
CREATE FUNCTION ticket_webhook_finish(p_id bigint[], p_token bigint[], p_state text[],
                                      p_attempted boolean[], p_next timestamptz[],
                                      p_status integer[], p_error text[],
                                      p_finished timestamptz[], p_guard boolean[])
RETURNS TABLE (o_id bigint, o_token bigint, o_tenant uuid)
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off
SET enable_bitmapscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r ticket_webhook_queue;
    i integer;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_id, 1), 0) LOOP
        IF p_state[i] IN ('delivered', 'skipped') THEN
            DELETE FROM ticket_webhook_queue q
            WHERE q.id = p_id[i] AND q.lease_token = p_token[i] AND q.state = 'leased'
              AND (NOT p_guard[i] OR EXISTS (
                  SELECT 1 FROM tenants t WHERE t.id = q.tenant_id AND t.endpoint_failures = 0
                    AND t.endpoint_paused_until IS NULL AND t.endpoint_probe_until IS NULL
                    AND t.endpoint_disabled_at IS NULL))
            RETURNING q.* INTO r;
            CONTINUE WHEN NOT FOUND;
            INSERT INTO ticket_webhook_deliveries (id, tenant_id, ticket_id, activity_id,
                sequence, state, attempts, next_attempt_at, lease_token, first_attempt_at,
                last_status_code, last_error, created_at, finished_at, snap_status,
                snap_priority, snap_executor_id, snap_response_due_at, snap_resolution_due_at)
            VALUES (r.id, r.tenant_id, r.ticket_id, r.activity_id, r.sequence, p_state[i],
                r.attempts + CASE WHEN p_attempted[i] THEN 1 ELSE 0 END,
                COALESCE(p_next[i], r.next_attempt_at), r.lease_token, r.first_attempt_at,
                CASE WHEN p_attempted[i] THEN p_status[i] ELSE r.last_status_code END,
                CASE WHEN p_attempted[i] OR p_error[i] IS NOT NULL THEN p_error[i]
                     ELSE r.last_error END,
                r.created_at, p_finished[i], r.snap_status, r.snap_priority,
                r.snap_executor_id, r.snap_response_due_at, r.snap_resolution_due_at);
        ELSE
            UPDATE ticket_webhook_queue q SET state = p_state[i],
                attempts = q.attempts + CASE WHEN p_attempted[i] THEN 1 ELSE 0 END,
                next_attempt_at = COALESCE(p_next[i], q.next_attempt_at),
                last_status_code = CASE WHEN p_attempted[i] THEN p_status[i]
                                        ELSE q.last_status_code END,
                last_error = CASE WHEN p_attempted[i] OR p_error[i] IS NOT NULL THEN p_error[i]
                                  ELSE q.last_error END,
                finished_at = p_finished[i],
                first_attempt_at = CASE WHEN NOT p_attempted[i] AND q.attempts = 0 THEN NULL
                                        ELSE q.first_attempt_at END
            WHERE q.id = p_id[i] AND q.lease_token = p_token[i] AND q.state = 'leased'
              AND (NOT p_guard[i] OR EXISTS (
                  SELECT 1 FROM tenants t WHERE t.id = q.tenant_id AND t.endpoint_failures = 0
                    AND t.endpoint_paused_until IS NULL AND t.endpoint_probe_until IS NULL
                    AND t.endpoint_disabled_at IS NULL))
            RETURNING q.* INTO r;
            CONTINUE WHEN NOT FOUND;
        END IF;
        o_id := r.id;
        o_token := r.lease_token;
        o_tenant := r.tenant_id;
        RETURN NEXT;
    END LOOP;
END
$$;

-- The archive's last foreign key, `activity_id REFERENCES ticket_activities(id)`, goes too
-- (migration 0002 dropped the one on `ticket_id`). Its check ran once per delivered row, inside
-- the finish, and took a key-share lock on the activity row: a write to the activity's page
-- (and to the WAL) per delivery, for a reference that cannot break. An archive row is a copy of
-- a queue row, whose own foreign keys were checked when the trigger queued it; fms never
-- deletes activities or tickets; and a row replayed from the archive is checked again when it
-- re-enters the queue. Measured in the delivery benchmark: library deliveries per second up by
-- about 5 % (same run, back to back).
ALTER TABLE ticket_webhook_deliveries
    DROP CONSTRAINT ticket_webhook_deliveries_activity_id_fkey;
