-- Jobs that feed jobs, and random pilot samples.
-- routed_from, routed_from_job: on an item a routing rule forwarded from
-- another job (see labels/chains.py), the upstream item and its job; its
-- labels flow back to that item as new revisions. NULL for items the owner
-- added. The index finds a job's forwarded items still open downstream (the
-- job completes only once they are back). The forward is
-- written in the transaction of the upstream label and is idempotent on the
-- downstream job's (job_id, key), so it happens exactly once.
-- in_pilot: 1 on the items StartJob(pilot_size) drew for the pilot; while
-- jobs.pilot_until is set only they are dispatched, found by their own index.
ALTER TABLE items ADD COLUMN routed_from BIGINT;
ALTER TABLE items ADD COLUMN routed_from_job BIGINT;
ALTER TABLE items ADD COLUMN in_pilot INTEGER NOT NULL DEFAULT 0;
CREATE INDEX items_pilot_open ON items(job_id, id) WHERE in_pilot = 1 AND state = 0 AND is_gold = 0;
CREATE INDEX items_routed_open ON items(routed_from_job) WHERE routed_from_job IS NOT NULL AND state = 0;
