"""Which workers drift on numbers and key points: `worker_outliers`."""

from __future__ import annotations

import numpy as np

from labelwire.server.consolidation import RobustCentre, worker_outliers


def _clicks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """60 items, 5 clicks each from workers 0-9 in turn; worker 3 is 20 px off on every click,
    worker 7 strays once; everyone else is within a pixel."""
    rng = np.random.default_rng(3)
    items, workers, points = [], [], []
    for item in range(60):
        for slot in range(5):
            worker = (item + slot * 2) % 10
            point = np.array([100.0, 50.0]) + rng.normal(0, 1, 2)
            if worker == 3 or (worker == 7 and item == 13):
                point += 20.0
            items.append(item)
            workers.append(worker)
            points.append(point)
    return np.array(items), np.array(workers), np.array(points)


def test_a_drifting_worker_is_found_and_a_single_stray_click_is_not_drift() -> None:
    items, workers, points = _clicks()
    result = RobustCentre().fit(items, points)
    report = worker_outliers(result, items, workers, 10)
    assert report.drifting.tolist() == [w == 3 for w in range(10)]
    assert report.flagged[3] == report.checked[3] == 30
    assert report.flagged[7] == 1 and report.rate[7] < report.rate[3]


def test_too_few_values_to_tell_flag_nobody() -> None:
    result = RobustCentre().fit([0, 0, 1, 1], [1.0, 9.0, 2.0, 2.0])
    report = worker_outliers(result, [0, 0, 1, 1], [0, 1, 0, 1], 2)
    assert report.checked.tolist() == [0, 0] and not report.drifting.any() and report.pool_rate == 0.0
