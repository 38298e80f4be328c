"""`labelwire jobs` and `labelwire --version`, run as a user runs them, against a live server."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from importlib.metadata import version

from labelwire.client.raw import AdminClient, Client, WorkerClient, text_item
from tests.conftest import ADMIN_KEY, Harness
from tests.helpers import running_job, work


async def labelwire(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "labelwire.server.cli.main",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def api_key(server: Harness, name: str = "ml-team") -> str:
    async with AdminClient(server.target, ADMIN_KEY) as admin:
        return await admin.create_api_key(name)


async def finished_and_running_jobs(server: Harness, lw: Client) -> tuple[str, str]:
    """A job its worker finished, and a newer one that nobody works on."""
    done = await running_job(lw, items=3)
    _, token = await lw.create_worker(done.name, "w")
    async with WorkerClient(server.target, token) as worker:
        assert await work(worker) == 3
    busy = await lw.create_job("Toxicity review", classes=["ok", "toxic"], judgments_per_item=2, quiz_size=0)
    await lw.add_items(busy.name, [text_item("t1", "hello"), text_item("t2", "bye")])
    await lw.start_job(busy.name)
    return done.name, busy.name


async def test_jobs_lists_the_callers_jobs_with_progress(server: Harness) -> None:
    key = await api_key(server)
    lw = Client(server.target, key)
    done, busy = await finished_and_running_jobs(server, lw)
    other = await server.client("another-team")
    await other.create_job("Not yours", classes=["a", "b"])

    code, out, _ = await labelwire("jobs", env={"LABELWIRE_ADDRESS": server.target, "LABELWIRE_API_KEY": key})
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "DISPLAY", "NAME", "STATE", "LABELED", "JUDGMENTS", "COST"]
    assert [r.split()[0] for r in rows] == [busy, done]  # newest first, only the caller's
    assert rows[0].split()[1:] == ["Toxicity", "review", "running", "0/2", "0", "0.00"]
    assert rows[1].split()[1:] == ["Sentiment", "completed", "3/3", "3", "0.00"]
    await lw.close()
    await other.close()


async def test_jobs_get_shows_one_jobs_counters_and_watch_stops_when_it_ends(server: Harness) -> None:
    key = await api_key(server)
    lw = Client(server.target, key)
    done, _ = await finished_and_running_jobs(server, lw)

    code, out, _ = await labelwire("jobs", "get", done, "--address", server.target, "--api-key", key)
    assert code == 0
    fields = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in out.splitlines())
    assert fields["state"] == "completed"
    assert fields["labeled"] == "3"
    assert fields["judgments"] == "3 (0 excluded)"

    code, out, _ = await labelwire(
        "jobs", "get", done, "--watch", "--interval", "0.1", "--address", server.target, "--api-key", key
    )
    assert code == 0
    assert out.splitlines() == [
        f"{done} completed: labeled 3/3, failed 0, in progress 0, judgments 3,"
        " workers 1 qualified 0 disqualified, cost 0.00"
    ]
    await lw.close()


async def test_jobs_watch_is_bounded_by_its_timeout(server: Harness) -> None:
    key = await api_key(server)
    lw = Client(server.target, key)
    _, busy = await finished_and_running_jobs(server, lw)
    code, out, _ = await labelwire(
        "jobs",
        "get",
        busy,
        "--watch",
        "--interval",
        "0.2",
        "--timeout",
        "0.5",
        "--address",
        server.target,
        "--api-key",
        key,
    )
    assert code == 0
    assert 1 <= len(out.splitlines()) <= 4
    assert all(line.startswith(f"{busy} running: labeled 0/2") for line in out.splitlines())
    await lw.close()


async def test_jobs_get_names_the_status_of_a_job_that_is_not_yours(server: Harness) -> None:
    key = await api_key(server)
    other = await server.client("another-team")
    theirs = await other.create_job("Not yours", classes=["a", "b"])
    code, out, err = await labelwire("jobs", "get", theirs.name, "--address", server.target, "--api-key", key)
    assert (code, out) == (1, "")
    assert err.strip() == f"labelwire jobs: NOT_FOUND: {theirs.name} does not exist"
    await other.close()


async def test_jobs_without_an_api_key_says_how_to_give_one() -> None:
    code, _, err = await labelwire("jobs", env={"LABELWIRE_API_KEY": ""})
    assert code == 2
    assert "--api-key (or LABELWIRE_API_KEY)" in err


async def test_version_and_every_command_described_in_help() -> None:
    code, out, _ = await labelwire("--version")
    assert (code, out.strip()) == (0, f"labelwire {version('labelwire')}")
    _, top, _ = await labelwire("--help")
    for command in ("serve", "demo", "jobs", "import-groundtruth"):
        assert command in top
        code, help_text, _ = await labelwire(command, "--help")
        description = help_text.split("\n\n")[1]
        assert code == 0 and not description.startswith(("positional", "options")), command
