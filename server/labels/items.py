"""From an item's judgments to a label event in the job's feed.

Item-level consolidation runs the moment an item has its judgments, inside the
transaction that recorded the last one, so the label and its feed sequence are
committed together with the judgment that completed them.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelwire.server.consolidation import (
    BinaryRelevance,
    Judgments,
    MajorityVote,
    MultiLabelJudgments,
    WeightedMajorityVote,
)
from labelwire.server.dispatch.gate import estimated_skill
from labelwire.server.domain import specs
from labelwire.server.domain.model import Answer, Consolidated, ItemState, JobSpec
from labelwire.server.domain.validation import answer_key
from labelwire.server.labels import chains, geometry, verdicts
from labelwire.server.store import Tx

METHOD = "majority_vote"
POSTERIOR_METHOD = "majority_vote_posterior"
"""A classification vote whose confidence is a posterior; `METHOD` labels state vote shares
(multi-label, and classification labels written before), which exports convert."""
TIE_TOLERANCE = 1e-9  # consolidation.base.decide's default
DEFAULT_SKILL = 0.7  # gate.estimated_skill's, for a worker with no record
PRIOR_SAMPLE = 200
"""Current labels read to estimate a job's class frequencies when a vote ties."""
WEIGHTED = "weighted_vote"


@dataclass(frozen=True)
class JobModel:
    """What the last job-level pass of a classification job learned: class priors and each
    worker's confusion matrix (`[truth, answer]`). An item that completes between passes is
    labeled with it, so its first label is the one the next pass would give (issue 13)."""

    priors: np.ndarray
    confusions: dict[int, np.ndarray]
    job_created_at: float = 0.0
    """Which job of that id it is: ids start again in a new database (tests, a restore)."""
    method: str = ""
    """The consolidation method that fitted it: a job updated to another method stops using it."""


MAX_MODELS = 256
_models: OrderedDict[int, JobModel] = OrderedDict()
_models_lock = threading.Lock()


def keep_model(job_id: int, model: JobModel) -> None:
    """Keeps a job's latest pass model in this process (the most recent `MAX_MODELS` jobs).
    Another replica, or this one after a restart, labels with the workers' pass skills until
    its next pass, as before: the model is a refinement, never needed for a label."""
    with _models_lock:
        _models[job_id] = model
        _models.move_to_end(job_id)
        while len(_models) > MAX_MODELS:
            _models.popitem(last=False)


def job_model(tx: Tx, job_id: int) -> JobModel | None:
    with _models_lock:
        model = _models.get(job_id)
    if model is None:
        return None
    job = tx.job(job_id)
    return model if job is not None and float(job["created_at"]) == model.job_created_at else None


def model_posterior(model: JobModel, answers: list[tuple[int, int]], skills: dict[int, float]) -> np.ndarray:
    """The pass model's posterior for one item (its E-step): class priors times each answer's
    likelihood under its worker's confusion matrix; a worker the pass has not seen answers
    with its estimated skill, errors spread evenly."""
    k = len(model.priors)
    log_post = np.log(np.maximum(model.priors, 1e-12))
    for worker, answer in answers:
        matrix = model.confusions.get(worker)
        if matrix is None:
            s = min(max(skills.get(worker, DEFAULT_SKILL), 1e-3), 1 - 1e-3)
            column = np.full(k, (1 - s) / max(k - 1, 1))
            column[answer] = s
        else:
            column = matrix[:, answer]
        log_post = log_post + np.log(np.maximum(column, 1e-12))
    post = np.exp(log_post - log_post.max())
    return np.asarray(post / post.sum())


def uses_skill(spec: JobSpec) -> bool:
    """Whether the job's labels weigh workers by their estimated accuracy."""
    return spec.consolidation_method != "majority_vote"


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


