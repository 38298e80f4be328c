"""Jobs that feed jobs: a job's routing rules send an item whose label meets
a condition on to another job of the same owner (a correction job, an expert
review), and that job's labels of it flow back as the item's next revisions.

The forward is written in the transaction that writes the upstream label, as
an item of the downstream job with the same key, inserted only if the key is
new there: a label that is rolled back forwards nothing, and a revision, a
retry after a crash or another replica finds the item there and adds nothing,
so each item is forwarded at most once per downstream job.
"""

from __future__ import annotations

import json

from labelwire.server.domain import specs
from labelwire.server.domain.errors import FailedPrecondition, InvalidArgument
from labelwire.server.domain.model import Consolidated, JobSpec, JobState, RoutingRule
from labelwire.server.domain.tasks import task_kind
from labelwire.server.store import Tx
from labelwire.server.store.rows import ItemRow

# The method of a revision that carries a downstream job's label back; a
# later pass of the upstream job keeps it, as it keeps an owner's correction.
ROUTED_METHOD = "routed"
# The key of the upstream facts in a forwarded item's metadata.
UPSTREAM = "upstream"
DEAD_STATES = (JobState.CANCELLED, JobState.FAILED)


def verdict(label: Consolidated) -> str:
    """confirmed, disconfirmed or split, for a verification label; else ''."""
    body = label.value.get("verification")
    if not isinstance(body, dict):
        return ""
    if label.tie:
        return "split"
    correct = body.get("correct") or []
    return "confirmed" if correct and bool(correct[0]) else "disconfirmed"


def label_classes(spec: JobSpec, item: ItemRow, label: Consolidated) -> set[str]:
    """The classes a label says: its class, a multi-label's classes, or for
    a verification item the model's class it verified."""
    return task_kind(spec).label_classes(label.value, item.prelabel)


def matches(rule: RoutingRule, spec: JobSpec, item: ItemRow, label: Consolidated) -> bool:
    if rule.confidence_below is not None and not label.confidence < rule.confidence_below:
        return False
    if rule.verdict and verdict(label) != rule.verdict:
        return False
    return not rule.classes or bool(label_classes(spec, item, label) & set(rule.classes))


def forward(
    tx: Tx, spec: JobSpec, job_id: int, item_id: int, label: Consolidated, sequence: int, now: float
) -> int:
    """Forwards an item whose new label meets routing rules of its job;
    returns the downstream items added (0 when each was there already)."""
    if label.method == ROUTED_METHOD:
        return 0
    item = None
    added = 0
    for rule in spec.routing_rules:
        item = item if item is not None else tx.item(item_id)
        if item is None or item.is_gold or not matches(rule, spec, item, label):
            continue
        added += _forward_to(tx, job_id, item, label, sequence, rule.target_job_id, now)
    return added


def _forward_to(
    tx: Tx, job_id: int, item: ItemRow, label: Consolidated, sequence: int, target_id: int, now: float
) -> int:
    source = tx.job(job_id)
    target = tx.job(target_id)
    if source is None or target is None or target.owner_id != source.owner_id:
        return 0
    state = target.state
    if state in DEAD_STATES:
        return 0
    target_spec = specs.from_json(json.loads(target.spec))
    metadata = json.loads(item.metadata) if item.metadata else {}
    metadata = metadata if isinstance(metadata, dict) else {"metadata": metadata}
    metadata[UPSTREAM] = {
        "job": f"jobs/{job_id}",
        "sequence": sequence,
        "label": label.value,
        "confidence": label.confidence,
        "method": label.method,
    }
    if not tx.insert_routed_item(target_id, item, json.dumps(metadata), target_spec.floor, now):
        return 0
    tx.count_job(target_id, total_items=1)
    if state == JobState.COMPLETED:
        tx.set_job_state(target_id, JobState.RUNNING, now)
        tx.set_end_reason(target_id, 0)
    return 1


def takes_labels_back(tx: Tx, upstream: ItemRow) -> bool:
    """Whether the upstream item's job still takes revisions (a cancelled or
    failed job's feed is closed)."""
    row = tx.job(upstream.job_id)
    return row is not None and row.state not in DEAD_STATES


def routed_back(label: Consolidated) -> Consolidated:
    """A downstream label as the upstream item's next revision."""
    return Consolidated(
        value=label.value,
        confidence=label.confidence,
        probabilities=label.probabilities,
        method=ROUTED_METHOD,
        judgment_count=label.judgment_count,
        tie=label.tie,
    )


def check_rules(tx: Tx, owner_id: int, job_id: int | None, spec: JobSpec) -> None:
    """Refuses a rule whose target is not one of the owner's live jobs, or
    that would close a cycle of jobs (so a label never travels in a loop)."""
    for i, rule in enumerate(spec.routing_rules):
        field = f"job.routing_rules[{i}].target_job"
        target = tx.job(rule.target_job_id)
        if target is None or target.owner_id != owner_id:
            raise InvalidArgument(f"{field} jobs/{rule.target_job_id} is not one of your jobs", field)
        if rule.target_job_id == job_id:
            raise InvalidArgument(f"{field} names this job itself; a job cannot feed itself", field)
        if target.state in DEAD_STATES:
            raise FailedPrecondition(
                f"{field} jobs/{rule.target_job_id} is {target.state.name.lower()}; it takes no more items"
            )
        if job_id is not None:
            path = _path_to(tx, rule.target_job_id, job_id)
            if path is not None:
                loop = " -> ".join(f"jobs/{j}" for j in [job_id, *path])
                raise InvalidArgument(f"{field} would close a cycle of jobs: {loop}", field)


def _path_to(tx: Tx, start: int, goal: int) -> list[int] | None:
    """A chain of routing rules from `start` to `goal`, as the jobs on it."""
    parents: dict[int, int | None] = {start: None}
    queue = [start]
    while queue:
        here = queue.pop(0)
        if here == goal:
            path = [here]
            while (back := parents[path[-1]]) is not None:
                path.append(back)
            return path[::-1]
        row = tx.job(here)
        if row is None:
            continue
        for rule in json.loads(row.spec).get("routing_rules", ()):
            nxt = int(rule["target_job_id"])
            if nxt not in parents:
                parents[nxt] = here
                queue.append(nxt)
    return None
