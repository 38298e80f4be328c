-- Jobs that feed jobs, and random pilot samples.
-- routed_from: on an item a routing rule forwarded from another job (see
-- labels/chains.py), the id of the upstream item; its labels flow back to
-- that item as new revisions. NULL for items the owner added. The forward is
-- written in the transaction of the upstream label and is idempotent on the
-- downstream job's (job_id, key), so it happens exactly once.
-- in_pilot: 1 on the items StartJob(pilot_size) drew for the pilot; while
-- jobs.pilot_until is set only they are dispatched.
ALTER TABLE items ADD COLUMN routed_from BIGINT;
ALTER TABLE items ADD COLUMN in_pilot INTEGER NOT NULL DEFAULT 0;
CREATE INDEX items_routed_from ON items(routed_from) WHERE routed_from IS NOT NULL;