def consolidate_item(
    spec: JobSpec,
    judgments: list[tuple[int, Answer]],
    skills: dict[int, float] | None = None,
    class_priors: Callable[[], Sequence[float]] | None = None,
    model: JobModel | None = None,
) -> Consolidated | None:
    """One item's label from its judgments: majority vote (per class for
    multi-label), or, for jobs that weigh workers, the posterior given the last
    pass's `model` when there is one, else each worker's estimated accuracy.
    `class_priors` gives the job's class frequencies; it is called only when a
    majority vote ties."""
    if not judgments:
        return None
    key = answer_key(spec.task_type)
    names = spec.class_names
    if key == "verification" and (voted := verdicts.vote([a for _, a in judgments])) is not None:
        return voted
    if key == "classification":
        index = {name: i for i, name in enumerate(names)}
        answers = [index[a[key]["class_name"]] for _, a in judgments]
        if (
            model is not None
            and model.method == spec.consolidation_method
            and len(model.priors) == len(names)
        ):
            posterior = model_posterior(
                model, [(w, a) for a, (w, _) in zip(answers, judgments, strict=True)], skills or {}
            )
            label = int(np.argmax(posterior))
            return Consolidated(
                value={key: {"class_name": names[label]}},
                confidence=float(posterior[label]),
                probabilities={n: float(p) for n, p in zip(names, posterior, strict=True) if p > 1e-6},
                method=spec.consolidation_method,
                judgment_count=len(judgments),
                tie=bool(np.sum(np.isclose(posterior, posterior[label])) > 1),
            )
        if skills is not None and uses_skill(spec):
            posterior = skill_posterior(
                [(a, skills.get(w, 0.7)) for a, (w, _) in zip(answers, judgments, strict=True)], len(names)
            )
            label = int(np.argmax(posterior))
            return Consolidated(
                value={key: {"class_name": names[label]}},
                confidence=float(posterior[label]),
                probabilities={n: float(p) for n, p in zip(names, posterior, strict=True) if p > 1e-6},
                method=WEIGHTED,
                judgment_count=len(judgments),
                tie=bool(np.sum(np.isclose(posterior, posterior[label])) > 1),
            )
        known = [skills.get(w, DEFAULT_SKILL) for w, _ in judgments] if skills else []
        skill = sum(known) / len(known) if known else DEFAULT_SKILL
        return _vote_classes(names, answers, skill=skill, class_priors=class_priors)
    if key == "multi_label":
        return _multi_label(names, [answer[key].get("class_names", []) for _, answer in judgments])
    if key == "bounding_boxes":
        return geometry.boxes(spec, judgments)
    if key == "spans":
        return geometry.spans(spec, judgments)
    if key == "segmentation":
        return geometry.segmentation(spec, judgments, skills if uses_skill(spec) else None)
    return _vote_exact(judgments)


def _multi_label(names: Sequence[str], ticked: list[list[str]]) -> Consolidated:
    """Binary relevance with a plain vote per class: a class is in the label when
    more than half the workers ticked it; the confidence is that of the least
    certain class."""
    position = {name: i for i, name in enumerate(names)}
    selected = np.zeros((len(ticked), len(names)), dtype=np.bool_)
    for row, chosen in enumerate(ticked):
        selected[row, [position[name] for name in chosen]] = True
    share = np.zeros(len(names))
    if names:
        table = MultiLabelJudgments.from_lists([0] * len(ticked), list(range(len(ticked))), selected)
        result = BinaryRelevance(MajorityVote()).fit(table)
        share = result.posteriors[0]
    return Consolidated(
        value={"multi_label": {"class_names": [names[int(i)] for i in np.flatnonzero(share > 0.5)]}},
        confidence=float(np.maximum(share, 1 - share).min()) if names else 1.0,
        probabilities={n: float(p) for n, p in zip(names, share, strict=True) if p > 0},
        method=METHOD,
        judgment_count=len(ticked),
        tie=bool(np.any(np.isclose(share, 0.5))),
    )


def _vote_classes(
    names: tuple[str, ...],
    answers: list[int],
    *,
    skill: float = DEFAULT_SKILL,
    class_priors: Callable[[], Sequence[float]] | None = None,
) -> Consolidated:
    """`MajorityVote(skill=skill, class_priors=...)` on one item, in plain Python.

    The label is the most frequent answer; a tie goes to the tied class the job's
    class frequencies favour (the lowest index only when they cannot tell), and is
    flagged. The confidence and probabilities are the posterior of the same votes
    cast by workers of accuracy `skill` (errors spread evenly), not the vote share:
    two of two is not certainty. It runs inside the writer's transaction for every
    item that completes, where numpy's per-call overhead on three votes cost more
    than the vote (bench/README.md, "Server throughput")."""
    k = len(names)
    counts = [0] * k
    for answer in answers:
        counts[answer] += 1
    total = len(answers)
    clipped = min(max(skill, 1e-6), 1 - 1e-6)
    weight = math.log(clipped * (max(k, 2) - 1) / (1 - clipped))
    scores = [weight * c for c in counts]
    high = max(scores)
    exps = [math.exp(s - high) for s in scores]
    norm = sum(exps)
    posterior = [e / norm for e in exps]
    top = max(posterior)
    tied = [i for i, p in enumerate(posterior) if p >= top - TIE_TOLERANCE]
    label = tied[0]
    if len(tied) > 1 and class_priors is not None:
        prior = list(class_priors())
        if len(prior) == k:
            best = -math.inf
            for i in tied:
                if prior[i] > best:
                    label, best = i, prior[i]
    return Consolidated(
        value={"classification": {"class_name": names[label]}},
        confidence=top,
        probabilities={n: p for n, p in zip(names, posterior, strict=True) if p > 0},
        method=POSTERIOR_METHOD,
        judgment_count=total,
        tie=len(tied) > 1,
    )


