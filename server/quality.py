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

import json
import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelwire.server.model import Answer, GoldPolicy, JobSpec, WorkerStatus
from labelwire.server.validation import answer_key

MIN_BLOCK = 10


def grade(spec: JobSpec, answer: Answer, gold: Answer) -> bool:
    """Whether an answer matches a gold answer.

    Classification and multi-label compare exactly (multi-label as sets); other
    types compare their JSON form, which is exact for verification and custom
    tasks; geometric gold (boxes, spans, masks) is graded by the consolidation
    engine's overlap measures once it is wired for those types.
    """
    key = answer_key(spec.task_type)
    mine, right = answer.get(key) or {}, gold.get(key) or {}
    if key == "classification":
        return bool(mine.get("class_name") == right.get("class_name"))
    if key == "multi_label":
        return set(mine.get("class_names", [])) == set(right.get("class_names", []))
    return bool(mine == right)


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
    accuracy = correct / answered if answered else 1.0
    if status == WorkerStatus.QUALIFIED and accuracy < policy.pass_accuracy:
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


def work_skills(spec: JobSpec, rows: Sequence[Any], rounds: int = 20) -> dict[int, tuple[float, int]]:
    """Each worker's chance-corrected accuracy on work items (0 is guessing,
    1 always right) and how many of its work judgments it rests on.

    Gold is left out: it says nothing of how a worker treats work. Each
    judgment is scored against the other workers' answers on its item alone,
    weighed by their own skill (a one-coin Dawid-Skene posterior with the
    judge's vote left out, iterated to a fixed point). Leaving the vote out is
    what catches a group of guessers: when they outnumber the honest workers,
    the labels follow their guesses, and a model that scores a worker against
    labels its own vote helped decide rates every one of them well. Judgments
    of items nobody else judged count for nothing. Single-class jobs only."""
    if answer_key(spec.task_type) != "classification" or not rows:
        return {}
    k = len(spec.class_names)
    index = {name: i for i, name in enumerate(spec.class_names)}
    _, items = np.unique(np.array([int(r["item_id"]) for r in rows]), return_inverse=True)
    worker_ids, workers = np.unique(np.array([int(r["worker_id"]) for r in rows]), return_inverse=True)
    answers = np.array([index[json.loads(r["answer"])["classification"]["class_name"]] for r in rows])
    shared = np.bincount(items)[items] > 1
    compared = np.bincount(workers, weights=shared, minlength=len(worker_ids))
    skill = np.full(len(worker_ids), 0.7)
    for _ in range(rounds):
        clipped = np.clip(skill, 1 / k, 0.99)
        weight = np.log(clipped * (k - 1) / (1 - clipped))
        votes = np.zeros((items.max() + 1, k))
        np.add.at(votes, (items, answers), weight[workers])
        others = votes[items]
        others[np.arange(len(rows)), answers] -= weight[workers]
        others = np.exp(others - others.max(axis=1, keepdims=True))
        agreement = others[np.arange(len(rows)), answers] / others.sum(axis=1)
        scored = np.bincount(workers, weights=np.where(shared, agreement, 0.0), minlength=len(worker_ids))
        skill = np.where(compared > 0, scored / np.maximum(compared, 1), 1 / k)
    return {
        int(w): (float((s - 1 / k) / (1 - 1 / k)), int(n))
        for w, s, n in zip(worker_ids.tolist(), skill, compared, strict=True)
    }


def is_colluder(policy: GoldPolicy, work_skill: float, work_judgments: int) -> bool:
    """A worker whose work answers are no better than the job's bar above
    guessing, once it has enough of them: it passes gold (alone, or from notes
    shared with others) but does not do the work."""
    if policy.min_work_agreement <= -1:
        return False
    return work_judgments >= policy.min_work_judgments and work_skill <= policy.min_work_agreement


def first_status(policy: GoldPolicy) -> tuple[WorkerStatus, int]:
    """A new worker's status and quiz length."""
    if policy.quiz_size == 0:
        return WorkerStatus.QUALIFIED, 0
    return WorkerStatus.QUIZ, policy.quiz_size


def estimated_skill(pass_skill: float | None, gold_answered: int, gold_correct: int) -> float:
    """A worker's accuracy estimate: the last job-level pass's, else its gold
    record smoothed towards 0.7, so that no worker is trusted blindly."""
    if pass_skill is not None:
        return pass_skill
    return (gold_correct + 1.4) / (gold_answered + 2)
