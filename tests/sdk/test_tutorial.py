"""docs/python-sdk.md works as written: its ```python blocks, in order, run as
one script against `labelwire serve`, with the address and a key in the
environment as the tutorial says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.sdk.conftest import Server

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "python-sdk.md"
SCRIPT_SECONDS = 300


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", markdown, re.DOTALL | re.MULTILINE)


def test_the_tutorial_runs_end_to_end(live: Server, api_key: str, tmp_path: Path) -> None:
    blocks = python_blocks(TUTORIAL.read_text())
    assert len(blocks) >= 8
    script = tmp_path / "tutorial.py"
    script.write_text("\n\n".join(blocks))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**os.environ, "LABELWIRE_ADDRESS": live.target, "LABELWIRE_API_KEY": api_key},
        capture_output=True,
        text=True,
        timeout=SCRIPT_SECONDS,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "6 items added, 2 of them gold" in out
    assert "job.task_config.classification.classes - " in out
    assert "completed 4 of 4 labeled" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if re.match(r"^ *r\d ", line)}
    assert {key: row[0] for key, row in rows.items()} == {
        "r1": "positive",
        "r2": "negative",
        "r3": "positive",
        "r4": "negative",
    }
    assert all(row[2] == "3" for row in rows.values())  # three judgments each
    assert float(rows["r1"][3]) == 5  # the stars column came back as metadata (a Struct number)
    assert "no such job: jobs/999999 does not exist" in out
    assert "12 judgments of work items" in out  # four reviews, three workers each
    for method in ("MajorityVote", "DawidSkene"):
        assert f"{method} r1=positive r2=negative r3=positive r4=negative" in out
    assert "Review sentiment completed 4 labels" in out
    assert "Review sentiment: 100%" in done.stderr  # wait's progress bar
    assert "3 workers, kappa" in out
    assert re.search(r"^ *alice +qualified +\d+ ", out, re.MULTILINE)
    assert "sent 2 of 2" in out  # add_items' progress callback
    assert "Dana labeled 2 items" in out  # through the worker account's own client
