"""How many server streams one caller holds open on this server.

A client that opens streams and never reads them holds server memory, so
StreamLabels, WatchJob and StreamLabelManifest share one count per key; the count is per replica."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

from labelwire.server.domain.errors import ResourceExhausted
from labelwire.server.domain.model import Principal

DEFAULT_STREAMS_PER_CLIENT = 16


class StreamSlots:
    def __init__(self, limit: int = DEFAULT_STREAMS_PER_CLIENT) -> None:
        self.limit = limit
        self._open: Counter[tuple[str, int]] = Counter()

    @contextlib.contextmanager
    def held(self, principal: Principal) -> Iterator[None]:
        """One stream's slot for as long as the stream runs."""
        holder = (principal.kind, principal.id)
        if self._open[holder] >= self.limit:
            raise ResourceExhausted(
                f"a client may have at most {self.limit} streams (StreamLabels, WatchJob, StreamLabelManifest)"
                " open at once on this server; close one first"
            )
        self._open[holder] += 1
        try:
            yield
        finally:
            self._open[holder] -= 1
            if self._open[holder] <= 0:
                del self._open[holder]
