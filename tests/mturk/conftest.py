"""A stubbed MTurk client per test; every queued response must be consumed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import StubbedMTurk


@pytest.fixture
def mturk() -> Iterator[StubbedMTurk]:
    stubbed = StubbedMTurk()
    yield stubbed
    stubbed.close()
