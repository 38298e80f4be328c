-- Workforce adapters that run in their own process and call
-- WorkforceAdapterService. An adapter is a name that jobs of the `remote`
-- workforce name in `workforce.settings.adapter`; its keys are rows of
-- `credentials` with kind 4 (owner_id the adapter).
CREATE TABLE adapters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    -- What AttachAdapter said it runs (JSON: task_types, max_judgments_per_item); '' before.
    capabilities TEXT NOT NULL DEFAULT '',
    created_at  REAL NOT NULL
);

-- What an adapter's call carrying its own id did (a claim's item keys, a
-- judgment's outcome), written in the transaction that did it, so the same
-- call retried after a crash or a lost response is answered from here and
-- changes nothing twice. kind: 'claim' or 'judgment'.
CREATE TABLE adapter_requests (
    job_id      INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (job_id, kind, request_id)
);
