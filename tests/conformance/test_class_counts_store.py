"""A job's current labels counted by class (`job_class_counts`, the prior a vote is weighed
by), on every store: the counts follow an item's label through relabels, the owner's
correction, a routed-back label and a write that fails, within one transaction and across
a group of writes; a database migrated with labels in it gets its counts."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from labelwire.server.domain.model import Consolidated, JobSpec, LabelClass
from labelwire.server.labels import chains
from labelwire.server.labels.items import CORRECTION_METHOD, append_label, emit_label, job_class_frequencies
from labelwire.server.store import Store, Tx, open_store
from tests.conformance.store_rows import STORES, add_items, ids_by_key, item_row, job
from tests.conformance.test_migration_0009 import store_at

NAMES = ("c0", "c1", "c2")
SPEC = JobSpec(
    display_name="J",
    task_type="classification",
    classes=tuple(LabelClass(n) for n in NAMES),
    task_config={"classes": [{"name": n} for n in NAMES]},
)


def _label(name: str, method: str = "majority_vote", confidence: float = 0.8) -> Consolidated:
    return Consolidated(
        value={"classification": {"class_name": name}},
        confidence=confidence,
        probabilities={name: confidence},
        method=method,
        judgment_count=3,
        tie=False,
    )


def _label_item(tx: Tx, item_id: int, label: Consolidated, *, emit: bool = False) -> None:
    item = tx.item(item_id)
    assert item is not None
    if emit:
        emit_label(tx, item.job_id, item, label, 1.0, spec=SPEC)
    else:
        append_label(tx, item.job_id, item, label, 1.0, spec=SPEC)


def _recounted(tx: Tx, job_id: int) -> dict[str, int]:
    """The counts as the job's current labels give them, read whole."""
    rows = tx.current_labels(job_id, 0, 1000)
    return dict(Counter(json.loads(r.value)["classification"]["class_name"] for r in rows))


def _counts(tx: Tx, job_id: int) -> dict[str, int]:
    return {name: n for name, n in tx.class_counts(job_id).items() if n}


async def _job_with_items(store: Store, count: int) -> tuple[int, list[int]]:
    job_id = await job(store)
    await add_items(store, job_id, [item_row(f"k{i}") for i in range(count)], 3)
    ids = await ids_by_key(store, job_id)
    return job_id, [ids[f"k{i}"] for i in range(count)]


async def test_class_counts_follow_an_items_label(store: Store) -> None:
    job_id, ids = await _job_with_items(store, 5)

    def first(tx: Tx) -> dict[str, int]:
        for item_id, name in zip(ids, ("c0", "c0", "c1", "c2"), strict=False):
            _label_item(tx, item_id, _label(name))
            _counts(tx, job_id)  # read between writes (PostgreSQL keeps what it read for the group)
        _label_item(tx, ids[3], _label("c0"), emit=True)  # relabeled in the same transaction
        return _counts(tx, job_id)  # this transaction's own, not yet written (PostgreSQL)

    assert await store.write(first) == {"c0": 3, "c1": 1}

    def revise(tx: Tx) -> None:
        _label_item(tx, ids[0], _label("c2"), emit=True)  # a pass relabels
        _label_item(tx, ids[0], _label("c2", confidence=0.95), emit=True)  # same class, surer
        _label_item(tx, ids[1], _label("c1", method=CORRECTION_METHOD))  # the owner's correction
        _label_item(tx, ids[1], _label("c0"), emit=True)  # a later pass does not override it
        _label_item(tx, ids[2], chains.routed_back(_label("elsewhere")))  # a downstream job's class
        assert _counts(tx, job_id) == {"c0": 1, "c1": 1, "c2": 1, "elsewhere": 1}
        tx.set_job_state(job_id, 1, 1.0)  # a write of the job's row: PostgreSQL flushes the counts here
        assert _counts(tx, job_id) == {"c0": 1, "c1": 1, "c2": 1, "elsewhere": 1}
        _label_item(tx, ids[4], _label("c1"))
        _label_item(tx, ids[4], _label("c0"), emit=True)

    await store.write(revise)
    assert await store.read(lambda tx: _counts(tx, job_id)) == {"c0": 2, "c1": 1, "c2": 1, "elsewhere": 1}
    assert await store.read(lambda tx: _counts(tx, job_id)) == await store.read(
        lambda tx: _recounted(tx, job_id)
    )
    # Leave-one-out: item 3's own c0 is not its prior; 'elsewhere' is no class of the job.
    prior = await store.read(lambda tx: job_class_frequencies(tx, SPEC, ids[3]))
    assert prior == [1.0, 1.0, 1.0]
    assert await store.write(lambda tx: job_class_frequencies(tx, SPEC, ids[2])) == [2.0, 1.0, 1.0]


