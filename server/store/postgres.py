"""The shared store: PostgreSQL, for several server replicas behind a load balancer.

The operations and their results are SQLite's (`SqliteTx`), so the core cannot
tell the stores apart. Each replica groups its own writes into few commits on
one writer connection (`TransactionThread`), as on SQLite. Replicas do not take
turns: there is no cluster-wide lock, and a write waits only for the rows it
must order against (`PostgresWriteTx` says which), so writes of different jobs
never wait for each other and every replica adds throughput.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from labelwire.server.domain.errors import Unavailable
from labelwire.server.store.base import TransactionThread, _answer, log
from labelwire.server.store.sql import SqlTx, affordable_claims, in_pilot, shown

if TYPE_CHECKING:
    import psycopg
    from psycopg.adapt import Dumper
    from psycopg.rows import RowMaker

T = TypeVar("T")

MIGRATIONS = "labelwire.server.store.migrations.postgres"

# Advisory lock key. Any fixed number works: it only has to be the same in every replica.
MIGRATION_LOCK = 0x6C6162656C77

# Errors PostgreSQL raises to break a cycle of row locks between replicas (or a
# serialization conflict): the work is retried, never reported to its caller.
RETRIES = 8
RETRIABLE_STATES = frozenset({"40P01", "40001"})

# How long a write waits on another replica's row lock while its group holds
# locks of its own; past that it is put back to open the next group (`WriterThread`).
LOCK_WAIT = "10ms"


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

    def __init__(self, names: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._values = tuple(values)

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._names[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> list[str]:
        return list(self._names)

    def __repr__(self) -> str:
        return f"Row({ {name: self._values[i] for name, i in self._names.items()}!r})"


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    names: dict[str, int] = {}
    for index, column in enumerate(cursor.description or ()):
        names.setdefault(column.name, index)
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


RELEASE_AND_SAVEPOINT = "RELEASE op; SAVEPOINT op"
"""The end of one caller's savepoint and the start of the next one's, in one round trip."""

WAIT_BRIEFLY = f"RELEASE op; SET LOCAL lock_timeout = '{LOCK_WAIT}'; SAVEPOINT op"
"""The same after a group's first caller: from here on, a lock wait is brief (`WriterThread`)."""


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
        self.rows: dict[tuple[str, int], Row | None] = {}

    def execute(self, sql: str) -> psycopg.Cursor[Row]:
        import psycopg

        released = sql == "RELEASE op" or sql.startswith("RELEASE op;")
        if not released:  # BEGIN, COMMIT, or a rollback, which released the locks the reads took
            self.rows.clear()
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
            return self.conn.execute(sql, prepare=False if ";" in sql else None)
        self.pending, self.op_pending, self.flushed, self.numbered = {}, {}, {}, {}
        self.backend_pid = None
        try:
            return self.conn.execute(sql)
        except psycopg.OperationalError:
            if self.conn.closed:
                try:
                    self.conn = self._connect()
                except psycopg.OperationalError as exc:
                    raise Unavailable("the database does not answer; nothing was done, try again") from exc
                return self.conn.execute(sql)
            self._abandon()
            raise
        except BaseException:
            self._abandon()
            raise

    def check_open(self) -> None:
        """Raises when the transaction was ended, or is aborted by an error a
        caller's work swallowed: the group must fail, not commit half of it."""
        from psycopg.pq import TransactionStatus

        status = self.conn.info.transaction_status
        if status != TransactionStatus.INTRANS:
            raise RuntimeError(f"the store transaction is {status.name.lower()}, not open: the group fails")

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
        """What this transaction has counted on the job and not yet written."""
        out = dict(self.pending.get(job_id, {}))
        for name, delta in self.op_pending.get(job_id, {}).items():
            out[name] = out.get(name, 0) + delta
        return out

    def flush(self) -> None:
        """Writes the counted deltas, by job id, so that two replicas flushing
        at once lock the jobs' rows in one order. Held back until here (or
        until a statement writes the jobs table) because the job's row stays
        locked from its first update to the commit: counted as they happen,
        every writer of a job would queue on that row for its whole group."""
        self.rows.clear()
        _add(self.flushed, self.pending)
        both: dict[int, dict[str, int]] = {}
        _add(both, self.pending)
        _add(both, self.op_pending)
        self.pending, self.op_pending = {}, {}
        for job_id in sorted(both):
            deltas = {name: d for name, d in both[job_id].items() if d}
            if not deltas:
                continue
            sets = ", ".join(f"{name} = {name} + %s" for name in deltas)
            row = self.conn.execute(
                f"UPDATE jobs SET {sets} WHERE id = %s RETURNING last_sequence", (*deltas.values(), job_id)
            ).fetchone()
            labels = deltas.get("last_sequence", 0)
            if labels and row is not None:
                self._number(job_id, int(row[0]) - labels, labels)

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
            row = self.conn.execute("SELECT pg_backend_pid()").fetchone()
            assert row is not None
            self.backend_pid = int(row[0])
        return self.backend_pid << 24

    def _number(self, job_id: int, base: int, count: int) -> None:
        """Gives this transaction's `count` stand-ins of the job the sequences
        after `base`, in the order they were handed out, in the events and in
        the items that point at them."""
        shift = base - self.placeholder_base()
        self.conn.execute(
            "UPDATE items i SET label_sequence = %s - e.sequence FROM label_events e"
            " WHERE e.job_id = %s AND e.sequence < 0 AND i.id = e.item_id AND i.label_sequence = e.sequence",
            (shift, job_id),
        )
        self.conn.execute(
            "UPDATE label_events SET sequence = %s - sequence WHERE job_id = %s AND sequence < 0",
            (shift, job_id),
        )
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


