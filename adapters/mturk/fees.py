"""MTurk's commission, as its pricing page documents it (aws.md 4.10).

20% of the reward; 20% more on HITs with 10 or more assignments; 5% more
with the Masters qualification; at least $0.01 per assignment; rounded half-up
to the cent. Charged on approval (also automatic approval), never on rejected
work. Money is kept in whole cents so sums never drift.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

BASE_RATE = Decimal("0.20")
LARGE_HIT_RATE = Decimal("0.20")
MASTERS_RATE = Decimal("0.05")
MINIMUM_FEE = Decimal("0.01")
CENT = Decimal("0.01")
LARGE_HIT_ASSIGNMENTS = 10


def commission_rate(max_assignments: int, masters: bool) -> Decimal:
    rate = BASE_RATE
    if max_assignments >= LARGE_HIT_ASSIGNMENTS:
        rate += LARGE_HIT_RATE
    if masters:
        rate += MASTERS_RATE
    return rate


def fee(reward: Decimal | str, max_assignments: int, masters: bool) -> Decimal:
    """MTurk's fee on one approved assignment of a HIT with `max_assignments` assignments."""
    amount = Decimal(reward) * commission_rate(max_assignments, masters)
    return max(MINIMUM_FEE, amount.quantize(CENT, rounding=ROUND_HALF_UP))


def fee_cents(reward: Decimal | str, max_assignments: int, masters: bool) -> int:
    return int(fee(reward, max_assignments, masters) / CENT)


def bonus_fee(bonus: Decimal | str) -> Decimal:
    """Bonuses pay the plain 20% (never the 10+ assignments surcharge), at least $0.01."""
    return max(MINIMUM_FEE, (Decimal(bonus) * BASE_RATE).quantize(CENT, rounding=ROUND_HALF_UP))


def cost_of_judgments(reward: Decimal | str, judgments: int, max_assignments: int, masters: bool) -> Decimal:
    """What `judgments` approved assignments cost in all: k x (reward + fee)."""
    return judgments * (Decimal(reward) + fee(reward, max_assignments, masters))


def dollars(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"