def job_class_frequencies(tx: Tx, spec: JobSpec, item_id: int) -> list[float]:
    """How often each class is the current label among up to `PRIOR_SAMPLE` labeled
    items of the item's job (this one left out): the prior a tied vote is broken by. Read only on a tie, so an untied item costs no query."""
    item = tx.item(item_id)
    index = {name: i for i, name in enumerate(spec.class_names)}
    counts = [0.0] * len(index)
    if item is None:
        return counts
    for row in tx.current_labels(int(item["job_id"]), 0, PRIOR_SAMPLE):
        name = json.loads(row["value"]).get("classification", {}).get("class_name")
        if name in index and int(row["item_id"]) != item_id:
            counts[index[name]] += 1
    return counts


def _vote_exact(judgments: list[tuple[int, Answer]]) -> Consolidated:
    """The most frequent identical answer (verification and custom answers);
    the earliest wins a tie."""
    texts = [json.dumps(a, sort_keys=True) for _, a in judgments]
    counts = Counter(texts)
    top = max(counts.values())
    winners = [t for t in dict.fromkeys(texts) if counts[t] == top]
    value: dict[str, Any] = json.loads(winners[0])
    return Consolidated(
        value=value,
        confidence=top / len(texts),
        probabilities={},
        method="majority_vote_exact",
        judgment_count=len(texts),
        tie=len(winners) > 1,
    )


def item_label(tx: Tx, spec: JobSpec, item_id: int, job_id: int | None = None) -> Consolidated | None:
    """The label an item's counted judgments give now; with the item's `job_id`, by the
    job's last pass model when this process keeps one."""
    judgments = tx.item_judgments(item_id)
    weighs = uses_skill(spec) or answer_key(spec.task_type) == "classification"
    records = tx.skills_of([w for w, _ in judgments]) if judgments and weighs else {}
    skills = {w: estimated_skill(*r) for w, r in records.items()}
    if not uses_skill(spec):
        return consolidate_item(spec, judgments, skills, lambda: job_class_frequencies(tx, spec, item_id))
    model = job_model(tx, job_id) if job_id is not None else None
    return consolidate_item(spec, judgments, skills, model=model)


CORRECTION_METHOD = "owner_correction"


def emit_label(
    tx: Tx,
    job_id: int,
    item: Any,
    label: Consolidated,
    now: float,
    *,
    spec: JobSpec | None = None,
    **item_values: Any,
) -> int | None:
    """Writes a label event for an item unless it repeats the item's current
    label, or the current label is the owner's correction (a person who owns
    the job has the last word over any later pass) or a downstream job's
    label routed back (its job has the last word); returns the new
    sequence, or None. `item_values` are other columns of the item to set, in
    the same update as its label when there is one."""
    if item["label_sequence"] is not None:
        current = tx.label_event(job_id, int(item["label_sequence"]))
        if current is not None and current["method"] in (CORRECTION_METHOD, chains.ROUTED_METHOD):
            if item_values:
                tx.update_item(int(item["id"]), **item_values)
            return None
        if (
            current is not None
            and json.loads(current["value"]) == label.value
            and abs(float(current["confidence"]) - label.confidence) < 0.005
            and int(current["judgment_count"]) == label.judgment_count
        ):
            if item_values:
                tx.update_item(int(item["id"]), **item_values)
            return None
    return append_label(tx, job_id, item, label, now, spec=spec, **item_values)


