"""Judgments, labels and the label events a job's feed reads."""

from __future__ import annotations

import json
from typing import Any

from labelwire.server.store.rows import (
    ITEM_COLUMNS,
    LABEL_COLUMNS,
    CountedJudgmentRow,
    ExportItemRow,
    GoldJudgmentRow,
    GoldOutcomeRow,
    ItemRow,
    JudgmentPageRow,
    JudgmentRow,
    LabelRow,
    ModelAcceptedRow,
    PrelabeledRow,
    VerifiedRow,
    WorkAnswerRow,
    columns,
)
from labelwire.server.store.sql_base import SqlBase, shown, where_given


class LabelsSql(SqlBase):
    def insert_judgment(
        self,
        task_id: int,
        job_id: int,
        item_id: int,
        worker_id: int,
        answer: dict[str, Any],
        time_spent_ms: int,
        gold_correct: bool | None,
        now: float,
        instructions_version: int | None = None,
    ) -> None:
        """`instructions_version`: the task's, when the caller has read it (else
        read from the task, or the job for a task that has none)."""
        head = (
            "INSERT INTO judgments (task_id, job_id, item_id, worker_id, answer, time_spent_ms, gold_correct,"
            " created_at, instructions_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
        )
        values = (task_id, job_id, item_id, worker_id, json.dumps(answer), time_spent_ms, gold_correct, now)
        if instructions_version is None:
            instructions_version = self.known_version(task_id)
        if instructions_version is not None:
            self.later(f"{head} ?)", (*values, instructions_version))
            return
        self.later(
            f"{head} COALESCE((SELECT instructions_version FROM tasks WHERE id = ?),"
            " (SELECT instructions_version FROM jobs WHERE id = ?)))",
            (*values, task_id, job_id),
        )

    def known_version(self, task_id: int) -> int | None:
        """The task's instructions version if this transaction read it already
        (PostgreSQL's writer keeps it: the insert then reads no table)."""
        return None

    def judgment(self, task_id: int) -> JudgmentRow | None:
        return self.one_as(
            JudgmentRow, f"SELECT {columns(JudgmentRow)} FROM judgments WHERE task_id = ?", (task_id,)
        )

    def item_judgments(self, item_id: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self.all(
            "SELECT worker_id, answer FROM judgments WHERE item_id = ? AND excluded = 0 ORDER BY task_id",
            (item_id,),
        )
        return [(int(r[0]), json.loads(r[1])) for r in rows]

    def job_judgments(self, job_id: int) -> list[CountedJudgmentRow]:
        """Counted judgments of the job's non-gold items, by item."""
        return self.all_as(
            CountedJudgmentRow,
            "SELECT j.item_id, j.worker_id, j.answer, j.time_spent_ms, j.instructions_version, i.key AS item_key"
            " FROM judgments j JOIN items i ON i.id = j.item_id"
            " WHERE j.job_id = ? AND j.excluded = 0 AND i.is_gold = 0 ORDER BY j.item_id",
            (job_id,),
        )

    def gold_judgments(self, job_id: int) -> list[GoldJudgmentRow]:
        """Counted, graded judgments of the job's gold items (quiz and hidden), by item
        then submission: what the reliability table is measured on."""
        return self.all_as(
            GoldJudgmentRow,
            "SELECT j.item_id, j.worker_id, j.answer, j.gold_correct FROM judgments j"
            " JOIN items i ON i.id = j.item_id"
            " WHERE j.job_id = ? AND j.excluded = 0 AND i.is_gold = 1 AND j.gold_correct IS NOT NULL"
            " ORDER BY j.item_id, j.task_id",
            (job_id,),
        )

    def gold_outcomes(self, job_id: int) -> list[GoldOutcomeRow]:
        """(worker_id, gold_correct) of every graded gold judgment of the job,
        in judgment order: each worker's accuracy over time."""
        return self.all_as(
            GoldOutcomeRow,
            "SELECT worker_id, gold_correct FROM judgments WHERE job_id = ? AND gold_correct IS NOT NULL ORDER BY task_id",
            (job_id,),
        )

    def gold_by_version(self, job_id: int) -> dict[int, tuple[int, int]]:
        """Gold judgments and how many were right, by instructions version."""
        rows = self.all(
            "SELECT instructions_version, COUNT(*), SUM(gold_correct)"
            " FROM judgments WHERE job_id = ? AND gold_correct IS NOT NULL GROUP BY instructions_version",
            (job_id,),
        )
        return {int(r[0]): (int(r[1]), int(r[2] or 0)) for r in rows}

    def work_answers(self, job_id: int) -> list[WorkAnswerRow]:
        """(item_id, worker_id, answer) of the job's counted judgments of
        non-gold items, in no order: the colluder check reads them all each
        time it runs."""
        return self.all_as(
            WorkAnswerRow,
            "SELECT j.item_id, j.worker_id, j.answer FROM judgments j JOIN items i ON i.id = j.item_id"
            " WHERE j.job_id = ? AND j.excluded = 0 AND i.is_gold = 0",
            (job_id,),
        )

    def verified(self, job_id: int) -> list[VerifiedRow]:
        """(prelabel, prelabel_confidence, value, tie) of a verification
        job's labeled items, gold left out."""
        return self.all_as(
            VerifiedRow,
            "SELECT i.prelabel, i.prelabel_confidence, e.value, e.tie FROM items i"
            " JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            " WHERE i.job_id = ? AND i.is_gold = 0 AND i.prelabel IS NOT NULL",
            (job_id,),
        )

    def prelabeled(self, job_id: int) -> list[PrelabeledRow]:
        """Items with both a model pre-label and a human label (a label the
        model gave itself is no evidence of its precision)."""
        return self.all_as(
            PrelabeledRow,
            "SELECT i.prelabel, i.prelabel_confidence, e.value FROM items i"
            " JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            " WHERE i.job_id = ? AND i.prelabel IS NOT NULL AND e.human <> 0",
            (job_id,),
        )

    def routable_items(self, job_id: int, min_confidence: float, after_id: int, limit: int) -> list[ItemRow]:
        """Open pre-labeled items no human has touched yet (no judgment, lease
        or claim, no label), at or above `min_confidence`, in id order."""
        return self.all_as(
            ItemRow,
            f"SELECT {ITEM_COLUMNS} FROM items"
            " WHERE job_id = ? AND id > ? AND state = 0 AND is_gold = 0 AND prelabel IS NOT NULL"
            " AND prelabel_confidence >= ? AND label_sequence IS NULL AND done = 0 AND leased = 0"
            f" AND claimed_by IS NULL AND {shown('items.id')} ORDER BY id LIMIT ?",
            (job_id, after_id, min_confidence, job_id, limit),
        )

    def model_accepted(self, job_id: int) -> list[ModelAcceptedRow]:
        """Items the model labeled: their key, the model's label and the
        current one (a human's, once an audit labeled the item)."""
        return self.all_as(
            ModelAcceptedRow,
            "SELECT i.key, m.value AS model_value, e.value, e.human FROM label_events m"
            " JOIN items i ON i.id = m.item_id"
            " JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            " WHERE m.job_id = ? AND m.method = 'model'",
            (job_id,),
        )

    def insert_label(
        self,
        job_id: int,
        sequence: int,
        item_id: int,
        revision: int,
        value: dict[str, Any],
        confidence: float,
        probabilities: dict[str, float],
        method: str,
        judgment_count: int,
        human: bool,
        tie: bool,
        now: float,
    ) -> None:
        self.feed_moved(job_id)
        self.later(
            "INSERT INTO label_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                sequence,
                item_id,
                revision,
                json.dumps(value),
                confidence,
                json.dumps(probabilities),
                method,
                judgment_count,
                human,
                tie,
                now,
            ),
        )

    def insert_routed_item(
        self, job_id: int, source: ItemRow, metadata: str, target: int, now: float
    ) -> bool:
        """Adds an item forwarded from another job's item (`source`, its
        row) unless the job has its key already; says whether it was new."""
        return bool(
            self.run(
                "INSERT INTO items (job_id, key, payload_kind, payload, metadata, is_gold, target, created_at,"
                " routed_from, routed_from_job) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)"
                " ON CONFLICT (job_id, key) DO NOTHING",
                (
                    job_id,
                    source.key,
                    source.payload_kind,
                    source.payload,
                    metadata,
                    target,
                    now,
                    source.id,
                    source.job_id,
                ),
            )
        )

    def routed_from(self, item_id: int) -> int | None:
        row = self.one("SELECT routed_from FROM items WHERE id = ?", (item_id,))
        return None if row is None or row[0] is None else int(row[0])

    def has_routed_open(self, job_id: int) -> bool:
        """Whether an item the job forwarded waits for its label in a live
        downstream job (its label will come back as a revision)."""
        return (
            self.one(
                "SELECT 1 FROM items d JOIN jobs j ON j.id = d.job_id"
                " WHERE d.routed_from_job = ? AND d.state = 0 AND j.state IN (1, 2, 3) LIMIT 1",
                (job_id,),
            )
            is not None
        )

    def current_labels(
        self,
        job_id: int,
        after_item_id: int,
        limit: int,
        *,
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        method: str = "",
        human: bool | None = None,
        revised: bool = False,
        contested: bool = False,
    ) -> list[LabelRow]:
        """The current label of each labeled item after `after_item_id`, by
        item; the conditions on the label's own columns are the SQL's, so a
        filtered page reads only matching rows."""
        where = ["i.job_id = ?", "i.label_sequence IS NOT NULL", "i.id > ?"]
        args: list[Any] = [job_id, after_item_id]
        where_given(
            where,
            args,
            ("e.confidence >= ?", min_confidence),
            ("e.confidence <= ?", max_confidence),
            ("e.method = ?", method or None),
            ("e.human = ?", None if human is None else int(human)),
        )
        if revised:
            where.append("e.revision > 1")
        if contested:
            where.append("(e.tie <> 0 OR (e.judgment_count > 1 AND e.confidence < 1))")
        return self.all_as(
            LabelRow,
            f"SELECT {LABEL_COLUMNS}"
            " FROM items i JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            f" WHERE {' AND '.join(where)} ORDER BY i.id LIMIT ?",
            (*args, limit),
        )

    def label_events(self, job_id: int, after_sequence: int, limit: int) -> list[LabelRow]:
        return self.all_as(
            LabelRow,
            f"SELECT {LABEL_COLUMNS} FROM label_events e"
            " JOIN items i ON i.id = e.item_id WHERE e.job_id = ? AND e.sequence > ? ORDER BY e.sequence LIMIT ?",
            (job_id, after_sequence, limit),
        )

    def exclude_judgments_of(self, worker_id: int) -> list[int]:
        """Marks a worker's judgments excluded; returns the non-gold items they fed."""
        rows = self.all(
            "UPDATE judgments SET excluded = 1 WHERE worker_id = ? AND excluded = 0 RETURNING item_id, gold_correct",
            (worker_id,),
        )
        return [int(r[0]) for r in rows if r[1] is None]

    def label_revisions(self, job_id: int, item_id: int, limit: int) -> list[LabelRow]:
        """An item's label events, newest first. The sequences come from the
        covering index label_events_by_item: asked for whole rows by item,
        SQLite without statistics would rather walk the job's feed."""
        return self.all_as(
            LabelRow,
            f"SELECT {LABEL_COLUMNS} FROM label_events e"
            " JOIN items i ON i.id = e.item_id WHERE e.job_id = ? AND e.sequence IN"
            " (SELECT sequence FROM label_events WHERE job_id = ? AND item_id = ? ORDER BY sequence DESC LIMIT ?)"
            " ORDER BY e.sequence DESC",
            (job_id, job_id, item_id, limit),
        )

    def judgment_page(
        self,
        job_id: int,
        after_task_id: int,
        limit: int,
        *,
        item_id: int | None = None,
        worker_id: int | None = None,
        instructions_version: int | None = None,
    ) -> list[JudgmentPageRow]:
        """Raw judgments in submission (task id) order, with what the owner
        needs to read each one alone."""
        where, args = ["j.job_id = ?", "j.task_id > ?"], [job_id, after_task_id]
        where_given(
            where,
            args,
            ("j.instructions_version = ?", instructions_version),
            ("j.item_id = ?", item_id),
            ("j.worker_id = ?", worker_id),
        )
        return self.all_as(
            JudgmentPageRow,
            "SELECT j.task_id, j.worker_id, j.answer, j.time_spent_ms, j.gold_correct, j.excluded,"
            " j.created_at, j.instructions_version, i.key AS item_key, i.is_gold, t.phase, w.external_id, w.account_id"
            " FROM judgments j JOIN items i ON i.id = j.item_id JOIN tasks t ON t.id = j.task_id"
            " JOIN workers w ON w.id = j.worker_id"
            f" WHERE {' AND '.join(where)} ORDER BY j.task_id LIMIT ?",
            (*args, limit),
        )

    def export_items(self, job_id: int, after_item_id: int, limit: int) -> list[ExportItemRow]:
        """Every item of the job (gold, open and failed too) with its current
        label's columns, NULL where it has none."""
        return self.all_as(
            ExportItemRow,
            "SELECT i.id AS item_id, i.key AS item_key, i.metadata AS item_metadata, i.payload_kind, i.payload,"
            " i.is_gold, i.failure_reason, e.value, e.confidence, e.probabilities, e.method, e.judgment_count,"
            " e.human, e.created_at"
            " FROM items i LEFT JOIN label_events e ON e.job_id = i.job_id AND e.sequence = i.label_sequence"
            f" WHERE i.job_id = ? AND i.id > ? AND {shown('i.id')} ORDER BY i.id LIMIT ?",
            (job_id, after_item_id, job_id, limit),
        )

    def label_event(self, job_id: int, sequence: int) -> LabelRow | None:
        return self.one_as(
            LabelRow,
            f"SELECT {LABEL_COLUMNS} FROM label_events e JOIN items i ON i.id = e.item_id"
            " WHERE e.job_id = ? AND e.sequence = ?",
            (job_id, sequence),
        )