def migrate(conn: psycopg.Connection[Row]) -> int:
    """Applies the numbered migrations the database has not seen; returns its version.

    Runs in one transaction under a transaction-level advisory lock, so replicas
    starting together apply each migration once (the second waits, then finds it
    recorded), and a pooler in transaction mode cannot strand the lock on a server
    connection as it could a session-level one.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        applied = {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}
        folder = resources.files(MIGRATIONS)
        scripts = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
        for script in scripts:
            number = int(script.name.split("_", 1)[0])
            if number in applied:
                continue
            conn.execute(script.read_text())
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number,))
            applied.add(number)
        return max(applied, default=0)


_WRITTEN_TABLE = re.compile(r"\s*(?:UPDATE|INSERT INTO|DELETE FROM)\s+(\w+)")
"""The table a write statement writes (a statement it cannot name forgets every kept row)."""


def _placeholders(sql: str) -> str:
    """The shared operations (`sql.SqlTx`) are written with SQLite's `?`;
    psycopg wants `%s`. Nothing in our SQL uses `?` otherwise."""
    return sql.replace("?", "%s")


class PostgresTx(SqlTx):
    """The store's operations, run inside one transaction (the same as `SqliteTx`)."""

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self.conn = conn

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        return self.conn.execute(_placeholders(sql), args).fetchone()

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(_placeholders(sql), args).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.conn.execute(_placeholders(sql), args).rowcount

    # clients

    # jobs

    def jobs_in_states(self, states: Iterable[int]) -> list[Row]:
        return self.all("SELECT * FROM jobs WHERE state = ANY(%s)", (list(states),))

    def live_counts(self, job_id: int) -> tuple[int, int, int, int]:
        """(unlabeled, in progress, qualified workers, disqualified workers)."""
        items = self.one(
            "SELECT COUNT(*) FILTER (WHERE leased = 0), COUNT(*) FILTER (WHERE leased > 0) FROM items"
            f" WHERE job_id = %s AND state = 0 AND is_gold = 0 AND {shown('items.id')}",
            (job_id, job_id),
        )
        workers = self.one(
            "SELECT COUNT(*) FILTER (WHERE status = 2), COUNT(*) FILTER (WHERE status IN (3, 4))"
            " FROM workers WHERE job_id = %s",
            (job_id,),
        )
        assert items is not None and workers is not None
        return int(items[0]), int(items[1]), int(workers[0]), int(workers[1])

    # items

    def stage_items(self, upload_id: int, rows: Sequence[tuple[Any, ...]], start: int) -> int:
        """Stages rows (key, kind, payload, metadata, prelabel, prelabel_confidence, gold),
        numbered from `start` in the stream; returns how many keys the upload repeated."""
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO upload_items VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(upload_id, start + i, *r, r[6] is not None) for i, r in enumerate(rows)],
            )
            return len(rows) - cur.rowcount

    def publish_items(
        self, upload_id: int, job_id: int, target: int, now: float, first: int, end: int
    ) -> tuple[int, int]:
        """Moves the staged items numbered [first, end) into the job, keys it
        already has excepted; returns (added, gold added)."""
        added = []
        for gold in (0, 1):
            added.append(
                self.run(
                    "INSERT INTO items (job_id, key, payload_kind, payload, metadata, prelabel,"
                    " prelabel_confidence, gold, is_gold, target, created_at)"
                    " SELECT %s, key, payload_kind, payload, metadata, prelabel, prelabel_confidence, gold,"
                    " is_gold, %s, %s FROM upload_items WHERE upload_id = %s AND seq >= %s AND seq < %s"
                    " AND is_gold = %s ORDER BY seq ON CONFLICT (job_id, key) DO NOTHING",
                    (job_id, target, now, upload_id, first, end, gold),
                )
            )
        self.run(
            "DELETE FROM upload_items WHERE upload_id = %s AND seq >= %s AND seq < %s",
            (upload_id, first, end),
        )
        return added[0] + added[1], added[1]

    def next_work_row(self, job_id: int, worker_id: int, *, pilot: bool) -> Any:
        """Locks the item it picks until commit: another replica skips it rather than
        leasing a slot this transaction is about to take."""
        return self.one(
            "SELECT * FROM items i WHERE job_id = %s AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
            f" AND done + leased < target AND {shown('i.id')}{in_pilot('i', pilot)}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = %s AND t.item_id = i.id)"
            " ORDER BY id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED",
            (job_id, job_id, worker_id),
        )

    def next_work_rows(
        self, job_id: int, worker_id: int, after_id: int, limit: int, *, pilot: bool
    ) -> list[Any]:
        """Like `next_work_row`, up to `limit` rows past item `after_id`: the
        candidates a bulk-verification batch is filled from."""
        return self.all(
            "SELECT * FROM items i WHERE job_id = %s AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
            f" AND id > %s AND done + leased < target AND {shown('i.id')}{in_pilot('i', pilot)}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = %s AND t.item_id = i.id)"
            " ORDER BY id LIMIT %s FOR NO KEY UPDATE SKIP LOCKED",
            (job_id, after_id, job_id, worker_id, limit),
        )

    def unseen_gold(self, job_id: int, worker_id: int, pools: Sequence[int], max_exposures: int) -> list[int]:
        """Gold items of the given pools (GoldUse values) the worker has never
        been shown and that are not retired (shown to `max_exposures` workers
        already; 0 means never retired), by id; the dispatcher draws one."""
        rows = self.all(
            "SELECT id FROM items i WHERE job_id = %s AND is_gold = 1 AND gold_use = ANY(%s)"
            f" AND (%s = 0 OR exposures < %s) AND {shown('i.id')}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = %s AND t.item_id = i.id)"
            " ORDER BY id LIMIT 1000",
            (job_id, list(pools), max_exposures, max_exposures, job_id, worker_id),
        )
        return [int(r[0]) for r in rows]

    def count_item(self, item_id: int, **deltas: int) -> None:
        sets = ", ".join(f"{name} = GREATEST({name} + %s, 0)" for name in deltas)
        self.run(f"UPDATE items SET {sets} WHERE id = %s", (*deltas.values(), item_id))

    def claim_items(
        self,
        job_id: int,
        adapter: str,
        limit: int,
        price_micros: int = 0,
        fee_micros: int = 0,
        available_micros: int | None = None,
    ) -> list[Row]:
        """Returns the claimed rows as they were before the claim, like SQLite's."""
        rows = self.all(
            "SELECT * FROM items WHERE job_id = %s AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
            f" AND done + leased < target AND {shown('items.id')} ORDER BY id LIMIT %s FOR NO KEY UPDATE SKIP LOCKED",
            (job_id, job_id, limit),
        )
        rows, reserve = affordable_claims(rows, price_micros + fee_micros, available_micros)
        if rows:
            self.run(
                "UPDATE items SET claimed_by = %s, leased = target - done, claim_fee_micros = %s,"
                " reserved_micros = data.micros FROM unnest(%s::bigint[], %s::bigint[]) AS data(id, micros)"
                " WHERE items.id = data.id",
                (adapter, fee_micros, [int(r["id"]) for r in rows], reserve),
            )
        return rows

    # workers

    def skills_of(self, worker_ids: Sequence[int]) -> dict[int, tuple[float | None, int, int]]:
        """(pass skill, gold answered, gold right) of each worker."""
        if not worker_ids:
            return {}
        rows = self.all(
            "SELECT id, skill, gold_answered, gold_correct FROM workers WHERE id = ANY(%s)",
            (list(worker_ids),),
        )
        return {int(r["id"]): (r["skill"], int(r["gold_answered"]), int(r["gold_correct"])) for r in rows}

    def set_skills(self, skills: dict[int, float]) -> None:
        if skills:
            with self.conn.cursor() as cur:
                cur.executemany(
                    "UPDATE workers SET skill = %s WHERE id = %s", [(v, k) for k, v in skills.items()]
                )

    def workers_of(self, job_id: int, after_id: int, limit: int) -> list[Row]:
        return self.all(
            "SELECT * FROM workers WHERE job_id = %s AND id > %s ORDER BY id LIMIT %s",
            (job_id, after_id, limit),
        )

    # tasks

    def return_items(self, job_id: int, keys: Sequence[str]) -> None:
        if keys:
            self.run(
                "UPDATE items SET claimed_by = NULL, leased = 0 WHERE job_id = %s AND key = ANY(%s) AND state = 0",
                (job_id, list(keys)),
            )

    def fail_items(self, job_id: int, keys: Sequence[str], reason: str) -> int:
        if not keys:
            return 0
        return self.run(
            "UPDATE items SET state = 2, failure_reason = %s, leased = 0"
            " WHERE job_id = %s AND key = ANY(%s) AND state = 0",
            (reason, job_id, list(keys)),
        )

    def expired_leases(self, job_id: int, now: float) -> list[Row]:
        """Locks the leases it returns: two replicas sweeping at once would otherwise
        both expire one lease and give its item's slot back twice."""
        return self.all(
            "SELECT * FROM tasks WHERE job_id = %s AND state = 1 AND expires_at < %s FOR UPDATE SKIP LOCKED",
            (job_id, now),
        )

    # judgments

    def exclude_judgments_of(self, worker_id: int) -> list[int]:
        """Marks a worker's judgments excluded; returns the non-gold items they fed."""
        rows = self.all(
            "UPDATE judgments SET excluded = 1 WHERE worker_id = %s AND excluded = 0"
            " RETURNING item_id, gold_correct",
            (worker_id,),
        )
        return [int(r[0]) for r in rows if r[1] is None]

    # labels

    def label_events(self, job_id: int, after_sequence: int, limit: int) -> list[Row]:
        return self.all(
            "SELECT e.*, i.key AS item_key, i.metadata AS item_metadata FROM label_events e"
            " JOIN items i ON i.id = e.item_id WHERE e.job_id = %s AND e.sequence > %s"
            " ORDER BY e.sequence LIMIT %s",
            (job_id, after_sequence, limit),
        )

    def put_reference_label(
        self, item_id: int, value: dict[str, Any], confidence: float | None, method: str
    ) -> None:
        self.run(
            "INSERT INTO reference_labels VALUES (%s, %s, %s, %s) ON CONFLICT (item_id) DO UPDATE"
            " SET value = EXCLUDED.value, confidence = EXCLUDED.confidence, method = EXCLUDED.method",
            (item_id, json.dumps(value), confidence, method),
        )

    # adapters

    def put_adapter_state(self, job_id: int, state: dict[str, Any]) -> None:
        self.run(
            "INSERT INTO adapter_state VALUES (%s, %s) ON CONFLICT (job_id) DO UPDATE SET state = EXCLUDED.state",
            (job_id, json.dumps(state)),
        )


