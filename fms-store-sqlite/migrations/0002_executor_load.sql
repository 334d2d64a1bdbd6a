-- Each user's open tickets (executor of a ticket that is open, in progress or on hold), kept
-- by triggers on `tickets` in the transaction that changes them, so the intake's roster reads
-- a column instead of counting each executor's tickets: an intake costs the same however many
-- tickets an executor has open.
ALTER TABLE users ADD COLUMN open_tickets INTEGER NOT NULL DEFAULT 0;
UPDATE users SET open_tickets = (
    SELECT COUNT(*) FROM tickets t
    WHERE t.executor_id = users.id AND t.status IN ('open', 'in-progress', 'on-hold'));

CREATE TRIGGER tickets_executor_load_insert AFTER INSERT ON tickets
WHEN NEW.executor_id IS NOT NULL AND NEW.status IN ('open', 'in-progress', 'on-hold')
BEGIN
    UPDATE users SET open_tickets = open_tickets + 1 WHERE id = NEW.executor_id;
END;

CREATE TRIGGER tickets_executor_load_update AFTER UPDATE OF executor_id, status ON tickets
WHEN OLD.executor_id IS NOT NEW.executor_id
  OR (OLD.status IN ('open', 'in-progress', 'on-hold'))
     IS NOT (NEW.status IN ('open', 'in-progress', 'on-hold'))
BEGIN
    UPDATE users SET open_tickets = open_tickets - 1
    WHERE id = OLD.executor_id AND OLD.status IN ('open', 'in-progress', 'on-hold');
    UPDATE users SET open_tickets = open_tickets + 1
    WHERE id = NEW.executor_id AND NEW.status IN ('open', 'in-progress', 'on-hold');
END;

CREATE TRIGGER tickets_executor_load_delete AFTER DELETE ON tickets
WHEN OLD.executor_id IS NOT NULL AND OLD.status IN ('open', 'in-progress', 'on-hold')
BEGIN
    UPDATE users SET open_tickets = open_tickets - 1 WHERE id = OLD.executor_id;
END;
