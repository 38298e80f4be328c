"""What the benchmark reads without touching the server: /proc (CPU of a process and of
each thread, RSS, how busy the machine is) and, when asked, py-spy."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .settings import TICKS


def proc_status_kb(pid: int, field_name: str) -> int:
    """VmRSS / VmHWM from /proc (psutil is not a dependency of the project's venv)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), to tell who is saturated."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class CpuMeter:
    """CPU share of one process over a phase: 100 % is one core busy the whole time."""

    pid: int
    start_cpu: float = field(init=False)
    start_wall: float = field(init=False)

    def __post_init__(self) -> None:
        self.start_cpu = proc_cpu_seconds(self.pid)
        self.start_wall = time.monotonic()

    def percent(self) -> float:
        wall = time.monotonic() - self.start_wall
        return 100.0 * (proc_cpu_seconds(self.pid) - self.start_cpu) / wall if wall > 0 else 0.0


@dataclass
class SystemMeter:
    """Busy share of the whole machine over a phase (100 % = every core busy), and the load
    average: this machine is shared, so what the server and drivers did not use tells how
    much other work competed with the run."""

    start: tuple[int, int] = field(init=False)

    @staticmethod
    def _read() -> tuple[int, int]:
        values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def __post_init__(self) -> None:
        self.start = self._read()

    def reading(self) -> dict[str, float]:
        busy, total = self._read()
        share = (busy - self.start[0]) / max(total - self.start[1], 1)
        return {
            "machine_busy_percent": 100 * share,
            "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
        }


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds of each thread of a process, with its kernel name (comm)."""
    out: dict[int, tuple[str, float]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended between listing and reading
        out[int(task.name)] = (comm, (int(fields[11]) + int(fields[12])) / TICKS)
    return out


@dataclass
class ThreadMeter:
    """Per-thread CPU share over a phase, to tell whether one thread (the asyncio loop,
    the SQLite writer) is the wall. Python 3.11 does not name OS threads, so a Python
    thread shows the process name in /proc; `names` (tid -> Python thread name, from a
    py-spy dump when --py-spy is given) tells them apart. The main thread (tid == pid)
    runs the asyncio loop, all servicer code and gRPC's Cython layer."""

    pid: int
    names: dict[int, str] = field(default_factory=dict)
    start: dict[int, tuple[str, float]] = field(init=False)
    start_wall: float = field(init=False)

    def __post_init__(self) -> None:
        self.start = thread_cpu(self.pid)
        self.start_wall = time.monotonic()

    def top(self, limit: int = 6) -> list[dict[str, Any]]:
        wall = time.monotonic() - self.start_wall
        rows: list[dict[str, Any]] = []
        for tid, (comm, cpu) in thread_cpu(self.pid).items():
            used = cpu - self.start.get(tid, (comm, 0.0))[1]
            role = "MainThread (asyncio loop)" if tid == self.pid else self.names.get(tid, comm)
            rows.append({"tid": tid, "comm": comm, "role": role, "cpu_percent": 100 * used / wall})
        rows.sort(key=lambda r: -r["cpu_percent"])
        return rows[:limit]


def py_spy_thread_names(py_spy: str, pid: int) -> dict[int, str]:
    """tid -> Python thread name, read from one `py-spy dump` of the server."""
    try:
        dump = subprocess.run(
            [py_spy, "dump", "-p", str(pid)], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return {
        int(m.group(1)): m.group(2) for m in re.finditer(r'^Thread (\d+) \([^)]*\): "([^"]*)"', dump, re.M)
    }


async def py_spy_profile(py_spy: str, pid: int, begin_at: float, seconds: float, raw: Path) -> dict[str, Any]:
    """Samples the server's Python stacks for `seconds` from `begin_at` (py-spy, non-blocking,
    100 Hz) and keeps, per thread, the share of samples each function is on the stack of.
    This is how a bottleneck is named without touching the server; it costs the server a
    little CPU, so headline numbers come from runs without it."""
    await wait_until(begin_at)
    argv = [
        py_spy,
        "record",
        "-p",
        str(pid),
        "-d",
        str(int(seconds)),
        "-r",
        "100",
        "--threads",
        "--nonblocking",
        "--format",
        "raw",
        "-o",
        str(raw),
    ]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await proc.wait()
    if not raw.exists():
        return {}
    per_thread: Counter[str] = Counter()
    inclusive: dict[str, Counter[str]] = {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        thread, n = frames[0], int(count)
        per_thread[thread] += n
        inclusive.setdefault(thread, Counter()).update({f: n for f in set(frames[1:])})
    total = seconds * 100
    return {
        thread: {
            "active_percent": 100 * n / total,
            "top_inclusive_percent": {
                f: round(100 * c / total, 1) for f, c in inclusive[thread].most_common(25)
            },
        }
        for thread, n in per_thread.most_common(4)
    }


async def wait_until(at: float) -> None:
    await asyncio.sleep(max(0.0, at - time.time()))
