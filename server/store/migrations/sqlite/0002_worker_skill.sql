-- The job-level consolidation pass keeps each worker's estimated accuracy, and
-- how many judgments the job had when it last ran.
ALTER TABLE workers ADD COLUMN skill REAL;
ALTER TABLE jobs ADD COLUMN judgments_at_pass INTEGER NOT NULL DEFAULT 0;
