"""A verification item's consolidated verdict: how many workers confirmed
the model's label, how many disconfirmed it, and whether they split.

The counts travel in the label's class probabilities under the names
`confirmed` and `disconfirmed` (shares of `judgment_count`), so the feed's
storage is unchanged and the transport derives the summary from them.
"""

from __future__ import annotations

from typing import Any

from labelwire.server.domain.model import Consolidated

CONFIRMED, DISCONFIRMED = "confirmed", "disconfirmed"
METHOD = "verification_vote"


def single_verdict(answer: dict[str, Any]) -> bool | None:
    """The one verdict of a per-item verification judgment, else None
    (an outside workforce may report a whole batch's verdicts at once)."""
    correct = (answer.get("verification") or {}).get("correct")
    return bool(correct[0]) if isinstance(correct, list) and len(correct) == 1 else None


def vote(answers: list[dict[str, Any]]) -> Consolidated | None:
    """Majority of verdicts; a tie is a split (the label then says
    disconfirmed, the cautious reading, with `tie` set)."""
    verdicts = [single_verdict(a) for a in answers]
    if not verdicts or any(v is None for v in verdicts):
        return None
    yes = sum(1 for v in verdicts if v)
    total = len(verdicts)
    no = total - yes
    return Consolidated(
        value={"verification": {"correct": [yes > no]}},
        confidence=max(yes, no) / total,
        probabilities={CONFIRMED: yes / total, DISCONFIRMED: no / total},
        method=METHOD,
        judgment_count=total,
        tie=yes == no,
    )


def counts(probabilities: dict[str, float], judgment_count: int) -> tuple[int, int] | None:
    """(confirmed, disconfirmed) of a verification label, else None."""
    if CONFIRMED not in probabilities and DISCONFIRMED not in probabilities:
        return None
    yes = round(probabilities.get(CONFIRMED, 0.0) * judgment_count)
    return yes, judgment_count - yes
