"""The TypeScript SDK (clients/typescript) under Node's own test runner, so the
README's one test command covers it: its tests start `labelwire serve` from
this environment and call it over gRPC (and over Connect and gRPC-Web when the
server has the HTTP port), the README's example, and what `npm pack` ships.
Without Node the test skips locally and fails under
CI, where the SDK must be tested."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import UNDER_CI

PACKAGE = Path(__file__).resolve().parent.parent / "clients" / "typescript"
INSTALL_SECONDS = 600
TEST_SECONDS = 600


def npm() -> str:
    if shutil.which("node") is None or shutil.which("npm") is None:
        reason = "Node.js (node and npm) is not installed: the TypeScript SDK's tests did not run"
        if UNDER_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    command = shutil.which("npm")
    assert command is not None
    if not (PACKAGE / "node_modules").is_dir():
        subprocess.run(
            [command, "ci", "--no-audit", "--no-fund"], cwd=PACKAGE, check=True, timeout=INSTALL_SECONDS
        )
    return command


@pytest.mark.timeout(TEST_SECONDS + 60)
def test_typescript_sdk_passes_its_node_tests_against_a_live_server() -> None:
    command = npm()
    env = {**os.environ, "LABELWIRE_BIN": str(Path(sys.executable).parent / "labelwire")}
    done = subprocess.run(
        [command, "test"], cwd=PACKAGE, env=env, capture_output=True, text=True, timeout=TEST_SECONDS
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-20000:]
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", done.stdout, re.MULTILINE)
    assert passed and failed, report[-20000:]
    assert int(failed.group(1)) == 0 and int(passed.group(1)) >= 11, report[-20000:]
    for skipped in re.findall(r"^ok \d+ - (.*# SKIP.*)$", done.stdout, re.MULTILINE):
        print(f"TypeScript SDK: {skipped}")  # shown with -rP; the HTTP port's tests wait for that port
