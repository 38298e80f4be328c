"""Mutation testing of the modules that hold labelwire's promises (cosmic-ray).

Each module is mutated one small change at a time (a `<` made `<=`, a constant
changed, a condition negated, ...) and the tests that cover it are run against
every mutant; a mutant the tests do not fail "survives". The score is the share
killed. Slow (minutes per module), so never part of CI:

    pip install -e '.[dev,bench]'
    python bench/mutation.py server/dispatch/gate.py server/labels/feed.py     # some modules
    python bench/mutation.py --all                                # every module below
    python bench/mutation.py --list                               # what --all runs
    python bench/mutation.py --count server/store/sql.py           # mutants, without running
    python bench/mutation.py --sample 60 --seed 18 server/store/sql.py   # a fixed random subset

It works on a copy of the tree (tracked and new files) in a scratch folder, so
the checkout is never left mutated, and imports `labelwire` from that copy
through a symlinked package layout (the distribution maps several folders onto
one import package, which is also why mutmut 3's copying cannot find the code).
Survivors are printed with their diffs (and written, one patch each, under
`--survivors DIR`); the explained list is `bench/mutation-survivors.md`.

Mutants inside type annotations are marked skipped before the run (they are
equivalent by construction, see `annotation_spans`), so no test time is spent on
them. A module with more mutants than a shared machine can run in one sitting is
sampled: `--sample N --seed S` runs N mutants drawn at random with that seed, the
same mutants for the same tree and seed, and the score is over the sample.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module -> the tests that cover it (a subset, so that one module takes minutes)
MODULES: dict[str, list[str]] = {
    "server/dispatch/gate.py": ["tests/test_quality_rules.py"],
    "server/labels/feed.py": ["tests/test_feed.py", "tests/test_client_path.py"],
    "server/core/auth.py": ["tests/test_authorization.py", "tests/test_auth_and_validation.py"],
    "server/transport/grpc/context.py": [
        "tests/test_credentials.py",
        "tests/test_errors.py",
        "tests/test_authorization.py",
    ],
    "server/dispatch/leasing.py": [
        "tests/test_leases.py",
        "tests/test_quality_gate.py",
        "tests/test_budgets.py",
        "tests/test_job_completion.py",
        "tests/test_client_path.py",
    ],
    "server/dispatch/judgments.py": [
        "tests/test_leases.py",
        "tests/test_quality_gate.py",
        "tests/test_budgets.py",
        "tests/test_job_completion.py",
        "tests/test_client_path.py",
    ],
    "server/core/labels.py": [
        "tests/test_label_batches.py",
        "tests/test_client_path.py",
        "tests/test_quality_service.py",
        "tests/test_authorization.py",
    ],
    "server/store/sql_items.py": ["tests/conformance/test_store_contract.py", "tests/test_leases.py"],
    "server/store/sql_tasks.py": ["tests/conformance/test_store_contract.py", "tests/test_leases.py"],
    "server/store/sqlite.py": ["tests/conformance/test_store_contract.py", "tests/test_durability.py"],
    "adapters/groundtruth/manifests.py": [
        "tests/test_export_lines.py",
        "tests/groundtruth/test_gt_import_export.py",
    ],
    "server/consolidation/majority.py": ["tests/consolidation/test_majority.py", "tests/test_client_path.py"],
    "server/consolidation/dawid_skene.py": [
        "tests/consolidation/test_dawid_skene.py",
        "tests/consolidation/test_rank_layers.py",
    ],
    "server/files/exports.py": ["tests/test_export_lines.py", "tests/test_client_path.py"],
}

# import name -> folder of the copy, as pyproject's package-dir maps them
LAYOUT = {
    "__init__.py": "proto/labelwire/__init__.py",
    "py.typed": "proto/labelwire/py.typed",
    "v1": "proto/labelwire/v1",
    "server": "server",
    "adapters": "adapters",
    "client": "clients/python",
}
PER_MUTANT_TIMEOUT_SECONDS = 300
PER_TEST_TIMEOUT_SECONDS = 60


def copy_tree(scratch: Path) -> Path:
    """The working tree's tracked and new files, copied to `scratch/tree`, with
    an import layout for `labelwire` beside it."""
    tree = scratch / "tree"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = tree / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    package = scratch / "import" / "labelwire"
    package.mkdir(parents=True)
    for name, target in LAYOUT.items():
        (package / name).symlink_to(tree / target)
    return tree


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the type annotations of a module are. Under `from __future__ import
    annotations` they are never evaluated, so a mutant inside one (`str | None`
    made `str - None`) cannot change behaviour: it is equivalent by construction."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(node.returns)
        elif isinstance(node, ast.arg | ast.AnnAssign):
            found.append(node.annotation)
        for annotation in found:
            if (
                annotation is not None
                and annotation.end_lineno is not None
                and annotation.end_col_offset is not None
            ):
                spans.append(
                    (
                        (annotation.lineno, annotation.col_offset),
                        (annotation.end_lineno, annotation.end_col_offset),
                    )
                )
    return spans


def run_module(
    module: str, tests: list[str], tree: Path, env: dict[str, str], scratch: Path, options: argparse.Namespace
) -> tuple[int, int, int, int, list[str]]:
    """(killed, run, in annotations, generated, surviving mutants as text) for one module."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    slug = module.replace("/", "_").removesuffix(".py")
    config = scratch / f"{slug}.toml"
    session = scratch / f"{slug}.sqlite"
    command = " ".join(
        [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--timeout={options.test_timeout}",
            *tests,
        ]
    )
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {PER_MUTANT_TIMEOUT_SECONDS}.0\n"
        "excluded-modules = []\n"
        f'test-command = "{command}"\n'
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    cli = [sys.executable, "-m", "cosmic_ray.cli"]
    subprocess.run([*cli, "init", str(config), str(session)], cwd=tree, env=env, check=True)
    spans = annotation_spans((tree / module).read_text())
    with use_db(str(session), WorkDB.Mode.open) as db:
        items = sorted(db.work_items, key=lambda item: item.job_id)
        in_annotations = [
            item.job_id
            for item in items
            if all(any(a <= tuple(m.start_pos) < b for a, b in spans) for m in item.mutations)
        ]
        db.set_multiple_results(
            in_annotations, WorkResult(output="in a type annotation", worker_outcome=WorkerOutcome.SKIPPED)
        )
        candidates = sorted(
            (item for item in items if item.job_id not in set(in_annotations)),
            key=lambda item: (
                item.mutations[0].start_pos,
                item.mutations[0].operator_name,
                item.mutations[0].occurrence,
            ),
        )
        if options.sample and len(candidates) > options.sample:
            chosen = {item.job_id for item in random.Random(options.seed).sample(candidates, options.sample)}
            db.set_multiple_results(
                [item.job_id for item in candidates if item.job_id not in chosen],
                WorkResult(output="not in the sample", worker_outcome=WorkerOutcome.SKIPPED),
            )
        generated = len(items)
    if options.count:
        return 0, 0, len(in_annotations), generated, []
    baseline = scratch / f"{slug}-baseline.sqlite"
    subprocess.run(
        [*cli, "baseline", str(config), "--session-file", str(baseline)], cwd=tree, env=env, check=True
    )
    subprocess.run([*cli, "exec", str(config), str(session)], cwd=tree, env=env, check=True)
    survivors: list[str] = []
    killed = run = 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in sorted(db.completed_work_items, key=lambda pair: pair[0].mutations[0].start_pos):
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            run += 1
            if result.is_killed:
                killed += 1
                continue
            where = ", ".join(f"{m.operator_name} at line {m.start_pos[0]}" for m in item.mutations)
            survivors.append(f"{module}: {where} ({result.test_outcome})\n{result.diff or ''}")
            if options.survivors:
                folder = Path(options.survivors)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{slug}-{len(survivors):03d}.patch").write_text(result.diff or "")
    return killed, run, len(in_annotations), generated, survivors


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", help="modules to mutate, as listed by --list")
    parser.add_argument("--all", action="store_true", help="every module that holds a promise")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests")
    parser.add_argument("--count", action="store_true", help="count the mutants, run nothing")
    parser.add_argument("--sample", type=int, default=0, help="run this many mutants per module, at random")
    parser.add_argument("--seed", type=int, default=18, help="seed of the sample (default 18)")
    parser.add_argument(
        "--test-timeout", type=int, default=PER_TEST_TIMEOUT_SECONDS, help="pytest-timeout per test, seconds"
    )
    parser.add_argument("--survivors", metavar="DIR", help="write each survivor's diff to DIR as a patch")
    args = parser.parse_args()
    if args.list:
        for module, tests in MODULES.items():
            print(f"{module}: {' '.join(tests)}")
        return 0
    chosen = list(MODULES) if args.all else args.modules
    unknown = [m for m in chosen if m not in MODULES]
    if not chosen or unknown:
        parser.error(
            f"name modules from --list (unknown: {unknown})" if unknown else "name modules, or --all"
        )
    with tempfile.TemporaryDirectory(prefix="labelwire-mutation-") as folder:
        scratch = Path(folder)
        tree = copy_tree(scratch)
        env = {**os.environ, "PYTHONPATH": str(scratch / "import"), "PYTHONDONTWRITEBYTECODE": "1"}
        scores: list[str] = []
        for module in chosen:
            killed, run, in_annotations, generated, survivors = run_module(
                module, MODULES[module], tree, env, scratch, args
            )
            for text in survivors:
                print(f"SURVIVED {text}")
            outside = generated - in_annotations
            if args.count:
                scores.append(f"{module}: {outside} mutants, {in_annotations} more only in type annotations")
                continue
            score = killed / run if run else 1.0
            sampled = f"a random sample of {run} (seed {args.seed}) of {outside}" if run < outside else "all"
            scores.append(
                f"{module}: {killed}/{run} killed ({score:.0%}); {sampled} mutants outside type"
                f" annotations; {in_annotations} more only in annotations (equivalent, not run)"
            )
        print("\n".join(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
