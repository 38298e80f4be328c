-- Why a gold item's known answer is right (Item.gold_explanation), shown to a
-- worker after an entry-quiz answer only; NULL when the owner gave none.
ALTER TABLE items ADD COLUMN gold_explanation TEXT;

-- Workers' comments on their tasks (WorkerService.CommentOnTask), for the
-- job's owner (JobService.ListTaskComments).
CREATE TABLE task_comments (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    task_id     INTEGER NOT NULL REFERENCES tasks(id),
    worker_id   INTEGER NOT NULL REFERENCES workers(id),
    body        TEXT NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX task_comments_by_job ON task_comments (job_id, id);
