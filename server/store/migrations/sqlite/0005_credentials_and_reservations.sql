-- Credentials an operator can list, revoke, rotate and let expire: one row per
-- client API key or worker token, the secret kept as its SHA-256. kind: 1
-- client key (owner_id a client), 2 worker token (owner_id a worker). A token
-- names its row: `lwc_<id>_<secret>`. Keys and tokens made before this table
-- name their owner instead (`legacy = 1`), and keep working.
CREATE TABLE credentials (
    id           INTEGER PRIMARY KEY,
    kind         INTEGER NOT NULL,
    owner_id     INTEGER NOT NULL,
    secret_hash  BLOB NOT NULL,
    legacy       INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    expires_at   REAL,
    revoked_at   REAL
);
CREATE INDEX credentials_owner ON credentials(kind, owner_id, id);

INSERT INTO credentials (kind, owner_id, secret_hash, legacy, created_at)
    SELECT 1, id, key_hash, 1, created_at FROM clients WHERE length(key_hash) > 0;
INSERT INTO credentials (kind, owner_id, secret_hash, legacy, created_at)
    SELECT 2, id, token_hash, 1, created_at FROM workers WHERE token_hash IS NOT NULL AND length(token_hash) > 0;

-- A lease reserves its price until it is submitted (the price becomes cost) or
-- ends unanswered (the reservation is freed); a push workforce's claim reserves
-- the judgments it asks for. jobs.reserved_micros is the sum outstanding.
ALTER TABLE jobs ADD COLUMN reserved_micros INTEGER NOT NULL DEFAULT 0;
-- 0 none yet, 1 every item labeled, 2 the budget could pay for no more judgments.
ALTER TABLE jobs ADD COLUMN end_reason INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN reserved_micros INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN reserved_micros INTEGER NOT NULL DEFAULT 0;
-- A push workforce's own fee per judgment of the item, charged with its price.
ALTER TABLE items ADD COLUMN claim_fee_micros INTEGER NOT NULL DEFAULT 0;

-- Costs a workforce reports besides the judgments' price (Mechanical Turk's
-- fees), once per key.
CREATE TABLE job_costs (
    job_id      INTEGER NOT NULL,
    key         TEXT NOT NULL,
    micros      INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (job_id, key)
);
