"""GetJobQuality's gold_accuracy_trend, thinned: a worker's accuracy so far
after each gold answer, at most 100 evenly spaced points with the first and
the last kept."""

from __future__ import annotations

from labelwire.server.labels.quality_report import accuracy_trends
from labelwire.server.store.rows import GoldOutcomeRow


def test_each_workers_running_accuracy_in_judgment_order() -> None:
    rows = [
        GoldOutcomeRow(1, 0),
        GoldOutcomeRow(2, 1),
        GoldOutcomeRow(1, 1),
        GoldOutcomeRow(1, 1),
    ]
    assert accuracy_trends(rows) == {1: [0.0, 0.5, 2 / 3], 2: [1.0]}


def test_a_long_record_is_thinned_to_a_hundred_points_keeping_both_ends() -> None:
    # Wrong first, then right 999 times: from 0% to 99.9%.
    rows = [GoldOutcomeRow(7, 0)] + [GoldOutcomeRow(7, 1)] * 999
    line = accuracy_trends(rows)[7]
    assert len(line) == 100
    assert line[0] == 0.0 and line[-1] == 999 / 1000
    assert line == sorted(line)
    full = [right / n for n, right in enumerate(range(0, 1000), start=1)]
    assert all(any(abs(p - f) < 1e-12 for f in full) for p in line)
