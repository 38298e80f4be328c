-- As migrations/sqlite/0009_judgments_by_job.sql: an index to read a job's
-- judgments from (the colluder check, the job-level pass, the quality report,
-- which wants them by item), and one for the job's declined tasks.
CREATE INDEX judgments_job ON judgments(job_id, item_id);
CREATE INDEX tasks_declined ON tasks(job_id, id) WHERE state = 5;
