"""Quality per dollar for a majority-vote job's own path (issue 13, wanted 2), which
`dollar.py` leaves out: its "MV" figures are a Dawid-Skene job's accuracy set against fixed-5
majority vote's.

    nice -n 10 .venv/bin/python bench/consolidation/dollar_mv.py          # 4 crowds, 2 seeds
    nice -n 10 .venv/bin/python bench/consolidation/dollar_mv.py --quick  # 2 crowds, 1 seed

A majority-vote job with a target confidence runs no job-level pass, so the server labels an
item from its votes alone (`tasks.classification.vote_classes`): the most frequent answer, its
confidence the posterior of the votes cast by workers of the judges' mean estimated skill
(their quiz records, `gate.estimated_skill`), with the job's class frequencies as the prior (the
earliest 200 labels; every label emitted so far once prior13's per-job class counts land: mode
`prior_all`), a tie broken by those frequencies. `judges_all` weighs each vote by its own
judge's skill instead (mv13d's candidate, not in the server: bench/README.md, "Each judge's own
skill"). An item starts with
one judgment and gets another while that confidence is under the target, up to six, offered
as `dollar.py`'s `served_lc` with flat skills (no pass model: `contested.Skills`). Its first
label is its final label. Same crowds and seeds as `dollar.py`; budgets are judgments over
fixed-5's. `--modes` picks among `MODES` (the server before and after each change). Only
workers who pass the entry quiz (4 of 5) judge, in fixed-5 too (`quiz_bar`; `--no-quiz-bar`:
every applicant, as before mvcal13).
"""

from __future__ import annotations

import argparse
import collections
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.dollar import PRESENT, TARGETS, served_lc
from bench.consolidation.dollar_job import CROWDS, FIXED, QUIZ, Job, Outcome, one_coin_row, paired, se
from labelwire.server.consolidation import JudgmentPolicy
from labelwire.server.consolidation.base import FloatArray, IntArray
from labelwire.server.dispatch.gate import applicant_pool, estimated_skill
from labelwire.server.domain.model import GoldPolicy

PRIOR_SAMPLE_BEFORE = 200
"""The earliest current labels the server read for a job's class frequencies before prior13
(`labels.items.PRIOR_SAMPLE`); the "prior"/"judges" modes read every label emitted so far."""


@dataclass(frozen=True)
class Mode:
    """What a majority-vote job's path does: the dispatcher's floor cut (`fresh`), the job's
    class frequencies in the vote's posterior (`prior`: None, "first" up to
    `PRIOR_SAMPLE_BEFORE` labels, "all" labels so far) and the skill each vote weighs by
    (`skill`: "mean" the judges' mean quiz skill, "own" each judge's, "shrunk" each judge's
    quiz record shrunk towards the joined workers' pooled record by a method-of-moments
    strength, "applicants" the judges' mean of the server's since mvcal13: each record shrunk
    towards `gate.applicant_pool` of every applicant's quiz)."""

    fresh: bool = True
    prior: str | None = "all"
    skill: str = "mean"


MODES: dict[str, Mode] = {
    "vote": Mode(fresh=False, prior=None),
    "vote_fresh": Mode(prior=None),
    "prior_fresh": Mode(prior="first"),
    "judges_fresh": Mode(prior="first", skill="own"),
    "prior_all": Mode(),
    "judges_all": Mode(skill="own"),
    "shrunk_all": Mode(skill="shrunk"),
    "applicants_all": Mode(skill="applicants"),
}
MV_MODES = tuple(MODES)


def pooled_skill(right: IntArray, asked: int) -> tuple[float, float]:
    """The pool's mean quiz accuracy and a Beta prior's strength (pseudo-answers) fitted to
    the spread of the quiz records by the method of moments (binomial noise taken out)."""
    p = right / asked
    mean = float(p.mean())
    spread = float(p.var(ddof=1)) if p.size > 1 else 0.0
    between = max(spread - mean * (1 - mean) / asked, 1e-4)
    return mean, max(mean * (1 - mean) / between - 1, 0.5)


PASS = 4
"""Quiz answers right out of `QUIZ` a worker needs to judge: the server's default bar (0.8)."""


def quiz_bar(job: Job) -> Job:
    """The job with the server's entry quiz: a worker whose quiz falls under `PASS` of `QUIZ`
    never judges (it never arrives, in fixed-5's draw too). Without it every applicant judged
    and the budgets were measured on a crowd no quiz job has."""
    passed = job.quiz_right >= PASS
    arrival = np.where(passed, job.arrival, 0.0)
    job.arrival = arrival / arrival.sum()
    return job


def applicant_skills(right: IntArray) -> FloatArray:
    """Each worker's quiz record as the server labels with it (mvcal13): shrunk towards the
    beta prior `gate.applicant_pool` fits to every applicant's quiz, failed ones included."""
    records = collections.Counter((QUIZ, int(r)) for r in right)
    pool = applicant_pool(GoldPolicy(quiz_size=QUIZ), lambda quiz: records.items())
    return np.array([estimated_skill(None, QUIZ, int(r), pool) for r in right])


