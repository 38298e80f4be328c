"""ListLabels' filter: the server returns the current labels that pass every
condition (class, confidence range, method, human, revised, contested, key),
paged, and a filtered page that reads its limit of rows ends short with a
token rather than reading the whole job."""

from __future__ import annotations

import grpc
import pytest

from labelwire.client.raw import Client, classification
from labelwire.server.core import labels as core_labels
from labelwire.v1 import job_pb2, label_pb2, label_service_pb2
from tests.conftest import Harness
from tests.helpers import running_job, work

LabelFilter = label_service_pb2.LabelFilter


async def crowd_job(server: Harness, lw: Client) -> job_pb2.Job:
    """12 items, two judgments each: Ada answers right, Bo wrong on his first
    four (ties at confidence 0.5); i5 is then corrected by the owner."""
    job = await running_job(lw, items=12, judgments=2)
    for name, wrong in (("Ada", 0), ("Bo", 4)):
        _, token = await lw.create_worker(job.name, name)
        async with server.worker(token) as w:
            await work(w, right=False, limit=wrong)
            await work(w)
    await lw.correct_label(job.name, "i5", classification("neg"))
    return job


def names(label: label_pb2.Label) -> str:
    return label.value.classification.class_name


async def test_each_condition_returns_exactly_the_labels_that_pass_it(server: Harness) -> None:
    lw = await server.client()
    job = await crowd_job(server, lw)
    every = [lab async for lab in lw.list_labels(job.name)]
    assert len(every) == 12
    assert sum(lab.tie for lab in every) == 4

    cases: list[tuple[LabelFilter, object]] = [
        (LabelFilter(class_name="pos"), lambda lab: names(lab) == "pos"),
        (LabelFilter(min_confidence=0.9), lambda lab: lab.confidence >= 0.9),
        (LabelFilter(max_confidence=0.6), lambda lab: lab.confidence <= 0.6),
        (LabelFilter(min_confidence=0.4, max_confidence=0.6), lambda lab: 0.4 <= lab.confidence <= 0.6),
        (LabelFilter(method="owner_correction"), lambda lab: lab.method == "owner_correction"),
        (LabelFilter(human_annotated=True), lambda lab: lab.human_annotated),
        (LabelFilter(human_annotated=False), lambda lab: not lab.human_annotated),
        (LabelFilter(revised=True), lambda lab: lab.revision > 1),
        (LabelFilter(contested=True), lambda lab: lab.tie or (lab.judgment_count > 1 and lab.confidence < 1)),
        (LabelFilter(item_key_contains="1"), lambda lab: "1" in lab.item_key),
        (
            LabelFilter(class_name="neg", max_confidence=0.99, item_key_contains="i"),
            lambda lab: names(lab) == "neg" and lab.confidence <= 0.99,
        ),
    ]
    for where, keep in cases:
        expected = [lab.item_key for lab in every if keep(lab)]  # type: ignore[operator]
        # Crowd labels are a person's too, so only human_annotated=False is empty.
        assert bool(expected) == (where != LabelFilter(human_annotated=False)), where
        for size in (0, 2):
            got = [lab.item_key async for lab in lw.list_labels(job.name, where, page_size=size)]
            assert got == expected, (where, size)
    (fixed,) = [lab async for lab in lw.list_labels(job.name, LabelFilter(revised=True))]
    assert (fixed.item_key, names(fixed), fixed.revision) == ("i5", "neg", 2)
    await lw.close()


async def test_a_filtered_page_stops_at_its_scan_limit_with_a_token(
    server: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    lw = await server.client()
    job = await crowd_job(server, lw)
    monkeypatch.setattr(core_labels, "FILTER_SCAN", 4)
    monkeypatch.setattr(core_labels, "FILTER_BATCH", 2)
    request = label_service_pb2.ListLabelsRequest(job=job.name, filter=LabelFilter(item_key_contains="i1"))
    pages = []
    while True:
        page = await lw.labels.ListLabels(request, metadata=lw.metadata)
        pages.append([lab.item_key for lab in page.labels])
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    # i1, i10 and i11 of i0..i11, read four rows a call.
    assert pages == [["i1"], [], ["i10", "i11"]]
    await lw.close()


@pytest.mark.parametrize(
    ("where", "field", "words"),
    [
        (LabelFilter(min_confidence=1.5), "filter.min_confidence", "between 0 and 1"),
        (LabelFilter(min_confidence=0.8, max_confidence=0.2), "filter.max_confidence", "under"),
        (LabelFilter(method="m" * 65), "filter.method", "at most 64"),
        (LabelFilter(item_key_contains="k" * 257), "filter.item_key_contains", "at most 256"),
    ],
)
async def test_a_bad_filter_is_refused_naming_its_field(
    server: Harness, where: LabelFilter, field: str, words: str
) -> None:
    lw = await server.client()
    job = await running_job(lw, items=1)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.labels.ListLabels(
            label_service_pb2.ListLabelsRequest(job=job.name, filter=where), metadata=lw.metadata
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (caught.value.details() or "") and words in (caught.value.details() or "")
    await lw.close()
