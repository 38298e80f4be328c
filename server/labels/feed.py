"""Wakes label streams when their job's feed moves.

Streams read the feed from the store; this only tells them when to look again,
so a missed wake-up costs at most one poll interval, never a label.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


class FeedSignal:
    def __init__(self) -> None:
        self._versions: dict[int, int] = {}
        self._events: dict[int, asyncio.Event] = {}

    def version(self, job_id: int) -> int:
        return self._versions.get(job_id, 0)

    def notify(self, job_id: int) -> None:
        self._versions[job_id] = self._versions.get(job_id, 0) + 1
        event = self._events.pop(job_id, None)
        if event is not None:
            event.set()

    def notify_all(self, job_ids: Iterable[int]) -> None:
        for job_id in job_ids:
            self.notify(job_id)

    async def wait(self, job_id: int, seen_version: int, timeout: float) -> None:
        """Returns when the job's feed moved past `seen_version`, or after `timeout`."""
        if self.version(job_id) != seen_version:
            return
        event = self._events.setdefault(job_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
