"""Adapters (external workforces): their rows, idempotent requests, state and the sync and pass leases."""

from __future__ import annotations

import json
from typing import Any

from labelwire.server.store.rows_callers import ADAPTER_COLUMNS, AdapterRow
from labelwire.server.store.sql_base import SqlBase


class AdaptersSql(SqlBase):
    def adapter_named(self, name: str) -> AdapterRow | None:
        return self.one_as(AdapterRow, f"SELECT {ADAPTER_COLUMNS} FROM adapters WHERE name = ?", (name,))

    def adapter(self, adapter_id: int) -> AdapterRow | None:
        return self.one_as(AdapterRow, f"SELECT {ADAPTER_COLUMNS} FROM adapters WHERE id = ?", (adapter_id,))

    def insert_adapter(self, name: str, now: float) -> int:
        return self.insert("INSERT INTO adapters (name, created_at) VALUES (?, ?)", (name, now))

    def set_adapter_capabilities(self, adapter_id: int, capabilities: dict[str, Any]) -> None:
        self.run("UPDATE adapters SET capabilities = ? WHERE id = ?", (json.dumps(capabilities), adapter_id))

    def adapter_request(self, job_id: int, kind: str, request_id: str) -> Any | None:
        """The saved outcome of an adapter's call with this id, decoded; None if new."""
        row = self.one(
            "SELECT response FROM adapter_requests WHERE job_id = ? AND kind = ? AND request_id = ?",
            (job_id, kind, request_id),
        )
        return None if row is None else json.loads(row[0])

    def put_adapter_request(self, job_id: int, kind: str, request_id: str, response: Any, now: float) -> None:
        self.run(
            "INSERT INTO adapter_requests (job_id, kind, request_id, response, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (job_id, kind, request_id, json.dumps(response), now),
        )

    def adapter_state(self, job_id: int) -> dict[str, Any]:
        row = self.one("SELECT state FROM adapter_state WHERE job_id = ?", (job_id,))
        return {} if row is None else dict(json.loads(row[0]))

    def put_adapter_state(self, job_id: int, state: dict[str, Any]) -> None:
        self.run(
            "INSERT INTO adapter_state VALUES (?, ?) ON CONFLICT (job_id) DO UPDATE SET state = excluded.state",
            (job_id, json.dumps(state)),
        )

    def hold_sync_lease(self, job_id: int, owner: str, now: float, seconds: float) -> bool:
        """Takes or renews the job's sync lease for `owner` unless another owner
        holds it unexpired; says whether `owner` holds it now."""
        return self._hold_lease("sync_leases", job_id, owner, now, seconds)

    def hold_pass_lease(self, job_id: int, owner: str, now: float, seconds: float) -> bool:
        """The same for the job's consolidation pass."""
        return self._hold_lease("pass_leases", job_id, owner, now, seconds)

    def drop_pass_lease(self, job_id: int, owner: str) -> None:
        """Gives the pass lease up, if `owner` holds it, for any replica to take next."""
        self.run("DELETE FROM pass_leases WHERE job_id = ? AND owner = ?", (job_id, owner))

    def _hold_lease(self, table: str, job_id: int, owner: str, now: float, seconds: float) -> bool:
        self.run(
            f"INSERT INTO {table} (job_id, owner, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (job_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
            f" WHERE {table}.owner = excluded.owner OR {table}.expires_at < ?",
            (job_id, owner, now + seconds, now),
        )
        row = self.one(f"SELECT owner FROM {table} WHERE job_id = ?", (job_id,))
        return row is not None and row[0] == owner
