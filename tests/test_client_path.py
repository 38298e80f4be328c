"""The path an ML service relies on: job, items, workers, labels."""

from __future__ import annotations

import json
from pathlib import Path

from labelwire.client.raw import classification, text_item
from labelwire.v1 import job_pb2
from tests.conftest import Harness, client_folder
from tests.helpers import CLASSES, drain, running_job, take, work


async def test_items_become_majority_labels_streamed_to_the_client(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=6, judgments=3)
    tokens = [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(3)]
    for i, token in enumerate(tokens):
        async with server.worker(token) as w:
            await work(w, right=i < 2)
    labels = await drain(lw.stream_labels(job.name))
    assert [lab.sequence for lab in labels] == list(range(1, 7))
    for lab in labels:
        n = int(lab.item_key[1:])
        assert lab.value.classification.class_name == CLASSES[n % 3]
        odds = 0.7 * 2 / 0.3  # a 2-1 vote over three classes from workers with no record (0.7)
        assert abs(lab.confidence - odds**2 / (odds**2 + odds + 1)) < 1e-9  # a posterior, not 2/3
        assert lab.judgment_count == 3 and lab.human_annotated and lab.method == "majority_vote_posterior"
    done = await lw.get_job(job.name)
    assert done.state == job_pb2.JOB_STATE_COMPLETED
    assert (done.counters.labeled_items, done.counters.judgments) == (6, 18)
    await lw.close()


