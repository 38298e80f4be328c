"""The shared store: PostgreSQL, for several server replicas behind a load balancer.

The operations and their results are SQLite's (`SqliteTx`), so the core cannot
tell the stores apart. Each replica groups its own writes into few commits on
one or more writer connections (`Writers`, `--database-writers`), where SQLite has one. Replicas do not take
turns: there is no cluster-wide lock, and a write waits only for the rows it
must order against (`PostgresWriteTx` says which), so writes of different jobs
never wait for each other and every replica adds throughput.

The connections and the writer's `Session` are in `postgres_session`, the
transactions in `postgres_tx`, the writer thread in `postgres_writer` and the
migrations in `postgres_migrate`; this module assembles the store.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from typing import TypeVar

from labelwire.server.store.base import TransactionThread
from labelwire.server.store.postgres_migrate import migrate
from labelwire.server.store.postgres_session import Session, connect, pooling
from labelwire.server.store.postgres_tx import PostgresTx
from labelwire.server.store.postgres_write import PostgresWriteTx
from labelwire.server.store.postgres_writer import DEFAULT_WRITERS, Writers, WriterThread

__all__ = [
    "PostgresStore",
    "PostgresTx",
    "PostgresWriteTx",
    "Session",
    "WriterThread",
    "Writers",
    "connect",
    "migrate",
    "pooling",
]

T = TypeVar("T")


class PostgresStore:
    """The PostgreSQL store: `write` for transactions that change data, `read` for snapshots.

    Reads run in REPEATABLE READ so that a read made of several queries sees one
    snapshot, as a SQLite read transaction does. Writes run in READ COMMITTED,
    so each sees everything other replicas committed before it, and lock only
    the rows they must order (`PostgresWriteTx`).
    """

    kind = "postgres"

    def __init__(self, url: str, writers: int = DEFAULT_WRITERS) -> None:
        self.url = url
        boot = connect(url)
        try:
            self.version = migrate(boot)
        finally:
            boot.close()
        self._writer = Writers(writers, "labelwire-postgres-writer", self._writer_session)
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
        return PostgresTx(session.conn, session.cur)

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
