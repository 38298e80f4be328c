"""The PostgreSQL store's own cursor (`LeanCursor`) answers as psycopg's did: the writer
retries and reconnects by the errors' `sqlstate`, the schema's integer flags take Python
booleans, a statement psycopg would parse otherwise (`%%`) still runs, and nothing is
prepared behind transaction pooling, where the next transaction may be on another
server connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from labelwire.server.store.postgres_cursor import LeanCursor
from labelwire.server.store.postgres_session import connect, rows_of
from labelwire.server.store.rows import maker


@pytest.fixture
def conn(postgres_database: str) -> Iterator[Any]:
    opened = connect(postgres_database)
    opened.execute("CREATE TABLE t (id integer PRIMARY KEY, flag integer NOT NULL, name text)")
    try:
        yield opened
    finally:
        opened.close()


def _prepared(conn: Any) -> int:
    row = conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
    return int(row[0])


def test_rows_values_and_counts_are_psycopgs(conn: Any) -> None:
    cur = LeanCursor(conn, rows_of)
    assert (
        cur.execute(
            "INSERT INTO t VALUES (%s, %s, %s), (%s, %s, %s)", (1, True, "a'b", 2, False, None)
        ).rowcount
        == 2
    )
    row = cur.execute("SELECT id, flag, name FROM t WHERE id = %s", (1,)).fetchone()
    assert (row["name"], row[0], row["flag"]) == ("a'b", 1, 1)
    assert [tuple(r) for r in cur.execute("SELECT id, flag, name FROM t ORDER BY id").fetchall()] == [
        (1, 1, "a'b"),
        (2, 0, None),
    ]
    assert cur.execute("SELECT id FROM t WHERE id = ANY(%s)", ([2, 3],)).fetchall()[0][0] == 2
    assert cur.execute("SELECT id FROM t WHERE id = %s", (9,)).fetchone() is None
    assert cur.execute("SELECT 'x%%' || %s", ("y",)).fetchone()[0] == "x%y"  # psycopg's own parse
    assert cur.execute("SELECT id, flag FROM t WHERE id = %s", (2,)).fetchone(maker(tuple)) == (2, 0)


def test_errors_keep_their_sqlstate_and_the_connection_goes_on(conn: Any) -> None:
    import psycopg

    cur = LeanCursor(conn, rows_of)
    cur.execute("INSERT INTO t VALUES (%s, %s, %s)", (1, 0, "a"))
    with pytest.raises(psycopg.errors.UniqueViolation) as raised:
        cur.execute("INSERT INTO t VALUES (%s, %s, %s)", (1, 0, "b"))
    assert raised.value.sqlstate == "23505"
    assert cur.execute("SELECT name FROM t WHERE id = %s", (1,)).fetchone()[0] == "a"


def test_statements_are_prepared_once_unless_pooled(conn: Any) -> None:
    cur = LeanCursor(conn, rows_of)
    for n in range(3):
        cur.execute("SELECT %s::integer + 1", (n,))
    cur.execute("BEGIN")
    cur.execute("COMMIT")
    assert _prepared(conn) == 1
    pooled = LeanCursor(conn, rows_of, prepared=False)
    assert pooled.execute("SELECT %s::integer * 2", (4,)).fetchone()[0] == 8
    assert _prepared(conn) == 1
