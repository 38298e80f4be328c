"""Quality control with gold: grading answers and the worker's qualification.

Figure Eight's test questions: a new worker answers an entry quiz of gold items
and works only if its accuracy reaches the bar; at work a share of its tasks
are hidden gold, and a worker whose running accuracy (quiz included) falls below
the bar is disqualified.

Hidden gold stays secret (docs/security.md): the quiz and hidden gold come from
separate pools; hidden gold takes fixed places, drawn at random, in each block
of a worker's tasks and only when work is available; nothing a worker sees
moves with one hidden-gold answer (its running accuracy is judged only at
checkpoints, once per block); and a worker whose work answers agree with the
others' at chance level is disqualified however well it does on gold.
"""

from __future__ import annotations

import collections
import functools
import json
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from labelwire.server.consolidation.shrinkage import fitted_strength
from labelwire.server.domain.model import Answer, GoldPolicy, JobSpec, WorkerStatus
from labelwire.server.domain.tasks import task_kind
from labelwire.server.store.rows import WorkAnswerRow, WorkerRow
from labelwire.server.store.rows_upkeep import RoutingWorkerRow

MIN_BLOCK = 10


def grade(spec: JobSpec, answer: Answer, gold: Answer) -> bool:
    """Whether an answer matches a gold answer, for every workforce: the pool's
    quiz and hidden gold here, and outside workers' gold through the adapter
    contract (`WorkforceContext.grade_gold`); the job's task kind grades it
    (`TaskKind.grade`)."""
    return task_kind(spec).grade(spec, answer, gold)


def below_bar(pass_accuracy: float, answered: int, correct: int, min_answered: int = 1) -> bool:
    """Whether a gold record falls below the bar: the one rule that disqualifies a
    working pool worker at a checkpoint and an outside worker graded by its own
    workforce's gold (`WorkforceContext.judge_gold_record`), once it has at least
    `min_answered` gold answers."""
    return answered >= max(1, min_answered) and correct / answered < pass_accuracy


def after_gold(
    policy: GoldPolicy, status: WorkerStatus, quiz_remaining: int, answered: int, correct: int
) -> tuple[WorkerStatus, int, str]:
    """The worker's status after one more quiz answer (already counted in
    `answered` and `correct`, the quiz record), its quiz questions left, and a
    sentence for it when the quiz ends. Hidden gold is judged at checkpoints
    instead (`after_checkpoint`)."""
    accuracy = correct / answered if answered else 0.0
    if status == WorkerStatus.QUIZ:
        quiz_remaining = max(quiz_remaining - 1, 0)
        if quiz_remaining > 0:
            return status, quiz_remaining, ""
        if accuracy >= policy.pass_accuracy:
            return WorkerStatus.QUALIFIED, 0, f"quiz passed with {accuracy:.0%}; you may now work on this job"
        return (
            WorkerStatus.FAILED_QUIZ,
            0,
            f"quiz failed with {accuracy:.0%} (the bar is {policy.pass_accuracy:.0%}); no more tasks for this job",
        )
    return status, quiz_remaining, ""


def at_checkpoint(policy: GoldPolicy, judgments: int) -> bool:
    """Whether a worker's gold record is judged after its `judgments`-th
    judgment: once per block, on a count every task moves alike, so that a
    disqualification does not point at the hidden-gold answer behind it."""
    return judgments % gold_block(policy)[0] == 0


def after_checkpoint(
    policy: GoldPolicy, status: WorkerStatus, answered: int, correct: int
) -> tuple[WorkerStatus, str]:
    """A working worker's status at a checkpoint, and a sentence when it changes."""
    if status == WorkerStatus.QUALIFIED and below_bar(policy.pass_accuracy, answered, correct):
        return (
            WorkerStatus.DISQUALIFIED,
            f"accuracy on test questions fell below the bar of {policy.pass_accuracy:.0%};"
            " no more tasks for this job",
        )
    return status, ""