def append_label(
    tx: Tx,
    job_id: int,
    item: Any,
    label: Consolidated,
    now: float,
    *,
    human: bool = True,
    spec: JobSpec | None = None,
    **item_values: Any,
) -> int:
    """The item's next revision, as the next event of the job's feed; in
    the same transaction, the item goes on to the jobs its job's routing
    rules name, and a forwarded item's label back to the item it came from
    (`labels.chains`). A caller that holds the job's spec passes it."""
    sequence = tx.next_sequence(job_id)
    revision = int(item["label_revision"]) + 1
    tx.insert_label(
        job_id,
        sequence,
        int(item["id"]),
        revision,
        label.value,
        label.confidence,
        label.probabilities,
        label.method,
        label.judgment_count,
        human,
        label.tie,
        now,
    )
    tx.update_item(int(item["id"]), **item_values, label_sequence=sequence, label_revision=revision)
    _chain(tx, spec, job_id, item, label, sequence, now, human)
    return sequence


def _corrected(tx: Tx, item: Any) -> bool:
    """Whether the item's label is its owner's correction, which nothing revises."""
    if item["label_sequence"] is None:
        return False
    current = tx.label_event(int(item["job_id"]), int(item["label_sequence"]))
    return current is not None and current["method"] == CORRECTION_METHOD


def _chain(
    tx: Tx,
    spec: JobSpec | None,
    job_id: int,
    item: Any,
    label: Consolidated,
    sequence: int,
    now: float,
    human: bool,
) -> None:
    item_id = int(item["id"])
    try:
        upstream_id = item["routed_from"]
    except (IndexError, KeyError):  # a caller's row of a few columns
        upstream_id = tx.routed_from(item_id)
    if upstream_id is not None:
        upstream = tx.item(int(upstream_id))
        if upstream is not None and chains.takes_labels_back(tx, upstream) and not _corrected(tx, upstream):
            append_label(tx, int(upstream["job_id"]), upstream, chains.routed_back(label), now, human=human)
    if label.method in (chains.ROUTED_METHOD, CORRECTION_METHOD):
        return  # a label from downstream, or the owner's own word: neither goes on
    if spec is None:
        row = tx.job(job_id)
        spec = specs.from_json(json.loads(row["spec"])) if row is not None else None
    if spec is not None and spec.routing_rules:
        chains.forward(tx, spec, job_id, item_id, label, sequence, now)


def _one_more(tx: Tx, spec: JobSpec, job_id: int, item: Any) -> int | None:
    """What asking one more judgment of an item reserves now, or None when
    the budget, less what is spent and reserved, cannot pay it (the item is
    then labeled with the judgments it has). A push workforce's claim holds
    the item, so its claim reserves the judgment's price and claimed fee here,
    as the claim did for the first ones; a pool lease reserves its own price
    when it is handed out."""
    claimed = item["claimed_by"] is not None
    cost = spec.price_per_judgment_micros + (int(item["claim_fee_micros"]) if claimed else 0)
    if spec.budget_micros:
        job = tx.job(job_id)
        if job is None:
            return None
        left = spec.budget_micros - int(job["cost_micros"]) - int(job["reserved_micros"])
        if left <= 0 or left < cost:
            return None
    return cost if claimed else 0


def finish_item(tx: Tx, spec: JobSpec, job_id: int, item_id: int, now: float, item: Any = None) -> bool:
    """Consolidates an item that has reached its target; with dynamic judgments
    an item whose confidence is under target gets one more judgment instead.
    Returns True when a label event was written. A caller that has read the
    item in this transaction passes its row (only its counts of judgments
    and leases may have changed since, which this does not read)."""
    item = item if item is not None else tx.item(item_id)
    assert item is not None
    label = item_label(tx, spec, item_id, job_id)
    if label is None:
        return False
    if (
        spec.target_confidence > 0
        and label.confidence < spec.target_confidence
        and int(item["target"]) < spec.max_judgments_per_item
    ):
        more = _one_more(tx, spec, job_id, item)
        if more == 0:
            tx.update_item(item_id, target=int(item["target"]) + 1)
            return False
        if more is not None:
            tx.update_item(
                item_id, target=int(item["target"]) + 1, reserved_micros=int(item["reserved_micros"]) + more
            )
            tx.count_job(job_id, reserved_micros=more)
            return False
    was_open = int(item["state"]) == ItemState.OPEN and item["label_sequence"] is None
    if was_open:
        tx.count_job(job_id, labeled_items=1)
    return emit_label(tx, job_id, item, label, now, spec=spec, state=int(ItemState.LABELED)) is not None
