"""No hand-written Python or TypeScript file is over 500 lines.

A file that long holds more than one concept (STYLE.md: if a file needs a table
of contents, it is two files). Generated code is left out: the protobuf modules
(`*_pb2*`), every `gen/` folder, the generated blocking client (`sync.py`) and
the built web assets. OVER_THE_LIMIT names the files being split elsewhere; it
may only shrink.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 500
SUFFIXES = (".py", ".ts")
# Not ours or not hand-written: tools, installs, caches, builds, generated code.
SKIPPED_FOLDERS = {
    ".git",
    ".venv",
    ".tools",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "build",
    "dist",
    "gen",
    "third_party",
}
GENERATED = {"clients/python/sync.py"}
BUILT = "server/transport/web/"
OVER_THE_LIMIT: set[str] = set()


def hand_written(folder: Path = ROOT) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            if path.name not in SKIPPED_FOLDERS and not path.name.endswith(".egg-info"):
                yield from hand_written(path)
            continue
        rel = path.relative_to(ROOT).as_posix()
        generated = (
            "_pb2" in path.name or rel in GENERATED or rel.startswith(BUILT) or path.name.endswith(".d.ts")
        )
        if path.suffix in SUFFIXES and not generated:
            yield path


def lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def test_the_walk_sees_the_hand_written_files_and_skips_the_generated_ones() -> None:
    seen = {p.relative_to(ROOT).as_posix() for p in hand_written()}
    assert {
        "server/domain/tasks/base.py",
        "clients/typescript/src/client.ts",
        "tests/test_file_sizes.py",
    } <= seen
    assert "clients/python/sync.py" not in seen
    assert not [name for name in seen if "_pb2" in name or "/gen/" in name]


def test_no_hand_written_file_is_over_500_lines() -> None:
    over = {
        f"{path.relative_to(ROOT).as_posix()} ({count} lines)"
        for path in hand_written()
        if (count := lines(path)) > LIMIT and path.relative_to(ROOT).as_posix() not in OVER_THE_LIMIT
    }
    assert not over, f"split these by concept, at most {LIMIT} lines each: {sorted(over)}"