def gold_block(policy: GoldPolicy) -> tuple[int, int]:
    """(block size, hidden gold per block): every block of that many tasks a
    worker is offered holds exactly that many hidden-gold slots, at most the
    job's share."""
    share = policy.hidden_gold_share
    if share <= 0:
        return MIN_BLOCK, 0
    size = max(MIN_BLOCK, math.ceil(1 / share - 1e-9))
    return size, max(1, math.floor(share * size + 1e-9))


def draw_plan(policy: GoldPolicy, rng: random.Random) -> int:
    """The hidden-gold slots of a new block, as a bit mask of positions."""
    size, slots = gold_block(policy)
    return sum(1 << p for p in rng.sample(range(size), slots))


def hidden_due(policy: GoldPolicy, offered: int, plan: int, plan_hidden: int) -> bool:
    """Whether the task at `offered` (counted from the worker's first work
    task) should be hidden gold: a slot of its block's plan at or before its
    place has not been served yet. A slot missed (no work at the time, no
    hidden gold left) moves to the next task of the block, never past it."""
    place = offered % gold_block(policy)[0]
    return (plan & ((2 << place) - 1)).bit_count() > plan_hidden


def quiz_share_of_unmarked(policy: GoldPolicy, marked_quiz: int, unmarked: int) -> int:
    """How many unmarked gold items join the quiz when a job starts (the
    first ones added); the rest become hidden gold. The quiz gets what
    quiz_size still needs plus a third of what is left, for variety; with no
    hidden gold asked for, it gets them all."""
    if policy.hidden_gold_share <= 0:
        return unmarked
    if policy.quiz_size == 0:
        return 0
    need = min(max(policy.quiz_size - marked_quiz, 0), unmarked)
    return need + (unmarked - need) // 3


def work_skills(
    spec: JobSpec, rows: Sequence[WorkAnswerRow], rounds: int = 10
) -> dict[int, tuple[float, int]]:
    """How much each worker's answers on work items tell of the other
    workers' (0: nothing, as from a guesser, or a worker who gives one class
    to everything; 1: everything), and how many judgments that rests on.

    Gold is left out: it says nothing of how a worker treats work. Each
    judgment is set against the consensus of the other workers' answers on its
    item alone (the judge's own vote left out), weighed by their log-odds of
    being right, which are re-estimated the same way for a few rounds; items
    nobody else judged, or on which the others tie, count for nothing. The
    measure is the uncertainty coefficient of the worker's answers against that
    consensus (the share of the consensus's entropy its answers remove), so a
    worker who swaps two classes consistently still counts as informative.
    Leaving the vote out is what catches a group of guessers: when they
    outnumber the honest workers, the labels follow their guesses, and scoring
    a worker against labels its own vote helped decide rates every one of them
    well. Single-class jobs only."""
    if not task_kind(spec).agreement_by_consensus or not rows:
        return {}
    k = len(spec.class_names)
    count = len(rows)
    _, items = np.unique(np.fromiter((r.item_id for r in rows), np.int64, count), return_inverse=True)
    worker_ids, workers = np.unique(
        np.fromiter((r.worker_id for r in rows), np.int64, count), return_inverse=True
    )
    answers = np.fromiter(_class_indexes(spec, (r.answer for r in rows)), np.int64, count)
    shared = np.bincount(items)[items] > 1
    rows_at = np.arange(count)
    weight = np.ones(len(worker_ids))
    cells = items * k + answers
    for _ in range(rounds):
        votes = np.asarray(
            np.bincount(cells, weights=weight[workers], minlength=(int(items.max()) + 1) * k), np.float64
        )
        others = votes.reshape(-1, k)[items]
        others[rows_at, answers] -= weight[workers]
        best = others.max(axis=1)
        consensus = others.argmax(axis=1)
        decided = shared & (best > 0) & ((others >= best[:, None] - 1e-9).sum(axis=1) == 1)
        counted = np.bincount(workers, weights=decided, minlength=len(worker_ids))
        agreed = np.bincount(workers, weights=decided & (consensus == answers), minlength=len(worker_ids))
        skill = np.clip((agreed + 1) / (counted + 2), 1 / k, 0.99)
        weight = np.log(skill * (k - 1) / (1 - skill))
    joint = np.zeros((len(worker_ids), k, k))
    np.add.at(joint, (workers[decided], consensus[decided], answers[decided]), 1.0)
    return {
        int(w): (_uncertainty_removed(joint[n]), int(counted[n])) for n, w in enumerate(worker_ids.tolist())
    }


