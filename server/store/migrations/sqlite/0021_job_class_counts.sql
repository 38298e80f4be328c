-- How many of a job's items have each class as their current label (single-class labels:
-- value.classification.class_name), kept by the transaction that writes a label event
-- (labels.items.append_label: the new label's class up, the replaced one's down), so a
-- vote's class prior reads one row per class instead of the job's labels. Counted by class
-- name, as the label values carry it; a routed-back label whose class the job does not
-- have is counted too and ignored by the reader.
CREATE TABLE job_class_counts (
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    class_name  TEXT NOT NULL,
    labels      INTEGER NOT NULL,
    PRIMARY KEY (job_id, class_name)
) WITHOUT ROWID;

INSERT INTO job_class_counts (job_id, class_name, labels)
SELECT i.job_id, json_extract(e.value, '$.classification.class_name') AS name, COUNT(*)
FROM items i JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence
WHERE i.label_sequence IS NOT NULL AND json_valid(e.value)
  AND json_type(e.value, '$.classification.class_name') = 'text'
GROUP BY i.job_id, name;
