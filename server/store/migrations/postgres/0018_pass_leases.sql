-- Which server replica runs a job's consolidation pass: one at a time across the
-- cluster, so replicas share the passes of many jobs without computing one twice.
-- Held for the length of one pass (renewed while it computes) and given up after it.
CREATE TABLE pass_leases (
    job_id      BIGINT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);
