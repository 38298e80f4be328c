"""The server processes: labelwire and the echo reference, each its own process, each
reporting the port it took (port 0) in its log."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from .settings import ROOT


@dataclass
class ServerProcess:
    """A child server process and the port it reported in its log."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _spawn(argv: list[str], log: Path, pattern: str, timeout: float = 60.0) -> ServerProcess:
    """Starts a server on port 0 and waits for the port in its log, so no port is guessed."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text(errors="replace"))
        if match:
            return ServerProcess(proc, int(match.group(1)), log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server did not start ({argv[0]}):\n{log.read_text(errors='replace')}")


def start_labelwire(workdir: Path, admin_key: str) -> ServerProcess:
    exe = Path(sys.executable).with_name("labelwire")
    argv = [
        str(exe),
        "serve",
        "--address",
        "127.0.0.1:0",
        "--http-address",
        "",
        "--database",
        str(workdir / "bench.db"),
        "--admin-key",
        admin_key,
    ]
    return _spawn(argv, workdir / "labelwire.log", r"listening on [\d.]+:(\d+)")


def start_echo(workdir: Path) -> ServerProcess:
    argv = [sys.executable, str(ROOT / "bench" / "throughput.py"), "--serve-echo"]
    return _spawn(argv, workdir / "echo.log", r"echo listening on (\d+)")


async def serve_echo() -> None:
    """The reference server: grpc.aio with one generic bytes-in, bytes-out unary method
    (no protobuf, no auth, no storage): the most a Python gRPC server does per RPC."""

    async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "labelwire.bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"echo listening on {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1.0)
