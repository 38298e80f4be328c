"""A task type's rules live in its own module under `server/domain/tasks/`.

Everything else asks `task_kind(spec)` (an adapter: `JobView.kind`): a
comparison with a task type's name (or its answer key) outside that package,
in the server or in the workforce adapters, is a rule that escaped, and adding
a task type would have to find it. KNOWN_COMPARISONS, by module and name, may
only shrink. The same goes for the plain vote's name, compared in one place
(`weighs_workers`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from labelwire.server.domain.model import MAJORITY_VOTE
from labelwire.server.domain.tasks import KINDS
from labelwire.v1 import answer_pb2, job_pb2

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "server"
ADAPTERS = ROOT / "adapters"
TASKS = "domain/tasks/"
NAMES = set(KINDS) | {kind.answer_key for kind in KINDS.values()}

KNOWN_COMPARISONS: set[tuple[str, str]] = set()


def _strings(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for element in node.elts:
            yield from _strings(element)


def _compares() -> Iterator[tuple[str, ast.Compare]]:
    """Every comparison in the server (paths from `server/`) and the adapters
    (paths from the root, `adapters/...`)."""
    paths = [(p, p.relative_to(SERVER).as_posix()) for p in sorted(SERVER.rglob("*.py"))]
    paths += [(p, p.relative_to(ROOT).as_posix()) for p in sorted(ADAPTERS.rglob("*.py"))]
    for path, rel in paths:
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if isinstance(node, ast.Compare):
                yield rel, node


def task_type_comparisons() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for rel, node in _compares():
        if rel.startswith(TASKS):
            continue
        for operand in (node.left, *node.comparators):
            found.update((rel, text) for text in _strings(operand) if text in NAMES)
    return found


def test_no_module_outside_the_task_kinds_compares_a_task_type_name() -> None:
    new = task_type_comparisons() - KNOWN_COMPARISONS
    assert not new, f"ask task_kind(spec) instead of comparing task-type names: {sorted(new)}"


def test_known_comparisons_still_exist() -> None:
    gone = KNOWN_COMPARISONS - task_type_comparisons()
    assert not gone, f"remove these from KNOWN_COMPARISONS, they are fixed: {sorted(gone)}"


def test_the_plain_vote_is_compared_in_one_place() -> None:
    found = set()
    for rel, node in _compares():
        for operand in (node.left, *node.comparators):
            named = isinstance(operand, ast.Name | ast.Attribute) and (
                getattr(operand, "id", None) == "MAJORITY_VOTE"
                or getattr(operand, "attr", None) == "MAJORITY_VOTE"
            )
            if named or MAJORITY_VOTE in set(_strings(operand)):
                found.add(rel)
    assert found == {f"{TASKS}base.py"}, f"use weighs_workers(method): {sorted(found)}"


def test_every_task_type_of_the_api_has_one_kind_with_a_worker_app_component() -> None:
    configs = {f.name for f in job_pb2.TaskConfig.DESCRIPTOR.oneofs_by_name["config"].fields}
    answers = {f.name for f in answer_pb2.Answer.DESCRIPTOR.oneofs_by_name["value"].fields}
    assert set(KINDS) == configs
    assert {kind.answer_key for kind in KINDS.values()} <= answers
    assert len({kind.answer_key for kind in KINDS.values()}) == len(KINDS)
    missing = [
        k.component for k in KINDS.values() if not (ROOT / "web/src/tasks" / f"{k.component}.ts").exists()
    ]
    assert not missing, f"no worker-app component for {missing}"
