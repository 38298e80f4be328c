"""Single-label classification: one class per item from the job's list."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from labelwire.server.consolidation import Judgments, WeightedMajorityVote
from labelwire.server.domain.checks import quote, require
from labelwire.server.domain.model import MAJORITY_VOTE, Answer, Consolidated, JobSpec
from labelwire.server.domain.tasks.base import Judged, Priors, Skills, TaskKind, uses_skill
from labelwire.server.domain.tasks.crowd import CrowdPage, classifier, one_label
from labelwire.server.domain.tasks.exports import Exported, ExportTo, groundtruth_confidence

POSTERIOR_METHOD = "majority_vote_posterior"
"""A classification vote whose confidence is a posterior; `MAJORITY_VOTE` labels state vote shares
(multi-label, and classification labels written before), which exports convert."""
TIE_TOLERANCE = 1e-9  # consolidation.base.decide's default
DEFAULT_SKILL = 0.7  # gate.estimated_skill's, for a worker with no record
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


def vote_classes(
    names: tuple[str, ...],
    answers: list[int],
    *,
    skill: float = DEFAULT_SKILL,
    class_priors: Priors = None,
    prior_in_posterior: bool = False,
) -> Consolidated:
    """`MajorityVote(skill=skill, class_priors=...)` on one item, in plain Python.

    The label is the most frequent answer; a tie goes to the tied class the job's
    class frequencies favour (the lowest index only when they cannot tell), and is
    flagged. The confidence and probabilities are the posterior of the same votes
    cast by workers of accuracy `skill` (errors spread evenly), not the vote share:
    two of two is not certainty. It runs inside the writer's transaction for every
    item that completes, where numpy's per-call overhead on three votes cost more
    than the vote (bench/README.md, "Server throughput").

    With `prior_in_posterior` the job's class frequencies (plus one each) are also the
    posterior's prior, read for every item: the label is still the majority, but a lone vote
    for a class the job seldom sees is less sure than one for its commonest class. A job with
    a target confidence stops asking on this posterior (bench/README.md, "A majority-vote
    job's own path"). Without it the frequencies are read only on a tie, and then weigh the
    posterior too: a tie the job's commonest class wins is right more often than a coin
    among the tied (0.66 against a stated 0.46 on `quality.py`'s prior_last crowd,
    `bench/consolidation/mv_quiz.py`)."""
    k = len(names)
    counts = [0] * k
    for answer in answers:
        counts[answer] += 1
    total = len(answers)
    clipped = min(max(skill, 1e-6), 1 - 1e-6)
    weight = math.log(clipped * (max(k, 2) - 1) / (1 - clipped))
    scores = [weight * c for c in counts]
    prior = list(class_priors()) if prior_in_posterior and class_priors is not None else None
    high = max(scores)
    exps = [math.exp(s - high) for s in scores]
    norm = sum(exps)
    votes = [e / norm for e in exps]
    top = max(votes)
    tied = [i for i, p in enumerate(votes) if p >= top - TIE_TOLERANCE]
    posterior = votes if prior is None else _weighed(votes, prior)
    label = tied[0]
    if len(tied) > 1 and class_priors is not None:
        if prior is None:
            prior = list(class_priors())
            posterior = _weighed(votes, prior)
        if len(prior) == k:
            best = -math.inf
            for i in tied:
                if prior[i] > best:
                    label, best = i, prior[i]
    return Consolidated(
        value={"classification": {"class_name": names[label]}},
        confidence=posterior[label],
        probabilities={n: p for n, p in zip(names, posterior, strict=True) if p > 0},
        method=POSTERIOR_METHOD,
        judgment_count=total,
        tie=len(tied) > 1,
    )


def _weighed(votes: list[float], prior: Sequence[float]) -> list[float]:
    """The votes' posterior with the job's class frequencies (plus one each) as its prior;
    the votes' own when the prior does not fit the job's classes."""
    if len(prior) != len(votes):
        return votes
    weighed = [p * (max(f, 0.0) + 1.0) for p, f in zip(votes, prior, strict=True)]
    total = sum(weighed)
    return [p / total for p in weighed]


class Classification(TaskKind):
    name = "classification"
    answer_key = "classification"
    component = "classification"
    crowd_field = "category"
    min_classes = 2
    reviewable = True
    routable = True
    job_models = True
    agreement_by_consensus = True
    single_class = True
    routes_by_class = True
    vote_share_methods = frozenset({MAJORITY_VOTE})
    class_field = "class_name"
    groundtruth_tasks: ClassVar[Mapping[str, str]] = {
        "image": "ImageMultiClass",
        "text": "TextMultiClass",
        "video": "VideoMultiClass",
    }
    groundtruth_outputs = (
        "groundtruth/image-classification",
        "groundtruth/text-classification",
        "groundtruth/video-classification",
    )
    keywords = ("classification",)
    names_classes = True

    def label_classes(self, value: Answer, prelabel: str | None) -> set[str]:
        return {str((value.get(self.answer_key) or {}).get(self.class_field, ""))}

    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        # every judgment: its message is built only when it fails
        name = body.get("class_name", "")
        if name not in spec.class_names:
            where = f"{field}.classification.class_name"
            require(False, f"{where} {quote(name)} is not one of the job's classes", where)

    def consolidate(
        self, spec: JobSpec, judgments: Judged, skills: Skills, class_priors: Priors = None
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
        known = [skills.get(w, DEFAULT_SKILL) for w, _ in judgments] if skills else []
        skill = sum(known) / len(known) if known else DEFAULT_SKILL
        return vote_classes(
            names,
            answers,
            skill=skill,
            class_priors=class_priors,
            prior_in_posterior=spec.target_confidence > 0,
        )

    def names_class(self, body: Mapping[str, Any], name: str) -> bool:
        return bool(body.get("class_name") == name)

    def bodies_match(self, spec: JobSpec, mine: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
        return bool(mine.get("class_name") == right.get("class_name"))

    def category(self, answer: Answer) -> str:
        return str((answer.get("classification") or {}).get("class_name", ""))

    def model_class(self, body: Mapping[str, Any]) -> str | None:
        return str(body.get("class_name", ""))

    def gold_from_cell(self, value: Any) -> Answer | None:
        return {"classification": {"class_name": str(value)}}

    def label_from_groundtruth(
        self, value: Any, metadata: Mapping[str, Any], class_map: Mapping[str, str]
    ) -> tuple[Answer, float | None] | None:
        name = metadata.get("class-name") or class_map.get(str(value))
        return (
            (
                {"classification": {"class_name": str(name)}},
                groundtruth_confidence(metadata.get("confidence")),
            )
            if name
            else None
        )

    def answer_from_crowd_element(self, element: Mapping[str, Any]) -> Answer | None:
        label = element.get("label")
        return {"classification": {"class_name": label}} if isinstance(label, str) else None

    def crowd_element(self, page: CrowdPage) -> str:
        return classifier("crowd-classifier", self.crowd_field, page.class_names, page)

    def crowd_answer(self, fields: Mapping[str, Any], classes: Sequence[str]) -> Answer | None:
        label = one_label(fields.get(self.crowd_field))
        return {"classification": {"class_name": label}} if label in set(classes) else None

    def export(self, body: Mapping[str, Any], to: ExportTo) -> Exported:
        name = body["class_name"]
        return to.index.get(name, -1), {"class-name": name}, f"groundtruth/{to.media}-classification"