def _class_indexes(spec: JobSpec, texts: Iterator[str]) -> Iterator[int]:
    """The class index of each stored answer. A job's answers are a handful of
    distinct strings, so each is parsed once: the check reads every judgment
    of the job each time it runs."""
    index = {name: i for i, name in enumerate(spec.class_names)}
    known: dict[str, int] = {}
    for text in texts:
        found = known.get(text)
        if found is None:
            found = known[text] = index[json.loads(text)["classification"]["class_name"]]
        yield found


def _uncertainty_removed(counts: np.ndarray) -> float:
    """The uncertainty coefficient U(truth | answer) of a confusion matrix
    (rows: estimated truth, columns: the worker's answers)."""
    total = counts.sum()
    if total <= 0:
        return 0.0
    joint = counts / total
    truth, answer = joint.sum(axis=1), joint.sum(axis=0)
    entropy = -float(np.sum(truth[truth > 0] * np.log(truth[truth > 0])))
    if entropy <= 0:
        return 0.0
    expected = np.outer(truth, answer)
    mask = joint > 0
    return float(np.sum(joint[mask] * np.log(joint[mask] / expected[mask])) / entropy)


def is_colluder(policy: GoldPolicy, work_skill: float, work_judgments: int) -> bool:
    """A worker whose work answers tell no more than the job's bar of the
    other workers', once it has enough of them: it passes gold (alone, or from
    notes shared with others) but does not do the work."""
    if policy.min_work_agreement <= -1:
        return False
    return work_judgments >= policy.min_work_judgments and work_skill <= policy.min_work_agreement


def first_status(policy: GoldPolicy) -> tuple[WorkerStatus, int]:
    """A new worker's status and quiz length."""
    if policy.quiz_size == 0:
        return WorkerStatus.QUALIFIED, 0
    return WorkerStatus.QUIZ, policy.quiz_size


PRIOR_SKILL = 0.7
"""The accuracy a worker's gold record is shrunk towards when the job's pool is not known."""
PRIOR_ANSWERS = 2.0
"""...as if from this many gold answers."""
POOL_MIN_WORKERS = 10
"""Workers with a gold record a job needs before its pool is shrunk towards (`gold_pool`)."""


def estimated_skill(
    pass_skill: float | None, gold_answered: int, gold_correct: int, pool: tuple[float, float] | None = None
) -> float:
    """A worker's accuracy estimate: the last job-level pass's, else its gold record shrunk
    towards `pool` (accuracy, strength in answers: `gold_pool`) or, without one, towards 0.7
    as if from 2 answers, so that no worker is trusted blindly."""
    if pass_skill is not None:
        return pass_skill
    mean, strength = pool if pool is not None else (PRIOR_SKILL, PRIOR_ANSWERS)
    return (gold_correct + strength * mean) / (gold_answered + strength)


def gold_pool(records: Sequence[tuple[int, int]]) -> tuple[float, float] | None:
    """The accuracy a job's workers' gold records (answered, right) pool to, and how many
    answers' weight it deserves against one worker's record: the strength under which the
    records are most probable (beta-binomial evidence, `consolidation.shrinkage`). None
    under `POOL_MIN_WORKERS` workers with a record.

    A 5-question quiz says little about one worker: shrunk towards 0.7 as if from 2 answers,
    a 5/5 quiz made a worker 0.91, and labels weighed by such records before a job's first
    pass were 7-21 points overconfident (`bench/README.md`, cal13d). The pool's own
    accuracy, held as strongly as its workers' records differ, is what a record is a
    deviation from."""
    return pooled_records(collections.Counter((a, c) for a, c in records if a > 0).items())


