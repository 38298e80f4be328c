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


CORE = SERVER / "core"


def core_classes() -> dict[str, ast.ClassDef]:
    found: dict[str, ast.ClassDef] = {}
    for path in sorted(CORE.glob("*.py")):
        for node in ast.parse(path.read_text(), path.name).body:
            if isinstance(node, ast.ClassDef):
                found[f"{path.name}:{node.name}"] = node
    return found


def test_core_services_inherit_from_nothing() -> None:
    """Each service says what it uses in its constructor; none is assembled
    from another's methods, so a reader finds every dependency in one place."""
    names = {key.split(":")[1] for key in core_classes()}
    mixed = sorted(
        key
        for key, node in core_classes().items()
        if any(isinstance(base, ast.Name) and base.id in names for base in node.bases)
    )
    assert not mixed, f"core classes built on other core classes: {mixed}"


def test_core_services_are_wired_in_one_place() -> None:
    services = {key.split(":")[1] for key in core_classes() if key.endswith("Service")}
    built: set[str] = set()
    for path in sorted(SERVER.rglob("*.py")):
        if path == CORE / "service.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), path.name)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in services:
                built.add(f"{path.relative_to(SERVER).as_posix()}:{node.func.id}")
    assert not built, f"services built outside core/service.py: {sorted(built)}"


ADAPTERS = SERVER.parent / "adapters"
SHARED = {"labelwire.adapters.base", "labelwire.adapters.batches", "labelwire.adapters.retry"}


def adapters_importing_others() -> set[tuple[str, str]]:
    """(adapter file, module) for each import of another adapter's modules: an
    adapter uses the contract and the shared helpers only (`SHARED`)."""
    found: set[tuple[str, str]] = set()
    for package in sorted(p for p in ADAPTERS.iterdir() if (p / "__init__.py").exists()):
        own = f"labelwire.adapters.{package.name}"
        for path in sorted(package.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), path.name)):
                names: list[str] = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                for name in names:
                    if not name.startswith("labelwire.adapters.") or name in SHARED:
                        continue
                    if name != own and not name.startswith(own + "."):
                        found.add((path.relative_to(ADAPTERS).as_posix(), name))
    return found


def test_no_adapter_imports_another() -> None:
    found = adapters_importing_others()
    assert not found, f"adapters reaching into one another (share through adapters/base.py): {sorted(found)}"
