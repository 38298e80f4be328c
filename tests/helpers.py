"""Small builders the end-to-end tests share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.v1 import job_pb2

CLASSES = ["pos", "neg", "neutral"]


async def running_job(
    lw: Client,
    *,
    items: int = 4,
    gold: int = 0,
    judgments: int = 1,
    quiz_size: int = 0,
    hidden: float = 0.0,
    pass_accuracy: float = 0.8,
) -> job_pb2.Job:
    """A started text job whose item `i<n>` has truth CLASSES[n % 3] in its text."""
    job = await lw.create_job(
        "Sentiment",
        classes=CLASSES,
        judgments_per_item=judgments,
        quiz_size=quiz_size,
        hidden_gold_share=hidden,
        pass_accuracy=pass_accuracy,
    )
    batch = [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(items)]
    batch += [text_item(f"g{n}", f"truth:{CLASSES[n % 3]}", gold=CLASSES[n % 3]) for n in range(gold)]
    await lw.add_items(job.name, batch)
    return await lw.start_job(job.name)


def truth(text: str) -> str:
    return text.split(":", 1)[1]


async def work(worker: WorkerClient, *, right: bool = True, limit: int = 1000) -> int:
    """Answers tasks until none is left; returns how many it submitted."""
    done = 0
    while done < limit:
        response = await worker.next_task()
        if not response.HasField("task"):
            return done
        answer = truth(response.task.text)
        if not right:
            answer = CLASSES[(CLASSES.index(answer) + 1) % 3]
        await worker.submit(response.task.name, classification(answer))
        done += 1
    return done


STREAM_DEADLINE_SECONDS = 30.0
T = TypeVar("T")


async def drain(stream: AsyncIterator[T], *, seconds: float = STREAM_DEADLINE_SECONDS) -> list[T]:
    """Every message of a stream that should end; a stream still open after
    `seconds` fails the test instead of hanging it (a feed that re-sends its
    last event forever never ends). A bound against a hang, not a speed test."""

    async def collect() -> list[T]:
        return [message async for message in stream]

    try:
        return await asyncio.wait_for(collect(), seconds)
    except TimeoutError:
        raise AssertionError(f"the stream did not end within {seconds:.0f} s") from None


async def take(stream: AsyncIterator[T], count: int, *, seconds: float = STREAM_DEADLINE_SECONDS) -> list[T]:
    """The first `count` messages of a stream that may stay open, within `seconds`."""

    async def collect() -> list[T]:
        got: list[T] = []
        async for message in stream:
            got.append(message)
            if len(got) == count:
                break
        return got

    try:
        got = await asyncio.wait_for(collect(), seconds)
    except TimeoutError:
        raise AssertionError(f"fewer than {count} messages arrived within {seconds:.0f} s") from None
    assert len(got) == count, f"the stream ended after {len(got)} of {count} messages"
    return got
