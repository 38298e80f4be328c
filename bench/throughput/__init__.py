"""Server throughput benchmark: how many judgments per second labelwire commits, and
how that compares with what gRPC in Python can do at all on the same machine.

Why it is built this way:

* The labelwire server runs as its own process (`labelwire serve` on a temporary SQLite
  file), exactly as in production, so its CPU and RSS can be read from /proc without
  the driver's own work mixed in.
* The load comes from separate driver processes (grpc.aio, one event loop each; one
  process by default, `--drivers N` for more) so that the measured rate is not capped by
  a driver sharing an interpreter with the orchestrator.
* The same drivers, with the same concurrency and one channel per simulated worker, also
  hit a bare grpc.aio echo server (generic handler, bytes in and out) in its own process.
  Its requests/s is the ceiling any Python gRPC service can reach here, so the ratio of
  labelwire's RPC rate to it says how much the server's own work costs, independent of
  how fast this (shared, 2-core) machine happens to be.
* A judgment is counted only when SubmitJudgment has answered OK, and the server answers
  only after the commit, so judgments/s is committed judgments/s.
* The machine is shared, and other work moves the echo rate more than labelwire's. So the
  ratio is given twice (whole judging phase against the better of two echo runs, and the
  median of short back-to-back echo/judging pairs), together with what moves less: server
  CPU per RPC, per-thread CPU of the server (is one thread the wall?) and how busy the
  whole machine was.

The parts: `servers` (the two server processes), `meters` (/proc and py-spy), `drivers`
(the load and its merged results), `phases` (the run), `report` (the table) and `cli`.

Not part of the tests. Run `python bench/throughput.py --help`; `--quick` for a short run.
"""

from __future__ import annotations

from .drivers import (
    MODES,
    TWO_CALLS,
    WANT_NEXT,
    DriverResult,
    _warm,
    drive_echo,
    drive_judgments,
    merge,
    percentiles,
    run_drivers,
    text_items,
)
from .meters import CpuMeter, SystemMeter, ThreadMeter, proc_cpu_seconds, proc_status_kb
from .phases import code_state
from .servers import ServerProcess, _spawn, start_echo, start_labelwire
from .settings import CLASSES, RESULTS, ROOT

__all__ = [
    "CLASSES",
    "MODES",
    "RESULTS",
    "ROOT",
    "TWO_CALLS",
    "WANT_NEXT",
    "CpuMeter",
    "DriverResult",
    "ServerProcess",
    "SystemMeter",
    "ThreadMeter",
    "_spawn",
    "_warm",
    "code_state",
    "drive_echo",
    "drive_judgments",
    "merge",
    "percentiles",
    "proc_cpu_seconds",
    "proc_status_kb",
    "run_drivers",
    "start_echo",
    "start_labelwire",
    "text_items",
]
