"""PostgreSQL's lease in one statement: pick the item, count the lease on it
and write the task in one round trip, spread over the oldest open items so
that replicas' workers do not all take (and later submit) the same one."""

from __future__ import annotations

import functools

from labelwire.server.store.rows import ItemRow, columns
from labelwire.server.store.sql_base import in_pilot, shown

LEASE_SPREAD = 16
"""How many of the oldest open items a lease looks at. Among them it takes the
oldest that nobody holds a lease on, else the oldest: so the judgments of one
item are leased one after another rather than at once by several workers whose
submits, on different replicas, would then wait on that item's row lock. The
item a worker gets is never more than this many places from the oldest."""


@functools.cache
def lease_sql(pilot: bool) -> str:
    """The lease statement. Arguments: job id, job id (hidden uploads), worker id,
    then the task's job id, worker id, phase, state, leased_at, expires_at,
    reserved micros and job id (instructions version). Returns the task's id,
    then the item's columns (`ItemRow`) after the lease; no row when there is none.

    The window is read without locks; the pick locks one of its rows and skips
    those other transactions hold, and PostgreSQL checks the locked row's
    conditions again on its newest version (`done + leased < target`), so a
    slot another replica just leased is never leased twice. Whether the worker
    has seen an item is a scalar subquery, one probe of the (worker, item) index
    per row of the window: written as `NOT EXISTS`, PostgreSQL may compare every
    window row with all of the worker's tasks, which grows with its history."""
    return (
        "WITH open AS (SELECT id, leased FROM items i WHERE job_id = %s AND state = 0 AND is_gold = 0"
        f" AND claimed_by IS NULL AND done + leased < target AND {shown('i.id').replace('?', '%s')}"
        f"{in_pilot('i', pilot)}"
        " AND (SELECT 1 FROM tasks t WHERE t.worker_id = %s AND t.item_id = i.id) IS NULL"
        f" ORDER BY id LIMIT {LEASE_SPREAD}),"
        " picked AS (SELECT i.id FROM items i JOIN open o ON o.id = i.id"
        " WHERE i.state = 0 AND i.claimed_by IS NULL AND i.done + i.leased < i.target"
        " ORDER BY o.leased > 0, i.id LIMIT 1 FOR NO KEY UPDATE OF i SKIP LOCKED),"
        " leased AS (UPDATE items SET leased = items.leased + 1 FROM picked WHERE items.id = picked.id"
        " RETURNING items.*),"
        " task AS (INSERT INTO tasks (job_id, item_id, worker_id, phase, state, leased_at, expires_at,"
        " reserved_micros, instructions_version) SELECT %s, leased.id, %s, %s, %s, %s, %s, %s,"
        " (SELECT instructions_version FROM jobs WHERE id = %s) FROM leased RETURNING id)"
        f" SELECT task.id AS task_id, {columns(ItemRow, 'leased')} FROM leased, task"
    )
