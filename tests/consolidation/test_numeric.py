import numpy as np

from labelwire.server.consolidation import RobustCentre
from labelwire.server.consolidation.numeric import grouped_median


def test_grouped_median_handles_odd_even_and_empty_groups() -> None:
    medians = grouped_median(np.array([0, 0, 0, 2, 2]), np.array([3.0, 1.0, 2.0, 10.0, 20.0]), 3)

    assert medians[0] == 2.0 and medians[2] == 15.0 and np.isnan(medians[1])


def test_typo_is_flagged_and_does_not_move_the_centre() -> None:
    result = RobustCentre().fit([0, 0, 0, 0], [10.0, 11.0, 10.5, 105.0])

    assert result.centre.tolist() == [10.75]
    assert result.spread.tolist() == [0.5]
    assert result.outliers.tolist() == [False, False, False, True]


def test_two_values_are_never_outliers() -> None:
    result = RobustCentre().fit([0, 0], [1.0, 100.0])

    assert not result.outliers.any()


def test_key_point_centre_is_coordinate_wise_median_and_a_stray_click_is_flagged() -> None:
    points = [[10, 10], [11, 10], [10, 11], [11, 11], [40, 40]]

    result = RobustCentre().fit([0] * 5, points)

    assert result.centre[0].tolist() == [11.0, 11.0]
    assert result.outliers.tolist() == [False, False, False, False, True]


def test_min_spread_keeps_identical_answers_from_making_a_near_miss_an_outlier() -> None:
    values = [10.0, 10.0, 10.0, 10.01]

    assert RobustCentre().fit([0] * 4, values).outliers[3]
    assert not RobustCentre(min_spread=0.05).fit([0] * 4, values).outliers[3]
