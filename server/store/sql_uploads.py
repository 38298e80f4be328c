"""Uploads of items: an upload's items stay hidden until it publishes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labelwire.server.store.rows_upkeep import UPLOAD_COLUMNS, UploadRow
from labelwire.server.store.sql_base import SqlBase


class UploadsSql(SqlBase):
    # uploads

    def begin_upload(self, job_id: int, now: float) -> int:
        return self.insert("INSERT INTO uploads (job_id, state, touched_at) VALUES (?, 0, ?)", (job_id, now))

    def touch_upload(self, upload_id: int, now: float) -> bool:
        """Renews an upload's heartbeat; False when it was swept as abandoned."""
        return self.run("UPDATE uploads SET touched_at = ? WHERE id = ?", (now, upload_id)) > 0

    def uploads_touched_before(self, before: float) -> list[UploadRow]:
        return self.all_as(
            UploadRow, f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE touched_at < ? ORDER BY id", (before,)
        )

    def claim_publish(self, upload_id: int, job_id: int, now: float) -> bool:
        """Makes the upload the job's one publishing upload, hiding every item
        inserted into the job from now on; False while another upload holds it."""
        row = self.one("SELECT hidden_from FROM jobs WHERE id = ?", (job_id,))
        if row is None or row[0] is not None:
            return False
        top = self.one("SELECT COALESCE(MAX(id), 0) FROM items")
        assert top is not None
        self.run("UPDATE jobs SET hidden_from = ? WHERE id = ?", (int(top[0]) + 1, job_id))
        self.run("UPDATE uploads SET state = 1, touched_at = ? WHERE id = ?", (now, upload_id))
        return True

    def publishing(self, job_id: int) -> bool:
        row = self.one("SELECT hidden_from FROM jobs WHERE id = ?", (job_id,))
        return row is not None and row[0] is not None

    def end_upload(self, upload_id: int) -> None:
        """Forgets a published upload; if it held its job's publishing slot,
        the items it published become visible."""
        row = self.one("SELECT job_id, state FROM uploads WHERE id = ?", (upload_id,))
        if row is not None and int(row[1]) == 1:
            self.run("UPDATE jobs SET hidden_from = NULL WHERE id = ?", (int(row[0]),))
        self.run("DELETE FROM uploads WHERE id = ?", (upload_id,))

    def drop_upload(self, upload_id: int, limit: int) -> int:
        """Deletes up to `limit` rows of an abandoned upload: first the items it
        published (still hidden), then its staged items (even if the upload's
        row is gone), and when none are left, the upload itself. Returns the
        rows deleted; 0 means all gone."""
        row = self.one(
            "SELECT u.job_id, u.state, j.hidden_from FROM uploads u LEFT JOIN jobs j ON j.id = u.job_id"
            " WHERE u.id = ?",
            (upload_id,),
        )
        deleted = 0
        if row is not None and int(row[1]) == 1 and row[2] is not None:
            deleted = self.run(
                "DELETE FROM items WHERE id IN (SELECT id FROM items WHERE id >= ? AND +job_id = ?"
                " AND routed_from IS NULL ORDER BY id LIMIT ?)",
                (int(row[2]), int(row[0]), limit),
            )
        if deleted < limit:
            deleted += self.run(
                "DELETE FROM upload_items WHERE upload_id = ? AND seq IN"
                " (SELECT seq FROM upload_items WHERE upload_id = ? ORDER BY seq LIMIT ?)",
                (upload_id, upload_id, limit - deleted),
            )
        if deleted == 0:
            self.end_upload(upload_id)
        return deleted

    def _hold_upload(self, upload_id: int) -> bool:
        """Whether the upload is still there (PostgreSQL holds its row: `PostgresTx`);
        SQLite's one writer runs a drop only after the stages queued before it."""
        return True

    def _stage_fast(self, upload_id: int, rows: Sequence[tuple[Any, ...]], start: int) -> int | None:
        """A store's quicker way to stage rows none of which can conflict (PostgreSQL's
        COPY), or None for the inserts below."""
        return None

    def stage_items(self, upload_id: int, rows: Sequence[tuple[Any, ...]], start: int) -> int:
        """Stages rows (key, kind, payload, metadata, prelabel, prelabel_confidence, gold),
        numbered from `start` in the stream; returns how many keys the upload repeated.

        One multi-row INSERT per 500 rows rather than a row at a time: on SQLite
        each statement step gives up the GIL and must win it back, which under a
        busy event loop costs more than the insert; on PostgreSQL it is one round trip."""
        fast = self._stage_fast(upload_id, rows, start)
        if fast is not None:
            return fast
        staged = 0
        for first in range(0, len(rows), 500):
            chunk = rows[first : first + 500]
            values = [
                v for i, r in enumerate(chunk, start + first) for v in (upload_id, i, *r, r[6] is not None)
            ]
            marks = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            staged += self.run(f"INSERT INTO upload_items VALUES {marks} ON CONFLICT DO NOTHING", values)
        return len(rows) - staged

    def publish_items(
        self, upload_id: int, job_id: int, target: int, now: float, first: int, end: int
    ) -> tuple[int, int]:
        """Moves the staged items numbered [first, end) into the job, keys it
        already has excepted; returns (added, gold added), none once the upload is gone."""
        if not self._hold_upload(upload_id):
            return 0, 0
        added = []
        for gold in (0, 1):
            added.append(
                self.run(
                    "INSERT INTO items (job_id, key, payload_kind, payload, metadata, prelabel,"
                    " prelabel_confidence, gold, is_gold, target, created_at)"
                    " SELECT ?, key, payload_kind, payload, metadata, prelabel, prelabel_confidence, gold,"
                    " is_gold, ?, ? FROM upload_items WHERE upload_id = ? AND seq >= ? AND seq < ?"
                    " AND is_gold = ? ORDER BY seq ON CONFLICT (job_id, key) DO NOTHING",
                    (job_id, target, now, upload_id, first, end, gold),
                )
            )
        self.run(
            "DELETE FROM upload_items WHERE upload_id = ? AND seq >= ? AND seq < ?", (upload_id, first, end)
        )
        return added[0] + added[1], added[1]
