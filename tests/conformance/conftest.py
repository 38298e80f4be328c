"""The stores every store contract test runs on: a fresh SQLite file, and a fresh
PostgreSQL database when one is reachable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labelwire.server.store import Store, open_store
from tests.conformance.store_rows import STORES


@pytest.fixture(params=STORES)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database for one test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return str(tmp_path / "store.db")


@pytest.fixture
async def store(location: str) -> AsyncIterator[Store]:
    opened = open_store(location)
    try:
        yield opened
    finally:
        opened.close()