async def test_add_items_is_idempotent_by_key(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    items = [text_item(f"k{i}", "x") for i in range(5)]
    first = await lw.add_items(job.name, items)
    again = await lw.add_items(job.name, [*items, text_item("k5", "y")])
    assert (first.added_count, first.duplicate_count) == (5, 0)
    assert (again.added_count, again.duplicate_count) == (1, 5)
    assert (await lw.get_job(job.name)).counters.total_items == 6
    await lw.close()


async def test_tied_votes_pick_the_first_class_and_say_so(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=1, judgments=2)
    for answer in ("neg", "pos"):
        _, token = await lw.create_worker(job.name, answer)
        async with server.worker(token) as w:
            t = await w.next_task()
            await w.submit(t.task.name, classification(answer))
    [label] = await drain(lw.stream_labels(job.name))
    odds = 0.7 * 2 / 0.3  # one vote each for two of three classes, workers with no record (0.7)
    assert label.tie and label.value.classification.class_name == "pos"  # no other label: the lowest index
    assert abs(label.confidence - odds / (2 * odds + 1)) < 1e-9
    await lw.close()


async def test_stream_resumes_after_the_last_sequence_seen(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=9)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        await work(w, limit=4)
        first = [lab.sequence for lab in await drain(lw.stream_labels(job.name, snapshot_only=True))]
        await work(w)
    rest = [lab.sequence for lab in await drain(lw.stream_labels(job.name, after_sequence=first[-1]))]
    assert first == [1, 2, 3, 4] and rest == [5, 6, 7, 8, 9]
    await lw.close()


async def test_live_stream_delivers_a_label_while_the_job_is_still_running(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=3)
    stream = lw.stream_labels(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        await work(w, limit=1)
        [first] = await take(stream, 1)
        meanwhile = await lw.get_job(job.name)
        await work(w)
    rest = await drain(stream)
    assert meanwhile.state == job_pb2.JOB_STATE_RUNNING and meanwhile.counters.unlabeled_items == 2
    assert first.sequence == 1 and sorted([first.item_key] + [lab.item_key for lab in rest]) == [
        "i0",
        "i1",
        "i2",
    ]
    await lw.close()


async def test_list_and_export_give_the_current_labels(files_server: Harness, files_root: Path) -> None:
    lw = await files_server.client()
    job = await running_job(lw, items=3)
    _, token = await lw.create_worker(job.name, "w")
    async with files_server.worker(token) as w:
        await work(w)
    listed = [lab async for lab in lw.list_labels(job.name)]
    assert [lab.item_key for lab in listed] == ["i0", "i1", "i2"]
    exported = await lw.export_labels(job.name, "out/output.manifest")
    out = client_folder(files_root, lw) / "out" / "output.manifest"
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert (exported.label_count, exported.line_count) == (3, 3)
    assert lines[1]["source"] == "truth:neg" and lines[1]["label"] == 1
    meta = lines[1]["label-metadata"]
    assert meta["class-name"] == "neg" and meta["human-annotated"] == "yes"
    assert meta["type"] == "groundtruth/text-classification" and meta["job-name"] == "sentiment"
    assert set(meta) >= {"confidence", "creation-date"}
    await lw.close()


async def test_export_writes_every_item_with_its_key_and_an_honest_confidence(
    files_server: Harness, files_root: Path
) -> None:
    lw = await files_server.client()
    job = await running_job(lw, items=3, gold=1)
    _, token = await lw.create_worker(job.name, "w")
    async with files_server.worker(token) as w:
        await work(w, limit=2)
    exported = await lw.export_labels(job.name, "labels.manifest", label_job_name="reviews-2026")
    text = (client_folder(files_root, lw) / "labels.manifest").read_text()
    lines = {line["labelwire-key"]: line for line in map(json.loads, text.splitlines())}
    assert (exported.line_count, exported.label_count) == (4, 2)
    assert sorted(lines) == ["g0", "i0", "i1", "i2"]
    assert lines["g0"]["labelwire-gold"] is True and "labelwire-gold" not in lines["i0"]
    labeled = [k for k, line in lines.items() if "label" in line]
    assert len(labeled) == 2 and all("label-metadata" not in lines[k] for k in lines if k not in labeled)
    for key in labeled:
        meta = lines[key]["label-metadata"]
        assert meta["job-name"] == "reviews-2026"
        assert meta["confidence"] == 0.7  # one judgment: the posterior at the default accuracy, not 1.0
    await lw.close()


async def test_export_refuses_a_label_job_name_ground_truth_would_refuse(files_server: Harness) -> None:
    import grpc

    lw = await files_server.client()
    job = await running_job(lw, items=1)
    try:
        await lw.export_labels(job.name, "x.manifest", label_job_name="not_valid!")
        raise AssertionError("an invalid label_job_name must be refused")
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and "label_job_name" in (exc.details() or "")
    await lw.close()


async def test_export_confidence_is_the_posterior_of_the_crowd_that_agreed(
    files_server: Harness, files_root: Path
) -> None:
    lw = await files_server.client()
    job = await running_job(lw, items=3, judgments=3)
    wrong_on = {0: {"i0"}, 1: set(), 2: {"i0", "i1"}}  # i0 splits 1-2, i1 2-1, i2 3-0
    for n, wrong in wrong_on.items():
        _, token = await lw.create_worker(job.name, f"w{n}")
        async with files_server.worker(token) as w:
            while (t := await w.next_task()).HasField("task"):
                key = {"truth:pos": "i0", "truth:neg": "i1", "truth:neutral": "i2"}[t.task.text]
                answer = t.task.text.split(":")[1]
                if key in wrong:
                    answer = CLASSES[(CLASSES.index(answer) + 1) % 3]
                await w.submit(t.task.name, classification(answer))
    await lw.export_labels(job.name, "export.manifest")
    out = client_folder(files_root, lw) / "export.manifest"
    exported = {
        line["source"]: (line["label-metadata"]["class-name"], line["label-metadata"]["confidence"])
        for line in map(json.loads, out.read_text().splitlines())
    }
    assert exported == {
        # One-coin posterior at the default accuracy 0.7, wrong answers spread over the
        # two other classes: 2 of 3 agreeing gives .0735 / (.0735 + .01575 + .003375).
        "truth:pos": ("neg", 0.7935),
        "truth:neg": ("neg", 0.7935),
        "truth:neutral": ("neutral", 0.9807),
    }
    await lw.close()


async def test_import_manifest_reads_json_lines_and_csv(files_server: Harness, files_root: Path) -> None:
    lw = await files_server.client()
    job = await lw.create_job("J", classes=CLASSES)
    folder = client_folder(files_root, lw)
    (folder / "in.manifest").write_text(
        '{"source": "a", "id": "1", "lang": "en"}\n{"source-ref": "s3://b/x.txt", "id": "2"}\n'
    )
    (folder / "in.csv").write_text("id,source,gold\n3,hello,pos\n4,bye,\n")
    r1 = await lw.import_manifest(job.name, "in.manifest", key_field="id")
    r2 = await lw.import_manifest(job.name, "in.csv", key_field="id", gold_field="gold")
    assert (r1.added_count, r2.added_count, r2.gold_count) == (2, 2, 1)
    counters = (await lw.get_job(job.name)).counters
    assert (counters.total_items, counters.gold_items) == (3, 1)
    await lw.close()


async def test_cancel_stops_dispatch_and_keeps_labels(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=4)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        await work(w, limit=2)
        cancelled = await lw.cancel_job(job.name)
        after = await w.next_task()
    assert cancelled.state == job_pb2.JOB_STATE_CANCELLED
    assert not after.HasField("task") and "cancelled" in after.message
    assert len(await drain(lw.stream_labels(job.name))) == 2
    await lw.close()


async def test_list_jobs_pages_newest_first(server: Harness) -> None:
    lw = await server.client()
    names = [(await lw.create_job(f"J{i}", classes=CLASSES)).name for i in range(3)]
    listed = [j.name async for j in lw.list_jobs()]
    assert listed == names[::-1]
    await lw.close()


async def test_multi_label_items_get_a_per_class_vote(server: Harness) -> None:
    from labelwire.client.raw import multi_label, source_item

    lw = await server.client()
    job = await lw.create_job(
        "Tags",
        classes=["cat", "dog", "car"],
        task_type="multi_label",
        judgments_per_item=3,
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        quiz_size=0,
        hidden_gold_share=0,
    )
    await lw.add_items(job.name, [source_item("img1", "s3://bucket/img1.jpg")])
    await lw.start_job(job.name)
    for chosen in (["cat", "dog"], ["cat"], ["cat", "dog", "car"]):
        _, token = await lw.create_worker(job.name, "+".join(chosen))
        async with server.worker(token) as w:
            t = await w.next_task()
            assert t.task.source_ref == "s3://bucket/img1.jpg"
            await w.submit(t.task.name, multi_label(chosen))
    [label] = await drain(lw.stream_labels(job.name))
    assert list(label.value.multi_label.class_names) == ["cat", "dog"]
    probabilities = {p.class_name: round(p.probability, 3) for p in label.class_probabilities}
    assert probabilities == {"cat": 1.0, "dog": 0.667, "car": 0.333}
    assert abs(label.confidence - 2 / 3) < 1e-9 and not label.tie
    await lw.close()


async def test_an_image_job_refuses_inline_text(server: Harness) -> None:
    import grpc

    lw = await server.client()
    job = await lw.create_job("Img", classes=CLASSES, media_type=job_pb2.MEDIA_TYPE_IMAGE)
    try:
        await lw.add_items(job.name, [text_item("t", "not an image")])
        raise AssertionError("inline text must be refused for an image job")
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and "source_ref is required" in (
            exc.details() or ""
        )
    await lw.close()


async def test_bounding_boxes_are_clustered_and_averaged(server: Harness) -> None:
    from labelwire.client.raw import source_item
    from labelwire.v1 import answer_pb2

    def boxes(*found: tuple[str, float, float]) -> answer_pb2.Answer:
        answer = answer_pb2.Answer(bounding_boxes=answer_pb2.BoundingBoxAnswer())
        for name, left, top in found:
            answer.bounding_boxes.boxes.add(class_name=name, left=left, top=top, width=10, height=10)
        return answer

    lw = await server.client()
    job = await lw.create_job(
        "Boxes",
        classes=["car", "bike"],
        task_type="bounding_box",
        judgments_per_item=3,
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        quiz_size=0,
        hidden_gold_share=0,
    )
    await lw.add_items(job.name, [source_item("img", "s3://bucket/street.jpg")])
    await lw.start_job(job.name)
    drawn = [boxes(("car", 10, 10), ("bike", 50, 50)), boxes(("car", 12, 10)), boxes(("car", 11, 10))]
    for n, answer in enumerate(drawn):
        _, token = await lw.create_worker(job.name, f"w{n}")
        async with server.worker(token) as w:
            t = await w.next_task()
            await w.submit(t.task.name, answer)
    [label] = await drain(lw.stream_labels(job.name))
    [car] = label.value.bounding_boxes.boxes
    assert car.class_name == "car" and abs(car.left - 11) < 1e-9 and car.width == 10
    assert label.method == "box_clusters" and 0 < label.confidence <= 1
    await lw.close()


async def test_entity_spans_are_voted_per_character(server: Harness) -> None:
    from labelwire.v1 import answer_pb2

    def spans(*found: tuple[str, int, int]) -> answer_pb2.Answer:
        answer = answer_pb2.Answer(spans=answer_pb2.SpanAnswer())
        for name, start, end in found:
            answer.spans.spans.add(entity_type=name, start=start, end=end)
        return answer

    lw = await server.client()
    job = await lw.create_job(
        "NER",
        classes=["PER", "LOC"],
        task_type="spans",
        judgments_per_item=3,
        quiz_size=0,
        hidden_gold_share=0,
    )
    await lw.add_items(job.name, [text_item("s", "Ada went to Paris")])
    await lw.start_job(job.name)
    marked = [
        spans(("PER", 0, 3), ("LOC", 12, 17)),
        spans(("PER", 0, 3), ("LOC", 12, 17)),
        spans(("PER", 0, 3)),
    ]
    for n, answer in enumerate(marked):
        _, token = await lw.create_worker(job.name, f"w{n}")
        async with server.worker(token) as w:
            t = await w.next_task()
            await w.submit(t.task.name, answer)
    [label] = await drain(lw.stream_labels(job.name))
    got = [(s.entity_type, s.start, s.end) for s in label.value.spans.spans]
    assert got == [("PER", 0, 3), ("LOC", 12, 17)] and label.method == "span_vote"
    await lw.close()
