"""The feed's wake-ups: a waiting label stream looks again as soon as its job's
feed moves, not a poll interval later.

The waits below are an hour long, so a broken wake-up fails the test at the
bound instead of passing after a poll; the bound is against a hang, not a
speed test.
"""

from __future__ import annotations

import asyncio

from labelwire.server.labels.feed import FeedSignal

HOUR = 3600.0
BOUND = 30.0


async def still_waiting(task: asyncio.Task[None]) -> bool:
    for _ in range(10):
        await asyncio.sleep(0)
    return not task.done()


async def test_a_new_feed_is_at_version_zero_and_each_notify_moves_it_by_one() -> None:
    feed = FeedSignal()
    before = feed.version(7)
    feed.notify(7)
    feed.notify(7)
    assert (before, feed.version(7), feed.version(8)) == (0, 2, 0)


async def test_a_wait_that_started_behind_the_feed_returns_at_once() -> None:
    feed = FeedSignal()
    feed.notify(1)
    await asyncio.wait_for(feed.wait(1, seen_version=0, timeout=HOUR), BOUND)


async def test_a_waiting_stream_wakes_when_its_job_is_notified() -> None:
    feed = FeedSignal()
    waiter = asyncio.create_task(feed.wait(1, feed.version(1), timeout=HOUR))
    assert await still_waiting(waiter)
    feed.notify(1)
    await asyncio.wait_for(waiter, BOUND)


async def test_every_stream_waiting_on_a_job_wakes_and_a_later_wait_waits_again() -> None:
    feed = FeedSignal()
    waiters = [asyncio.create_task(feed.wait(1, 0, timeout=HOUR)) for _ in range(3)]
    assert all([await still_waiting(w) for w in waiters])
    feed.notify(1)
    await asyncio.wait_for(asyncio.gather(*waiters), BOUND)
    later = asyncio.create_task(feed.wait(1, feed.version(1), timeout=HOUR))
    assert await still_waiting(later)
    feed.notify(1)
    await asyncio.wait_for(later, BOUND)


async def test_another_jobs_notify_does_not_wake_a_stream() -> None:
    feed = FeedSignal()
    waiter = asyncio.create_task(feed.wait(1, 0, timeout=HOUR))
    assert await still_waiting(waiter)
    feed.notify(2)
    assert await still_waiting(waiter)
    waiter.cancel()


async def test_a_wait_with_nothing_new_ends_at_its_timeout() -> None:
    feed = FeedSignal()
    await asyncio.wait_for(feed.wait(1, 0, timeout=0.01), BOUND)
    assert feed.version(1) == 0


async def test_a_stream_that_has_seen_the_latest_version_waits_even_after_many_notifies() -> None:
    """Versions past 256 are distinct int objects: equality, not identity, decides."""
    feed = FeedSignal()
    for _ in range(300):
        feed.notify(1)
    seen = int("300")
    waiter = asyncio.create_task(feed.wait(1, seen, timeout=HOUR))
    assert await still_waiting(waiter)
    feed.notify(1)
    await asyncio.wait_for(waiter, BOUND)
