"""How far a majority-vote job's confidence can be trusted when its judges are weighed by
their entry quiz (issue 13, wanted 3: majority-vote jobs report a calibrated probability),
measured through the server's own functions.

The server's vote on one item (`labels.items.consolidate_item`, a classification job's
`vote_classes`) states the posterior of the votes cast by workers of the judges' mean
estimated skill (`gate.estimated_skill`). A majority-vote job has no pass, so a judge's skill
is its gold record: before hidden gold, its quiz. Only workers who pass the quiz (4 of 5)
judge, so the records that weigh the votes are the lucky side of each worker's quiz: a
winner's curse. On `quality.py`'s crowds every worker takes a 5-question quiz at its true
accuracy and only passers' votes count; each row is one way of turning records into skills,
all in the same run:

* `fixed` — main before mvcal13: each record shrunk towards 0.7 as if from 2 answers;
* `qualified` — shrunk towards `gate.gold_pool` of the passers' records (what jobs that
  weigh workers used before their first pass);
* `applicants` — the server now (`gate.applicant_pool` on every applicant's quiz record,
  failed ones included, as `Tx.gold_records` groups them).

    .venv/bin/python bench/consolidation/mv_quiz.py            # ~1 min
    .venv/bin/python bench/consolidation/mv_quiz.py --target 0.9   # class prior in the posterior
    PYTHONPATH=<old tree> .venv/bin/python bench/consolidation/mv_quiz.py   # its fixed and qualified
"""

from __future__ import annotations

import argparse
import collections
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.crowd import Crowd
from bench.consolidation.quality import CROWDS, DIFFICULTY, crowds, ece
from labelwire.server.dispatch import gate
from labelwire.server.dispatch.gate import estimated_skill, gold_pool
from labelwire.server.domain.model import GoldPolicy, JobSpec, LabelClass
from labelwire.server.labels.items import PRIOR_SAMPLE, consolidate_item

QUIZ, PASS = 5, 4
Pool = tuple[float, float] | None


def pools(right: np.ndarray) -> dict[str, Pool]:
    """Each way's shrinkage target, from every applicant's quiz record (`right` of `QUIZ`)."""
    passed = [(QUIZ, int(r)) for r in right if r >= PASS]
    histogram = collections.Counter((QUIZ, int(r)) for r in right)
    ways: dict[str, Pool] = {"fixed": None, "qualified": gold_pool(passed)}
    if hasattr(gate, "applicant_pool"):  # not in a tree before mvcal13 (`scale_out.source_of`)
        ways["applicants"] = gate.applicant_pool(GoldPolicy(quiz_size=QUIZ), lambda quiz: histogram.items())
    return ways


def job_spec(k: int, target: float) -> JobSpec:
    names = tuple(f"c{c}" for c in range(k))
    return JobSpec(
        display_name="mv",
        task_type="classification",
        classes=tuple(LabelClass(n) for n in names),
        task_config={"classes": [{"name": n} for n in names]},
        judgments_per_item=5,
        consolidation_method="majority_vote",
        target_confidence=target,
    )


def labels(crowd: Crowd, spec: JobSpec, keep: np.ndarray, skill: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, right) of each item with a kept vote, labeled by `consolidate_item` with
    the job's class frequencies: the true classes' (which a job's labels come close to; the
    majorities' own lean to the first class wherever `argmax` breaks a tie), scaled as the
    server scales them."""
    j = crowd.judgments
    k, names = j.n_classes, spec.class_names
    items, workers, answers = j.items[keep], j.workers[keep], j.answers[keep]
    counts = np.zeros((j.n_items, k))
    np.add.at(counts, (items, answers), 1)
    frequencies = np.bincount(crowd.truth[counts.sum(axis=1) > 0], minlength=k).astype(float)
    prior = list(frequencies * PRIOR_SAMPLE / max(frequencies.sum(), 1.0))
    priors: Callable[[], list[float]] = lambda: prior  # noqa: E731
    skills = {int(w): float(s) for w, s in enumerate(skill)}
    order = np.argsort(items, kind="stable")
    bounds = np.searchsorted(items[order], np.arange(j.n_items + 1))
    conf, ok = [], []
    for item in range(j.n_items):
        rows = order[bounds[item] : bounds[item + 1]]
        if not rows.size:
            continue
        judged = [(int(workers[r]), {"classification": {"class_name": names[answers[r]]}}) for r in rows]
        label = consolidate_item(spec, judged, skills, priors)
        assert label is not None
        conf.append(label.confidence)
        ok.append(float(label.value["classification"]["class_name"] == names[crowd.truth[item]]))
    return np.array(conf), np.array(ok)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--size", type=int, default=100_000, help="judgments per crowd")
    parser.add_argument("--target", type=float, default=0.0, help="the job's target confidence (0: fixed)")
    parser.add_argument("--crowds", nargs="*", default=[*CROWDS, *DIFFICULTY])
    args = parser.parse_args()
    print("| crowd | skills from | accuracy | ECE | ECE in 0.6-0.9 | conf − acc in 0.6-0.9 (items) |")
    print("|---|---|---:|---:|---:|---:|")
    for name in args.crowds:
        pooled: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = collections.defaultdict(
            lambda: ([], [])
        )
        for crowd in crowds(name, args.size, list(range(1000, 1000 + args.seeds))):
            j = crowd.judgments
            spec = job_spec(j.n_classes, args.target)
            accuracy = np.array([np.mean(np.diag(m)) for m in crowd.confusion])
            right = np.random.default_rng(7).binomial(QUIZ, accuracy)
            keep = right[j.workers] >= PASS
            for way, pool in pools(right).items():
                skill = np.array([estimated_skill(None, QUIZ, int(r), pool) for r in right])
                conf, ok = labels(crowd, spec, keep, skill)
                pooled[way][0].append(conf)
                pooled[way][1].append(ok)
        for way, (confs, oks) in pooled.items():
            conf, ok = np.concatenate(confs), np.concatenate(oks)
            band = (conf >= 0.6) & (conf < 0.9)
            gap = 100 * (conf[band].mean() - ok[band].mean()) if band.any() else float("nan")
            print(
                f"| {name} | {way} | {100 * ok.mean():.2f} | {ece(conf, ok):.2f} | {ece(conf, ok, 0.6, 0.9):.2f} |"
                f" {gap:+.2f} ({int(band.sum())}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
