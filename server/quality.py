"""Quality control with gold: grading answers and the worker's qualification.

Figure Eight's test questions: a new worker answers an entry quiz of gold items
and works only if its accuracy reaches the bar; at work a share of its tasks
are hidden gold, and a worker whose running accuracy (quiz included) falls below
the bar is disqualified.
"""

from __future__ import annotations

from labelwire.server.model import Answer, GoldPolicy, JobSpec, WorkerStatus
from labelwire.server.validation import answer_key


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
    """The worker's status after one more gold answer (already counted in
    `answered` and `correct`), its quiz questions left, and a sentence for it."""
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
    if status == WorkerStatus.QUALIFIED and accuracy < policy.pass_accuracy:
        return (
            WorkerStatus.DISQUALIFIED,
            0,
            f"accuracy on test questions fell to {accuracy:.0%} (the bar is {policy.pass_accuracy:.0%});"
            " no more tasks for this job",
        )
    return status, quiz_remaining, ""


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
