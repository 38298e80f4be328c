"""Builds the Python SDK's API reference (HTML, from its docstrings) with pdoc.

    python scripts/build_sdk_docs.py                 # into build/sdk-docs/ (open index.html)
    python scripts/build_sdk_docs.py --check         # build into a scratch folder; exit 1 on any pdoc warning

`--check` is for CI: a docstring pdoc cannot render, or a module that fails to
import, fails the build instead of shipping a broken page.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "sdk-docs"
MODULES = [
    "labelwire.client",
    "labelwire.client.aio",
    "labelwire.client.sync",
    "labelwire.client.models",
    "labelwire.client.reports",
    "labelwire.client.items",
    "labelwire.client.pages",
    "labelwire.client.errors",
]


def build(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pdoc", "--docformat", "markdown", "-o", str(out), *MODULES],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="build into a scratch folder, fail on warnings")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) if args.check else OUT
        done = build(out)
        problems = done.returncode != 0 or "Warn" in done.stderr or "Error" in done.stderr
        sys.stderr.write(done.stderr)
        if problems:
            print("pdoc failed or warned (above)", file=sys.stderr)
            return 1
        if not (out / "labelwire" / "client.html").exists():
            print(f"pdoc wrote no labelwire/client.html in {out}", file=sys.stderr)
            return 1
    if not args.check:
        print(f"API reference in {OUT.relative_to(ROOT)}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
