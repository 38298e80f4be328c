"""The blocking `Client`, `WorkerClient` and `AdminClient`: every public method
against `labelwire serve` on a real port, as a notebook or a script calls them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas
import pytest

from labelwire.client import (
    AdminClient,
    Client,
    FailedPrecondition,
    InvalidArgument,
    Job,
    Label,
    NotFound,
    PermissionDenied,
    Task,
    Unauthenticated,
    WorkerClient,
)
from tests.sdk.conftest import Server

ANIMALS = ["cat", "dog"]


def animal(task: Task) -> str:
    return "cat" if "meow" in task.text else "dog"


def work_all(target: str, token: str) -> int:
    """Answers every task the worker is given; how many."""
    done = 0
    with WorkerClient(target, token) as worker:
        while (task := worker.next_task()) is not None:
            worker.submit(task, animal(task))
            done += 1
    return done


def sounds(count: int) -> list[dict[str, object]]:
    return [{"key": f"k{i}", "text": "meow" if i % 2 else "woof", "batch": i // 10} for i in range(count)]


def test_a_job_goes_from_dicts_to_a_dataframe_of_labels(
    live: Server, api_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(live.target, api_key) as lw:
        job = lw.create_job("cats", classes=ANIMALS, judgments=1, quiz_size=0)
        assert isinstance(job, Job) and job.state == "draft" and job.classes == ("cat", "dog")
        assert job.judgments == 1 and job.proto.judgment_policy.judgments_per_item == 1
        added = lw.add_items(job, sounds(25), progress=True)
        assert (added.added, added.gold, added.duplicates) == (25, 0, 0)
        assert "25/25" in capsys.readouterr().err  # tqdm's bar
        assert lw.add_items(job.name, sounds(3)).duplicates == 3
        assert lw.start_job(job).state == "running"
        worker, token = lw.create_worker(job, "ana")
        assert worker.display_name == "ana" and token.startswith("lww_")
        assert work_all(live.target, token) == 25
        finished = lw.wait(job, progress=True, timeout=60)
        assert finished.state == "completed" and finished.done
        assert finished.counters.labeled_items == 25 == finished.counters.total_items
        assert "cats: 100%" in capsys.readouterr().err
        labels = list(lw.labels(job))
        assert len(labels) == 25 and all(isinstance(label, Label) for label in labels)
        by_key = {label.key: label for label in labels}
        assert by_key["k1"].value == "cat" and by_key["k2"].value == "dog"
        assert by_key["k1"].judgments == 1 and by_key["k1"].revision == 1 and by_key["k1"].human_annotated
        assert by_key["k12"].metadata == {"batch": 1.0}  # other columns come back as metadata
        frame = lw.labels(job).to_pandas()
        assert isinstance(frame, pandas.DataFrame) and len(frame) == 25
        assert list(frame.columns[:6]) == [
            "key",
            "value",
            "confidence",
            "judgments",
            "revision",
            "human_annotated",
        ]
        assert frame.set_index("key").loc["k3", "value"] == "cat"
        assert [w.display_name for w in lw.workers(job)] == ["ana"]
        assert lw.workers(job).to_pandas().loc[0, "judgments"] == 25
        assert [j.name for j in lw.jobs()] == [job.name]
        assert lw.get_job(job).counters.judgments == 25


def test_stream_labels_resumes_after_a_sequence(live: Server, api_key: str) -> None:
    with Client(live.target, api_key) as lw:
        job = lw.create_job("cats", classes=ANIMALS, judgments=1, quiz_size=0)
        lw.add_items(job, sounds(4))
        lw.start_job(job)
        _, token = lw.create_worker(job, "ana")
        work_all(live.target, token)
        everything = list(lw.stream_labels(job))
        assert [label.sequence for label in everything] == [1, 2, 3, 4]
        rest = list(lw.stream_labels(job, after=2))
        assert [(label.sequence, label.key) for label in rest] == [
            (s.sequence, s.key) for s in everything[2:]
        ]
        assert list(lw.stream_labels(job, after=4, snapshot_only=True)) == []


def test_leaving_a_live_stream_early_closes_it(live: Server, api_key: str) -> None:
    with Client(live.target, api_key) as lw:
        job = lw.create_job("live", classes=ANIMALS, judgments=1, quiz_size=0)
        lw.add_items(job, sounds(2))
        lw.start_job(job)
        _, token = lw.create_worker(job, "ana")
        with WorkerClient(live.target, token) as worker:
            task = worker.next_task()
            assert task is not None
            worker.submit(task, animal(task))
        stream = lw.stream_labels(job)  # the job still runs: the stream would follow it
        assert next(stream).sequence == 1
        stream.close()
        assert lw.get_job(job).state == "running"


def test_items_come_from_a_dataframe_a_csv_or_a_jsonl_file(
    live: Server, api_key: str, tmp_path: Path
) -> None:
    csv_file = tmp_path / "items.csv"
    csv_file.write_text("key,text,gold\nc1,meow,\nc2,woof,dog\n")
    jsonl_file = tmp_path / "items.jsonl"
    jsonl_file.write_text(json.dumps({"key": "j1", "text": "meow", "metadata": {"source": "web"}}) + "\n")
    frame = pandas.DataFrame({"key": ["d1", "d2"], "text": ["meow", "woof"], "shard": [7, 8]})
    with Client(live.target, api_key) as lw:
        job = lw.create_job("mixed", classes=ANIMALS, judgments=1, quiz_size=0)
        assert lw.add_items(job, frame).added == 2
        from_csv = lw.add_items(job, csv_file)
        assert (from_csv.added, from_csv.gold) == (2, 1)
        assert lw.add_items(job, str(jsonl_file)).added == 1
        counters = lw.get_job(job).counters
        assert (counters.total_items, counters.gold_items) == (4, 1)  # gold is counted apart
        lw.start_job(job)
        _, token = lw.create_worker(job, "ana")
        work_all(live.target, token)
        metadata = {label.key: label.metadata for label in lw.labels(job)}
        assert metadata["d1"] == {"shard": 7.0} and metadata["j1"] == {"source": "web"}
        with pytest.raises(ValueError, match="'key'"):
            lw.add_items(job, [{"text": "no key"}])


def test_pause_resume_cancel_and_the_states_they_refuse(live: Server, api_key: str) -> None:
    with Client(live.target, api_key) as lw:
        job = lw.create_job("states", classes=ANIMALS, quiz_size=0)
        lw.add_items(job, sounds(2))
        assert lw.start_job(job).state == "running"
        assert lw.pause_job(job).state == "paused"
        assert lw.resume_job(job).state == "running"
        assert lw.cancel_job(job).state == "cancelled"
        with pytest.raises(FailedPrecondition) as refused:
            lw.start_job(job)
        assert refused.value.request_id  # the server's log line for this call
        assert lw.wait(job, timeout=5).state == "cancelled"


def test_wait_gives_up_after_its_timeout(live: Server, api_key: str) -> None:
    with Client(live.target, api_key) as lw:
        job = lw.create_job("slow", classes=ANIMALS, quiz_size=0)
        lw.add_items(job, sounds(1))
        lw.start_job(job)
        with pytest.raises(TimeoutError, match="still running"):
            lw.wait(job, timeout=0.2, poll_interval=0.05)


def test_errors_are_the_sdks_own_with_the_field_that_was_wrong(live: Server, api_key: str) -> None:
    with Client(live.target, api_key) as lw:
        with pytest.raises(InvalidArgument) as bad:
            lw.create_job("one class", classes=["only"])
        [violation] = bad.value.field_violations
        assert violation.field == "job.task_config.classification.classes" and "2 to" in violation.description
        with pytest.raises(NotFound):
            lw.get_job("jobs/999999")
        with pytest.raises(NotFound):
            lw.labels("jobs/999999").to_list()
    with Client(live.target, "lwc_1_not-a-secret") as stranger, pytest.raises(Unauthenticated):
        stranger.jobs().to_list()
    with AdminClient(live.target, api_key) as not_admin, pytest.raises(PermissionDenied):
        not_admin.create_api_key("sneaky")


def test_the_worker_client_leases_releases_declines_and_extends(live: Server, api_key: str) -> None:
    with Client(live.target, api_key) as lw:
        job = lw.create_job("work", classes=ANIMALS, judgments=1, quiz_size=0, instructions="Cat or dog?")
        lw.add_items(job, sounds(6))
        lw.start_job(job)
        worker, token = lw.create_worker(job, "ana")
        with WorkerClient(live.target, token) as me:
            assert me.instructions().short_instructions == "Cat or dog?"
            task = me.next_task()
            assert task is not None and task.phase == "work" and task.text in ("meow", "woof")
            assert me.extend(task, 60) > 0
            me.release(task)
            task = me.next_task()
            assert task is not None
            me.decline(task, "cannot hear it")
            first = me.next_task()
            assert first is not None
            following = me.submit(first, animal(first), want_next=True)
            assert following is not None and following.name != first.name
            assert me.submit(following, animal(following), time_spent_seconds=1.5) is None
            stats = me.stats()
            assert stats.judgments == 2 and stats.status == "qualified"
        assert lw.revoke_worker_token(worker).name == worker.name
        with WorkerClient(live.target, token) as revoked, pytest.raises(Unauthenticated):
            revoked.next_task()
        bo, second = lw.create_worker(job, "bo")
        rotated = lw.rotate_worker_token(bo.name)
        assert rotated.startswith("lww_") and rotated != second
        with WorkerClient(live.target, rotated) as bo:
            assert bo.stats().display_name == "bo"


def test_quality_calibration_export_and_import(live: Server, api_key: str) -> None:
    folder = live.files_of(api_key)
    (folder / "in.manifest").write_text(
        "".join(
            json.dumps({"source": s, "labelwire-key": k}) + "\n" for k, s in [("m1", "meow"), ("m2", "woof")]
        )
    )
    with Client(live.target, api_key) as lw:
        job = lw.create_job("files", classes=ANIMALS, judgments=1, quiz_size=0)
        imported = lw.import_manifest(job, "in.manifest", key_field="labelwire-key")
        assert imported.added == 2
        lw.start_job(job)
        _, token = lw.create_worker(job, "ana")
        work_all(live.target, token)
        exported = lw.export_labels(job, "out.manifest")
        assert (exported.labels, exported.lines) == (2, 2)
        assert len((folder / "out.manifest").read_text().splitlines()) == 2
        judgments = lw.judgments(job).to_list()
        assert [
            (j.key, j.value, j.phase, j.gold, j.excluded) for j in sorted(judgments, key=lambda j: j.key)
        ] == [
            ("m1", "cat", "work", False, False),
            ("m2", "dog", "work", False, False),
        ]
        [ana] = lw.workers(job)
        assert {j.worker for j in judgments} == {ana.name} and lw.judgments(job, key="m2").to_list()[
            0
        ].value == "dog"
        frame = lw.judgments(job, worker=ana).to_pandas()
        assert list(frame.columns[:3]) == ["key", "worker", "value"] and len(frame) == 2
        written = lw.export_judgments(job, "judgments.jsonl")
        assert written.judgments == 2 == len((folder / "judgments.jsonl").read_text().splitlines())
        quality = lw.quality(job)
        assert [w.worker.display_name for w in quality.workers] == ["ana"]
        frame = quality.to_pandas()
        assert (frame.loc[0, "display_name"], frame.loc[0, "judgments"]) == ("ana", 2)
        assert quality.cost_micros == 0 and quality.instructions_versions[1]["judgments"] == 2
        assert list(lw.calibration(job, buckets=5).to_pandas().columns) == [
            "class_name",
            "lower",
            "upper",
            "count",
            "accuracy",
        ]


def test_the_admin_client_makes_lists_rotates_and_revokes_keys(live: Server) -> None:
    with AdminClient(live.target, live.admin_key) as admin:
        key = admin.create_api_key("analytics")
        [listed] = [k for k in admin.api_keys() if k.client_name == "analytics"]
        assert listed.state == "active" and key.startswith(listed.key_prefix)
        assert len(admin.api_keys(listed.client).to_pandas()) == 1
        rotated = admin.rotate_api_key(listed.name)
        assert rotated != key and rotated.startswith("lwc_")
        assert admin.revoke_api_key(listed.name).state == "revoked"
    with Client(live.target, key) as old, pytest.raises(Unauthenticated):
        old.jobs().to_list()
    with Client(live.target, rotated) as new:
        assert new.jobs().to_list() == []


def test_from_env_and_a_changed_default_deadline(
    live: Server, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELWIRE_ADDRESS", live.target)
    monkeypatch.setenv("LABELWIRE_API_KEY", api_key)
    with Client.from_env() as lw:
        assert lw.timeout == 30.0
        lw.timeout = 5
        assert lw.aio.timeout == 5
        assert lw.jobs().to_list() == []
    monkeypatch.delenv("LABELWIRE_API_KEY")
    with pytest.raises(ValueError, match="LABELWIRE_API_KEY"):
        Client.from_env()
    monkeypatch.setenv("LABELWIRE_ADMIN_KEY", live.admin_key)
    with AdminClient.from_env() as admin:
        assert admin.create_api_key("from-env").startswith("lwc_")
