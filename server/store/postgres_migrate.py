"""PostgreSQL's schema migrations, applied once across replicas starting together."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from labelwire.server.store.postgres_session import Row

if TYPE_CHECKING:
    import psycopg


MIGRATIONS = "labelwire.server.store.migrations.postgres"

# Advisory lock key. Any fixed number works: it only has to be the same in every replica.
MIGRATION_LOCK = 0x6C6162656C77


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
