-- Which server replica runs a push workforce's sync loop for a job: one at a
-- time, taken over by another when the holder stops renewing it.
CREATE TABLE sync_leases (
    job_id      BIGINT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);
