"""The gold rules on their own: grading, the quiz, disqualification and the
skill estimate (the end-to-end gate is in test_quality_gate.py)."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import numpy as np
import pytest

from labelwire.server.dispatch.gate import (
    _uncertainty_removed,
    after_checkpoint,
    after_gold,
    at_checkpoint,
    below_bar,
    draw_plan,
    estimated_skill,
    first_status,
    gold_block,
    grade,
    hidden_due,
    is_colluder,
    quiz_share_of_unmarked,
    work_skills,
)
from labelwire.server.domain.model import GoldPolicy, JobSpec, LabelClass, WorkerStatus
from labelwire.server.store.rows import WorkAnswerRow

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


@pytest.mark.parametrize(
    ("share", "block"),
    [
        (0.0, (10, 0)),
        (-0.1, (10, 0)),
        (0.1, (10, 1)),
        (0.3, (10, 3)),
        (0.5, (10, 5)),
        (0.05, (20, 1)),
        (0.04, (25, 1)),
        (0.03, (34, 1)),
        (1 / 49, (49, 1)),
        (0.3 - 1e-12, (10, 3)),
    ],
)
def test_hidden_gold_comes_in_blocks_of_at_least_ten_with_at_most_the_share(
    share: float, block: tuple[int, int]
) -> None:
    """A share a rounding error away from a whole block (1/49 is 49.00000000000001
    tasks per gold, 0.3 - 1e-12 is three in ten) gets that block, not one more task."""
    assert gold_block(GoldPolicy(hidden_gold_share=share)) == block


def test_a_worker_is_judged_once_per_block_of_tasks() -> None:
    policy = GoldPolicy(hidden_gold_share=0.05)
    assert [n for n in range(1, 61) if at_checkpoint(policy, n)] == [20, 40, 60]


@pytest.mark.parametrize("share", [0.1, 0.3, 0.04])
def test_a_plan_marks_exactly_the_block_s_slots_inside_the_block(share: float) -> None:
    policy = GoldPolicy(hidden_gold_share=share)
    size, slots = gold_block(policy)
    rng = random.Random(7)
    plans = [draw_plan(policy, rng) for _ in range(200)]
    assert all(plan.bit_count() == slots and 0 < plan < 1 << size for plan in plans)
    assert {p for plan in plans for p in range(size) if plan >> p & 1} == set(range(size))


PLAN = 1 << 3 | 1 << 7  # hidden gold at places 3 and 7 of a block of 10


@pytest.mark.parametrize(
    ("offered", "served", "due"),
    [
        (0, 0, False),
        (2, 0, False),
        (3, 0, True),
        (3, 1, False),
        (4, 0, True),
        (6, 1, False),
        (7, 1, True),
        (9, 1, True),
        (9, 2, False),
        (12, 0, False),
        (13, 0, True),
        (17, 1, True),
    ],
)
def test_hidden_gold_is_due_at_its_slot_or_the_first_task_after_a_missed_one(
    offered: int, served: int, due: bool
) -> None:
    """`served` is how many of the block's slots were already given; offered
    counts work tasks from the worker's first, so 12 is place 2 of the second block."""
    assert hidden_due(GoldPolicy(hidden_gold_share=0.2), offered, PLAN, served) is due


def test_hidden_gold_planned_first_in_a_block_is_due_at_once() -> None:
    policy = GoldPolicy(hidden_gold_share=0.2)
    plan = 1 << 0 | 1 << 5
    assert hidden_due(policy, 0, plan, 0)
    assert hidden_due(policy, 10, plan, 0)
    assert not hidden_due(policy, 1, plan, 1)


