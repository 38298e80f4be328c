"""`labelwire jobs`: a job owner's (or an operator's) view of jobs and their
progress, without writing code. It is a client like any other: it talks to a
running server through the Python SDK with a client API key."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TextIO

import grpc

from labelwire.client.raw import Client
from labelwire.v1 import job_pb2

ENDED = {job_pb2.JOB_STATE_COMPLETED, job_pb2.JOB_STATE_CANCELLED, job_pb2.JOB_STATE_FAILED}
COLUMNS = ("NAME", "DISPLAY NAME", "STATE", "LABELED", "JUDGMENTS", "COST")  # cost in US dollars


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], env: dict[str, str]) -> None:
    jobs = commands.add_parser(
        "jobs",
        help="list your jobs, or show one job's progress",
        description="Show the jobs of the client whose API key is given, with their progress: `labelwire jobs`"
        " prints a table (name, display name, state, labeled/total items, judgments, cost in US dollars);"
        " `labelwire jobs get jobs/1` shows one job's counters, and with --watch follows its progress on one"
        " refreshing line until the job ends or --timeout passes. It talks to a running server like any client.",
    )
    jobs.add_argument("action", nargs="?", choices=["list", "get"], default="list", help="default: list")
    jobs.add_argument("name", nargs="?", help="the job for `get`: jobs/<id>")
    jobs.add_argument(
        "--address",
        default=env.get("LABELWIRE_ADDRESS", "127.0.0.1:50051"),
        help="the server's HOST:PORT (LABELWIRE_ADDRESS; default 127.0.0.1:50051)",
    )
    jobs.add_argument(
        "--api-key", default=env.get("LABELWIRE_API_KEY"), help="a client API key (LABELWIRE_API_KEY)"
    )
    jobs.add_argument(
        "--tls-ca",
        default=env.get("LABELWIRE_TLS_CA"),
        help="PEM certificate(s) to trust; TLS is on when given (LABELWIRE_TLS_CA)",
    )
    jobs.add_argument("--watch", action="store_true", help="with get: follow the job's progress")
    jobs.add_argument(
        "--interval", type=float, default=2.0, help="with --watch: seconds between refreshes (default 2)"
    )
    jobs.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="with --watch: stop after this many seconds (default 3600)",
    )


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.api_key:
        parser.error("jobs needs --api-key (or LABELWIRE_API_KEY)")
    if args.action == "get" and not args.name:
        parser.error("jobs get needs a job name: jobs/<id>")
    if args.action == "list" and (args.name or args.watch):
        parser.error("a job name and --watch go with `jobs get`")
    if args.interval <= 0 or args.timeout <= 0:
        parser.error("--interval and --timeout must be positive")


def state_name(state: int) -> str:
    return job_pb2.JobState.Name(state).removeprefix("JOB_STATE_").lower()  # type: ignore[arg-type]


def cost(micros: int) -> str:
    return f"{micros / 1_000_000:.2f}"


def progress_line(job: job_pb2.Job) -> str:
    c = job.counters
    return (
        f"{job.name} {state_name(job.state)}: labeled {c.labeled_items}/{c.total_items}, failed {c.failed_items},"
        f" in progress {c.in_progress_items}, judgments {c.judgments}, workers {c.qualified_workers} qualified"
        f" {c.disqualified_workers} disqualified, cost {cost(c.cost_micros)}"
    )


def table(jobs: list[job_pb2.Job]) -> str:
    rows = [
        (
            j.name,
            j.display_name,
            state_name(j.state),
            f"{j.counters.labeled_items}/{j.counters.total_items}",
            str(j.counters.judgments),
            cost(j.counters.cost_micros),
        )
        for j in jobs
    ]
    widths = [max(len(r[i]) for r in (COLUMNS, *rows)) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (COLUMNS, *rows)
    )


def details(job: job_pb2.Job) -> str:
    c = job.counters
    fields = [
        ("name", job.name),
        ("display name", job.display_name),
        ("state", state_name(job.state) + (f" ({job.failure_reason})" if job.failure_reason else "")),
        ("items", f"{c.total_items} ({c.gold_items} gold besides)"),
        ("labeled", str(c.labeled_items)),
        ("unlabeled", str(c.unlabeled_items)),
        ("in progress", str(c.in_progress_items)),
        ("failed", str(c.failed_items)),
        ("judgments", f"{c.judgments} ({c.excluded_judgments} excluded)"),
        ("workers", f"{c.qualified_workers} qualified, {c.disqualified_workers} disqualified"),
        ("cost", cost(c.cost_micros)),
    ]
    width = max(len(k) for k, _ in fields)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in fields)


async def watch(lw: Client, name: str, interval: float, timeout: float, out: TextIO) -> None:
    """One line, rewritten in place on a terminal (a new line each refresh
    otherwise), until the job ends or `timeout` passes."""
    deadline = time.monotonic() + timeout
    tty = out.isatty()
    while True:
        job = await lw.get_job(name)
        line = progress_line(job)
        out.write(f"\r\033[K{line}" if tty else f"{line}\n")
        out.flush()
        if job.state in ENDED or time.monotonic() + interval > deadline:
            break
        await asyncio.sleep(interval)
    if tty:
        out.write("\n")


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    credentials = grpc.ssl_channel_credentials(Path(args.tls_ca).read_bytes()) if args.tls_ca else None
    try:
        async with Client(args.address, args.api_key, credentials=credentials) as lw:
            if args.action == "list":
                print(table([job async for job in lw.list_jobs()]), file=out)
            elif args.watch:
                await watch(lw, args.name, args.interval, args.timeout, out)
            else:
                print(details(await lw.get_job(args.name)), file=out)
    except grpc.aio.AioRpcError as exc:
        print(f"labelwire jobs: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    return 0