async def test_a_failed_write_leaves_the_counts_as_they_were(store: Store) -> None:
    job_id, ids = await _job_with_items(store, 4)
    await store.write(lambda tx: _label_item(tx, ids[0], _label("c0")))

    def fails(tx: Tx) -> None:
        _label_item(tx, ids[0], _label("c1"), emit=True)
        _label_item(tx, ids[1], _label("c1"))
        raise RuntimeError("the caller's work fails after labeling")

    # Grouped with writes that succeed, so the failing one rolls back alone (PostgreSQL:
    # its savepoint, and the counts it held for the commit).
    outcomes = await asyncio.gather(
        store.write(lambda tx: _label_item(tx, ids[2], _label("c2"))),
        store.write(fails),
        store.write(lambda tx: _label_item(tx, ids[3], _label("c0"))),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], RuntimeError) and outcomes[0] is None and outcomes[2] is None
    assert await store.read(lambda tx: _counts(tx, job_id)) == {"c0": 2, "c2": 1}
    assert await store.read(lambda tx: _recounted(tx, job_id)) == {"c0": 2, "c2": 1}


async def test_a_groups_labels_are_numbered_and_counted_whatever_their_class_names(store: Store) -> None:
    """PostgreSQL writes a group's counts and numbers its feed at the commit in one
    statement, values written into its text (`Session.commit`): a class name is data,
    quotes and all, and the group's events get the job's next sequences in order."""
    job_id, ids = await _job_with_items(store, 4)
    odd = ("it's", "c0", "x'); DELETE FROM job_class_counts; --", "it's")

    def label(n: int) -> object:
        return lambda tx: _label_item(tx, ids[n], _label(odd[n]), emit=True)

    await store.write(label(0))
    await asyncio.gather(*(store.write(label(n)) for n in (1, 2, 3)))  # one group, or several
    assert await store.read(lambda tx: _counts(tx, job_id)) == dict(Counter(odd))
    events = await store.read(lambda tx: tx.label_events(job_id, 0, 10))
    assert [e.sequence for e in events] == [1, 2, 3, 4]
    assert events[0].item_id == ids[0] and sorted(e.item_id for e in events) == sorted(ids)
    labeled = await store.read(lambda tx: [tx.item(i) for i in ids])
    by_item = {e.item_id: e.sequence for e in events}
    assert [row.label_sequence if row else None for row in labeled] == [by_item[i] for i in ids]


ROWS = [
    "INSERT INTO clients (id, name, key_hash, created_at) VALUES (1, 'c', 'h', 0)",
    "INSERT INTO jobs (id, owner_id, spec, state, created_at, updated_at) VALUES (1, 1, '{}', 1, 0, 0),"
    " (2, 1, '{}', 1, 0, 0)",
    "INSERT INTO items (id, job_id, key, payload_kind, payload, is_gold, target, created_at, label_sequence)"
    " VALUES (1, 1, 'a', 'text', 'x', 0, 1, 0, 3), (2, 1, 'b', 'text', 'y', 0, 1, 0, 2),"
    " (3, 1, 'c', 'text', 'z', 0, 1, 0, NULL), (4, 2, 'd', 'text', 'w', 0, 1, 0, 1),"
    " (5, 2, 'e', 'text', 'v', 0, 1, 0, 2)",
    "INSERT INTO label_events (job_id, sequence, item_id, revision, value, confidence, probabilities,"
    " method, judgment_count, human, tie, created_at) VALUES"
    """ (1, 1, 1, 1, '{"classification": {"class_name": "c1"}}', 0.7, '{}', 'm', 1, 0, 0, 0),"""
    """ (1, 2, 2, 1, '{"classification": {"class_name": "c0"}}', 0.7, '{}', 'm', 1, 0, 0, 0),"""
    """ (1, 3, 1, 2, '{"classification": {"class_name": "c0"}}', 0.7, '{}', 'm', 1, 0, 0, 0),"""
    """ (2, 1, 4, 1, '{"classification": {"class_name": "c2"}}', 0.7, '{}', 'm', 1, 0, 0, 0),"""
    """ (2, 2, 5, 1, '{"labels": ["c0", "c1"]}', 0.7, '{}', 'm', 1, 0, 0, 0)""",
]


@pytest.fixture(params=STORES)
def migrated_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at version 20 whose jobs have labels, one item relabeled, one of another kind."""
    return store_at(request, tmp_path, 20, ROWS)


async def test_migration_0021_counts_the_labels_a_database_has(migrated_location: str) -> None:
    store = open_store(migrated_location)
    try:
        assert store.version >= 21
        assert await store.read(lambda tx: _counts(tx, 1)) == {"c0": 2}  # item a's c1 was replaced
        assert await store.read(lambda tx: _counts(tx, 2)) == {"c2": 1}  # a multi-label value is no class
    finally:
        store.close()
