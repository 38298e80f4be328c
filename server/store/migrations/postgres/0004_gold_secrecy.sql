-- Gold answers stay secret. Gold is split into a quiz pool and a hidden pool
-- (gold_use: 0 not yet split, 1 quiz, 2 hidden) and counts the workers it was
-- shown to (exposures), so it can be retired. A worker keeps its quiz record
-- apart from hidden gold (only the quiz record is shown to it), the place of
-- hidden gold in its current block of tasks (offered, gold_plan, plan_hidden),
-- and its chance-corrected skill on work items (work_skill). A job remembers
-- how many judgments it had at its last colluder check.
ALTER TABLE items ADD COLUMN gold_use INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN exposures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN quiz_answered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN quiz_correct INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN offered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN gold_plan INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN plan_hidden INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN work_skill DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN judgments_at_check BIGINT NOT NULL DEFAULT 0;
UPDATE workers SET
    quiz_answered = (SELECT COUNT(*) FROM judgments j JOIN tasks t ON t.id = j.task_id
                     WHERE t.worker_id = workers.id AND t.phase = 1 AND j.gold_correct IS NOT NULL),
    quiz_correct = (SELECT COUNT(*) FROM judgments j JOIN tasks t ON t.id = j.task_id
                    WHERE t.worker_id = workers.id AND t.phase = 1 AND j.gold_correct = 1);
UPDATE items SET exposures = (SELECT COUNT(*) FROM tasks t WHERE t.item_id = items.id) WHERE is_gold = 1;
