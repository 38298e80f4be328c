"""From an item's judgments to a label event in the job's feed.

Item-level consolidation runs the moment an item has its judgments, inside the
transaction that recorded the last one, so the label and its feed sequence are
committed together with the judgment that completed them.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np

from labelwire.server.consolidation import Judgments, MajorityVote
from labelwire.server.model import Answer, Consolidated, ItemState, JobSpec
from labelwire.server.store import Tx
from labelwire.server.validation import answer_key

METHOD = "majority_vote"


def consolidate_item(spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated | None:
    """Majority vote over one item's judgments (per class for multi-label)."""
    if not judgments:
        return None
    key = answer_key(spec.task_type)
    names = spec.class_names
    if key == "classification":
        index = {name: i for i, name in enumerate(names)}
        answers = [index[a[key]["class_name"]] for _, a in judgments]
        table = Judgments.from_lists(
            [0] * len(answers), list(range(len(answers))), answers, n_classes=len(names)
        )
        result = MajorityVote().fit(table)
        label = int(result.labels[0])
        return Consolidated(
            value={key: {"class_name": names[label]}},
            confidence=float(result.confidence[0]),
            probabilities={n: float(p) for n, p in zip(names, result.posteriors[0], strict=True) if p > 0},
            method=METHOD,
            judgment_count=len(judgments),
            tie=bool(result.ties[0]),
        )
    if key == "multi_label":
        chosen = np.zeros(len(names))
        position = {name: i for i, name in enumerate(names)}
        for _, answer in judgments:
            for name in answer[key].get("class_names", []):
                chosen[position[name]] += 1
        share = chosen / len(judgments)
        picked = [names[i] for i in np.flatnonzero(share > 0.5)]
        agreement = np.maximum(share, 1 - share)
        return Consolidated(
            value={key: {"class_names": picked}},
            confidence=float(agreement.min()) if len(names) else 1.0,
            probabilities={n: float(p) for n, p in zip(names, share, strict=True) if p > 0},
            method=METHOD,
            judgment_count=len(judgments),
            tie=bool(np.any(np.isclose(share, 0.5))),
        )
    return _vote_exact(judgments)


def _vote_exact(judgments: list[tuple[int, Answer]]) -> Consolidated:
    """The most frequent identical answer, for types whose geometric
    consolidation is not wired yet; the earliest wins a tie."""
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


def emit_label(tx: Tx, job_id: int, item: Any, label: Consolidated, now: float) -> int | None:
    """Writes a label event for an item unless it repeats the item's current
    label; returns the new sequence, or None."""
    if item["label_sequence"] is not None:
        current = tx.label_event(job_id, int(item["label_sequence"]))
        if (
            current is not None
            and json.loads(current["value"]) == label.value
            and abs(float(current["confidence"]) - label.confidence) < 1e-9
            and int(current["judgment_count"]) == label.judgment_count
        ):
            return None
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
        True,
        label.tie,
        now,
    )
    tx.update_item(int(item["id"]), label_sequence=sequence, label_revision=revision)
    return sequence


def finish_item(tx: Tx, spec: JobSpec, job_id: int, item_id: int, now: float) -> bool:
    """Consolidates an item that has reached its target; with dynamic judgments
    an item whose confidence is under target gets one more judgment instead.
    Returns True when a label event was written."""
    item = tx.item(item_id)
    assert item is not None
    judgments = tx.item_judgments(item_id)
    label = consolidate_item(spec, judgments)
    if label is None:
        return False
    if (
        spec.target_confidence > 0
        and label.confidence < spec.target_confidence
        and int(item["target"]) < spec.max_judgments_per_item
    ):
        tx.update_item(item_id, target=int(item["target"]) + 1)
        return False
    was_open = int(item["state"]) == ItemState.OPEN and item["label_sequence"] is None
    tx.update_item(item_id, state=int(ItemState.LABELED))
    if was_open:
        tx.count_job(job_id, labeled_items=1)
    return emit_label(tx, job_id, item, label, now) is not None
