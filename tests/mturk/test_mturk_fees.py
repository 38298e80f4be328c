"""MTurk's fee arithmetic against the pricing rules of aws.md 4.10."""

from __future__ import annotations

from decimal import Decimal

import pytest

from labelwire.adapters.mturk.fees import bonus_fee, cost_of_judgments, fee


@pytest.mark.parametrize(
    ("reward", "assignments", "masters", "expected"),
    [
        ("0.05", 1, False, "0.01"),  # 20% of 5 cents
        ("1.00", 9, False, "0.20"),  # 20%
        ("1.00", 10, False, "0.40"),  # 10 or more assignments: 20% + 20%
        ("1.00", 3, True, "0.25"),  # Masters: 20% + 5%
        ("1.00", 10, True, "0.45"),  # both
        ("0.01", 1, False, "0.01"),  # 0.002 -> the $0.01 minimum
        ("0.04", 1, False, "0.01"),  # 0.008 -> the minimum
        ("0.10", 1, True, "0.03"),  # 0.025 rounds half-up (banker's rounding would give 0.02)
        ("0.13", 1, False, "0.03"),  # 0.026 -> 0.03
        ("0.12", 1, False, "0.02"),  # 0.024 -> 0.02
    ],
)
def test_fee_per_approved_assignment(reward: str, assignments: int, masters: bool, expected: str) -> None:
    assert fee(reward, assignments, masters) == Decimal(expected)


def test_cost_of_k_judgments_matches_the_documented_formula() -> None:
    # k x max(reward x 1.20, reward + 0.01) for k <= 9; k x max(reward x 1.40, reward + 0.01) for >= 10
    assert cost_of_judgments("0.05", 3, 3, False) == Decimal("0.18")
    assert cost_of_judgments("0.02", 5, 5, False) == Decimal("0.15")
    assert cost_of_judgments("0.50", 10, 10, False) == Decimal("7.00")


def test_bonus_pays_the_plain_twenty_percent_with_the_minimum() -> None:
    assert bonus_fee("1.00") == Decimal("0.20") and bonus_fee("0.02") == Decimal("0.01")
