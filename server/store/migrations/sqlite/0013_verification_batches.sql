-- A bulk-verification task leases several items at once: one task row per
-- item (so leases, reservations and judgments stay per item), each naming
-- the batch's first task (its own id for the first); NULL for a single task.
ALTER TABLE tasks ADD COLUMN batch_of INTEGER;
CREATE INDEX tasks_batch ON tasks(batch_of) WHERE batch_of IS NOT NULL;