def pooled_records(histogram: Iterable[tuple[tuple[int, int], int]]) -> tuple[float, float] | None:
    """`gold_pool` of records given as ((answered, right), workers) pairs: what a GROUP BY
    reads (`Tx.gold_records`), one row per distinct record however many workers share it.

    Cached on the histogram: it is asked for every item a job without a pass labels, its
    evidence search costs 1.5-2 ms, and the records change only when gold is answered."""
    return _pooled(tuple(sorted(((a, c), n) for (a, c), n in histogram if a > 0 and n > 0)))


@functools.lru_cache(maxsize=64)
def _pooled(histogram: tuple[tuple[tuple[int, int], int], ...]) -> tuple[float, float] | None:
    if sum(n for _, n in histogram) < POOL_MIN_WORKERS:
        return None
    counts = np.array([(c, a - c) for (a, c), _ in histogram], dtype=np.float64).reshape(-1, 2)
    counts = np.repeat(counts, [n for _, n in histogram], axis=0)
    total = counts.sum(axis=0)
    mean = (total[0] + PRIOR_ANSWERS * PRIOR_SKILL) / (total.sum() + PRIOR_ANSWERS)
    prior = np.broadcast_to(np.clip([mean, 1 - mean], 1e-6, 1 - 1e-6), counts.shape)
    return float(mean), fitted_strength(counts, prior, low=PRIOR_ANSWERS, high=200.0)


def applicant_pool(
    policy: GoldPolicy, records: Callable[[bool], Iterable[tuple[tuple[int, int], int]]]
) -> tuple[float, float] | None:
    """What a judge's gold record is shrunk towards (`estimated_skill`): in a job with a quiz,
    the beta prior fitted to the QUIZ records of every applicant, those who failed and those
    still answering included (`records(True)`, as `pooled_records` takes them and
    `Tx.gold_records` reads them; None under `POOL_MIN_WORKERS` of them); in a job with hidden
    gold and no quiz, that of the qualified workers' gold records (`records(False)`); else
    None. Each is read only then.

    Why quizzes, all of them: only passers judge, so the passers' records are the lucky side
    of their quizzes (a winner's curse): a prior fitted to them alone is too high and too sure,
    and majority-vote confidences were 9-14 points too sure in the 0.6-0.9 band, worse than the
    fixed prior's 2-7 (`bench/consolidation/mv_quiz.py`), hence no fall back to them in a quiz
    job. Every applicant answers the same quiz under the same rule before anyone is chosen, so
    those records are a fair sample of the crowd the job draws. Hidden gold is left out of the
    fit: only qualified workers answer it, and for as long as they stay, so a record's length
    grows with its worker's skill and would tilt the pooled accuracy up. A judge's own record
    (quiz and hidden gold) is still what is shrunk: the posterior given a record is right
    whatever selection that record went through, as long as the prior is the crowd's."""
    if policy.quiz_size > 0:
        return pooled_records(records(True))
    return pooled_records(records(False)) if policy.hidden_gold_share > 0 else None


ACTIVE_SECONDS = 600.0
"""A qualified worker who answered within this long counts as present for routing: an extra
judgment waits for such a worker, never for one who has left."""
ROUTING_WORKER_SCAN = 500
"""Workers of the job read to set the skill cut and find who is present."""


def worker_skill(worker: WorkerRow | RoutingWorkerRow) -> float:
    """`estimated_skill` of a worker's row."""
    return estimated_skill(worker.skill, worker.gold_answered, worker.gold_correct)


def qualified_skills(workers: Sequence[RoutingWorkerRow]) -> dict[int, float]:
    """Estimated skill of each qualified worker, present or not."""
    return {w.id: worker_skill(w) for w in workers if w.status == WorkerStatus.QUALIFIED}


def present_skills(workers: Sequence[RoutingWorkerRow], now: float) -> dict[int, float]:
    """Estimated skill of each qualified worker active within `ACTIVE_SECONDS`."""
    return {
        w.id: worker_skill(w)
        for w in workers
        if w.status == WorkerStatus.QUALIFIED
        and w.last_active_at is not None
        and w.last_active_at >= now - ACTIVE_SECONDS
    }
