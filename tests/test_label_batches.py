"""How many label rows a stream reads at a time: about STREAM_BATCH_BYTES of
messages however large each label is, never more than STREAM_BATCH rows and
never none (what the label feed holds for a slow client stays bounded)."""

from __future__ import annotations

import pytest

from labelwire.server.core.labels import STREAM_BATCH, STREAM_BATCH_BYTES, _next_limit
from labelwire.server.store.rows import LabelRow


def row(key: int, value: int, probabilities: int, metadata: int) -> LabelRow:
    return LabelRow(
        job_id=1,
        sequence=1,
        item_id=1,
        revision=1,
        value="v" * value,
        confidence=1.0,
        probabilities="p" * probabilities,
        method="majority_vote",
        judgment_count=1,
        human=1,
        tie=0,
        created_at=0.0,
        item_key="k" * key,
        item_metadata="m" * metadata if metadata else None,
    )


@pytest.mark.parametrize(
    ("rows", "limit"),
    [
        ([row(100, 1000, 700, 48)] * 3, STREAM_BATCH_BYTES // 2048),  # 200 + 1848 bytes a row
        ([row(100, 1000, 700, 48), row(100, 1000, 700, 0)], STREAM_BATCH_BYTES * 2 // (2048 + 2000)),
        ([row(10, 2000, 700, 90)] * 7, STREAM_BATCH_BYTES // 3000),
        ([row(5, 30, 20, 0)] * 50, STREAM_BATCH),
        ([row(10, 100, 100, 2_000_000)], 1),
    ],
    ids=["2 KiB rows", "mixed rows", "3000-byte rows", "small rows", "one huge row"],
)
def test_a_stream_reads_about_half_a_mebibyte_of_labels_at_a_time(rows: list[LabelRow], limit: int) -> None:
    got = _next_limit(rows)
    assert got == limit and isinstance(got, int)
