"""`labelwire demo --console`: the console's address and the demo's key are
printed before the workers start, and the server stays up after the job,
serving the console and answering the key, until Ctrl-C."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import urllib.request

from labelwire.client.raw import Client
from labelwire.v1 import job_pb2


def read_until(process: subprocess.Popen[str], pattern: str, seen: list[str]) -> re.Match[str]:
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"the demo ended without printing {pattern!r}: {''.join(seen)}")


def test_demo_with_console_prints_the_address_and_key_and_stays_up() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labelwire.server.cli.main",
            "demo",
            "--console",
            "--http-address",
            "127.0.0.1:0",
            "--pace",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        target = read_until(process, r"server on (127\.0\.0\.1:\d+)", seen)[1]
        url = read_until(process, r"console: (http://127\.0\.0\.1:\d+/console/)", seen)[1]
        key = read_until(process, r"API key \(paste it on the console's sign-in form\): (\S+)", seen)[1]
        read_until(process, r"the server stays up with the console; Ctrl-C stops it", seen)
        assert any("labels, accuracy against the truth" in line for line in seen)

        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and "console" in page.read().decode()

        async def jobs() -> list[job_pb2.Job]:
            async with Client(target, key) as lw:
                return [job async for job in lw.list_jobs()]

        (job,) = asyncio.run(jobs())
        assert job.state == job_pb2.JOB_STATE_COMPLETED
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
