"""Scale-out benchmark: does each PostgreSQL replica add judgments per second?

Why it is built this way:

* Each configuration (N replicas, J jobs) gets a new database and N `labelwire serve`
  processes on it, so no run inherits another's tables, caches or bloat.
* Simulated workers (as in `throughput.py`: NextTask then SubmitJudgment, one channel
  each) are spread over the replicas as a sticky balancer would, and over the jobs.
* Besides judgments/s, the run reads the CPU of every replica, of the database's backends
  (from /proc, by the pids pg_stat_activity names) and of the drivers: on a 2-core machine
  shared with others the rate alone says little, CPU per judgment says where the work goes.
* Every 0.1 s a sampler asks pg_stat_activity whether a backend of the database waits on a
  lock (`wait_event_type = 'Lock'`: row, transaction or advisory locks); the share of
  such samples is what a cluster-wide lock would drive up.
* ×N/×1 is computed within one run, so the machine's load of the moment cancels out.
* `--before REV` runs every configuration twice back to back, once on the code of commit
  REV (extracted with `git archive`, imported ahead of the installed package) and once on
  the working tree: a change's effect on deadlocks, lock waits and CPU, in one run.
* `--sqlite` adds one replica on a SQLite file with the same jobs and workers: the store
  PostgreSQL is measured against (server CPU per judgment, PostgreSQL/SQLite in the run).
* `--writers 1 2` runs each PostgreSQL configuration once per count of writer connections
  per replica (`--database-writers`), back to back, ×N/×1 within each count.

Not part of the tests. `python bench/scale_out.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

from throughput import (
    CLASSES,
    RESULTS,
    TWO_CALLS,
    WANT_NEXT,
    ServerProcess,
    SystemMeter,
    _spawn,
    _warm,
    drive_judgments,
    merge,
    proc_cpu_seconds,
    run_drivers,
    text_items,
)

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


ROOT = Path(__file__).resolve().parent.parent


def source_of(rev: str, into: Path) -> Path:
    """The `labelwire` package as commit `rev` had it, laid out as the install maps it
    (`pyproject.toml`, package-dir); returns the folder to put first on sys.path."""
    tree = into / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    package = into / "path" / "labelwire"
    shutil.copytree(tree / "proto" / "labelwire", package)
    for name, folder in (("server", "server"), ("adapters", "adapters"), ("client", "clients/python")):
        (package / name).symlink_to(tree / folder)
    return into / "path"


def serve_argv(source: Path | None) -> list[str]:
    """`labelwire serve` on a free gRPC port without HTTP, from this venv or from the tree
    laid out at `source` (another commit's code, for a before/after in the same run)."""
    if source is None:
        argv = [str(Path(sys.executable).with_name("labelwire"))]
    else:  # PathFinder comes before the editable install's finder on sys.meta_path
        boot = f"import sys; sys.path.insert(0, {str(source)!r}); from labelwire.server.cli.main import main; sys.exit(main())"
        argv = [sys.executable, "-c", boot]
    return [*argv, "serve", "--address", "127.0.0.1:0", "--http-address", ""]


def start_replica(
    workdir: Path, url: str, admin_key: str, n: int, source: Path | None = None, writers: int | None = None
) -> ServerProcess:
    argv = [*serve_argv(source), "--database", url, f"--admin-key={admin_key}"]
    if writers is not None:
        argv += [f"--database-writers={writers}"]
    return _spawn(argv, workdir / f"replica{n}.log", r"listening on [\d.]+:(\d+)")


class LockSampler:
    """Samples the database's backends every `every` seconds: how often one waits on a
    lock, and which backends there are (their CPU is the database's share)."""

    def __init__(self, url: str, every: float = 0.1) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.every = every
        self.samples = 0
        self.waiting = 0
        self.pids: set[int] = set()
        self.kinds: dict[str, int] = {}
        self.statements: dict[str, int] = {}  # what the waiting backends were running
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            rows = self.conn.execute(
                "SELECT pid, wait_event_type, left(regexp_replace(query, '\\s+', ' ', 'g'), 40)"
                " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
            self.samples += 1
            self.waiting += any(r[1] == "Lock" for r in rows)
            self.pids.update(int(r[0]) for r in rows)
            for statement in {r[2] for r in rows if r[1] == "Lock"}:
                self.statements[statement] = self.statements.get(statement, 0) + 1
            waits = self.conn.execute(
                "SELECT l.locktype, COALESCE(l.relation::regclass::text, '') FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE NOT l.granted AND a.datname = current_database()"
            ).fetchall()
            for kind in {f"{r[0]} {r[1]}".strip() for r in waits}:
                self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def backend_pids(self) -> set[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return {int(r[0]) for r in rows}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.conn.close()
        return self.waiting / max(self.samples, 1)


def cpu_of(pids: set[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            out[pid] = proc_cpu_seconds(pid)
    return out


async def setup(targets: list[str], admin_key: str, jobs: int, items: int, workers: int) -> list[list[str]]:
    """Creates the jobs with their items and workers; returns each replica's worker tokens."""
    from labelwire.client.raw import AdminClient, Client

    async with AdminClient(targets[0], admin_key) as admin:
        api_key = await admin.create_api_key("bench")
    shares: list[list[str]] = [[] for _ in targets]
    async with Client(targets[0], api_key) as lw:
        names = []
        for j in range(jobs):
            job = await lw.create_job(
                f"bench{j}", classes=list(CLASSES), judgments_per_item=3, quiz_size=0, hidden_gold_share=0
            )
            await lw.add_items(job.name, list(text_items(items // jobs, f"j{j}r")))
            await lw.start_job(job.name)
            names.append(job.name)
        for w in range(workers):
            token = (await lw.create_worker(names[w % jobs], f"w{w}"))[1]
            shares[w % len(targets)].append(token)
    return shares


async def one_config(
    pool: ProcessPoolExecutor,
    replicas: int,
    jobs: int,
    args: argparse.Namespace,
    code: str = "",
    source: Path | None = None,
    writers: int | None = None,
) -> dict[str, Any]:
    import psycopg

    name = f"labelwire_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(args.postgres, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    url = urlsplit(args.postgres)._replace(path=f"/{name}").geturl()
    workdir = Path(tempfile.mkdtemp(prefix="labelwire-scale-"))
    admin_key = secrets.token_urlsafe(24)
    servers: list[ServerProcess] = []
    sqlite = code == "sqlite"
    try:
        database = str(workdir / "bench.db") if sqlite else url
        servers = [start_replica(workdir, database, admin_key, n, source, writers) for n in range(replicas)]
        shares = await setup([s.target for s in servers], admin_key, jobs, args.items, args.workers)
        sampler = LockSampler(url)  # on an empty database when the store is SQLite
        start_at = time.time() + 3.0
        drivers = [
            (
                drive_judgments,
                server.target,
                share,
                start_at,
                start_at + args.seconds,
                n,
                TWO_CALLS if args.two_calls else WANT_NEXT,
            )
            for n, (server, share) in enumerate(zip(servers, shares, strict=True))
        ]
        running = asyncio.get_running_loop().run_in_executor(None, run_drivers, pool, drivers)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        backends = sampler.backend_pids()
        replica_cpu0 = [proc_cpu_seconds(s.proc.pid) for s in servers]
        db_cpu0 = cpu_of(backends)
        machine = SystemMeter()
        sampler.start()
        results = await running
        deadlocks = sampler.conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        lock_share = sampler.stop()
        replica_cpu = [proc_cpu_seconds(s.proc.pid) - c for s, c in zip(servers, replica_cpu0, strict=True)]
        db_cpu = sum(c - db_cpu0.get(pid, 0.0) for pid, c in cpu_of(backends | sampler.pids).items())
        summary = merge(results, start_at)
        judged = summary["calls"].get("judgments", 0)
        per = max(judged, 1)
        return {
            "code": code or "working tree",
            "writers": writers,
            "replicas": replicas,
            "jobs": jobs,
            "judgments": judged,
            "judgments_per_s": judged / summary["window_s"],
            "errors": summary["errors"],
            "lock_wait_share": lock_share,
            "lock_waits_by_kind": sampler.kinds,
            "lock_waits_by_statement": sampler.statements,
            "deadlocks": int(deadlocks[0]) if deadlocks else 0,
            "server_cpu_ms_per_judgment": 1000 * sum(replica_cpu) / per,
            "replica_cpu_ms_per_judgment": [1000 * c / per for c in replica_cpu],
            "replica_cpu_percent": [100 * c / summary["window_s"] for c in replica_cpu],
            "database_cpu_ms_per_judgment": 1000 * db_cpu / per,
            "driver_cpu_ms_per_judgment": 1000 * sum(r.cpu_seconds for r in results) / per,
            **machine.reading(),
        }
    finally:
        for server in servers:
            server.stop()
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
        shutil.rmtree(workdir, ignore_errors=True)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| code | writers | replicas | jobs | judgments/s | ×N/×1 | server CPU ms/j | per replica ms/j | database ms/j"
        " | drivers ms/j | lock-wait samples | deadlocks | machine busy | load 1m |"
    )
    lines = [head, "|" + "---|" * 14]
    base = {
        (r["code"], r.get("writers"), r["jobs"]): r["judgments_per_s"] for r in rows if r["replicas"] == 1
    }
    for r in rows:
        one = base.get((r["code"], r.get("writers"), r["jobs"]))
        shown_writers = "" if r.get("writers") is None else r["writers"]
        ratio = r["judgments_per_s"] / one if one else float("nan")
        per_replica = " / ".join(f"{v:.1f}" for v in r["replica_cpu_ms_per_judgment"])
        lines.append(
            f"| {r['code']} | {shown_writers} | {r['replicas']} | {r['jobs']} | {r['judgments_per_s']:.0f} | {ratio:.2f}"
            f" | {r['server_cpu_ms_per_judgment']:.2f} | {per_replica} | {r['database_cpu_ms_per_judgment']:.2f}"
            f" | {r['driver_cpu_ms_per_judgment']:.2f} | {100 * r['lock_wait_share']:.0f}% | {r['deadlocks']}"
            f" | {r['machine_busy_percent']:.0f}% | {r['loadavg_1m']:.1f} |"
        )
    sqlite = [r for r in rows if r["code"] == "sqlite"]
    for r in rows:
        mate = next((q for q in sqlite if q["jobs"] == r["jobs"]), None)
        if mate and r["code"] != "sqlite" and r["replicas"] == 1:
            ratio = r["server_cpu_ms_per_judgment"] / mate["server_cpu_ms_per_judgment"]
            both = (r["server_cpu_ms_per_judgment"] + r["database_cpu_ms_per_judgment"]) / mate[
                "server_cpu_ms_per_judgment"
            ]
            lines.append(
                f"\nPostgreSQL ({r['code']}, writers {r.get('writers')}) / SQLite, {r['jobs']} job(s),"
                " server CPU per judgment:"
                f" {ratio:.2f} (with the database's backends: {both:.2f})"
            )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    scratch = Path(tempfile.mkdtemp(prefix="labelwire-before-"))
    codes: list[tuple[str, Path | None]] = [("working tree", None)]
    if args.before:
        codes.insert(0, (args.before, source_of(args.before, scratch)))
    try:
        with ProcessPoolExecutor(max_workers=max(args.replicas), mp_context=get_context("spawn")) as pool:
            list(pool.map(_warm, range(max(args.replicas))))
            for jobs in args.jobs:
                if args.sqlite:
                    print(f"sqlite, {jobs} job(s) ...", flush=True)
                    rows.append(await one_config(pool, 1, jobs, args, "sqlite"))
                    print(json.dumps(rows[-1]), flush=True)
                for replicas in args.replicas:
                    for code, source in codes:
                        # an older commit may not know --database-writers: it runs with its own default
                        for writers in args.writers if source is None else [None]:
                            print(
                                f"{code}: {replicas} replica(s), writers {writers}, {jobs} job(s) ...",
                                flush=True,
                            )
                            rows.append(await one_config(pool, replicas, jobs, args, code, source, writers))
                            print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=POSTGRES, help="a database URL on the server to use")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=16, help="simulated workers in all")
    parser.add_argument("--items", type=int, default=8000, help="items in all, shared by the jobs")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--two-calls",
        action="store_true",
        help="workers do NextTask then SubmitJudgment, as runs before 2026-12-02 10:30 UTC did"
        " (default: SubmitJudgment with want_next)",
    )
    parser.add_argument("--before", metavar="REV", help="also run each configuration on commit REV's code")
    parser.add_argument("--sqlite", action="store_true", help="also run one replica on SQLite")
    parser.add_argument(
        "--writers",
        type=int,
        nargs="+",
        default=[None],
        help="run each PostgreSQL configuration with each of these --database-writers (default: the server's)",
    )
    args = parser.parse_args()
    rows = asyncio.run(run(args))
    print(table(rows))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"scale-out-{time.strftime('%Y-%m-%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps({"config": vars(args), "rows": rows}, indent=1))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
