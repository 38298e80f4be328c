"""Single-label classification: one class per item from the job's list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labelwire.server.consolidation import Judgments, WeightedMajorityVote
from labelwire.server.domain.checks import quote, require
from labelwire.server.domain.model import MAJORITY_VOTE, Answer, Consolidated, JobSpec
from labelwire.server.domain.tasks.base import TaskKind, uses_skill

TIE_TOLERANCE = 1e-9  # consolidation.base.decide's default
WEIGHTED = "weighted_vote"


def skill_posterior(answers: list[tuple[int, float]], n_classes: int) -> np.ndarray:
    """The one-coin posterior over classes given each answer's class and its
    worker's accuracy: a calibrated confidence even for one item on its own.

    The library's weighted vote with each answer as its own worker, and no floor on
    the weight, so an answer from a worker below chance counts against its class."""
    table = Judgments.from_lists(
        [0] * len(answers), list(range(len(answers))), [a for a, _ in answers], n_classes=n_classes
    )
    skills = np.array([s for _, s in answers], dtype=np.float64)
    result = WeightedMajorityVote(min_weight=-np.inf).fit(table, worker_skill=skills)
    return np.asarray(result.posteriors[0])


def vote_classes(names: tuple[str, ...], answers: list[int]) -> Consolidated:
    """`MajorityVote` on one item, in plain Python: the same shares (an
    integer count over the total, rounded once), the lowest class index on a
    tie, the same tie tolerance. It runs inside the writer's transaction for
    every item that completes, where numpy's per-call overhead on three votes
    cost more than the vote (bench/README.md, "Server throughput")."""
    counts = [0] * len(names)
    for answer in answers:
        counts[answer] += 1
    total = len(answers)
    shares = [c / total for c in counts]
    top = max(shares)
    label = shares.index(top)
    near = sum(1 for s in shares if s >= top - TIE_TOLERANCE)
    return Consolidated(
        value={"classification": {"class_name": names[label]}},
        confidence=top,
        probabilities={n: p for n, p in zip(names, shares, strict=True) if p > 0},
        method=MAJORITY_VOTE,
        judgment_count=total,
        tie=near > 1,
    )


class Classification(TaskKind):
    name = "classification"
    answer_key = "classification"
    component = "classification"
    min_classes = 2
    reviewable = True
    routable = True
    job_models = True
    agreement_by_consensus = True
    single_class = True
    routes_by_class = True
    vote_share_methods = frozenset({MAJORITY_VOTE})

    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        # every judgment: its message is built only when it fails
        name = body.get("class_name", "")
        if name not in spec.class_names:
            where = f"{field}.classification.class_name"
            require(False, f"{where} {quote(name)} is not one of the job's classes", where)

    def consolidate(
        self, spec: JobSpec, judgments: list[tuple[int, Answer]], skills: dict[int, float] | None
    ) -> Consolidated:
        """Majority vote, or, for jobs that weigh workers, the posterior given
        each worker's estimated accuracy."""
        names = spec.class_names
        index = {name: i for i, name in enumerate(names)}
        answers = [index[a["classification"]["class_name"]] for _, a in judgments]
        if skills is not None and uses_skill(spec):
            posterior = skill_posterior(
                [(a, skills.get(w, 0.7)) for a, (w, _) in zip(answers, judgments, strict=True)], len(names)
            )
            label = int(np.argmax(posterior))
            return Consolidated(
                value={"classification": {"class_name": names[label]}},
                confidence=float(posterior[label]),
                probabilities={n: float(p) for n, p in zip(names, posterior, strict=True) if p > 1e-6},
                method=WEIGHTED,
                judgment_count=len(judgments),
                tie=bool(np.sum(np.isclose(posterior, posterior[label])) > 1),
            )
        return vote_classes(names, answers)

    def grade(self, spec: JobSpec, mine: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
        return bool(mine.get("class_name") == right.get("class_name"))

    def category(self, answer: Answer) -> str:
        return str((answer.get("classification") or {}).get("class_name", ""))

    def model_class(self, body: Mapping[str, Any]) -> str | None:
        return str(body.get("class_name", ""))

    def gold_from_cell(self, value: Any) -> Answer | None:
        return {"classification": {"class_name": str(value)}}

    def export_value(
        self,
        body: Mapping[str, Any],
        confidence: float | None,
        classes: Sequence[str],
        media: str,
        write_mask: Any,
    ) -> tuple[Any, dict[str, Any], str]:
        index = {name: i for i, name in enumerate(classes)}
        name = body["class_name"]
        return index.get(name, -1), {"class-name": name}, f"groundtruth/{media}-classification"
