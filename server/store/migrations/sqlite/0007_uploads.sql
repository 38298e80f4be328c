-- Uploads in progress (AddItems streams, manifest imports). Their items are
-- staged in short transactions, then published into `items` in chunks
-- that stay hidden until one small update of the job row shows them all:
-- items of a job with id >= jobs.hidden_from belong to an upload that is
-- still publishing, and no query shows them. A job has at most one upload
-- publishing at a time.
-- state: 0 staging, 1 publishing. touched_at: the owning server's heartbeat;
-- an upload nobody touches is swept.
CREATE TABLE uploads (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL,
    state       INTEGER NOT NULL DEFAULT 0,
    touched_at  REAL NOT NULL
);

-- The staged items themselves live in a TEMP table on the writer connection
-- (`upload_items`, made when the connection opens): writing them costs no
-- disk flush, and a crash takes them away with it.

ALTER TABLE jobs ADD COLUMN hidden_from INTEGER;
