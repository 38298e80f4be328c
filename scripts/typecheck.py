"""Runs mypy over the `labelwire` package as it is installed.

The distribution maps several folders onto one import package, which mypy
cannot follow through setuptools' editable finder; this lays the package out
as symlinks in a scratch folder and checks that.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = {
    "__init__.py": "proto/labelwire/__init__.py",
    "py.typed": "proto/labelwire/py.typed",
    "v1": "proto/labelwire/v1",
    "server": "server",
    "adapters": "adapters",
    "client": "clients/python",
}


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        package = Path(scratch) / "labelwire"
        package.mkdir()
        for name, target in LAYOUT.items():
            (package / name).symlink_to(ROOT / target)
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "-p",
            "labelwire",
        ]
        return subprocess.call(command, cwd=scratch, env={"MYPYPATH": scratch, "PATH": ""})


if __name__ == "__main__":
    sys.exit(main())
