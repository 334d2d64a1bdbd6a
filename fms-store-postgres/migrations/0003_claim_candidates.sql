-- The claim's candidates: due rows that head their ticket's line, on an endpoint the breaker
-- admits, earliest first, locked with SKIP LOCKED (see `CLAIM` in src/queue.rs, which calls
-- this inside its one statement, so the row locks last until that statement commits).
--
-- Why a function: the one good plan for "the first $2 due heads" walks the due index in order
-- and stops after $2 rows, so a claim costs O(batch) whatever the backlog. A prepared
-- statement gets a generic plan, which knows neither `$1` nor `$2`, and the planner then
-- prefers a bitmap scan of every due row, a head-of-line probe for each, and a sort: O(due
-- rows) per claim (measured: 550 probes per claim of 10 in the delivery benchmark, most of the
-- claim's time; a backlog of 100,000 rows would cost 100,000 probes per claim). The function's
-- own setting rules the bitmap scan out for this one query only; nothing else is affected.
--
-- PL/pgSQL caches the function's query, but with the default `plan_cache_mode` the plan cache
-- compares the generic plan (which assumes a LIMIT of 10% of the rows) with custom plans (which
-- know `p_limit`), finds the generic one dearer and plans the query afresh on every claim:
-- measured on the delivery benchmark's queue, a claim of 10 cost 0.42 ms through the function
-- against 0.20 ms for the same query planned once. `force_generic_plan` skips that; with bitmap
-- scans off the generic plan is the index walk that stops after `p_limit` rows (checked with
-- 600, 100,000 and 1,000,000 due rows).
CREATE FUNCTION ticket_webhook_claimable(p_now timestamptz, p_limit bigint)
RETURNS TABLE (cand_id bigint, cand_tenant_id uuid, cand_next_attempt_at timestamptz,
               cand_probe boolean)
LANGUAGE plpgsql VOLATILE
SET enable_bitmapscan = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    SELECT q.id, q.tenant_id, q.next_attempt_at,
           (t.automation_webhook_url IS NOT NULL AND t.endpoint_paused_until IS NOT NULL)
    FROM ticket_webhook_queue q JOIN tenants t ON t.id = q.tenant_id
    WHERE q.state IN ('pending', 'leased') AND q.next_attempt_at <= p_now
      AND NOT EXISTS (
          SELECT 1 FROM ticket_webhook_queue e
          WHERE e.ticket_id = q.ticket_id AND e.sequence < q.sequence)
      AND (t.automation_webhook_url IS NULL OR (
               t.endpoint_disabled_at IS NULL
           AND (t.endpoint_probe_until IS NULL OR t.endpoint_probe_until <= p_now)
           AND (t.endpoint_paused_until IS NULL OR t.endpoint_paused_until <= p_now)))
    ORDER BY q.next_attempt_at, q.id
    LIMIT p_limit
    FOR UPDATE OF q SKIP LOCKED;
END
$$;
