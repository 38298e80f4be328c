"""What a worker account costs per judgment: NextTask + SubmitJudgment round
trips per second by workers holding per-job tokens against workers signed in
with account tokens (each call names its job; the server finds the account's
record there and checks team membership), on one server and one job, rounds alternating
which goes first, as a ratio.

    .venv/bin/python bench/account_tokens.py            # 3 rounds of 5 s each way
    .venv/bin/python bench/account_tokens.py --seconds 10 --rounds 5

Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item
from labelwire.server.transport.app import start_server

ADMIN_KEY = "bench-admin-key"
WORKERS = 16
ITEMS = 40_000


async def judgments_per_second(workers: list[WorkerClient], seconds: float) -> float:
    done = 0
    end = time.perf_counter() + seconds

    async def work(w: WorkerClient) -> None:
        nonlocal done
        while time.perf_counter() < end:
            response = await w.next_task()
            if not response.HasField("task"):
                return
            await w.submit(response.task.name, classification("a"))
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(work(w) for w in workers))
    return done / (time.perf_counter() - started)


async def job_with_items(lw: Client, teams: list[str]) -> str:
    """Everyone answers "a": the colluder check is off, or it would disqualify them all."""
    job = await lw.create_job(
        "bench",
        classes=["a", "b"],
        judgments_per_item=3,
        quiz_size=0,
        hidden_gold_share=0,
        min_work_agreement=-1,
        teams=teams,
    )
    await lw.add_items(job.name, [text_item(f"i{n}", "x") for n in range(ITEMS)])
    await lw.start_job(job.name)
    return job.name


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        running = await start_server(
            address="127.0.0.1:0", database=str(Path(scratch) / "bench.db"), admin_key=ADMIN_KEY
        )
        target = f"127.0.0.1:{running.port}"
        try:
            async with AdminClient(target, ADMIN_KEY) as admin:
                key = await admin.create_api_key("bench")
            async with Client(target, key) as lw:
                team = (await lw.create_team("bench")).name
                # One job for both kinds of worker, so only the token differs.
                job = await job_with_items(lw, [team])
                job_workers = [
                    WorkerClient(target, (await lw.create_worker(job, f"w{n}"))[1]) for n in range(WORKERS)
                ]
                account_workers = []
                for n in range(WORKERS):
                    account = await lw.create_worker_account(f"a{n}")
                    await lw.add_team_member(team, account.name)
                    token = await lw.issue_worker_account_token(account.name)
                    account_workers.append(WorkerClient(target, token, job=job))
                ratios = []
                for n in range(args.rounds):
                    if n % 2:  # alternate which goes first, so a trend in the machine's load cancels out
                        account_rate = await judgments_per_second(account_workers, args.seconds)
                        per_job_rate = await judgments_per_second(job_workers, args.seconds)
                    else:
                        per_job_rate = await judgments_per_second(job_workers, args.seconds)
                        account_rate = await judgments_per_second(account_workers, args.seconds)
                    ratios.append(account_rate / per_job_rate)
                    print(
                        f"round {n + 1}: per-job tokens {per_job_rate:,.0f} judgments/s,"
                        f" account tokens {account_rate:,.0f} judgments/s"
                    )
                for w in job_workers + account_workers:
                    await w.close()
            print(f"median ratio account / per-job: {statistics.median(ratios):.2f}")
        finally:
            await running.stop(grace=None)


if __name__ == "__main__":
    asyncio.run(main())
