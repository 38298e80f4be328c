"""Migration 0019 (an item's comments, declines and label revisions found by
item) applies to a database that already holds a comment, on both stores:
the comment learns its item, and the item page's three reads go through the
new indexes (the stores' own query plans say so)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labelwire.server.store import open_store
from tests.conformance.test_migration_0009 import STORES, postgres_at, sqlite_at

ROWS = [
    "INSERT INTO clients (id, name, key_hash, created_at) VALUES (1, 'c', 'h', 0)",
    "INSERT INTO jobs (id, owner_id, spec, state, created_at, updated_at) VALUES (1, 1, '{}', 1, 0, 0)",
    "INSERT INTO items (id, job_id, key, payload_kind, payload, is_gold, target, created_at)"
    " VALUES (1, 1, 'a', 'text', 'x', 0, 1, 0), (2, 1, 'b', 'text', 'y', 0, 1, 0)",
    "INSERT INTO workers (id, job_id, display_name, status, quiz_remaining, created_at)"
    " VALUES (1, 1, 'w', 2, 0, 0), (2, 1, 'v', 2, 0, 0)",
    "INSERT INTO tasks (id, job_id, item_id, worker_id, phase, state, leased_at, expires_at, decline_reason)"
    " VALUES (1, 1, 1, 1, 2, 2, 0, 0, NULL), (2, 1, 2, 1, 2, 2, 0, 0, NULL), (3, 1, 2, 2, 2, 5, 0, 0, 'dull')",
    "INSERT INTO task_comments (id, job_id, task_id, worker_id, body, created_at)"
    " VALUES (1, 1, 1, 1, 'about a', 0), (2, 1, 2, 1, 'about b', 1)",
    "INSERT INTO label_events (job_id, sequence, item_id, revision, value, confidence, probabilities,"
    " method, judgment_count, human, tie, created_at) VALUES"
    " (1, 1, 1, 1, '{}', 0.7, '{}', 'm', 1, 0, 0, 0), (1, 2, 2, 1, '{}', 0.7, '{}', 'm', 1, 0, 0, 0)",
    # Item a is the talked-about one: the job's comments are mostly about it.
    "INSERT INTO task_comments (id, job_id, task_id, worker_id, body, created_at) VALUES "
    + ", ".join(f"({n}, 1, 1, 1, 'more on a', {n})" for n in range(3, 300)),
]


@pytest.fixture(params=STORES)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at version 18 holding two items, a comment on each and a decline."""
    if request.param == "postgres":
        url = str(request.getfixturevalue("postgres_database"))
        postgres_at(url, 18, ROWS)
        import psycopg

        from labelwire.server.store.postgres import pooling

        with psycopg.connect(pooling(url)[0], autocommit=True) as conn:
            conn.execute("ANALYZE")  # as autovacuum would have by the time a job has comments
        return url
    path = tmp_path / "store.db"
    sqlite_at(path, 18, ROWS)
    return str(path)


def _plan(kind: str, tx: Any, read: Callable[[Any], object]) -> str:
    """The store's plan for the one query `read` makes, run through the store's
    own method (so the test sees the SQL the server runs)."""
    plain = tx.all
    if kind == "sqlite":
        tx.all = lambda sql, args=(): plain(f"EXPLAIN QUERY PLAN {sql}", args)
        tx.all_as = lambda cls, sql, args=(): tx.all(sql, args)
        return " ".join(str(r[3]) for r in read(tx))  # type: ignore[attr-defined]
    tx.run("SET LOCAL enable_seqscan = off")  # a table of three rows is read whole otherwise
    tx.all = lambda sql, args=(): plain(f"EXPLAIN {sql}", args)
    tx.all_as = lambda cls, sql, args=(): tx.all(sql, args)
    return " ".join(str(r[0]) for r in read(tx))  # type: ignore[attr-defined]


async def test_migration_0019_finds_comments_declines_and_revisions_by_item_through_its_indexes(
    location: str,
) -> None:
    store = open_store(location)
    kind = "sqlite" if getattr(store, "kind", "") == "sqlite" else "postgres"
    try:
        assert store.version >= 19
        comments = await store.read(lambda tx: [(r.body, r.item_key) for r in tx.item_comments(1, 2, 10)])
        assert comments == [("about b", "b")]
        declines = await store.read(lambda tx: [r.decline_reason for r in tx.item_declines(1, 2, 10)])
        assert declines == ["dull"] and await store.read(lambda tx: tx.item_declines(1, 1, 10)) == []
        revisions = await store.read(lambda tx: [r.sequence for r in tx.label_revisions(1, 2, 10)])
        assert revisions == [2]
        plans = {
            index: await store.read(lambda tx, read=read: _plan(kind, tx, read))
            for index, read in {
                "task_comments_by_item": lambda tx: tx.item_comments(1, 2, 10),
                "tasks_declined_by_item": lambda tx: tx.item_declines(1, 2, 10),
                "label_events_by_item": lambda tx: tx.label_revisions(1, 2, 10),
            }.items()
        }
        for index, plan in plans.items():
            assert index in plan, plan
    finally:
        store.close()
