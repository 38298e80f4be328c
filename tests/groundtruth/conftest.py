"""The Ground Truth harness over the session's moto S3 (see tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .harness import GroundTruthHarness


@pytest.fixture
def harness(moto_endpoint: str) -> Iterator[GroundTruthHarness]:
    h = GroundTruthHarness(endpoint_url=moto_endpoint, bucket=f"gt-{uuid.uuid4().hex[:20]}")
    yield h
    h.close()
