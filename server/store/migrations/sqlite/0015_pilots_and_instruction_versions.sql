-- Changing a job (UpdateJob) and pilots.
-- spec_revision: bumped by every UpdateJob, so a replica that cached the spec
-- of a job sees from the row it reads anyway that its copy is stale.
-- instructions_version: bumped when the instructions, their examples or the
-- classes' descriptions change; each lease and judgment records the version
-- its worker was shown.
-- pilot_until: while a pilot runs, the id of the last item of the pilot
-- sample; only items up to it are dispatched. NULL when no pilot runs;
-- pilot_size: how many items that sample holds (0 when no pilot runs).
ALTER TABLE jobs ADD COLUMN spec_revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN instructions_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN pilot_until BIGINT;
ALTER TABLE jobs ADD COLUMN pilot_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN instructions_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE judgments ADD COLUMN instructions_version INTEGER NOT NULL DEFAULT 1;
