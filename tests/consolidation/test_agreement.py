import numpy as np
import pytest

from labelwire.server.consolidation import Judgments
from labelwire.server.consolidation.agreement import (
    agreement_report,
    dissent_histogram,
    fleiss_kappa_from_counts,
    krippendorff_alpha_nominal,
    krippendorff_alpha_nominal_from_counts,
)

# Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units, values 1-5,
# None where an observer gave no value.
KRIPPENDORFF_DATA = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_fleiss_kappa_matches_the_wikipedia_worked_example() -> None:
    assert fleiss_kappa_from_counts(FLEISS_TABLE) == pytest.approx(0.20993, abs=5e-5)


def test_krippendorff_alpha_nominal_matches_krippendorffs_example() -> None:
    items, workers, answers = [], [], []
    for observer, row in enumerate(KRIPPENDORFF_DATA):
        for unit, value in enumerate(row):
            if value is not None:
                items.append(unit)
                workers.append(observer)
                answers.append(value - 1)
    j = Judgments.from_lists(items, workers, answers, n_classes=5)

    assert krippendorff_alpha_nominal(j) == pytest.approx(0.743, abs=5e-4)


def test_perfect_agreement_gives_alpha_one() -> None:
    assert krippendorff_alpha_nominal_from_counts([[3, 0], [0, 3], [3, 0]]) == pytest.approx(1.0)


def test_dissent_histogram_counts_items_by_dissenting_judgments() -> None:
    # Item 0: unanimous; item 1: one dissenter; item 2: one dissenter; item 3: two dissenters out of five.
    items = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]
    answers = [1, 1, 1, 0, 0, 1, 2, 2, 0, 1, 1, 1, 0, 2]
    j = Judgments.from_lists(items, list(range(14)), answers, n_classes=3)

    assert dissent_histogram(j).tolist() == [1, 2, 1]


def test_agreement_report_scores_each_worker_against_the_consolidated_label() -> None:
    j = Judgments.from_lists([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [0, 0, 1, 1, 1, 1], n_classes=2)

    report = agreement_report(j, labels=np.array([0, 1]))

    assert report.worker_agreement == pytest.approx([1.0, 1.0, 0.5])
    assert report.dissent_histogram.tolist() == [1, 1]