class PostgresWriteTx(PostgresTx):
    """The writer's operations: what must be ordered against other replicas
    waits on a row lock, held to the commit, and nothing else waits.

    - An item or worker read to decide on it (is this the item's last judgment,
      what are the worker's counts) is locked (`FOR NO KEY UPDATE`, which the
      foreign-key checks of tasks and judgments pointing at it do not wait
      for): two replicas judging one item take turns on that item alone.
      Leasing skips locked items (`next_work_row`).
    - Jobs' counters are counted in memory and written at the commit (`Session.flush`),
      so the job's row is locked only from then to the commit; `job` adds
      what this transaction counted to the row it reads. A job with a budget
      is locked when read, so that replicas cannot both spend its last micros.
    - The label feed's sequences are allocated at the commit, on the job's row
      locked until the commit: a second transaction allocating on the job waits,
      so sequences commit in the order they were allocated and a reader that
      sees sequence N has every event before it (no gap behind it fills later).
      Until then `next_sequence` hands out stand-ins (`Session.placeholder`),
      which the flush rewrites in the events and items, and in what the
      caller's work returned (a correction answers with its sequence).
    """

    def __init__(self, session: Session) -> None:
        super().__init__(session.conn)
        self.session = session
        self._rows = session.rows

    def _written(self, sql: str) -> None:
        """Forgets the kept rows a write statement may change; a statement that
        writes the jobs table must also find the counts made so far in it."""
        if "UPDATE jobs" in sql and (self.session.pending or self.session.op_pending):
            self.session.flush()
        if self._rows and not sql.startswith("SELECT"):
            written = _WRITTEN_TABLE.match(sql)
            if written is None:
                self._rows.clear()
            elif written[1] in ("jobs", "workers"):
                for key in [key for key in self._rows if key[0] == written[1]]:
                    del self._rows[key]

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        self._written(sql)
        return super().one(sql, args)

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        self._written(sql)
        return super().all(sql, args)

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        self._written(sql)
        return super().run(sql, args)

    def set_skills(self, skills: dict[int, float]) -> None:
        self._rows.clear()
        super().set_skills(skills)

    def count_job(self, job_id: int, **deltas: int) -> None:
        held = self.session.op_pending.setdefault(job_id, {})
        for name, delta in deltas.items():
            held[name] = held.get(name, 0) + delta

    def job(self, job_id: int) -> Row | None:
        key = ("jobs", job_id)
        if key in self._rows:
            row = self._rows[key]
        else:
            row = self.conn.execute("SELECT * FROM jobs WHERE id = %s", (job_id,)).fetchone()
            if row is not None and json.loads(row["spec"]).get("budget_micros"):
                row = self.conn.execute(
                    "SELECT * FROM jobs WHERE id = %s FOR NO KEY UPDATE", (job_id,)
                ).fetchone()
            self._rows[key] = row
        deltas = self.session.deltas(job_id)
        if row is None or not deltas:
            return row
        values = list(row)
        for name, delta in deltas.items():
            values[row._names[name]] += delta
        return Row(row._names, values)

    def next_sequence(self, job_id: int) -> int:
        sequence = self.session.placeholder(job_id)
        self.count_job(job_id, last_sequence=1)
        return sequence

    def item(self, item_id: int) -> Row | None:
        return self.conn.execute("SELECT * FROM items WHERE id = %s FOR NO KEY UPDATE", (item_id,)).fetchone()

    def worker(self, worker_id: int) -> Row | None:
        key = ("workers", worker_id)
        if key not in self._rows:
            self._rows[key] = self.conn.execute(
                "SELECT * FROM workers WHERE id = %s FOR NO KEY UPDATE", (worker_id,)
            ).fetchone()
        return self._rows[key]


