"""Quality per dollar (issue 13, items 1 and 2): the first label a client sees, and where extra
judgments go, before and after in the same run.

    nice -n 10 .venv/bin/python bench/consolidation/dollar.py --quick   # 2 crowds, about two minutes
    nice -n 10 .venv/bin/python bench/consolidation/dollar.py           # 4 crowds, 2 seeds each

A job is simulated judgment by judgment. Workers arrive on their own (each asks for a task at a
rate drawn for it; nobody can be summoned), take a 5-question quiz on their first arrival, and
are offered an item by the dispatcher, or turned away when the rule offers them none.

- **current**: what the server does today with dynamic judgments. An asking worker gets the open
  item with the fewest judgments; an item's confidence is the item-level weighted vote with each
  worker's quiz record (`estimated_skill`); it is labeled when that reaches the target (or has
  `max` judgments), and a job-level Dawid-Skene pass at the end revises it.
- **in step**: the item's posterior is the job-level model's: Dawid-Skene refitted every
  `REFIT` judgments, and between fits each new answer updates its item with the worker's fitted
  confusion matrix (incremental EM's E-step). The label is emitted when that posterior
  reaches the target. Routing as in current.
- **routed**: in step, and `route` offers an item that already has its floor of judgments only
  to workers whose estimated skill is at least the pool's median; the others get items still
  under the floor, or nothing. `routed_floor1` is the same with a floor of one judgment
  instead of two: an item a strong worker answered need not wait for a second opinion.
- **pass_skill** / **pass_model**: the server's item labels between job-level passes (a pass
  every `REFIT` judgments): an item's label, when it has its judgments, from all of them with
  the last pass's worker accuracies (pass_skill, the server before) or its confusion matrices
  and class priors (pass_model, the server now). No routing.
- **served**: in step, with the dispatcher's rule before route13 (`leasing._routed`): items
  are offered oldest first; an item past its floor goes to a worker at or above the median
  skill of the workers *present* (answered lately); a weaker one gets the oldest item under its
  floor, else nothing while a present strong worker who has not judged the item could take it,
  else the item.
- **served_lc**: in step, with the dispatcher's rule since route13 (`dispatch.contested`): the
  least confident item past its floor (its posterior is stored on the item) is offered to a
  worker whose skill on the item's likely classes (its confusion matrix's diagonal weighed by
  the item's posterior) is at or above the median of the workers present; others get the
  oldest item under its floor, else that least confident item when no stronger present worker
  who has not judged it could take it, else nothing (`--unsure-scan 20`: any of the 20 least
  confident whose cut the worker passes). Floor two: a job with a target confidence before
  budget13 (`judgments_per_item=2`). `served_lc_floor1`: the same with a floor of one
  judgment, which is what the server does for every job with a target confidence since
  budget13 (`JobSpec.floor`). Both run the job-level pass when the server does
  (`labels.passes.due`, not every `REFIT` judgments), label between passes with the pass's
  matrices shrunk towards the pool's quiz accuracy by each worker's answers
  (`consolidation.pool_shrink`, since cal13b), start an item's posterior at the last
  pass's class priors (`model_posterior`), and leave an open item waiting for its extra
  judgment after a pass, its stored posterior refreshed (the other in-step modes label it at
  the pass when the pass's posterior reaches the target, which the server does not do).
- **served_lc_settle_floor1**: served_lc_floor1 where a pass also labels each open item whose
  pass posterior reaches the target (mv13 measured it; the server does not do it).
- **served_lc_fresh_floor1**: served_lc_floor1 where an item under its floor goes only to a
  worker at or above `contested.FRESH_QUANTILE` of the skills on it of the workers who have
  joined the job, else waits while a present worker at or above it could take it: the
  server's rule for a job with a target confidence since mv13c.

Each mode runs at every target in `TARGETS` (`--targets` to choose) and the summary gives the
cheapest that reaches fixed-5's accuracy, so the grid's step is part of that figure.
"Revised" counts items whose final label (the last pass over everything) differs from the first
label emitted. Budgets are judgments over the fixed-5 budget (5 per item). Crowds are new (seeds
from 5000), not those of `run.py` or `quality.py`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.dollar_job import (
    CROWDS,
    FIXED,
    QUIZ,
    REFIT,
    FirstLabels,
    Job,
    Outcome,
    one_coin_row,
    paired,
    se,
)
from labelwire.server.consolidation import DawidSkene, JudgmentPolicy
from labelwire.server.consolidation.base import FloatArray
from labelwire.server.consolidation.dynamic import route
from labelwire.server.consolidation.pool_shrink import POOL_STRENGTH, item_posteriors, shrink_to_pool
from labelwire.server.dispatch import contested
from labelwire.server.dispatch.gate import estimated_skill
from labelwire.server.labels import passes

MODES = (
    "current",
    "pass_skill",
    "pass_model",
    "in_step",
    "routed",
    "served",
    "served_lc",
    "routed_floor1",
    "served_lc_floor1",
    "served_lc_settle_floor1",
    "served_lc_fresh_floor1",
)
PRESENT = 2.0
"""`served`: a worker counts as present for this many times `n_workers` asks after its last
answer (the server's `gate.ACTIVE_SECONDS`, in asks)."""
STRENGTH = POOL_STRENGTH
"""The served_lc modes' pseudo-answers at the pool's accuracy (`first_labels.py --strength`)."""
TARGETS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def served(
    open_: np.ndarray,
    counts: np.ndarray,
    skill: FloatArray,
    seen: np.ndarray,
    present: np.ndarray,
    w: int,
    policy: JudgmentPolicy,
) -> int | None:
    """The dispatcher's rule before route13 (`leasing._routed`) on the simulated job."""
    candidates = np.flatnonzero(open_)
    if not candidates.size:
        return None
    head = int(candidates[0])
    if counts[head] < policy.min_judgments:
        return head
    here = present.copy()
    here[w] = True
    cut = float(np.median(skill[here]))
    if skill[w] >= cut:
        return head
    fresh = candidates[counts[candidates] < policy.min_judgments]
    if fresh.size:
        return int(fresh[0])
    others = here & (skill >= cut) & ~seen[head]
    others[w] = False
    return None if others.any() else head


UNSURE_SCAN = 1
FRESH_SCAN = 20
FRESH_QUANTILE = contested.FRESH_QUANTILE
"""`served_lc`: the server's `contested.UNSURE_SCAN`, `FRESH_SCAN` and `FRESH_QUANTILE`."""


def served_lc(
    open_: np.ndarray,
    counts: np.ndarray,
    conf: FloatArray,
    post: Callable[[int], FloatArray],
    model: FloatArray,
    seen: np.ndarray,
    present: np.ndarray,
    w: int,
    policy: JudgmentPolicy,
    known: np.ndarray | None = None,
) -> int | None:
    """The dispatcher's rule since route13 (`contested.routed`) on the simulated job; with
    `known` (the workers who have joined the job), since mv13c: an item under its floor only
    to a worker at or above `FRESH_QUANTILE` of their skills on it."""
    candidates = np.flatnonzero(open_)
    if not candidates.size:
        return None
    here = present.copy()
    here[w] = True
    ids = np.flatnonzero(here)
    me = int(np.searchsorted(ids, w))
    diagonals = np.diagonal(model[ids], axis1=1, axis2=2)
    contested = candidates[counts[candidates] >= policy.min_judgments]
    unsure = contested[np.argsort(conf[contested], kind="stable")[:UNSURE_SCAN]]
    cuts = []
    for item in unsure.tolist():
        on_item = diagonals @ post(item)
        cut = float(np.median(on_item))
        if on_item[me] >= cut:
            return int(item)
        cuts.append((item, on_item, cut))
    head = candidates[: FRESH_SCAN + 1]
    fresh = head[counts[head] < policy.min_judgments]
    if fresh.size:
        item = int(fresh[0])
        if known is None:
            return item
        on_item = diagonals @ post(item)
        pool = np.diagonal(model[known | here], axis1=1, axis2=2) @ post(item)
        cut = float(np.quantile(pool, FRESH_QUANTILE))
        if on_item[me] >= cut:
            return item
        cuts.append((item, on_item, cut))
    for item, on_item, cut in cuts:
        stronger = (on_item >= cut) & ~seen[item, ids]
        stronger[me] = False
        if not stronger.any():
            return int(item)
    return None


def simulate(job: Job, policy: JudgmentPolicy, mode: str, record: FirstLabels | None = None) -> Outcome:
    """`record` collects each first label emitted between passes, and the final labels."""
    k, n = job.k, job.n_items
    counts = np.zeros(n, dtype=np.int64)
    seen = np.zeros((n, job.n_workers), dtype=np.bool_)
    log_post = np.tile(np.log(np.full(k, 1 / k)), (n, 1))
    first = np.full(n, -1, dtype=np.int64)
    items: list[int] = []
    workers: list[int] = []
    answers: list[int] = []
    skill = job.quiz_skill.copy()
    fitted = np.zeros(job.n_workers, dtype=np.bool_)
    model = np.stack([one_coin_row(s, k) for s in job.label_skill])
    in_step = mode != "current"
    turned = 0
    steps = 0
    last = np.full(job.n_workers, -np.inf)
    joined = np.zeros(job.n_workers, dtype=np.bool_)
    exact = mode.startswith("served_lc")
    settle = not exact or mode == "served_lc_settle"
    at_pass = 0
    log_prior = np.log(np.full(k, 1 / k))

    def posterior(rows: slice | int = slice(None)) -> FloatArray:
        lp = log_post[rows]
        p = np.exp(lp - lp.max(axis=-1, keepdims=True))
        return np.asarray(p / p.sum(axis=-1, keepdims=True))

    conf = posterior().max(axis=1)
    while (first < 0).any() and steps < 50 * n:
        steps += 1
        w = int(job.rng.choice(job.n_workers, p=job.arrival))
        open_ = (first < 0) & ~seen[:, w]
        if mode == "served":
            item = served(open_, counts, skill, seen, last >= steps - PRESENT * job.n_workers, w, policy)
        elif mode.startswith("served_lc"):
            present = last >= steps - PRESENT * job.n_workers
            known = joined if mode == "served_lc_fresh" else None
            item = served_lc(open_, counts, conf, posterior, model, seen, present, w, policy, known)
            joined[w] = True
        else:
            cut = float(np.median(skill)) if mode == "routed" else -1.0
            item = route(open_, counts, conf, skill[w], cut, policy.min_judgments)
        if item is None:
            turned += 1
            continue
        a = job.answer(w, int(job.truth[item]))
        items.append(item)
        workers.append(w)
        answers.append(a)
        counts[item] += 1
        seen[item, w] = True
        last[w] = steps
        log_post[item] += np.log(np.maximum(model[w][:, a], 1e-9))
        refit = passes.due(len(items), at_pass) if exact else len(items) % REFIT == 0
        if in_step and refit:
            at_pass = len(items)
            table = job.judgments(items, workers, answers)
            fit = DawidSkene().fit(table)
            assert fit.confusion is not None
            answered = ~np.isnan(fit.worker_skill)
            skill[answered] = fit.worker_skill[answered]
            fitted |= answered
            pass_post = fit.posteriors
            if exact:
                assert fit.class_priors is not None
                log_prior = np.log(np.maximum(fit.class_priors, 1e-12))
                judged = np.bincount(table.workers, minlength=job.n_workers)
                pool = estimated_skill(None, QUIZ * int(answered.sum()), int(job.quiz_right[answered].sum()))
                model[answered] = shrink_to_pool(fit.confusion, judged, pool, STRENGTH)[answered]
                pass_post = item_posteriors(table, model, fit.class_priors)
            else:
                model[answered] = fit.confusion[answered]
            log_post = np.where(counts[:, None] > 0, np.log(np.maximum(pass_post, 1e-12)), log_prior)
            post = posterior()
            conf = post.max(axis=1)
            if settle:
                done = (first < 0) & (counts > 0) & ~policy.needs_more(conf, counts)
                first[done] = post[done].argmax(axis=1)
        else:
            p = posterior(item)
            conf[item] = p.max()
            if first[item] < 0 and not bool(policy.needs_more(conf[item], counts[item])):
                first[item] = int(p.argmax())
                if record is not None:
                    record.rows.append(
                        (item, int(counts[item]), float(conf[item]), bool(fitted[w]), len(items))
                    )
    final = DawidSkene().fit(job.judgments(items, workers, answers)).labels
    first = np.where(first < 0, final, first)
    if record is not None:
        record.first, record.final = first, final
    return Outcome(
        budget=len(items) / (FIXED * n),
        first_accuracy=float(np.mean(first == job.truth)),
        final_accuracy=float(np.mean(final == job.truth)),
        revised=float(np.mean(first != final)),
        turned_away=turned / max(steps, 1),
    )


def simulate_server(job: Job, policy: JudgmentPolicy, kept: bool) -> Outcome:
    """The server's item labels between job-level passes (`labels.items.item_label`): when an
    item has its judgments its label is computed from all of them with what the last pass
    (every `REFIT` judgments) learned. `kept=False` is the server before issue 13's wanted 1:
    each worker's pass accuracy, errors spread evenly, uniform prior (`skill_posterior`);
    `kept=True` the server now: the pass's confusion matrices and class priors
    (`model_posterior`). Offers as `current` (no routing)."""
    k, n = job.k, job.n_items
    counts = np.zeros(n, dtype=np.int64)
    seen = np.zeros((n, job.n_workers), dtype=np.bool_)
    conf = np.zeros(n)
    first = np.full(n, -1, dtype=np.int64)
    by_item: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    items: list[int] = []
    workers: list[int] = []
    answers: list[int] = []
    model = np.stack([one_coin_row(s, k) for s in job.label_skill])
    log_prior = np.log(np.full(k, 1 / k))
    steps = 0
    while (first < 0).any() and steps < 50 * n:
        steps += 1
        w = int(job.rng.choice(job.n_workers, p=job.arrival))
        item = route((first < 0) & ~seen[:, w], counts, conf, 0.0, -1.0, policy.min_judgments)
        if item is None:
            continue
        a = job.answer(w, int(job.truth[item]))
        items.append(item)
        workers.append(w)
        answers.append(a)
        by_item[item].append((w, a))
        counts[item] += 1
        seen[item, w] = True
        lp = log_prior + sum(np.log(np.maximum(model[v][:, b], 1e-12)) for v, b in by_item[item])
        p = np.exp(lp - lp.max())
        p /= p.sum()
        conf[item] = p.max()
        if not bool(policy.needs_more(conf[item], counts[item])):
            first[item] = int(p.argmax())
        if len(items) % REFIT == 0:
            fit = DawidSkene().fit(job.judgments(items, workers, answers))
            assert fit.confusion is not None and fit.class_priors is not None
            answered = ~np.isnan(fit.worker_skill)
            if kept:
                model[answered] = fit.confusion[answered]
                log_prior = np.log(np.maximum(fit.class_priors, 1e-12))
            else:
                model[answered] = np.stack([one_coin_row(s, k) for s in fit.worker_skill[answered]])
    final = DawidSkene().fit(job.judgments(items, workers, answers)).labels
    first = np.where(first < 0, final, first)
    return Outcome(
        budget=len(items) / (FIXED * n),
        first_accuracy=float(np.mean(first == job.truth)),
        final_accuracy=float(np.mean(final == job.truth)),
        revised=float(np.mean(first != final)),
        turned_away=0.0,
    )


def main() -> None:
    global UNSURE_SCAN
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--crowds", nargs="*", choices=list(CROWDS), default=None)
    parser.add_argument(
        "--items", type=int, default=0, help="items per crowd (default 1500 quick, 3000 full)"
    )
    parser.add_argument("--seeds", type=int, default=0, help="crowds per preset (default 1 quick, 2 full)")
    parser.add_argument("--modes", nargs="*", choices=list(MODES), default=None, help="default: all")
    parser.add_argument(
        "--unsure-scan",
        type=int,
        default=UNSURE_SCAN,
        help="served_lc: contested items a worker may be offered",
    )
    parser.add_argument(
        "--targets", type=float, nargs="*", default=list(TARGETS), help="target confidences to run"
    )
    args = parser.parse_args()
    UNSURE_SCAN = args.unsure_scan
    parser_crowds = args.crowds or (["mixed", "hard"] if args.quick else list(CROWDS))
    crowds = parser_crowds
    n_items = args.items or (1500 if args.quick else 3000)
    seeds = list(range(5000, 5000 + (args.seeds or (1 if args.quick else 2))))
    started = time.perf_counter()
    print(
        "| crowd | mode | target | budget | first-label acc. % | final acc. % | first − final pp | revised % | turned away % |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    summary = []
    for name in crowds:
        fixed_mv = fixed_ds = 0.0
        mv_seeds: list[float] = []
        ds_seeds: list[float] = []
        by_mode: dict[str, list[tuple[float, Outcome, list[Outcome]]]] = {}
        for seed in seeds:
            mv, ds = Job(CROWDS[name], n_items, seed).fixed()
            fixed_mv += mv / len(seeds)
            mv_seeds.append(mv)
            ds_seeds.append(ds)
            fixed_ds += ds / len(seeds)
        for mode in args.modes or MODES:
            policy_floor = 1 if mode.endswith("floor1") else 2
            for target in args.targets:
                policy = JudgmentPolicy(policy_floor, 6, target)
                runs = [
                    simulate_server(Job(CROWDS[name], n_items, s), policy, mode == "pass_model")
                    if mode.startswith("pass_")
                    else simulate(Job(CROWDS[name], n_items, s), policy, mode.split("_floor")[0])
                    for s in seeds
                ]
                o = Outcome(
                    *(float(np.mean([getattr(r, f) for r in runs])) for f in Outcome.__dataclass_fields__)
                )
                by_mode.setdefault(mode, []).append((target, o, runs))
                gap_se = se([r.first_accuracy - r.final_accuracy for r in runs])
                print(
                    f"| {name} | {mode} | {target} | {100 * o.budget:.1f}% | {100 * o.first_accuracy:.2f} | "
                    f"{100 * o.final_accuracy:.2f} ± {100 * se([r.final_accuracy for r in runs]):.2f} | "
                    f"{100 * (o.first_accuracy - o.final_accuracy):+.2f} ± {100 * gap_se:.2f} | "
                    f"{100 * o.revised:.1f} | {100 * o.turned_away:.0f} |",
                    flush=True,
                )
        summary.append((name, fixed_mv, fixed_ds, by_mode))
        for mode, rows in by_mode.items():
            print(
                f"paired, {name}, {mode}: MV {paired(rows, mv_seeds)}; DS {paired(rows, ds_seeds)}",
                flush=True,
            )
        print(f"fixed-{FIXED} MV on {name}: {100 * fixed_mv:.2f} ± {100 * se(mv_seeds):.2f} %", flush=True)
    print(f"\nfixed-{FIXED}: budget 100%; total {time.perf_counter() - started:.0f} s\n")
    print(
        "| crowd | fixed-5 MV % | fixed-5 DS % | mode | budget to reach MV | budget to reach DS | first − final pp at that MV budget | revised % there |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for name, mv, ds, by_mode in summary:
        for mode, rows in by_mode.items():
            reach_mv = [(t, o) for t, o, _ in rows if o.final_accuracy >= mv]
            reach_ds = [(t, o) for t, o, _ in rows if o.final_accuracy >= ds]
            runs_at = {t: r for t, _, r in rows}
            best_mv = min(reach_mv, key=lambda r: r[1].budget) if reach_mv else None
            best_ds = min(reach_ds, key=lambda r: r[1].budget) if reach_ds else None
            print(
                f"| {name} | {100 * mv:.2f} | {100 * ds:.2f} | {mode} | "
                f"{f'{100 * best_mv[1].budget:.1f}% (t={best_mv[0]})' if best_mv else 'not reached'} | "
                f"{f'{100 * best_ds[1].budget:.1f}% (t={best_ds[0]})' if best_ds else 'not reached'} | "
                f"{f'{100 * (best_mv[1].first_accuracy - best_mv[1].final_accuracy):+.2f} ± {100 * se([r.first_accuracy - r.final_accuracy for r in runs_at[best_mv[0]]]):.2f}' if best_mv else ''} | "
                f"{f'{100 * best_mv[1].revised:.1f}' if best_mv else ''} |"
            )


if __name__ == "__main__":
    main()
