"""The server core's CPU per judgment, without gRPC: for comparing two trees
(or two settings) on a shared machine, where throughput moves with other work.

Why it is built this way:

* `labelwire serve`'s core (dispatch, store threads, background passes and
  checks) runs in this process; the job, its items and its workers are made
  over gRPC, then 64 workers call `Core.next_task` and `Core.submit` directly,
  as the servicers do, until a fixed number of judgments is committed. CPU time
  (all threads of the process) per judgment depends much less on the machine's
  other load than judgments per second do, and leaving gRPC out leaves out its
  share of the noise too.
* The same script runs against another tree by running it with that tree's
  venv (`/path/to/tree/.venv/bin/python bench/core_cpu.py`): it imports
  whatever `labelwire` that venv has installed, old layout or new.
* `--sql` counts and times the SQL statements per judgment (by text), which
  says exactly what a change added or removed, whatever the load.
* `--want-next` submits with `want_next` and follows the lease it returns (the
  worker app's and the SDK's path: one transaction a judgment); without it each
  judgment is `next_task` then `submit`.
* `--postgres URL` runs the same on a new database of that PostgreSQL server
  (dropped after); with `--sql` every statement sent is counted, BEGIN, SAVEPOINT
  and COMMIT included, since on PostgreSQL each is a round trip. The database
  backends' CPU is not in the figure (`scale_out.py` measures it).

Not part of the tests: `python bench/core_cpu.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CLASSES = ("positive", "negative", "neutral")


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each thread of this process, by its Python name (the
    OS thread's own name for threads Python did not start), and of it in the
    kernel: which thread a store's extra cost is on (the event loop, the writer,
    the reader, a poller), and whether it is Python's or the system calls' of
    each round trip."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = collections.defaultdict(float)
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            comm = (task / "comm").read_text().strip()
        except OSError:  # the thread ended meanwhile
            continue
        name = names.get(int(task.name), comm)
        name = name.rsplit("-", 1)[-1] if name.startswith("labelwire-") else name
        out[name] += (int(fields[11]) + int(fields[12])) / tick
        out[f"{name} (kernel)"] += int(fields[12]) / tick
    return dict(out)


def count_statements(
    stats: dict[tuple[str, str], list[float]], on: list[bool], postgres: bool = False
) -> None:
    """Wraps SqliteTx.one/all/run/one_as/all_as (or the PostgreSQL store's LeanCursor.execute,
    on older trees psycopg's Cursor.execute, which its
    Connection.execute calls) to count (and time) each statement by thread and text."""
    if postgres:
        import psycopg

        owner: Any = psycopg.Cursor
        names: tuple[str, ...] = ("execute",)
        try:  # the store's own cursor where the tree has it (its rare fallbacks to psycopg's are not counted)
            from labelwire.server.store.postgres_cursor import LeanCursor

            owner = LeanCursor
        except ImportError:
            pass
    else:
        from labelwire.server.store.sqlite import SqliteTx

        # the typed reads (`one_as`, `all_as`: a record type, then the SQL) where the tree has them
        owner = SqliteTx
        names = tuple(n for n in ("one", "all", "run", "one_as", "all_as") if hasattr(SqliteTx, n))
    for name in names:
        original = getattr(owner, name)
        typed = name.endswith("_as")

        def wrapped(
            self: Any, *call: Any, _original: Any = original, _typed: bool = typed, **options: Any
        ) -> Any:
            if not on[0]:
                return _original(self, *call, **options)
            sql = call[1] if _typed else call[0]
            started = time.perf_counter()
            try:
                return _original(self, *call, **options)
            finally:
                key = (threading.current_thread().name.rsplit("-", 1)[-1], " ".join(sql.split())[:100])
                entry = stats.setdefault(key, [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - started

        setattr(owner, name, wrapped)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from labelwire.client.raw import AdminClient, Client, text_item
    from labelwire.server.domain.errors import FailedPrecondition

    try:
        from labelwire.server.transport.app import start_server
    except ImportError:  # trees before the layout by layer
        from labelwire.server.app import start_server  # type: ignore[no-redef]

    stats: dict[tuple[str, str], list[float]] = {}
    counting = [False]
    if args.sql:
        count_statements(stats, counting, postgres=bool(args.postgres))
    work = Path(tempfile.mkdtemp(prefix="labelwire-core-cpu-"))
    key = secrets.token_urlsafe(24)
    database, dropped = str(work / "bench.db"), ""
    if args.postgres:
        import psycopg

        dropped = f"labelwire_core_cpu_{secrets.token_hex(6)}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {dropped}")
        database = urlsplit(args.postgres)._replace(path=f"/{dropped}").geturl()
    running = await start_server(address="127.0.0.1:0", database=database, admin_key=key)
    core: Any = running.core
    if args.cache_seconds is not None:
        core.credentials.credential_cache_seconds = args.cache_seconds
    target = f"127.0.0.1:{running.port}"
    try:
        async with AdminClient(target, key) as admin:
            api_key = await admin.create_api_key("core-cpu")
        async with Client(target, api_key) as lw:
            job = await lw.create_job(
                "core-cpu",
                classes=list(CLASSES),
                judgments_per_item=3,
                quiz_size=0,
                hidden_gold_share=args.hidden_gold,
                price_per_judgment_micros=args.price,
                budget_micros=args.price * 10**9,
                target_confidence=args.target,
            )
            await lw.add_items(
                job.name, [text_item(f"k{i}", f"Review {i}: fine.") for i in range(args.items)]
            )
            await lw.start_job(job.name)
            tokens = [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(args.workers)]
        principals = [await core.credentials.authenticate(t) for t in tokens]
        answers = [{"classification": {"class_name": c}} for c in CLASSES]
        goal = args.warm + args.judgments
        done = [0]
        empty = [0]
        mark: dict[str, float] = {}
        threads_at: dict[str, float] = {}

        def counted() -> None:
            done[0] += 1
            if done[0] == args.warm:
                mark["wall"], mark["cpu"] = time.perf_counter(), time.process_time()
                threads_at.update(thread_cpu())
                counting[0] = True

        async def worker(n: int, rng: random.Random) -> None:
            principal = principals[n]
            lease: Any = None  # with --want-next, the lease the last submit returned
            while done[0] < goal:
                if args.auth:
                    principal = await core.credentials.authenticate(tokens[n])
                if lease is None or lease.task is None:
                    lease = await core.work.next_task(principal)
                if lease.task is None:
                    if counting[0]:
                        empty[0] += 1
                    lease = None
                    await asyncio.sleep(0.01)
                    continue
                truth = int(str(lease.task.payload).split(":", 1)[0].removeprefix("Review ")) % 3
                pick = truth if rng.random() < 0.8 else rng.randrange(3)
                if args.auth:
                    principal = await core.credentials.authenticate(tokens[n])
                name = f"jobs/{lease.task.job_id}/tasks/{lease.task.id}"
                try:
                    result = await core.work.submit(
                        principal,
                        name,
                        answers[pick],
                        None,
                        **({"want_next": True} if args.want_next else {}),
                    )
                except FailedPrecondition:  # a target job released the lease: its item settled
                    lease = None
                    continue
                lease = result.next if args.want_next else None
                counted()

        await asyncio.gather(*(worker(n, random.Random(n)) for n in range(args.workers)))
        wall, cpu = time.perf_counter() - mark["wall"], time.process_time() - mark["cpu"]
        threads_end = thread_cpu()
        counting[0] = False
        judged = done[0] - args.warm
        out: dict[str, Any] = {
            "judgments": judged,
            "judgments_per_s": round(judged / wall),
            "cpu_us_per_judgment": round(1e6 * cpu / judged, 1),
            "empty_next_tasks_per_judgment": round(empty[0] / judged, 2),
            "load_1m": os.getloadavg()[0],
            "cpu_us_per_judgment_by_thread": {
                name: round(1e6 * (spent - threads_at.get(name, 0.0)) / judged, 1)
                for name, spent in sorted(threads_end.items(), key=lambda kv: -kv[1])
                if spent - threads_at.get(name, 0.0) > 0
            },
        }
        if args.sql:
            out["statements_per_judgment"] = round(sum(v[0] for v in stats.values()) / judged, 2)
            out["statements"] = [
                {
                    "thread": t,
                    "sql": sql,
                    "per_judgment": round(n / judged, 3),
                    "mean_us": round(1e6 * s / n, 1),
                }
                for (t, sql), (n, s) in sorted(stats.items(), key=lambda kv: -kv[1][0])
            ]
        return out
    finally:
        await running.stop(0)
        shutil.rmtree(work, ignore_errors=True)
        if dropped:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {dropped} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=6000, help="items in the job (default 6,000)")
    parser.add_argument("--workers", type=int, default=64, help="concurrent workers (default 64)")
    parser.add_argument("--judgments", type=int, default=12000, help="judgments measured (default 12,000)")
    parser.add_argument(
        "--warm", type=int, default=500, help="judgments before the clock starts (default 500)"
    )
    parser.add_argument("--auth", action="store_true", help="authenticate each call, as the servicers do")
    parser.add_argument(
        "--cache-seconds", type=float, help="credential cache of the core (default: the server's, 2 s)"
    )
    parser.add_argument("--price", type=int, default=0, help="price per judgment in micros (a budget too)")
    parser.add_argument("--hidden-gold", type=float, default=0.0, help="hidden_gold_share (default 0)")
    parser.add_argument(
        "--target",
        type=float,
        default=0.0,
        help="target_confidence: dynamic judgments, skill routing (default 0)",
    )
    parser.add_argument(
        "--want-next",
        action="store_true",
        help="submit with want_next and follow the lease it returns, as the worker app does:"
        " one transaction a judgment (default: next_task then submit, two)",
    )
    parser.add_argument("--sql", action="store_true", help="count the SQL statements per judgment")
    parser.add_argument("--postgres", metavar="URL", help="run on a new database of this PostgreSQL server")
    args = parser.parse_args()
    print(json.dumps(collections.OrderedDict(asyncio.run(run(args))), indent=1))


if __name__ == "__main__":
    main()
