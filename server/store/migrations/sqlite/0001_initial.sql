-- The whole model: clients own jobs; a job has items, workers, tasks (one
-- lease of one item to one worker), judgments (one per submitted task, kept
-- forever) and a label feed (one event per label revision, numbered per job).

CREATE TABLE clients (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    key_hash    BLOB NOT NULL,
    created_at  REAL NOT NULL
);

CREATE TABLE jobs (
    id                    INTEGER PRIMARY KEY,
    owner_id              INTEGER NOT NULL REFERENCES clients(id),
    spec                  TEXT NOT NULL,
    state                 INTEGER NOT NULL,
    failure_reason        TEXT NOT NULL DEFAULT '',
    created_at            REAL NOT NULL,
    updated_at            REAL NOT NULL,
    last_sequence         INTEGER NOT NULL DEFAULT 0,
    total_items           INTEGER NOT NULL DEFAULT 0,
    gold_items            INTEGER NOT NULL DEFAULT 0,
    labeled_items         INTEGER NOT NULL DEFAULT 0,
    failed_items          INTEGER NOT NULL DEFAULT 0,
    judgments             INTEGER NOT NULL DEFAULT 0,
    excluded_judgments    INTEGER NOT NULL DEFAULT 0,
    cost_micros           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_owner ON jobs(owner_id, id);

-- state: 0 open (needs judgments), 1 labeled, 2 failed.
-- target: judgments the item needs now; done: judgments counted toward it;
-- leased: judgments in flight (leases, or a push workforce's claim).
CREATE TABLE items (
    id                  INTEGER PRIMARY KEY,
    job_id              INTEGER NOT NULL REFERENCES jobs(id),
    key                 TEXT NOT NULL,
    payload_kind        TEXT NOT NULL,
    payload             TEXT NOT NULL,
    metadata            TEXT,
    prelabel            TEXT,
    prelabel_confidence REAL,
    gold                TEXT,
    is_gold             INTEGER NOT NULL,
    state               INTEGER NOT NULL DEFAULT 0,
    target              INTEGER NOT NULL,
    done                INTEGER NOT NULL DEFAULT 0,
    leased              INTEGER NOT NULL DEFAULT 0,
    claimed_by          TEXT,
    label_sequence      INTEGER,
    label_revision      INTEGER NOT NULL DEFAULT 0,
    failure_reason      TEXT,
    created_at          REAL NOT NULL,
    UNIQUE (job_id, key)
);
CREATE INDEX items_open ON items(job_id, id) WHERE state = 0 AND is_gold = 0;
CREATE INDEX items_gold ON items(job_id, id) WHERE is_gold = 1;
CREATE INDEX items_labeled ON items(job_id, id) WHERE label_sequence IS NOT NULL;

-- status: 1 quiz, 2 qualified, 3 failed quiz, 4 disqualified.
CREATE TABLE workers (
    id              INTEGER PRIMARY KEY,
    job_id          INTEGER NOT NULL REFERENCES jobs(id),
    display_name    TEXT NOT NULL,
    external_id     TEXT,
    token_hash      BLOB,
    status          INTEGER NOT NULL,
    quiz_remaining  INTEGER NOT NULL,
    judgments       INTEGER NOT NULL DEFAULT 0,
    gold_answered   INTEGER NOT NULL DEFAULT 0,
    gold_correct    INTEGER NOT NULL DEFAULT 0,
    last_active_at  REAL,
    created_at      REAL NOT NULL,
    UNIQUE (job_id, external_id)
);
CREATE INDEX workers_job ON workers(job_id, id);

-- phase: 1 quiz, 2 work. state: 1 leased, 2 submitted, 3 expired, 4 released, 5 declined.
CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    job_id        INTEGER NOT NULL,
    item_id       INTEGER NOT NULL REFERENCES items(id),
    worker_id     INTEGER NOT NULL REFERENCES workers(id),
    phase         INTEGER NOT NULL,
    state         INTEGER NOT NULL,
    leased_at     REAL NOT NULL,
    expires_at    REAL NOT NULL,
    finished_at   REAL,
    UNIQUE (worker_id, item_id)
);
CREATE INDEX tasks_live ON tasks(job_id, expires_at) WHERE state = 1;
CREATE INDEX tasks_worker_live ON tasks(worker_id) WHERE state = 1;

-- gold_correct: NULL for an item that is not gold. excluded: the worker was disqualified.
CREATE TABLE judgments (
    task_id        INTEGER PRIMARY KEY REFERENCES tasks(id),
    job_id         INTEGER NOT NULL,
    item_id        INTEGER NOT NULL,
    worker_id      INTEGER NOT NULL,
    answer         TEXT NOT NULL,
    time_spent_ms  INTEGER NOT NULL,
    gold_correct   INTEGER,
    excluded       INTEGER NOT NULL DEFAULT 0,
    created_at     REAL NOT NULL
);
CREATE INDEX judgments_item ON judgments(item_id);
CREATE INDEX judgments_worker ON judgments(worker_id);

CREATE TABLE label_events (
    job_id          INTEGER NOT NULL,
    sequence        INTEGER NOT NULL,
    item_id         INTEGER NOT NULL,
    revision        INTEGER NOT NULL,
    value           TEXT NOT NULL,
    confidence      REAL NOT NULL,
    probabilities   TEXT NOT NULL,
    method          TEXT NOT NULL,
    judgment_count  INTEGER NOT NULL,
    human           INTEGER NOT NULL,
    tie             INTEGER NOT NULL,
    created_at      REAL NOT NULL,
    PRIMARY KEY (job_id, sequence)
) WITHOUT ROWID;

-- A workforce's own consolidated label (Ground Truth's), beside ours.
CREATE TABLE reference_labels (
    item_id     INTEGER PRIMARY KEY,
    value       TEXT NOT NULL,
    confidence  REAL,
    method      TEXT NOT NULL
);

-- A push adapter's progress, opaque to the core.
CREATE TABLE adapter_state (
    job_id  INTEGER PRIMARY KEY,
    state   TEXT NOT NULL
);
