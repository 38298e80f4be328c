"""Items a model labeled confidently enough to accept without workers (routing
by confidence), accepted after an upload and as the model's thresholds move."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.domain.model import (
    JobSpec,
)
from labelwire.server.labels import routing
from labelwire.server.store import Tx

if TYPE_CHECKING:
    from labelwire.server.core.jobs import JobsService


async def accept_by_model(core: JobsService, spec: JobSpec, job_id: int, limits: dict[str, float]) -> int:
    """`routing.accept` over every waiting item, a chunk per write, so the
    writer is never held for long; completes the job when the model labeled
    what was left. Returns the items labeled."""
    total, after_id, now = 0, 0, core.clock()
    while limits:
        labeled, last = await core.store.write(
            functools.partial(
                _accept_chunk, spec=spec, job_id=job_id, limits=limits, now=now, after_id=after_id
            )
        )
        total += labeled
        if last is None:
            break
        after_id = last
    return total


def _accept_chunk(
    tx: Tx, *, spec: JobSpec, job_id: int, limits: dict[str, float], now: float, after_id: int
) -> tuple[int, int | None]:
    labeled, last = routing.accept(tx, spec, job_id, limits, now, after_id)
    if labeled and last is None:
        dispatch.complete_if_done(tx, job_id, now)
    return labeled, last
