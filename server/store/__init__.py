"""Stores: where jobs, items, judgments and the label feed live.

Every store offers `write(fn)` and `read(fn)`, running `fn(tx)` in one
transaction on a store thread, and the same transaction operations (`SqliteTx`
names them). `open_store` picks the implementation from the database setting.
"""

from __future__ import annotations

from labelwire.server.store.sqlite import SqliteStore, SqliteTx

Tx = SqliteTx
Store = SqliteStore


def open_store(database: str) -> Store:
    """A path (or `sqlite:///path`) opens SQLite."""
    if database.startswith(("postgres://", "postgresql://")):
        raise ValueError("the PostgreSQL store is not built yet; use a SQLite path")
    path = database.removeprefix("sqlite:///").removeprefix("sqlite://")
    return SqliteStore(path)


__all__ = ["SqliteStore", "SqliteTx", "Store", "Tx", "open_store"]
