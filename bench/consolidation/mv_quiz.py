"""How far a majority-vote job's confidence can be trusted when its judges are weighed by
their entry quiz (issue 13, wanted 3: majority-vote jobs report a calibrated probability).

The server's vote on one item (`tasks.classification.vote_classes`) states the posterior of
the votes cast by workers of the judges' mean estimated skill, and before any hidden gold a
judge's skill is its quiz record, `gate.estimated_skill` = (right + 1.4) / (asked + 2). Only
workers who pass the quiz (4 of 5 by default) judge, so the records that weigh the votes are
the lucky side of each worker's quiz: a winner's curse. This measures it on `quality.py`'s
crowds: every worker takes a 5-question quiz at its true accuracy; "gated" keeps only the
votes of those who pass (the server), "all" every vote; `--pool` instead weighs each worker
by its record shrunk towards a beta prior fitted to every applicant's quiz (those who failed
included), which selection on the record cannot bias.

    .venv/bin/python bench/consolidation/mv_quiz.py            # ~20 s
    .venv/bin/python bench/consolidation/mv_quiz.py --pool
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.quality import CROWDS, DIFFICULTY, crowds, ece

QUIZ, PASS = 5, 4


def quiz_skill(correct: np.ndarray, pool: bool) -> np.ndarray:
    if not pool:
        return (correct + 1.4) / (QUIZ + 2)
    share = correct / QUIZ
    mean, var = float(share.mean()), float(share.var())
    extra = max(var - mean * (1 - mean) / QUIZ, 1e-4) / (1 - 1 / QUIZ)
    strength = max(mean * (1 - mean) / extra - 1, 0.5)
    return (correct + mean * strength) / (QUIZ + strength)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pool", action="store_true", help="shrink quiz records towards every applicant's")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--size", type=int, default=100_000, help="judgments per crowd")
    args = parser.parse_args()
    print("| crowd | votes | accuracy | ECE | ECE in 0.6-0.9 | conf − acc in 0.6-0.9 (items) |")
    print("|---|---|---:|---:|---:|---:|")
    for name in [*CROWDS, *DIFFICULTY]:
        pooled: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {"gated": ([], []), "all": ([], [])}
        for crowd in crowds(name, args.size, list(range(1000, 1000 + args.seeds))):
            j = crowd.judgments
            k = j.n_classes
            accuracy = np.array([np.mean(np.diag(m)) for m in crowd.confusion])
            correct = np.random.default_rng(7).binomial(QUIZ, accuracy)
            skill = quiz_skill(correct, args.pool)
            for votes, (confs, oks) in pooled.items():
                keep = correct[j.workers] >= PASS if votes == "gated" else np.ones(len(j.workers), bool)
                items, workers = j.items[keep], j.workers[keep]
                counts = np.zeros((j.n_items, k))
                np.add.at(counts, (items, j.answers[keep]), 1)
                n = counts.sum(axis=1)
                has = n > 0
                mean_skill = np.bincount(items, weights=skill[workers], minlength=j.n_items)[has] / n[has]
                s = np.clip(mean_skill, 1e-6, 1 - 1e-6)
                scores = np.log(s * (k - 1) / (1 - s))[:, None] * counts[has]
                posterior = np.exp(scores - scores.max(axis=1, keepdims=True))
                posterior /= posterior.sum(axis=1, keepdims=True)
                label = counts[has].argmax(axis=1)
                confs.append(posterior[np.arange(label.size), label])
                oks.append((label == crowd.truth[has]).astype(float))
        for votes, (confs, oks) in pooled.items():
            conf, ok = np.concatenate(confs), np.concatenate(oks)
            band = (conf >= 0.6) & (conf < 0.9)
            gap = 100 * (conf[band].mean() - ok[band].mean())
            print(
                f"| {name} | {votes} | {100 * ok.mean():.2f} | {ece(conf, ok):.2f} | {ece(conf, ok, 0.6, 0.9):.2f} |"
                f" {gap:+.2f} ({int(band.sum())}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
