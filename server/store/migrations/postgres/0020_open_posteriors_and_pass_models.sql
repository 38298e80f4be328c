-- The posterior of an open item that needs extra judgments (dynamic judgments: past its
-- floor, under target confidence), written in the transaction that asked for the extra
-- judgment and again by each job-level pass: the dispatcher offers such items least
-- confident first. NULL while an item is under its floor (anyone's, oldest first).
-- open_posterior is a JSON list of class probabilities in the job's class order.
ALTER TABLE items ADD COLUMN open_confidence DOUBLE PRECISION;
ALTER TABLE items ADD COLUMN open_posterior TEXT;
CREATE INDEX items_unsure ON items(job_id, open_confidence, id)
    WHERE state = 0 AND is_gold = 0 AND open_confidence IS NOT NULL;

-- What a job's last consolidation pass learned (class priors, each worker's confusion
-- matrix), so every replica, and this one after a restart, labels with it. stamp, drawn at
-- random by each pass: a replica reloads the model only when it changed.
CREATE TABLE job_models (
    job_id      BIGINT PRIMARY KEY REFERENCES jobs(id),
    stamp       BIGINT NOT NULL,
    method      TEXT NOT NULL,
    classes     INTEGER NOT NULL,
    priors      BYTEA NOT NULL,
    workers     BYTEA NOT NULL,
    confusions  BYTEA NOT NULL
);
