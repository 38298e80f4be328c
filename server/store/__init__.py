"""Stores: where jobs, items, judgments and the label feed live.

Every store offers `write(fn)` and `read(fn)`, running `fn(tx)` in one
transaction on a store thread, and the same transaction operations (`SqliteTx`
names them; `PostgresTx` repeats them). `open_store` picks the implementation
from the database setting.

`Tx` and `Store` are unions rather than protocols on purpose: code that calls
an operation one store lacks fails the type check, so the two cannot drift apart.
"""

from __future__ import annotations

from labelwire.server.store.postgres import PostgresStore, PostgresTx
from labelwire.server.store.sqlite import SqliteStore, SqliteTx

Tx = SqliteTx | PostgresTx
Store = SqliteStore | PostgresStore


def open_store(database: str, writers: int | None = None) -> Store:
    """A `postgresql://` (or `postgres://`) URL opens PostgreSQL, with `writers`
    writer connections (None: its default); a path (or `sqlite:///path`) opens
    SQLite, which has one writer whatever `writers` says."""
    if database.startswith(("postgres://", "postgresql://")):
        return PostgresStore(database) if writers is None else PostgresStore(database, writers)
    path = database.removeprefix("sqlite:///").removeprefix("sqlite://")
    return SqliteStore(path)


__all__ = ["PostgresStore", "PostgresTx", "SqliteStore", "SqliteTx", "Store", "Tx", "open_store"]
