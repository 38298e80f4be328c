"""The shared store: PostgreSQL, for several server replicas behind a load balancer.

The operations and their results are SQLite's (`SqliteTx`), so the core cannot
tell the stores apart. Each replica groups its own writes into few commits on
one writer connection (`TransactionThread`), as on SQLite; across replicas the
grouped transactions take turns on an advisory lock (`WRITER_BEGIN` says why),
which keeps SQLite's one-writer semantics that the core is written for. The
operations that pick rows to hand out still lock them (`FOR UPDATE SKIP LOCKED`)
and UNIQUE (worker_id, item_id) on tasks still refuses a second lease of one
item to one worker, so leasing stays atomic against any other writer too.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

from labelwire.server.store.base import TransactionThread
from labelwire.server.store.sql import SqlTx, affordable_claims, in_pilot, shown

if TYPE_CHECKING:
    import psycopg
    from psycopg.adapt import Dumper
    from psycopg.rows import RowMaker

T = TypeVar("T")

MIGRATIONS = "labelwire.server.store.migrations.postgres"

# Advisory lock keys. Any fixed numbers work: they only have to be the same in every replica.
MIGRATION_LOCK = 0x6C6162656C77
WRITER_LOCK = 0x6C6162656C78

# Every write transaction, in every replica, first takes the writer lock, so
# they run one at a time as on SQLite. The core reads a row, decides, then
# writes (an item's judgment count decides whether it is finished), and the
# operations of one grouped transaction lock rows in no common order; two
# replicas writing at once would decide on stale counts and deadlock each other.
WRITER_BEGIN = f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})"


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


def connect(url: str) -> psycopg.Connection[Row]:
    """A connection in autocommit mode: `TransactionThread` sends BEGIN and COMMIT itself.

    psycopg is imported here rather than with the module, so that an install
    without the `postgres` extra still runs on SQLite.
    """
    try:
        import psycopg
    except ImportError as exc:
        raise RuntimeError("the PostgreSQL store needs psycopg: pip install 'labelwire[postgres]'") from exc
    conn = psycopg.Connection.connect(url, autocommit=True, row_factory=_rows)
    conn.adapters.register_dumper(bool, _bool_as_integer())
    return conn


class Session:
    """A store thread's connection, opened again at the next BEGIN if the server
    dropped it (a restart, a failover, an idle timeout): without this, one outage
    would leave the replica failing every request until it is restarted.

    Only at BEGIN, where no transaction is open: a connection lost inside a
    transaction fails that transaction's callers. Staged uploads live in
    ordinary tables (`upload_items`), so they survive a reconnection.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = connect(url)

    def execute(self, sql: str) -> psycopg.Cursor[Row]:
        import psycopg

        if not sql.startswith("BEGIN"):
            return self.conn.execute(sql)
        try:
            return self.conn.execute(sql)
        except psycopg.OperationalError:
            if self.conn.closed:
                self.conn = connect(self.url)
                return self.conn.execute(sql)
            self._abandon()
            raise
        except BaseException:
            self._abandon()
            raise

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

    Runs under an advisory lock, so replicas starting together apply each
    migration once: the second waits, then finds it recorded.
    """
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
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
            with conn.transaction():
                conn.execute(script.read_text())
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number,))
            applied.add(number)
        return max(applied, default=0)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


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

    def next_work_row(self, job_id: int, worker_id: int) -> Any:
        """Locks the item it picks until commit: another replica skips it rather than
        leasing a slot this transaction is about to take."""
        return self.one(
            "SELECT * FROM items i WHERE job_id = %s AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
            f" AND done + leased < target AND {shown('i.id')} AND {in_pilot('i.id')}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = %s AND t.item_id = i.id)"
            " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
            (job_id, job_id, job_id, worker_id),
        )

    def next_work_rows(self, job_id: int, worker_id: int, after_id: int, limit: int) -> list[Any]:
        """Like `next_work_row`, up to `limit` rows past item `after_id`: the
        candidates a bulk-verification batch is filled from."""
        return self.all(
            "SELECT * FROM items i WHERE job_id = %s AND state = 0 AND is_gold = 0 AND claimed_by IS NULL"
            f" AND id > %s AND done + leased < target AND {shown('i.id')} AND {in_pilot('i.id')}"
            " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = %s AND t.item_id = i.id)"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (job_id, after_id, job_id, job_id, worker_id, limit),
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
            f" AND done + leased < target AND {shown('items.id')} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
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


class PostgresStore:
    """The PostgreSQL store: `write` for transactions that change data, `read` for snapshots.

    Reads run in REPEATABLE READ so that a read made of several queries sees one
    snapshot, as a SQLite read transaction does. Writes take the writer lock
    (`WRITER_BEGIN`) and run in READ COMMITTED, so each sees everything other
    replicas committed before it.
    """

    kind = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        boot = connect(url)
        try:
            self.version = migrate(boot)
        finally:
            boot.close()
        self._writer = TransactionThread(
            "labelwire-postgres-writer", self._session, self._tx, begin=WRITER_BEGIN
        )
        self._reader = TransactionThread(
            "labelwire-postgres-reader",
            self._session,
            self._tx,
            begin="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            grouped=False,
        )

    def _session(self) -> Session:
        return Session(self.url)

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