def simulate_mv(job: Job, policy: JudgmentPolicy, mode: str = "vote") -> Outcome:
    """One majority-vote job with a target under `MODES[mode]`: "vote" (before mv13c),
    "vote_fresh" (the dispatcher's floor cut), "prior_fresh" (and the job's earliest class
    frequencies in the vote's posterior: the server now), "judges_fresh" (each judge's own
    quiz skill instead), "prior_all" (the frequencies of all the job's labels: prior13),
    "judges_all" (and each judge's own skill: mv13d's candidate), "shrunk_all" (tried)."""
    m = MODES[mode]
    k, n = job.k, job.n_items
    counts = np.zeros(n, dtype=np.int64)
    seen = np.zeros((n, job.n_workers), dtype=np.bool_)
    votes = np.zeros((n, k))
    judges: list[list[int]] = [[] for _ in range(n)]
    answers: list[list[int]] = [[] for _ in range(n)]
    conf = np.full(n, 1 / k)
    first = np.full(n, -1, dtype=np.int64)
    model = np.stack([one_coin_row(s, k) for s in job.quiz_skill])
    labeled_with = applicant_skills(job.quiz_right) if m.skill == "applicants" else job.quiz_skill
    flat = np.full(k, 1 / k)
    emitted: list[int] = []
    last = np.full(job.n_workers, -np.inf)
    joined = np.zeros(job.n_workers, dtype=np.bool_)
    turned = steps = spent = 0
    while (first < 0).any() and steps < 50 * n:
        steps += 1
        w = int(job.rng.choice(job.n_workers, p=job.arrival))
        present = last >= steps - PRESENT * job.n_workers
        known = joined if m.fresh else None
        item = served_lc(
            (first < 0) & ~seen[:, w], counts, conf, lambda _: flat, model, seen, present, w, policy, known
        )
        joined[w] = True
        if item is None:
            turned += 1
            continue
        a = job.answer(w, int(job.truth[item]))
        spent += 1
        counts[item] += 1
        seen[item, w] = True
        last[w] = steps
        votes[item, a] += 1
        judges[item].append(w)
        answers[item].append(a)
        skills = labeled_with[judges[item]]
        if m.skill in ("mean", "applicants"):
            skills = np.full(len(skills), skills.mean())
        elif m.skill == "shrunk":
            mean, strength = pooled_skill(job.quiz_right[joined], QUIZ)
            skills = (job.quiz_right[judges[item]] + strength * mean) / (QUIZ + strength)
        q = np.clip(skills, 1e-6, 1 - 1e-6)
        weights = np.log(q * (max(k, 2) - 1) / (1 - q))
        scores = np.bincount(answers[item], weights, minlength=k)
        sample = emitted if m.prior == "all" else emitted[:PRIOR_SAMPLE_BEFORE]
        prior = np.bincount(np.asarray(sample, dtype=np.int64), minlength=k)
        if m.prior is not None:
            freq = prior + 1.0
            scores = scores + np.log(freq / freq.sum())
        post = np.exp(scores - scores.max())
        post /= post.sum()
        most = votes[item].max()
        tied = np.flatnonzero(votes[item] >= most)
        label = int(tied[np.argmax(prior[tied])])
        conf[item] = top = float(post[label] if m.prior is not None else post.max())
        if not bool(policy.needs_more(top, counts[item])):
            first[item] = label
            emitted.append(label)
    accuracy = float(np.mean(first == job.truth))
    return Outcome(
        budget=spent / (FIXED * n),
        first_accuracy=accuracy,
        final_accuracy=accuracy,
        revised=0.0,
        turned_away=turned / max(steps, 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--items", type=int, default=0, help="items per crowd (default 1500 quick, 3000 full)"
    )
    parser.add_argument("--seeds", type=int, default=0, help="crowds per preset (default 1 quick, 2 full)")
    parser.add_argument("--targets", type=float, nargs="*", default=list(TARGETS))
    parser.add_argument("--crowds", nargs="*", choices=list(CROWDS), default=None)
    parser.add_argument(
        "--modes",
        nargs="*",
        choices=MV_MODES,
        default=["prior_fresh", "prior_all", "judges_all"],
        help="`simulate_mv`'s modes (default: the server now, with prior13's prior, and mv13d's candidate)",
    )
    parser.add_argument("--no-quiz-bar", action="store_true", help="every applicant judges (before mvcal13)")
    args = parser.parse_args()
    bar: Callable[[Job], Job] = (lambda job: job) if args.no_quiz_bar else quiz_bar
    crowds = args.crowds or (["mixed", "hard"] if args.quick else list(CROWDS))
    n_items = args.items or (1500 if args.quick else 3000)
    seeds = list(range(5000, 5000 + (args.seeds or (1 if args.quick else 2))))
    print("| crowd | mode | target | budget | accuracy % | turned away % |")
    print("|---|---|---:|---:|---:|---:|")
    for name in crowds:
        fixed = [bar(Job(CROWDS[name], n_items, s)).fixed()[0] for s in seeds]
        for mode in args.modes:
            rows = []
            for target in args.targets:
                policy = JudgmentPolicy(1, 6, target)
                runs = [simulate_mv(bar(Job(CROWDS[name], n_items, s)), policy, mode) for s in seeds]
                acc = [r.final_accuracy for r in runs]
                o = Outcome(
                    *(float(np.mean([getattr(r, f) for r in runs])) for f in Outcome.__dataclass_fields__)
                )
                rows.append((target, o, runs))
                print(
                    f"| {name} | {mode} | {target} | {100 * o.budget:.1f}% | "
                    f"{100 * np.mean(acc):.2f} ± {100 * se(acc):.2f} | {100 * o.turned_away:.0f} |",
                    flush=True,
                )
            print(f"paired, {name}, majority-vote job, {mode}: MV {paired(rows, fixed)}", flush=True)
        print(f"fixed-{FIXED} MV on {name}: {100 * np.mean(fixed):.2f} ± {100 * se(fixed):.2f} %")


if __name__ == "__main__":
    main()