class WriterThread(TransactionThread[PostgresWriteTx]):
    """The writer, running again a group PostgreSQL aborted to break a lock
    cycle with another replica: a caller never sees a deadlock, only a later answer.

    Cycles are also kept from forming. Grouped transactions of two replicas
    that judge the same items lock them in no common order (each caller's work
    locks its item when it comes), so once a group holds the locks of its
    first work, a later work waits on another replica's lock only briefly
    (`LOCK_WAIT`): then it is rolled back alone and put first in the next
    group, where it waits holding nothing of its group's. The others commit;
    a group that waits no longer than that can never close a cycle."""

    def _run_one(self, conn: Any, work: Any, opening: str = "SAVEPOINT op") -> Any:
        """One caller's work in its savepoint, which stays open until the next
        caller's begins (`RELEASE_AND_SAVEPOINT`) or the group commits: each
        statement is a round trip, and the savepoints cost two per caller otherwise.

        A lock cycle aborts the whole group, not the one caller: the locks
        its earlier callers took stay held until the rollback, so running the
        one caller again would meet the same cycle."""
        conn.execute(opening)
        tx = self._make_tx(conn)
        try:
            value = work[0](tx)
        except Exception as exc:
            if _retriable(exc):
                raise
            conn.execute("ROLLBACK TO op")
            return work, False, exc, frozenset()
        conn.check_open()  # the RELEASE that would have failed is not sent
        return work, True, value, getattr(tx, "moved_jobs", frozenset())

    def _run_group(self, conn: Any, group: list[Any]) -> None:
        """`TransactionThread._run_group`, run again from BEGIN when PostgreSQL
        aborted a statement of it, or its commit, to break a lock cycle."""
        started = time.perf_counter()
        for attempt in range(RETRIES):
            outcomes: list[Any] = []
            deferred: list[Any] = []
            try:
                conn.execute(self._begin)
                for n, work in enumerate(group):
                    opening = ("SAVEPOINT op", WAIT_BRIEFLY)[n] if n < 2 else RELEASE_AND_SAVEPOINT
                    outcome = self._run_one(conn, work, opening)
                    if n and not outcome[1] and _lock_wait(outcome[2]):
                        deferred.append(work)
                    else:
                        outcomes.append(outcome)
                if len(group) > 1:
                    conn.execute("SET LOCAL lock_timeout = 0")  # the commit's flush waits as long as it must
                conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(BaseException):
                    conn.execute("ROLLBACK")
                if _retriable(exc) and attempt + 1 < RETRIES:
                    continue
                log.exception("a store transaction failed; its %d callers get the error", len(group))
                _answer([(work, False, exc, frozenset()) for work in group])
                return
            break
        self._deferred.extend(deferred)
        self._commit_seconds.observe(time.perf_counter() - started)
        self._group_size.observe(len(outcomes))
        numbered = conn.numbered
        if numbered:
            outcomes = [
                (work, ok, numbered.get(value, value) if ok and isinstance(value, int) else value, moved)
                for work, ok, value, moved in outcomes
            ]
        _answer(outcomes, self.on_commit)


