-- Why a worker declined a task (DeclineTask's reason), kept for the job's owner;
-- NULL for tasks not declined or declined without a reason.
ALTER TABLE tasks ADD COLUMN decline_reason TEXT;
