"""Imports inside the server point one way: a layer uses only the layers below it.

The rank of each folder under `server/` follows docs/architecture.md. A new import
that points upward fails here; the few that exist today are listed by name so that
the architecture work can only shrink the list.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "server"

RANK = {
    "telemetry": 0,
    "consolidation": 0,
    "data": 0,
    "domain": 1,
    "store": 2,
    "files": 2,
    "labels": 3,
    "dispatch": 4,
    "core": 5,
    "transport": 6,
    "cli": 7,
}

KNOWN_UPWARD = {
    ("dispatch/workforces.py", "core"),
    ("labels/items.py", "dispatch"),
    ("labels/passes.py", "dispatch"),
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["labelwire", "server"] or len(parts) < 3:
        return None
    return parts[2]


def upward_imports() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in sorted(SERVER.rglob("*.py")):
        rel = path.relative_to(SERVER).as_posix()
        own = rel.split("/")[0]
        if own not in RANK:
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                layer = _layer(target)
                if layer is None or layer == own or layer not in RANK:
                    continue
                if RANK[layer] > RANK[own] or (RANK[layer] == RANK[own]):
                    found.add((rel, layer))
    return found


def test_every_folder_has_a_rank() -> None:
    folders = {p.name for p in SERVER.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(RANK), f"give these folders a rank: {sorted(folders - set(RANK))}"


def test_no_new_upward_import() -> None:
    new = upward_imports() - KNOWN_UPWARD
    assert not new, f"imports that point upward (or sideways): {sorted(new)}"


def test_known_upward_imports_still_exist() -> None:
    gone = KNOWN_UPWARD - upward_imports()
    assert not gone, f"remove these from KNOWN_UPWARD, they are fixed: {sorted(gone)}"


# The contract (`adapters.base`) is what the registry loads adapters through; the
# one command that re-reads a finished Ground Truth job is the only other caller.
# WorkforceAdapterService is the same contract over the wire, so its core and
# its protobuf translation speak the contract's types too.
ADAPTER_IMPORTS_ALLOWED = {
    ("dispatch/workforces.py", "labelwire.adapters.base"),
    ("core/adapters.py", "labelwire.adapters.base"),
    ("transport/grpc/convert.py", "labelwire.adapters.base"),
    ("cli/import_groundtruth.py", "labelwire.adapters.groundtruth"),
}


def adapter_imports() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in sorted(SERVER.rglob("*.py")):
        rel = path.relative_to(SERVER).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found.update((rel, n) for n in names if n.startswith("labelwire.adapters"))
    return found


def test_server_imports_adapters_only_through_the_contract() -> None:
    extra = adapter_imports() - ADAPTER_IMPORTS_ALLOWED
    assert not extra, f"the server reaches into adapters: {sorted(extra)}"