class PostgresStore:
    """The PostgreSQL store: `write` for transactions that change data, `read` for snapshots.

    Reads run in REPEATABLE READ so that a read made of several queries sees one
    snapshot, as a SQLite read transaction does. Writes run in READ COMMITTED,
    so each sees everything other replicas committed before it, and lock only
    the rows they must order (`PostgresWriteTx`).
    """

    kind = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        boot = connect(url)
        try:
            self.version = migrate(boot)
        finally:
            boot.close()
        self._writer = WriterThread("labelwire-postgres-writer", self._writer_session, PostgresWriteTx)
        self._reader = TransactionThread(
            "labelwire-postgres-reader",
            self._session,
            self._tx,
            begin="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            grouped=False,
        )

    def _session(self) -> Session:
        return Session(self.url)

    def _writer_session(self) -> Session:
        """The writer's connection, told to look for lock cycles after 20 ms rather
        than PostgreSQL's 1 s: grouped transactions of two replicas that judge the
        same items lock them in no common order, and each cycle stalls both
        replicas until it is found (the group found in one is run again). Only a
        superuser, or a role granted the setting, may change it; others keep the
        server's value (`ALTER ROLE ... SET deadlock_timeout` does the same)."""
        return Session(self.url, "SET deadlock_timeout = '20ms'")

    @staticmethod
    def _tx(session: Session) -> PostgresTx:
        return PostgresTx(session.conn)

    def on_commit(self, callback: Callable[[Set[int]], None]) -> None:
        """`callback(job_ids)` runs after each write that moved those jobs' label feeds."""
        self._writer.on_commit = callback

    async def write(self, fn: Callable[[PostgresTx], T]) -> T:
        return await self._writer.submit(fn)

    async def read(self, fn: Callable[[PostgresTx], T]) -> T:
        return await self._reader.submit(fn)

    def close(self) -> None:
        self._writer.close()
        self._reader.close()
