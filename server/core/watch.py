"""WatchJob: a job's state and counters as they change, for a page that
would otherwise poll GetJob.

Label events and state changes wake a watch at once (the feed signal); leases
and judgments move counters without a label, and other replicas' writes wake
nothing here, so a watch also reads the job every `WATCH_POLL_SECONDS`."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

from labelwire.server.core.base import JobReads
from labelwire.server.core.jobs import JobsService
from labelwire.server.domain.model import ENDED, Job, Principal
from labelwire.server.labels.feed import FeedSignal

#: Least time between two reads of a job: a busy job's changes coalesce.
WATCH_GAP_SECONDS = 0.5
#: Most time between two reads: counters that move without a label.
WATCH_POLL_SECONDS = 1.0
#: A heartbeat after this long without a change keeps proxies from closing
#: an idle stream (most close after 30–60 s).
WATCH_HEARTBEAT_SECONDS = 15.0


@dataclasses.dataclass(eq=False, kw_only=True)
class WatchService:
    """A job's counters as they change (WatchJob)."""

    reads: JobReads
    jobs: JobsService
    feed: FeedSignal

    async def watch_job(self, principal: Principal, name: str) -> AsyncIterator[Job | None]:
        """The job now, then each changed reading of it; None is a heartbeat.
        Ends after the reading that shows the job ended."""
        job = await self.jobs.view_job(principal, name)
        yield job
        sent = time.monotonic()
        while job.state not in ENDED:
            seen = self.feed.version(job.id)
            await asyncio.sleep(WATCH_GAP_SECONDS)
            await self.feed.wait(job.id, seen, timeout=WATCH_POLL_SECONDS - WATCH_GAP_SECONDS)
            fresh = await self.reads.read_job(job.id)
            if fresh != job:
                job = fresh
                yield job
                sent = time.monotonic()
            elif time.monotonic() - sent >= WATCH_HEARTBEAT_SECONDS:
                yield None
                sent = time.monotonic()
