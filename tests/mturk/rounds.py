"""What the workforce tests share: the HIT ids the stub hands out, the adapter's saved
state, and a first round run."""

from __future__ import annotations

import json
from typing import Any

from labelwire.adapters.mturk import MTurkWorkforce

from .harness import MTurkContext, StubbedMTurk

HIT1 = "3HIT00000000000000001"
HIT2 = "3HIT00000000000000002"
GOLD_HIT = "3HIT0000000000000GOLD"


def state_of(ctx: MTurkContext) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ctx.saved_state)
    return loaded


async def started(mturk: StubbedMTurk, ctx: MTurkContext, wf: MTurkWorkforce, *hit_ids: str) -> None:
    """Runs the first round, in which each claimed item gets its HIT."""
    for hit_id in hit_ids:
        mturk.create_hit(hit_id)
    await wf.start(ctx)
    await wf.sync(ctx)
