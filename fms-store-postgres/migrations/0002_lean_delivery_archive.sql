-- The delivery archive takes one row per delivered webhook, inside the completing statement,
-- so every index and foreign key on it is paid once per delivery. Keep only what a query or
-- an invariant needs:
-- - `UNIQUE (activity_id)`: no query looks rows up by activity (they go by id, ticket or
--   tenant), and one row per activity is already guaranteed where rows are made (the
--   `ticket_activities_enqueue` trigger queues exactly one row per activity; the hot table
--   has no such constraint either). Dropping it saves an index insertion per delivery.
-- - `REFERENCES tickets(id)` on `ticket_id`: implied by `REFERENCES ticket_activities(id)`
--   on `activity_id` (the activity belongs to the row's ticket and references it itself).
--   Dropping it saves a key-share lock of the ticket row per delivery.
-- The primary key (queue_entry), `UNIQUE (ticket_id, sequence)` (queue_entries by ticket)
-- and `(tenant_id, id)` (queue_entries by tenant) stay, and so does the activity foreign key.
ALTER TABLE ticket_webhook_deliveries
    DROP CONSTRAINT ticket_webhook_deliveries_activity_id_key,
    DROP CONSTRAINT ticket_webhook_deliveries_ticket_id_fkey;
