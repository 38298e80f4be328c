"""The gold rules on their own: grading, the quiz, disqualification and the
skill estimate (the end-to-end gate is in test_quality_gate.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labelwire.server.dispatch.gate import after_checkpoint, after_gold, estimated_skill, first_status, grade
from labelwire.server.domain.model import GoldPolicy, JobSpec, LabelClass, WorkerStatus

BAR = GoldPolicy(quiz_size=4, pass_accuracy=0.75, hidden_gold_share=0.1)


def spec(task_type: str) -> JobSpec:
    """Task types and answers reach the rules from JSON, as in the server, so
    no string here is the interned literal the code compares against."""
    return JobSpec(
        display_name="J",
        task_type=json.loads(json.dumps(task_type)),
        classes=(LabelClass("a"), LabelClass("b")),
        task_config={"classes": [{"name": "a"}, {"name": "b"}]},
    )


def picked(name: str) -> Any:
    return json.loads(json.dumps({"classification": {"class_name": name}}))


def tags(*names: str) -> Any:
    return json.loads(json.dumps({"multi_label": {"class_names": list(names)}}))


def test_a_classification_is_right_only_with_the_gold_class() -> None:
    assert grade(spec("classification"), picked("heron"), picked("heron"))
    assert not grade(spec("classification"), picked("egret"), picked("heron"))
    assert not grade(spec("classification"), {}, picked("heron"))


def test_a_multi_label_answer_is_graded_as_a_set() -> None:
    assert grade(spec("multi_label"), tags("b", "a"), tags("a", "b"))
    assert not grade(spec("multi_label"), tags("a"), tags("a", "b"))
    assert not grade(spec("multi_label"), tags("a", "b"), tags("a"))
    assert grade(spec("multi_label"), tags(), tags())


def test_a_verification_answer_must_equal_the_gold_one() -> None:
    right = {"verification": {"correct": [True, False]}}
    assert grade(spec("verification"), json.loads(json.dumps(right)), right)
    assert not grade(spec("verification"), {"verification": {"correct": [True, True]}}, right)


def test_boxes_are_graded_on_the_whole_answer_not_a_class_name() -> None:
    def boxes(left: float) -> Any:
        return {
            "bounding_boxes": {
                "boxes": [{"class_name": "a", "left": left, "top": 0, "width": 5, "height": 5}]
            }
        }

    assert grade(spec("bounding_box"), boxes(1), boxes(1))
    assert not grade(spec("bounding_box"), boxes(1), boxes(40))
    assert not grade(spec("custom"), {"custom": {"x": 1}}, {"custom": {"x": 2}})


def test_a_worker_waits_for_the_last_quiz_question_before_being_judged() -> None:
    assert after_gold(BAR, WorkerStatus.QUIZ, 4, 1, 0) == (WorkerStatus.QUIZ, 3, "")
    assert after_gold(BAR, WorkerStatus.QUIZ, 2, 3, 3) == (WorkerStatus.QUIZ, 1, "")


@pytest.mark.parametrize(
    ("right", "status"),
    [(4, WorkerStatus.QUALIFIED), (3, WorkerStatus.QUALIFIED), (2, WorkerStatus.FAILED_QUIZ)],
    ids=["above-the-bar", "exactly-at-the-bar", "just-below-the-bar"],
)
def test_the_last_quiz_answer_passes_at_or_above_the_bar(right: int, status: WorkerStatus) -> None:
    got, left, message = after_gold(BAR, WorkerStatus.QUIZ, 1, 4, right)
    assert (got, left) == (status, 0)
    word = "passed" if status == WorkerStatus.QUALIFIED else "failed"
    assert message.startswith(f"quiz {word} with {right * 25}%")
    assert ("the bar is 75%" in message) == (status == WorkerStatus.FAILED_QUIZ)


@pytest.mark.parametrize(
    ("right", "answered", "status"),
    [(6, 8, WorkerStatus.QUALIFIED), (6, 9, WorkerStatus.DISQUALIFIED)],
    ids=["exactly-at-the-bar", "just-under-the-bar"],
)
def test_a_qualified_worker_is_disqualified_only_under_the_bar(
    right: int, answered: int, status: WorkerStatus
) -> None:
    got, message = after_checkpoint(BAR, WorkerStatus.QUALIFIED, answered, right)
    assert got == status
    assert bool(message) == (status == WorkerStatus.DISQUALIFIED)
    if message:
        assert "fell below the bar of 75%" in message


def test_a_qualified_worker_above_the_bar_keeps_working() -> None:
    assert after_gold(BAR, WorkerStatus.QUALIFIED, 0, 8, 7) == (WorkerStatus.QUALIFIED, 0, "")


def test_a_worker_already_out_stays_out_whatever_it_answers() -> None:
    for status in (WorkerStatus.FAILED_QUIZ, WorkerStatus.DISQUALIFIED):
        assert after_gold(BAR, status, 0, 10, 10) == (status, 0, "")
        assert after_gold(BAR, status, 0, 10, 0) == (status, 0, "")


def test_a_job_without_a_quiz_lets_new_workers_work_at_once() -> None:
    assert first_status(GoldPolicy(quiz_size=0)) == (WorkerStatus.QUALIFIED, 0)
    assert first_status(BAR) == (WorkerStatus.QUIZ, 4)


def test_the_skill_estimate_trusts_a_pass_then_gold_smoothed_towards_seven_tenths() -> None:
    assert estimated_skill(0.42, 10, 10) == 0.42
    assert estimated_skill(None, 0, 0) == pytest.approx(0.7)
    assert estimated_skill(None, 8, 8) == pytest.approx(9.4 / 10)
    assert estimated_skill(None, 8, 2) == pytest.approx(3.4 / 10)
    assert estimated_skill(None, 3, 1) == pytest.approx(2.4 / 5)


def test_a_quiz_ending_with_no_graded_answer_is_not_passed() -> None:
    assert after_gold(BAR, WorkerStatus.QUIZ, 1, 0, 0)[0] == WorkerStatus.FAILED_QUIZ
