"""`labelwire demo`: the whole path in one command, on the embedded default.

A server on a free port with a temporary SQLite file; a job over a shipped
sample of restaurant reviews (30 of them gold); simulated pool workers of mixed
skill talking gRPC (three good ones, a careless one, a spammer who always says
"positive"); progress while they work; the labels' accuracy against the truth
at the end. With `console` (`labelwire demo --console`), the server also serves
HTTP with the owner console, the console's address and the demo's API key are
printed before the workers start (who then answer at a pace a person can watch),
and the server stays up after the job until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item
from labelwire.server.core.auth import new_secret
from labelwire.server.transport.app import start_server
from labelwire.v1 import job_pb2, task_pb2

CLASSES = {
    "positive": "The reviewer liked the place.",
    "negative": "The reviewer did not like the place.",
    "neutral": "Neither: a plain or mixed report.",
}


@dataclass(frozen=True)
class Persona:
    name: str
    skill: float
    spammer: bool = False


PERSONAS = (
    Persona("alice (good)", 0.95),
    Persona("bob (good)", 0.92),
    Persona("chen (good)", 0.9),
    Persona("farah (good)", 0.93),
    Persona("dana (careless)", 0.6),
    Persona("eve (spammer)", 0.0, spammer=True),
)


def load_sample() -> list[dict[str, str]]:
    text = resources.files("labelwire.server.data").joinpath("sentiment.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


IDLE_SECONDS = 10.0


async def simulate(
    target: str, token: str, persona: Persona, truth: dict[str, str], rng: random.Random, pace: float = 0.0
) -> str:
    """Works until the job has nothing more for this worker; returns its fate.

    A worker told to come back later gives up after `IDLE_SECONDS` without a task:
    when the quiz or the gold turns good workers away (chen, at 90%, falls under the 80% bar
    about once in fourteen runs), the items still short of three judgments may wait for
    a third worker who never comes, and the demo must end rather than wait for ever. Four
    good workers make that rare: two of them must fail for the job to stall."""
    names = list(CLASSES)
    async with WorkerClient(target, token) as worker:
        idle_since: float | None = None
        while True:
            response = await worker.next_task()
            if not response.HasField("task"):
                if response.status in (
                    task_pb2.WORKER_STATUS_FAILED_QUIZ,
                    task_pb2.WORKER_STATUS_DISQUALIFIED,
                ):
                    return task_pb2.WorkerStatus.Name(response.status).removeprefix("WORKER_STATUS_").lower()
                if response.retry_after.seconds or response.retry_after.nanos:
                    idle_since = idle_since if idle_since is not None else time.monotonic()
                    if time.monotonic() - idle_since > IDLE_SECONDS:
                        return "done (none left)"
                    await asyncio.sleep(0.2)
                    continue
                return "done"
            idle_since = None
            right = truth[response.task.text]
            if persona.spammer:
                answer = "positive"
            elif rng.random() < persona.skill:
                answer = right
            else:
                answer = rng.choice([n for n in names if n != right])
            if pace:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * pace)
            await worker.submit(
                response.task.name, classification(answer), time_spent_seconds=rng.uniform(2, 9)
            )


async def until_interrupted() -> None:
    """Waits for Ctrl-C or SIGTERM, so the console stays up to look at."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def run_demo(
    seed: int = 7, *, console: bool = False, http_address: str = "127.0.0.1:8080", pace: float = 0.3
) -> int:
    rows = load_sample()
    truth_by_text = {r["source"]: r["truth"] for r in rows}
    truth_by_key = {r["id"]: r["truth"] for r in rows}
    with tempfile.TemporaryDirectory(prefix="labelwire-demo-") as scratch:
        database = Path(scratch) / "demo.db"
        admin_key = new_secret()
        running = await start_server(
            address="127.0.0.1:0",
            database=str(database),
            admin_key=admin_key,
            http_address=http_address if console else None,
        )
        target = f"127.0.0.1:{running.port}"
        print(f"server on {target}, data in {database}")
        try:
            async with AdminClient(target, admin_key) as admin:
                api_key = await admin.create_api_key("demo")
            if console and running.http is not None:
                host = http_address.rsplit(":", 1)[0]
                print(f"console: http://{host}:{running.http.port}/console/")
                print(f"API key (paste it on the console's sign-in form): {api_key}", flush=True)
            async with Client(target, api_key) as lw:
                job = await lw.create_job(
                    "Restaurant review sentiment",
                    classes=CLASSES,
                    judgments_per_item=3,
                    short_instructions="Is the review positive, negative or neutral?",
                    quiz_size=5,
                    pass_accuracy=0.8,
                    hidden_gold_share=0.1,
                )
                items = [
                    text_item(r["id"], r["source"], gold=r.get("gold"), metadata={"sample": "sentiment"})
                    for r in rows
                ]
                added = await lw.add_items(job.name, items)
                await lw.start_job(job.name)
                print(
                    f"{job.name}: {added.added_count - added.gold_count} items, {added.gold_count} gold, 3 judgments each"
                )
                rng = random.Random(seed)
                tokens = [(await lw.create_worker(job.name, p.name))[1] for p in PERSONAS]
                workers = [
                    asyncio.create_task(
                        simulate(
                            target, t, p, truth_by_text, random.Random(rng.random()), pace if console else 0.0
                        )
                    )
                    for t, p in zip(tokens, PERSONAS, strict=True)
                ]
                started = time.monotonic()
                while not all(w.done() for w in workers):
                    await asyncio.sleep(0.5)
                    c = (await lw.get_job(job.name)).counters
                    print(
                        f"  {time.monotonic() - started:5.1f}s  labeled {c.labeled_items}/{c.total_items}"
                        f"  judgments {c.judgments}  qualified {c.qualified_workers}"
                        f"  disqualified {c.disqualified_workers}"
                    )
                fates = [w.result() for w in workers]
                for persona, fate, stats in zip(
                    PERSONAS, fates, await lw.list_workers(job.name), strict=True
                ):
                    print(
                        f"  {persona.name:16} {fate:14} judgments {stats.judgments:4}"
                        f"  gold {stats.gold_correct}/{stats.gold_answered}"
                    )
                labels = {lab.item_key: lab async for lab in lw.list_labels(job.name)}
                right = sum(
                    lab.value.classification.class_name == truth_by_key[k] for k, lab in labels.items()
                )
                final = await lw.get_job(job.name)
                print(
                    f"{len(labels)} labels, accuracy against the truth {right / max(len(labels), 1):.1%};"
                    f" job {job_pb2.JobState.Name(final.state).removeprefix('JOB_STATE_').lower()}"
                )
            if console and running.http is not None:
                print("the server stays up with the console; Ctrl-C stops it", flush=True)
                await until_interrupted()
        finally:
            await running.stop(grace=None)
    return 0
