"""PostgreSQL connections: the result rows, connecting (and whether a pooler sits
between), and the writer's `Session`, which counts jobs' counters and feed
sequences in memory and writes them at the commit."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from labelwire.server.domain.errors import Unavailable
from labelwire.server.store.postgres_cursor import LeanCursor
from labelwire.server.store.sql_posteriors import CLASS_COUNT_UPSERT

if TYPE_CHECKING:
    import psycopg
    from psycopg.adapt import Dumper
    from psycopg.rows import RowMaker


# Errors PostgreSQL raises to break a cycle of row locks between replicas (or a
# serialization conflict): the work is retried, never reported to its caller.
RETRIES = 8
RETRIABLE_STATES = frozenset({"40P01", "40001"})

# How long a write waits on another replica's row lock while its group holds
# locks of its own; past that it is put back to open the next group (`WriterThread`).
LOCK_WAIT = "10ms"


CLASS_KEY = "class:"
"""The held count of a job's labels of one class (`job_class_counts`), next to its counters:
same savepoints, same flush at the commit, so the class rows too are locked only then."""


def _retriable(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) in RETRIABLE_STATES


def _lock_wait(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == "55P03"  # lock_not_available: LOCK_WAIT ran out


class Row:
    """A result row read both ways the core reads SQLite rows: `row["state"]` and `row[0]`.

    psycopg's own row types offer one or the other; `sqlite3.Row` offers both.
    A repeated column name answers with its first occurrence, as `sqlite3.Row` does.
    """

    __slots__ = ("_names", "_values")

    def __init__(self, names: _Names, values: Sequence[Any]) -> None:
        self._names = names
        self._values = tuple(values)

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._names.index()[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> list[str]:
        return list(self._names.index())

    def __repr__(self) -> str:
        return f"Row({ {name: self._values[i] for name, i in self._names.index().items()}!r})"


_NAMES: dict[tuple[bytes, ...], dict[str, int]] = {}


class _Names:
    """A result's column names, read from it only when a row is first read by name:
    most of the writer's rows are read by position (`rows`), and naming every
    result cost a call per column of each (a job's row has over thirty)."""

    __slots__ = ("_index", "_result")

    def __init__(self, result: Any) -> None:
        self._result = result
        self._index: dict[str, int] | None = None

    def index(self) -> dict[str, int]:
        if self._index is None:
            res, self._result = self._result, None  # the result is not kept alive by its rows
            fields = () if res is None else tuple(map(res.fname, range(res.nfields)))
            names = _NAMES.get(fields)
            if names is None:
                names = {}
                for index, field in enumerate(fields):
                    names.setdefault(field.decode(), index)
                if len(_NAMES) < 1024:  # statements are our own few; ad hoc ones are not kept
                    _NAMES[fields] = names
            self._index = names
        return self._index


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    """Rows that learn their names from the result when first read by name (`_Names`)."""
    return rows_of(cursor.pgresult)


def rows_of(result: Any) -> RowMaker[Row]:
    """`_rows` for a result read without psycopg's cursor (`LeanCursor`)."""
    names = _Names(result)
    return lambda values: Row(names, values)


@functools.cache
def _bool_as_integer() -> type[Dumper]:
    """A dumper sending Python booleans as 0/1: the schema keeps SQLite's integer
    flags (`is_gold`, `gold_correct`, `human`, `tie`), and PostgreSQL will not
    store a boolean in an integer column."""
    import psycopg
    from psycopg.adapt import Dumper

    class BoolAsInteger(Dumper):
        oid = psycopg.postgres.types["int4"].oid

        def dump(self, obj: Any) -> bytes:
            return b"1" if obj else b"0"

    return BoolAsInteger


POOL_MODE = "pool_mode"
"""The URL parameter (ours, removed before libpq sees the URL) that says a pooler
such as PgBouncer sits between the replicas and PostgreSQL, and in which mode."""


def pooling(url: str) -> tuple[str, bool]:
    """The URL for libpq, and whether each transaction may run on another server
    connection (`pool_mode=transaction`, PgBouncer's transaction pooling): then
    nothing may outlive a transaction on a connection, neither prepared statements
    nor session settings."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    modes = [value for name, value in query if name == POOL_MODE]
    if any(mode not in ("session", "transaction") for mode in modes):
        raise ValueError(f"{POOL_MODE} in the database URL must be session or transaction")
    rest = urlencode([(name, value) for name, value in query if name != POOL_MODE])
    return urlunsplit(parts._replace(query=rest)), modes[-1:] == ["transaction"]


def connect(url: str) -> psycopg.Connection[Row]:
    """A connection in autocommit mode: `TransactionThread` sends BEGIN and COMMIT itself.

    psycopg is imported here rather than with the module, so that an install
    without the `postgres` extra still runs on SQLite. Behind transaction pooling
    psycopg prepares nothing: a statement it prepared on one server connection
    would be missing on the next.
    """
    try:
        import psycopg
    except ImportError as exc:
        raise RuntimeError("the PostgreSQL store needs psycopg: pip install 'labelwire[postgres]'") from exc
    plain, transaction_pooled = pooling(url)
    conn = psycopg.Connection.connect(
        plain, autocommit=True, row_factory=_rows, prepare_threshold=None if transaction_pooled else 5
    )
    conn.adapters.register_dumper(bool, _bool_as_integer())
    return conn


def _add(into: dict[int, dict[str, int]], deltas: dict[int, dict[str, int]]) -> None:
    for job_id, counted in deltas.items():
        held = into.setdefault(job_id, {})
        for name, delta in counted.items():
            held[name] = held.get(name, 0) + delta


_CLASS_UPSERT = CLASS_COUNT_UPSERT.replace("?", "%s")

_SHIFT = "(SELECT last_sequence FROM jobs WHERE id = %s) - %s"
_RENUMBER = (
    f"UPDATE items i SET label_sequence = {_SHIFT} - e.sequence FROM label_events e"
    " WHERE e.job_id = %s AND e.sequence < 0 AND i.id = e.item_id AND i.label_sequence = e.sequence",
    f"UPDATE label_events SET sequence = {_SHIFT} - sequence WHERE job_id = %s AND sequence < 0",
)
"""A transaction's stand-in sequences of a job (`Session.placeholder`, -(base + n) for its
n-th) made the job's: base' + n, where base' is the job's last sequence after the flush
less this transaction's labels; in the items that point at them, then in the events."""

