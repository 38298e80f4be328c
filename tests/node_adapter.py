"""The TypeScript example adapter (clients/typescript/examples/adapter), run
as its own Node process against a live server, as an integrator runs one."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import UNDER_CI

PACKAGE = Path(__file__).resolve().parent.parent / "clients" / "typescript"
VENDOR = PACKAGE / "dist" / "examples" / "adapter" / "vendor.js"
BUILD_SECONDS = 600
_built: list[bool] = []


def build() -> None:
    """Compiles the SDK and its examples once per test run (installing the
    SDK's dependencies first if `.ci/run` has not)."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        reason = "Node.js (node and npm) is not installed: the TypeScript adapter did not run"
        if UNDER_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    if _built:
        return
    if not (PACKAGE / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PACKAGE, check=True, timeout=BUILD_SECONDS)
    subprocess.run([npm, "run", "build"], cwd=PACKAGE, check=True, capture_output=True, timeout=BUILD_SECONDS)
    _built.append(True)


class NodeAdapter:
    """One run of the example adapter; what it prints is kept line by line."""

    def __init__(self, address: str, key: str, *, transport: str = "grpc", pause_ms: int = 0) -> None:
        build()
        env = {
            **os.environ,
            "LABELWIRE_ADDRESS": address,
            "LABELWIRE_ADAPTER_KEY": key,
            "LABELWIRE_ADAPTER_TRANSPORT": transport,
            "LABELWIRE_ADAPTER_PAUSE_MS": str(pause_ms),
        }
        self.out: list[str] = []
        self.err: list[str] = []
        self.process = subprocess.Popen(
            ["node", str(VENDOR)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _read(stream: object, lines: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line.rstrip("\n"))

    @property
    def attached(self) -> bool:
        return any(line.endswith("adapter attached") for line in self.out)

    @property
    def cancelled(self) -> list[str]:
        return [line.removeprefix("cancelled ") for line in self.out if line.startswith("cancelled ")]

    def kill(self) -> None:
        """SIGKILL: no chance to finish what it was reporting."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return "\n".join(self.out + self.err)[-5000:]
