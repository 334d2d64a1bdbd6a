-- Each user's open tickets (executor of a ticket that is open, in progress or on hold), kept
-- by a trigger on `tickets` in the transaction that changes them, so the intake's roster reads
-- a column instead of counting each executor's tickets: an intake costs the same however many
-- tickets an executor has open.
ALTER TABLE users ADD COLUMN open_tickets bigint NOT NULL DEFAULT 0;
UPDATE users u SET open_tickets = (
    SELECT count(*) FROM tickets t
    WHERE t.executor_id = u.id AND t.status IN ('open', 'in-progress', 'on-hold'));

-- A reassignment moves one ticket from one executor to another: both rows change in one
-- statement, which locks them in the same order whoever runs it, so two reassignments in
-- opposite directions never deadlock.
CREATE FUNCTION tickets_executor_load() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    was uuid;
    now_ uuid;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.executor_id IS NOT NULL
       AND OLD.status IN ('open', 'in-progress', 'on-hold') THEN
        was := OLD.executor_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.executor_id IS NOT NULL
       AND NEW.status IN ('open', 'in-progress', 'on-hold') THEN
        now_ := NEW.executor_id;
    END IF;
    IF was IS NOT DISTINCT FROM now_ THEN
        RETURN NULL;
    END IF;
    UPDATE users
    SET open_tickets = open_tickets
        + CASE WHEN id = now_ THEN 1 ELSE 0 END
        - CASE WHEN id = was THEN 1 ELSE 0 END
    WHERE id IN (was, now_);
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_executor_load
    AFTER INSERT OR UPDATE OF executor_id, status OR DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_executor_load();
