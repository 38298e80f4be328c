"""What every group of shared store operations builds on: the four primitives
each store's transaction supplies, and the SQL fragments they share."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any, TypeVar

from labelwire.server.store.rows import JOB_COLUMNS, WORKER_COLUMNS, ItemRow, R, columns, job_row, worker_row

T = TypeVar("T")
DECODERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "jobs": (JOB_COLUMNS, job_row),
    "workers": (WORKER_COLUMNS, worker_row),
}

# Items of a job at or past the job's `hidden_from` belong to an upload that is
# still publishing; every read of a job's items leaves them out. Takes the job
# id as one more argument.
NO_HIDDEN = 9223372036854775807
# job_costs rows whose key starts so are reservations a workforce made ahead of
# a charge (their micros: what they still hold), not costs.
RESERVED_COST = "reserved:"


_WRITTEN_TABLE = re.compile(r"\s*(?:UPDATE|INSERT(?: OR \w+)? INTO|DELETE FROM)\s+(\w+)")
KEPT_TABLES = ("jobs", "workers", "items", "tasks", "job_models")
"""Tables whose rows a transaction keeps (tasks: a worker's live lease, by worker id;
job_models: the stamp of a job's pass model, PostgreSQL's writer)."""


def _table_of(sql: str) -> str:
    """The table a write names, "" when it names none."""
    written = _WRITTEN_TABLE.match(sql)
    return "" if written is None else written[1]


# Every write of a transaction asks; matching the regular expression each
# time cost more than a lookup. Short statement texts only, so the cache
# stays small whatever statements are built with many placeholders.
_cached_table_of = functools.lru_cache(maxsize=512)(_table_of)


def written_table(sql: str) -> str:
    """The table a write statement names, "" when it names none."""
    return _cached_table_of(sql) if len(sql) <= 1000 else _table_of(sql)


def forget_written(rows: MutableMapping[tuple[str, int], Any], sql: str) -> None:
    """Drops the job and worker rows a transaction keeps (both stores keep them:
    a lease or a submit reads them several times; PostgreSQL's writer also keeps
    the item a submit locked with its task) that `sql` may change: those
    of the table a write names, or every one when a write names no table."""
    if not rows or sql.startswith("SELECT"):
        return
    table = written_table(sql)
    if not table:
        rows.clear()
    elif table in KEPT_TABLES:
        for key in [key for key in rows if key[0] == table]:
            del rows[key]


def shown(column: str) -> str:
    return f"{column} < (SELECT COALESCE(hidden_from, {NO_HIDDEN}) FROM jobs WHERE jobs.id = ?)"


def in_pilot(alias: str, pilot: bool) -> str:
    """While a pilot runs (the caller read it from the job's row) only its
    items, drawn at StartJob, are dispatched; their own partial index finds
    them without walking the rest."""
    return f" AND {alias}.in_pilot = 1" if pilot else ""


def chunked(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """`values` in slices short enough to be one statement's placeholders (SQLite
    takes at most 32,766 in one statement)."""
    return (values[start : start + size] for start in range(0, len(values), size))


def where_given(where: list[str], args: list[Any], *conditions: tuple[str, Any]) -> None:
    """Adds each filter (a condition with one `?`, its value) the caller gave:
    a value of None means the filter was not asked for."""
    for condition, value in conditions:
        if value is not None:
            where.append(condition)
            args.append(value)


def affordable_claims(
    rows: list[ItemRow], per_judgment_micros: int, available_micros: int | None
) -> tuple[list[ItemRow], list[int]]:
    """The first rows whose wanted judgments the budget pays for, and what each reserves."""
    out: list[ItemRow] = []
    reserve: list[int] = []
    total = 0
    for row in rows:
        micros = per_judgment_micros * (row.target - row.done)
        if available_micros is not None and (available_micros <= 0 or total + micros > available_micros):
            break
        total += micros
        out.append(row)
        reserve.append(micros)
    return out, reserve


class SqlBase:
    """`one`, `all`, `run` and `insert`, which each store's transaction
    supplies (PostgreSQL's translate the `?` placeholders)."""

    # Jobs whose label feed this transaction moved (a label event, a change of
    # state that ends or reopens streams): the store wakes their streams once
    # it has committed, so no write path can forget to.
    moved_jobs: frozenset[int] = frozenset()

    PICK_LOCK = ""
    """What a read of rows this transaction is about to change appends to lock
    them: PostgreSQL's `FOR NO KEY UPDATE SKIP LOCKED`, so another replica skips
    an item this transaction is about to lease, or a lease it is about to expire."""

    def _one_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """The condition that `column` is one of `values`, and its arguments: a
        placeholder a value here (SQLite's `IN`); PostgreSQL's `= ANY(?)` takes
        one array, so its statement's text is the same for any number of values."""
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    END_WATCH = 0
    """How many of a job's rows still to do a transaction that may race another
    writer counts before it decides none is left (`_any_left`): PostgreSQL's
    writer. 0: no other writer can hide a commit from it (SQLite's one writer,
    read snapshots)."""

    def _any_left(self, job_id: int, rows: str, args: Sequence[Any], *, counted: int | None = None) -> bool:
        """Whether `rows` (a SELECT of the job's rows still to do, no LIMIT) finds one.

        Under READ COMMITTED two writers labeling a job's last two items each
        see the other's item still open, and neither ends the job. So a writer
        that may race another counts a few of them: past `END_WATCH` the job is
        far from its end and nothing more is locked; otherwise it locks the job's
        row to its commit (`_hold_job_end`) and asks again, so that of two such
        writers the second waits for the first's commit and then sees it. Exact
        while fewer than `END_WATCH` rows close during one writer's transaction;
        the maintenance sweep ends a job past that. A caller that has `counted`
        them (up to `END_WATCH + 1`) in a statement of its own saves the count."""
        if self.END_WATCH:
            if counted is None:
                row = self.one(f"SELECT COUNT(*) FROM ({rows} LIMIT {self.END_WATCH + 1}) AS left_rows", args)
                counted = 0 if row is None else int(row[0])
            if counted > self.END_WATCH:
                return True
            self._hold_job_end(job_id)
        return self.one(f"{rows} LIMIT 1", args) is not None

    def _hold_job_end(self, job_id: int) -> None:
        """Locks the job's row until the commit (a store with `END_WATCH`)."""

    def feed_moved(self, job_id: int) -> None:
        self.moved_jobs = self.moved_jobs | {job_id}

    def one(self, sql: str, args: Sequence[Any] = ()) -> Any | None:
        """The first row of `sql` as the database gives it (by position; by name too,
        for the store's own SQL and tests): what the core reads comes typed (`one_as`)."""
        raise NotImplementedError

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    def one_as(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> R | None:
        """The first row of `sql` as the record `cls`, built from the cursor's
        tuple: `sql` selects the record's columns in its fields' order (`rows.columns`)."""
        raise NotImplementedError

    def all_as(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> list[R]:
        """The rows of `sql` as records `cls` (`one_as`)."""
        raise NotImplementedError

    def _owned_page(
        self,
        cls: type[R],
        table: str,
        owner_id: int | None,
        after_id: int,
        limit: int,
        *filters: tuple[str, Any],
    ) -> list[R]:
        """A page of `table`'s rows as `cls`, oldest first, past `after_id`: the owner's,
        or with None every owner's (what the admin key sees); each filter a condition
        with one `?` and its value."""
        where, args = [f"{c} = ?" for c, _ in filters], [v for _, v in filters]
        where_given(where, args, ("owner_id = ?", owner_id), ("id > ?", after_id))
        return self.all_as(
            cls,
            f"SELECT {columns(cls)} FROM {table} WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
            (*args, limit),
        )

    def later(self, sql: str, args: Sequence[Any] = ()) -> None:
        """A write whose result nobody reads: at once here; PostgreSQL's writer
        holds it to send with the next ones in one round trip (`PostgresWriteTx`)."""
        self.run(sql, args)

    def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Runs an INSERT and returns the new row's id (`RETURNING id`, which
        SQLite has had since 3.35 and PostgreSQL always)."""
        row = self.one(f"{sql} RETURNING id", args)
        assert row is not None
        return int(row[0])

    def _row(self, table: str, row_id: int) -> Any:
        """A job's or a worker's typed row by id (`SqliteTx` keeps them for the transaction)."""
        columns, decode = DECODERS[table]
        return decode(self.one(f"SELECT {columns} FROM {table} WHERE id = ?", (row_id,)))
