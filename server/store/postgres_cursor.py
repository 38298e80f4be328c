"""The store's cursor (`LeanCursor`): a statement sent, waited for and read through
libpq's connection and psycopg's C transformer, without psycopg's `Cursor`.

Why: profiled in the server judging on PostgreSQL, psycopg's `Cursor.execute` path
(parsing the query, its prepare bookkeeping, choosing and checking results, the row
maker) was the largest share of the writer thread's Python that SQLite does not
have, the same for every statement whatever it does: 14 µs of client CPU for a
one-row read on a reused cursor against 7.5 µs through the same C pieces called
directly (a loop of 3,000 on one connection). The store sends a few statements of
its own, with `%s` placeholders and plain values, so what psycopg's generality
costs buys it nothing.

What it keeps of psycopg: the C transformer dumps the arguments (so `bool` goes as
an integer, `connect` registers that) and loads the rows; the C generator waits
for the results; errors are psycopg's own classes with their `sqlstate`, so a
deadlock is retried and a lost connection reconnects as before. A statement with
another `%` form, or a caller that needs psycopg's cursor (`COPY`, `executemany`),
uses one (`plain`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg
    from psycopg.pq.abc import PGresult

PREPARED_MAX = 256
"""Statements prepared per connection; past that the rest go unnamed. The store's
statements are a few dozen texts (held writes make a few more combinations)."""

RowMaker = Callable[[Sequence[Any]], Any]


@functools.lru_cache(maxsize=1024)
def _numbered(sql: str) -> tuple[bytes, int] | None:
    """The statement with libpq's `$n` placeholders, and how many; None when it has
    a `%` form other than `%s` (psycopg's cursor then parses it)."""
    parts = sql.split("%s")
    if any("%" in part for part in parts):
        return None
    out = [parts[0]]
    for n, part in enumerate(parts[1:], 1):
        out.append(f"${n}")
        out.append(part)
    return "".join(out).encode(), len(parts) - 1


_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET", "START", "END"})


def _control(sql: str) -> bool:
    """A transaction's BEGIN, COMMIT, savepoint or setting: sent by the simple protocol,
    never prepared (nothing to plan, and a statement prepared for each would be kept)."""
    return sql.split(None, 1)[0].upper() in _CONTROL


@functools.cache
def _modules() -> tuple[Any, Any, Any, Any]:
    """psycopg's pieces, imported once: an install without the `postgres` extra never gets here."""
    import psycopg
    from psycopg import errors, generators, pq
    from psycopg.adapt import PyFormat

    del psycopg
    return errors, generators, pq, PyFormat.AUTO


class LeanCursor:
    """The subset of `psycopg.Cursor` the store uses: `execute` returns the cursor,
    `fetchone`/`fetchall` read the (first) result's rows, `rowcount` and `pgresult`
    as psycopg's. Rows are made by `make_row(pgresult)` (`postgres_session._rows`),
    or by a maker passed to the fetch (`PostgresTx.one_as`).

    Prepared on first use unless `prepare` is False (a multi-statement text, which
    then goes by the simple protocol when it has no arguments) or the connection is
    behind transaction pooling (`prepared=False`): a statement prepared on one
    server connection would be missing on the next."""

    def __init__(
        self, conn: psycopg.Connection[Any], make_row: Callable[[Any], RowMaker], *, prepared: bool = True
    ) -> None:
        from psycopg.adapt import Transformer

        self.conn = conn
        self.pgconn = conn.pgconn
        self._make_row = make_row
        self._prepared = prepared
        self._names: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        self._tx = Transformer(conn)
        self._encoding = conn.info.encoding
        self.pgresult: PGresult | None = None
        self.results: list[PGresult] = []  # one per statement of the text (a simple query's several)
        self._plain: psycopg.Cursor[Any] | None = None
        self._from_plain = False

    def plain(self) -> psycopg.Cursor[Any]:
        """psycopg's own cursor on the same connection, made once."""
        if self._plain is None:
            self._plain = self.conn.cursor()
        return self._plain

    def execute(self, sql: str, args: Sequence[Any] | None = None, prepare: bool | None = None) -> LeanCursor:
        numbered = _numbered(sql)
        if numbered is None or (args and numbered[1] != len(args)):
            self.plain().execute(sql, args, prepare=prepare)
            self._from_plain = True
            return self
        self._from_plain = False
        errors, generators, pq, auto = _modules()
        query, count = numbered
        pgconn = self.pgconn
        params: Any = None
        types: tuple[int, ...] = ()
        formats: Any = None
        if count and args:
            tx = self._tx
            params = tx.dump_sequence(args, (auto,) * count)
            types, formats = tuple(tx.types or ()), tx.formats
        if prepare is False or not self._prepared or (prepare is None and not count and _control(sql)):
            if count:
                pgconn.send_query_params(query, params, param_formats=formats, param_types=types)
            else:
                pgconn.send_query(query)
        else:
            key = (query, types)
            name = self._names.get(key)
            if name is None:
                if len(self._names) >= PREPARED_MAX:
                    pgconn.send_query_params(query, params, param_formats=formats, param_types=types)
                    return self._results(errors, generators, pq)
                name = f"lw_{len(self._names)}".encode()
                pgconn.send_prepare(name, query, param_types=types)
                self._check(self.conn.wait(generators.execute(pgconn)), errors, pq)
                self._names[key] = name
            pgconn.send_query_prepared(name, params, param_formats=formats)
        return self._results(errors, generators, pq)

    def _results(self, errors: Any, generators: Any, pq: Any) -> LeanCursor:
        results = self.conn.wait(generators.execute(self.pgconn))
        self._check(results, errors, pq)
        self.results = results
        self.pgresult = results[0]
        return self

    def _check(self, results: list[PGresult], errors: Any, pq: Any) -> None:
        """psycopg's own checks (`BaseCursor._check_results`) for the statuses the store meets."""
        if not results:
            raise errors.InternalError("got no result from the query")
        status = pq.ExecStatus
        for res in results:
            if res.status not in (status.TUPLES_OK, status.COMMAND_OK, status.EMPTY_QUERY):
                if res.status == status.FATAL_ERROR:
                    raise errors.error_from_result(res, encoding=self._encoding)
                raise errors.InternalError(f"unexpected result status: {status(res.status).name}")

    @property
    def rowcount(self) -> int:
        if self._from_plain:
            return self.plain().rowcount
        res = self.pgresult
        tuples = None if res is None else res.command_tuples
        return -1 if tuples is None else tuples

    def fetchone(self, make: RowMaker | None = None) -> Any:
        if self._from_plain:
            return self._from_plain_rows(make, one=True)
        res = self.pgresult
        if res is None or res.ntuples == 0:
            return None
        tx = self._tx
        tx.set_pgresult(res)
        return tx.load_row(0, make or self._make_row(res))

    def fetchall(self, make: RowMaker | None = None) -> list[Any]:
        if self._from_plain:
            rows: list[Any] = self._from_plain_rows(make, one=False)
            return rows
        res = self.pgresult
        if res is None or res.ntuples == 0:
            return []
        tx = self._tx
        tx.set_pgresult(res)
        return tx.load_rows(0, res.ntuples, make or self._make_row(res))

    def _from_plain_rows(self, make: RowMaker | None, *, one: bool) -> Any:
        plain = self.plain()
        rows = [plain.fetchone()] if one else plain.fetchall()
        if make is not None:
            rows = [None if row is None else make(tuple(row)) for row in rows]
        return rows[0] if one else rows
