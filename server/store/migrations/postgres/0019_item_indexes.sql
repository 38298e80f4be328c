-- An item's page (JobService.GetItem, LabelService.ListLabelRevisions) reads its
-- comments, declines and label revisions by item: without these, each read went
-- through the job's comments, declined tasks or label feed.

-- The item a comment is about (its task's item), so comments are found by item.
ALTER TABLE task_comments ADD COLUMN item_id BIGINT REFERENCES items(id);
UPDATE task_comments SET item_id = (SELECT t.item_id FROM tasks t WHERE t.id = task_comments.task_id);
CREATE INDEX task_comments_by_item ON task_comments (item_id, id);

CREATE INDEX tasks_declined_by_item ON tasks (item_id, id) WHERE state = 5;

CREATE INDEX label_events_by_item ON label_events (job_id, item_id, sequence);
