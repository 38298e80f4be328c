import numpy as np
import pytest

from labelwire.server.consolidation import BoxConsolidation, BoxJudgments
from labelwire.server.consolidation.boxes import iou


def test_iou_of_half_overlapping_squares_is_one_third() -> None:
    assert iou(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 3, 2]]))[0, 0] == pytest.approx(1 / 3)


def test_boxes_drawn_by_a_majority_are_averaged_and_a_lone_box_is_dropped() -> None:
    boxes = [
        [10, 10, 20, 20], [11, 10, 21, 20], [10, 11, 20, 21],  # object A, all three workers
        [50, 50, 60, 60], [50, 50, 60, 62],  # object B, workers 0 and 1
        [80, 0, 90, 10],  # worker 2 only
    ]  # fmt: skip
    j = BoxJudgments.from_lists([0] * 6, [0, 1, 2, 0, 1, 2], boxes)

    result = BoxConsolidation().fit(j)

    assert result.support.tolist() == [3, 2]
    assert result.boxes[0] == pytest.approx([31 / 3, 31 / 3, 61 / 3, 61 / 3])
    assert result.boxes[1] == pytest.approx([50, 50, 60, 61])
    assert result.share == pytest.approx([1.0, 2 / 3])
    assert result.mutual_iou[1] == pytest.approx(100 / 120)
    assert result.cluster.tolist() == [0, 0, 0, 1, 1, -1]
    assert result.worker_precision == pytest.approx([1.0, 1.0, 0.5])


def test_a_worker_never_lands_two_boxes_in_one_cluster() -> None:
    # Worker 0 drew the same object twice; worker 1 once.
    boxes = [[0, 0, 10, 10], [0, 0, 10, 11], [0, 0, 10, 10]]
    j = BoxJudgments.from_lists([0, 0, 0], [0, 0, 1], boxes)

    result = BoxConsolidation().fit(j)

    assert result.support.tolist() == [2]
    assert sorted(result.cluster.tolist()) == [-1, 0, 0]


def test_workers_shown_the_item_who_drew_nothing_vote_against_a_box() -> None:
    j = BoxJudgments.from_lists(
        [0, 0], [0, 1], [[0, 0, 10, 10], [0, 0, 10, 10]], assigned=([0, 0, 0, 0], [0, 1, 2, 3])
    )

    result = BoxConsolidation().fit(j)

    assert result.boxes.shape == (0, 4)


def test_boxes_of_different_classes_are_consolidated_apart() -> None:
    boxes = [[0, 0, 10, 10]] * 4
    j = BoxJudgments.from_lists([0, 0, 0, 0], [0, 1, 0, 1], boxes, labels=[0, 0, 1, 1])

    result = BoxConsolidation().fit(j)

    assert result.labels.tolist() == [0, 1]
    assert result.confidence == pytest.approx([1.0, 1.0])


def test_worker_skill_pulls_the_mean_box_towards_the_better_worker() -> None:
    j = BoxJudgments.from_lists([0, 0], [0, 1], [[0, 0, 10, 10], [0, 0, 12, 10]])

    result = BoxConsolidation().fit(j, worker_skill=np.array([0.9, 0.1]))

    assert result.boxes[0] == pytest.approx([0, 0, 10.2, 10])
