"""`labelwire serve` as the operator runs it: a child process with JSON logs,
whose start-up line says where it listens."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_SECONDS = 30.0


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    log: Path
    start: dict[str, Any]

    @property
    def target(self) -> str:
        return str(self.start["address"])

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stops the server with `sig` and waits for it to exit; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=START_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@contextmanager
def serve(folder: Path, *flags: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Runs `labelwire serve --log-format json` in `folder` on a free port
    with the given flags; yields once its start-up line is logged."""
    log = folder / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labelwire.server.cli.main",
                "serve",
                "--log-format",
                "json",
                "--address",
                "127.0.0.1:0",
                # A fixed HTTP port (8080 by default) would collide with any other server on the machine.
                *(() if "--http-address" in flags else ("--http-address", "127.0.0.1:0")),
                *flags,
            ],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **(env or {})},
        )
    served = None
    try:
        deadline = time.monotonic() + START_SECONDS
        while served is None:
            for line in log.read_text().split("\n")[:-1]:  # complete lines only
                if not line.startswith("{"):
                    continue  # a line from outside the logger (a warning); the deadline still applies
                record = json.loads(line)
                if record.get("event") == "start":
                    served = Served(process=process, log=log, start=record)
            if served is None:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"labelwire serve did not start:\n{log.read_text()}")
                time.sleep(0.05)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
