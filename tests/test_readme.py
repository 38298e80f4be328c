"""What a new user copies works: the README's Python example, exactly as
written, run against `labelwire serve` started the way the README says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.serve_process import serve

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE_SECONDS = 120


def first_python_block(markdown: str) -> str:
    found = re.search(r"^```python\n(.*?)^```$", markdown, re.DOTALL | re.MULTILINE)
    assert found, "README.md has no ```python block"
    return found.group(1)


def test_readme_python_example_runs_to_completion(tmp_path: Path) -> None:
    example = tmp_path / "example.py"
    example.write_text(first_python_block(README.read_text()))
    with serve(tmp_path) as served:  # default data folder: ./labelwire-data, admin key made there
        done = subprocess.run(
            [sys.executable, str(example)],
            cwd=tmp_path,
            env={**os.environ, "LABELWIRE_ADDRESS": served.target},
            capture_output=True,
            text=True,
            timeout=EXAMPLE_SECONDS,
        )
        served.stop()
    assert done.returncode == 0, done.stderr
    labels = [line.split() for line in done.stdout.splitlines()]
    assert sorted((key, value) for _, key, value, _ in labels) == [("r1", "positive"), ("r2", "negative")]
    assert [int(sequence) for sequence, *_ in labels] == [1, 2]
    assert all(0.5 <= float(confidence) <= 1.0 for *_, confidence in labels)


def curl_block(markdown: str) -> str:
    found = re.search(r"^```bash\n(curl .*?)^```$", markdown, re.DOTALL | re.MULTILINE)
    assert found, "README.md has no ```bash block starting with curl"
    return found.group(1)


async def _client_with_a_job(target: str, admin_key: str) -> str:
    from labelwire.client.raw import AdminClient, Client

    async with AdminClient(target, admin_key) as admin:
        key = await admin.create_api_key("curl-reader")
    async with Client(target, key) as lw:
        await lw.create_job("Reviews", classes=["positive", "negative"])
    return key


def test_readme_curl_example_lists_jobs_over_connect_json(tmp_path: Path) -> None:
    """The block as written, with the HTTP port the test's server took in
    place of the default 127.0.0.1:8080."""
    import asyncio
    import json

    with serve(tmp_path) as served:
        http = served.start["http_address"]
        admin_key = (tmp_path / "labelwire-data" / "labelwire.db.admin-key").read_text().strip()
        key = asyncio.run(_client_with_a_job(served.target, admin_key))
        command = curl_block(README.read_text()).replace("127.0.0.1:8080", http)
        done = subprocess.run(
            ["bash", "-c", command],
            env={**os.environ, "LABELWIRE_API_KEY": key},
            capture_output=True,
            text=True,
            timeout=EXAMPLE_SECONDS,
        )
        served.stop()
    assert done.returncode == 0, done.stderr
    [job] = json.loads(done.stdout)["jobs"]
    assert job["displayName"] == "Reviews" and job["state"] == "JOB_STATE_DRAFT"