@pytest.mark.parametrize(
    ("quiz_size", "share", "marked", "unmarked", "quiz"),
    [
        (5, 0.1, 0, 20, 5 + 15 // 3),
        (5, 0.1, 3, 20, 2 + 18 // 3),
        (5, 0.1, 7, 20, 20 // 3),
        (5, 0.1, 0, 3, 3),
        (5, 0.1, 0, 7, 5 + 0),
        (5, 0.1, 0, 8, 5 + 1),
        (5, 0.0, 0, 20, 20),
        (0, 0.1, 0, 20, 0),
    ],
)
def test_the_quiz_takes_what_it_still_needs_and_a_third_of_the_rest(
    quiz_size: int, share: float, marked: int, unmarked: int, quiz: int
) -> None:
    policy = GoldPolicy(quiz_size=quiz_size, hidden_gold_share=share)
    assert quiz_share_of_unmarked(policy, marked, unmarked) == quiz


@pytest.mark.parametrize(
    ("skill", "judgments", "colluder"),
    [(0.05, 20, True), (0.0, 20, True), (0.0500001, 20, False), (0.05, 19, False), (0.0, 500, True)],
)
def test_a_colluder_has_enough_work_answers_telling_at_most_the_bar(
    skill: float, judgments: int, colluder: bool
) -> None:
    assert (
        is_colluder(GoldPolicy(min_work_agreement=0.05, min_work_judgments=20), skill, judgments) is colluder
    )


def test_the_colluder_check_is_off_at_minus_one() -> None:
    assert not is_colluder(GoldPolicy(min_work_agreement=-1.0, min_work_judgments=0), 0.0, 100)
    assert is_colluder(GoldPolicy(min_work_agreement=-0.5, min_work_judgments=0), -0.5, 100)


@pytest.mark.parametrize(
    ("counts", "removed"),
    [
        ([[5, 0], [0, 5]], 1.0),
        ([[0, 5], [5, 0]], 1.0),
        ([[2, 2], [3, 3]], 0.0),
        ([[3, 1], [1, 3]], (0.75 * math.log(1.5) + 0.25 * math.log(0.5)) / math.log(2)),
        ([[4, 0, 0], [0, 2, 2], [0, 0, 0]], 1.0),
        ([[3, 2], [0, 0]], 0.0),
        ([[0, 0], [0, 0]], 0.0),
    ],
)
def test_the_share_of_uncertainty_an_answer_removes(counts: list[list[int]], removed: float) -> None:
    """U(truth | answer): 1 when the answer tells the truth (even swapped), 0
    when it is independent of it or there is no uncertainty to remove."""
    assert _uncertainty_removed(np.array(counts, dtype=np.float64)) == pytest.approx(removed)


def _judgment(item: int, worker: int, name: str) -> WorkAnswerRow:
    return WorkAnswerRow(item, worker, json.dumps({"classification": {"class_name": name}}))


def _work_skills_written_out(names: list[str], rows: list[WorkAnswerRow], rounds: int = 10) -> dict[int, Any]:
    """The definition in work_skills' docstring, one judgment at a time."""
    k = len(names)
    judged = [
        (r.item_id, r.worker_id, names.index(json.loads(r.answer)["classification"]["class_name"]))
        for r in rows
    ]
    weight = {w: 1.0 for _, w, _ in judged}
    for _ in range(rounds):
        counted = dict.fromkeys(weight, 0)
        agreed = dict.fromkeys(weight, 0)
        pairs: list[tuple[int, int, int]] = []
        for n, (item, worker, answer) in enumerate(judged):
            others = [0.0] * k
            for m, (item2, worker2, answer2) in enumerate(judged):
                if m != n and item2 == item:
                    others[answer2] += weight[worker2]
            shared = sum(1 for i, _, _ in judged if i == item) > 1
            best = max(others)
            if shared and best > 0 and sum(v >= best - 1e-9 for v in others) == 1:
                counted[worker] += 1
                agreed[worker] += others.index(best) == answer
                pairs.append((worker, others.index(best), answer))
        for w in weight:
            skill = min(max((agreed[w] + 1) / (counted[w] + 2), 1 / k), 0.99)
            weight[w] = math.log(skill * (k - 1) / (1 - skill))
    out = {}
    for w in weight:
        joint = np.zeros((k, k))
        for worker, truth, answer in pairs:
            if worker == w:
                joint[truth, answer] += 1
        total = joint.sum()
        p = joint / total if total else joint
        t, a = p.sum(axis=1), p.sum(axis=0)
        h = -sum(x * math.log(x) for x in t if x > 0)
        mi = sum(
            p[i, j] * math.log(p[i, j] / (t[i] * a[j])) for i in range(k) for j in range(k) if p[i, j] > 0
        )
        out[w] = (mi / h if total and h > 0 else 0.0, counted[w])
    return out


def test_work_skill_rates_an_honest_worker_informative_and_a_one_class_worker_not() -> None:
    truth = ["a", "b"] * 6
    rows = [_judgment(i, w, t) for i, t in enumerate(truth) for w in (11, 12)]
    rows += [_judgment(i, 13, "a") for i in range(len(truth))]
    skills = work_skills(spec("classification"), rows)
    assert skills[11] == (pytest.approx(1.0), 12)
    assert skills[12] == (pytest.approx(1.0), 12)
    assert skills[13] == (pytest.approx(0.0), 12)


@pytest.mark.parametrize("seed", range(6))
def test_work_skill_is_its_definition_on_random_crowds(seed: int) -> None:
    """Three classes, workers of every kind (right, swapping, guessing, one
    class), items judged by one to four of them; ties and items judged once
    count for nothing."""
    rng = random.Random(seed)
    names = ["a", "b", "c"]
    kinds = ["right", "right", "swap", "guess", "one", "noisy"]
    rows = []
    for item in range(40):
        truth = rng.randrange(3)
        for worker in rng.sample(range(len(kinds)), rng.randint(1, 4)):
            kind = kinds[worker]
            answer = {
                "right": truth,
                "swap": (truth + 1) % 3,
                "guess": rng.randrange(3),
                "one": 0,
                "noisy": truth if rng.random() < 0.6 else rng.randrange(3),
            }[kind]
            rows.append(_judgment(100 + item, 7 + worker, names[answer]))
    job = JobSpec(
        display_name="J",
        task_type="classification",
        classes=tuple(LabelClass(n) for n in names),
        task_config={"classes": [{"name": n} for n in names]},
    )
    got = work_skills(job, rows, rounds=3)
    want = _work_skills_written_out(names, rows, rounds=3)
    assert got.keys() == want.keys()
    for worker, (skill, counted) in want.items():
        assert got[worker] == (pytest.approx(skill, abs=1e-9), counted)


def test_work_skill_leaves_out_jobs_that_are_not_single_class_and_empty_ones() -> None:
    assert work_skills(spec("multi_label"), [_judgment(1, 1, "a"), _judgment(1, 2, "a")]) == {}
    box = json.dumps({"bounding_boxes": {"boxes": []}})
    boxes = [{"item_id": 1, "worker_id": w, "answer": box} for w in (1, 2)]
    assert work_skills(spec("bounding_box"), boxes) == {}
    assert work_skills(spec("classification"), []) == {}


def test_gold_boxes_match_one_to_one_by_overlap_and_spans_as_a_set() -> None:
    """The grading every workforce's gold goes through (Mechanical Turk's hidden
    gold HITs included): a box a pixel off is right, one half off is wrong."""

    def box(left: float, name: str = "cat") -> dict[str, Any]:
        return {"class_name": name, "left": left, "top": 0, "width": 10, "height": 10}

    def boxes(*drawn: dict[str, Any]) -> Any:
        return {"bounding_boxes": {"boxes": list(drawn)}}

    gold = boxes(box(0), box(30))
    assert grade(spec("bounding_box"), boxes(box(31), box(1)), gold)
    assert not grade(spec("bounding_box"), boxes(box(1), box(36)), gold)  # IoU 4/16 < 0.5
    assert not grade(spec("bounding_box"), boxes(box(1), box(30, "dog")), gold)
    assert not grade(spec("bounding_box"), boxes(box(1)), gold)
    assert not grade(spec("bounding_box"), {}, gold)

    def spans(*found: tuple[str, int, int]) -> Any:
        return {"spans": {"spans": [{"entity_type": t, "start": s, "end": e} for t, s, e in found]}}

    assert grade(spec("spans"), spans(("b", 5, 9), ("a", 0, 3)), spans(("a", 0, 3), ("b", 5, 9)))
    assert not grade(spec("spans"), spans(("a", 0, 4)), spans(("a", 0, 3)))


@pytest.mark.parametrize(
    ("bar", "answered", "right", "below"),
    [(0.75, 8, 6, False), (0.75, 9, 6, True), (0.7, 10, 7, False), (0.7, 10, 6, True)],
    ids=["exactly-at-the-bar", "just-under", "at-a-bar-float-products-miss", "under-that-bar"],
)
def test_the_gold_bar_is_one_rule_for_checkpoints_and_outside_records(
    bar: float, answered: int, right: int, below: bool
) -> None:
    assert below_bar(bar, answered, right, min_answered=3) is below
    status, _ = after_checkpoint(GoldPolicy(pass_accuracy=bar), WorkerStatus.QUALIFIED, answered, right)
    assert (status == WorkerStatus.DISQUALIFIED) is below


def test_an_outside_record_is_held_to_the_bar_only_from_its_minimum() -> None:
    assert not below_bar(0.8, 2, 0, min_answered=3)
    assert below_bar(0.8, 3, 2, min_answered=3)
    assert not below_bar(0.8, 0, 0)
