-- Reads of all of a job's judgments had no index to start from and scanned
-- every judgment of every job: the colluder check (`work_answers`, each time a
-- job grows by a tenth), the job-level pass (`pass_input`) and the quality
-- report (`job_judgments`, which wants them by item, hence item_id second).
CREATE INDEX judgments_job ON judgments(job_id, item_id);

-- The declines the quality report lists (`job_declines`) scanned every task:
-- the only index on tasks by job is the one of live leases.
CREATE INDEX tasks_declined ON tasks(job_id, id) WHERE state = 5;