RELEASE_AND_SAVEPOINT = "RELEASE op; SAVEPOINT op"
"""The end of one caller's savepoint and the start of the next one's, in one round trip."""

WAIT_BRIEFLY = f"RELEASE op; SET LOCAL lock_timeout = '{LOCK_WAIT}'; SAVEPOINT op"
"""The same after a group's first caller: from here on, a lock wait is brief (`WriterThread`)."""

WAIT_BRIEFLY_UNGUARDED = f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"
"""The same in a group run without savepoints."""


class Session:
    """A store thread's connection, opened again at the next BEGIN if the server
    dropped it (a restart, a failover, an idle timeout): without this, one outage
    would leave the replica failing every request until it is restarted.

    Only at BEGIN, where no transaction is open: a connection lost inside a
    transaction fails that transaction's callers. Staged uploads live in
    ordinary tables (`upload_items`), so they survive a reconnection.
    """

    def __init__(self, url: str, setup: str = "") -> None:
        self.url = url
        self.setup = setup
        self.pooled = pooling(url)[1]
        self.backend_pid: int | None = None  # behind pooling, this transaction's; see placeholder_base
        self.conn = self._connect()
        self.cur = self._cursor()  # reused by every statement (`PostgresTx.cur`)
        # Deltas to jobs' counters that the group's committed savepoints made
        # (`pending`) and that the running one made (`op_pending`), by job.
        self.pending: dict[int, dict[str, int]] = {}
        self.op_pending: dict[int, dict[str, int]] = {}
        # What the running savepoint flushed of `pending`: its rollback undoes that write.
        self.flushed: dict[int, dict[str, int]] = {}
        # The sequences the last flush gave the stand-ins `next_sequence` handed out.
        self.numbered: dict[int, int] = {}
        # Job and worker rows the transaction read (`PostgresWriteTx.job`), kept
        # until a statement writes their table or a savepoint rolls back: a lease
        # or a submit asks for each three to five times, a group's callers mostly
        # for the same job, and each ask is a round trip. Both are as this
        # transaction would see them: a budget job's row and a worker's are
        # locked when read, and other jobs' rows are read as of the group's first
        # read (READ COMMITTED would see another replica's commit in between;
        # a group is a few milliseconds).
        self.rows: dict[tuple[str, int], Any] = {}  # typed job and worker rows (`store.rows`)

    def _cursor(self) -> LeanCursor:
        """Statements prepared on first use, unless a pooler may run the next
        transaction on another server connection (`pooling`)."""
        return LeanCursor(self.conn, rows_of, prepared=not self.pooled)

    def execute(self, sql: str) -> LeanCursor:
        import psycopg

        released = sql == "RELEASE op" or sql.startswith("RELEASE op;")
        if not released and sql != WAIT_BRIEFLY_UNGUARDED:
            self.rows.clear()  # BEGIN, COMMIT, or a rollback, which released the locks the reads took
        if released:
            _add(self.pending, self.op_pending)
            self.op_pending, self.flushed = {}, {}
        elif sql == "ROLLBACK TO op":
            _add(self.pending, self.flushed)
            self.op_pending, self.flushed = {}, {}
        elif sql == "SAVEPOINT op":
            self.op_pending, self.flushed = {}, {}
        elif sql == "COMMIT":
            self.flush()
        elif sql == "ROLLBACK":
            self.pending, self.op_pending, self.flushed = {}, {}, {}
        if not sql.startswith("BEGIN"):
            return self.cur.execute(sql, prepare=False if ";" in sql else None)
        self.pending, self.op_pending, self.flushed, self.numbered = {}, {}, {}, {}
        self.backend_pid = None
        prepare = False if ";" in sql else None
        try:
            return self.cur.execute(sql, prepare=prepare)
        except psycopg.OperationalError:
            if self.conn.closed:
                try:
                    self.conn = self._connect()
                except psycopg.OperationalError as exc:
                    raise Unavailable("the database does not answer; nothing was done, try again") from exc
                self.cur = self._cursor()
                return self.cur.execute(sql, prepare=prepare)
            self._abandon()
            raise
        except BaseException:
            self._abandon()
            raise

    def check_open(self) -> None:
        """Raises when the transaction was ended, or is aborted by an error a
        caller's work swallowed: the group must fail, not commit half of it."""
        from psycopg.pq import TransactionStatus

        # the libpq connection's own status: `conn.info` builds an object each call
        status = self.conn.pgconn.transaction_status
        if status != TransactionStatus.INTRANS:
            name = TransactionStatus(status).name.lower()
            raise RuntimeError(f"the store transaction is {name}, not open: the group fails")

    def _connect(self) -> psycopg.Connection[Row]:
        """A connection with the session's settings, each tried alone: one the
        role may not change leaves the server's value."""
        import psycopg

        conn = connect(self.url)
        if self.pooled:
            return conn  # a session setting would land on whichever server connection ran it
        for statement in filter(None, self.setup.split(";")):
            with contextlib.suppress(psycopg.Error):
                conn.execute(statement)
        return conn

    def deltas(self, job_id: int) -> dict[str, int]:
        """What this transaction has counted on the job's counters and not yet written."""
        return {n: d for n, d in self._held(job_id).items() if not n.startswith(CLASS_KEY)}

    def class_deltas(self, job_id: int) -> dict[str, int]:
        """What this transaction has counted on the job's labels by class and not yet written."""
        return {n[len(CLASS_KEY) :]: d for n, d in self._held(job_id).items() if n.startswith(CLASS_KEY)}

    def _held(self, job_id: int) -> dict[str, int]:
        op = self.op_pending.get(job_id)
        out = dict(self.pending.get(job_id, ()))
        if op:
            for name, delta in op.items():
                out[name] = out.get(name, 0) + delta
        return out

    def flush(self) -> None:
        """Writes the counted deltas, by job id, so that two replicas flushing
        at once lock the jobs' rows in one order. Held back until here (or
        until a statement writes the jobs table) because the job's row stays
        locked from its first update to the commit: counted as they happen,
        every writer of a job would queue on that row for its whole group."""
        for sql, args, job_id, labels in self._flush_statements(keep=True):
            row = self.cur.execute(sql, args).fetchone()
            if labels and row is not None:
                self._numbered_from(job_id, int(row[0]), labels)

    def commit(self, *, wait_again: bool = False) -> None:
        """The flush (`flush`) and COMMIT in one round trip: one simple query, its
        integers and quoted class names written into its text (a group's commit
        was two to five round trips, a third of a judgment's when groups are of two
        or three callers). `wait_again` first lifts the group's brief lock wait, so
        the flush waits for a job's row as long as it must."""
        statements = self._flush_statements(keep=False)
        if not statements:
            self.execute("COMMIT")
            return
        parts = ["SET LOCAL lock_timeout = 0"] if wait_again else []
        parts += [self._literal_sql(sql, args) for sql, args, _, _ in statements]
        self.cur.execute("; ".join([*parts, "COMMIT"]), prepare=False)
        results, skip = self.cur.results, len(parts) - len(statements)
        for n, (_, _, job_id, labels) in enumerate(statements):
            value = results[skip + n].get_value(0, 0) if labels and results[skip + n].ntuples else None
            if value is not None:
                self._numbered_from(job_id, int(value), labels)

    def _literal_sql(self, sql: str, args: Sequence[Any]) -> str:
        """The statement with its arguments written in: integers as such, text quoted by libpq."""
        from psycopg.pq import Escaping

        parts = sql.split("%s")
        out = [parts[0]]
        for value, part in zip(args, parts[1:], strict=True):
            if isinstance(value, str):
                out.append(Escaping(self.conn.pgconn).escape_literal(value.encode()).decode())
            else:
                out.append(str(int(value)))
            out.append(part)
        return "".join(out)

    def _flush_statements(self, *, keep: bool) -> list[tuple[str, tuple[Any, ...], int, int]]:
        """The counted deltas' writes, by job id: (statement, arguments, job id, labels
        numbered by it). The job's row returns its last sequence; the stand-ins are
        renumbered from it on the server, so no statement waits for another's answer.
        `keep`: a flush inside the transaction, which a savepoint's rollback undoes."""
        self.rows.clear()
        if keep:
            _add(self.flushed, self.pending)
        both: dict[int, dict[str, int]] = {}
        _add(both, self.pending)
        _add(both, self.op_pending)
        self.pending, self.op_pending = {}, {}
        out: list[tuple[str, tuple[Any, ...], int, int]] = []
        for job_id in sorted(both):
            classes = sorted((n, d) for n, d in both[job_id].items() if d and n.startswith(CLASS_KEY))
            deltas = {name: d for name, d in both[job_id].items() if d and not name.startswith(CLASS_KEY)}
            if deltas:
                sets = ", ".join(f"{name} = {name} + %s" for name in deltas)
                labels = deltas.get("last_sequence", 0)
                out.append(
                    (
                        f"UPDATE jobs SET {sets} WHERE id = %s RETURNING last_sequence",
                        (*deltas.values(), job_id),
                        job_id,
                        labels,
                    )
                )
                if labels:
                    # the stand-ins' shift: the job's last sequence now, less this transaction's labels and base
                    shift = (job_id, labels + self.placeholder_base())
                    out += [(sql, (*shift, job_id), job_id, 0) for sql in _RENUMBER]
            out += [(_CLASS_UPSERT, (job_id, name[len(CLASS_KEY) :], d), job_id, 0) for name, d in classes]
        return out

    def placeholder(self, job_id: int) -> int:
        """A stand-in for the job's next sequence, numbered at the flush. Negative,
        so no committed event has it, and made of the backend's pid, so no
        other open transaction's stand-in is the same row of the primary key."""
        return -(self.placeholder_base() + self.deltas(job_id).get("last_sequence", 0) + 1)

    def placeholder_base(self) -> int:
        """The server process's pid, shifted: behind transaction pooling the pid the
        connection reported at start is the pooler's random stand-in (negative as often
        as not, and not that of the server process running this transaction), so it is
        asked for once per transaction."""
        if not self.pooled:
            return int(self.conn.info.backend_pid) << 24
        if self.backend_pid is None:
            row = self.cur.execute("SELECT pg_backend_pid()").fetchone()
            assert row is not None
            self.backend_pid = int(row[0])
        return self.backend_pid << 24

    def _numbered_from(self, job_id: int, last: int, count: int) -> None:
        """Records the sequences the job's `count` stand-ins got (`_RENUMBER`), the job's
        last sequence now being `last`, in the order they were handed out: the
        caller's work may have returned one (a correction answers with its sequence)."""
        del job_id  # stand-ins are made of this transaction's base, whatever the job
        base = last - count
        for n in range(1, count + 1):
            self.numbered[-(self.placeholder_base() + n)] = base + n

    def _abandon(self) -> None:
        """Ends a transaction whose BEGIN failed half-way (say, waiting for the
        writer lock was cancelled): the next BEGIN would find it still open."""
        import psycopg

        if not self.conn.closed:
            with contextlib.suppress(psycopg.Error):
                self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()
