"""Ground Truth files in and out: importing a job folder, reading manifests, writing augmented manifests."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labelwire.adapters.groundtruth import (
    ExportFormat,
    ExportLabel,
    ManifestError,
    import_groundtruth_job,
    read_manifest,
    write_augmented_manifest,
)
from labelwire.adapters.groundtruth.manifests import reference_label
from labelwire.adapters.groundtruth.responses import AnswerShape
from labelwire.server.files import png

from .harness import GroundTruthHarness

JOB = "identify-animal-species"


def image_label(index: int, name: str, confidence: float) -> dict[str, Any]:
    return {
        "species": str(index),
        "species-metadata": {
            "class-name": name,
            "confidence": confidence,
            "type": "groundtruth/image-classification",
            "job-name": f"labeling-job/{JOB}",
            "human-annotated": "yes",
            "creation-date": "2018-10-18T22:18:13.527256",
        },
    }


def response(*answers: tuple[str, str]) -> dict[str, Any]:
    return {
        "answers": [
            {
                "acceptanceTime": "2022-08-05T06:44:45.745Z",
                "submissionTime": "2022-08-05T06:44:56.111Z",
                "timeSpentInSeconds": 10.366,
                "workerId": worker,
                "answerContent": {"crowd-image-classifier": {"label": label}},
            }
            for worker, label in answers
        ]
    }


@pytest.fixture
def job_folder(harness: GroundTruthHarness) -> str:
    """A finished job someone else ran: no labelwire keys, output lines not in data-object order."""
    h = harness
    folder = f"s3://{h.bucket}/gt-output/{JOB}"
    images = [f"s3://{h.bucket}/images/{n}.jpg" for n in range(3)]
    h.put_text(
        f"{folder}/manifests/output/output.manifest",
        "\n".join(
            json.dumps(line)
            for line in [
                {"source-ref": images[2], **image_label(1, "cat", 0.51)},
                {"source-ref": images[0], **image_label(0, "dog", 0.93)},
                {
                    "source-ref": images[1],
                    "species-metadata": {
                        "failure-reason": "ClientError: expired",
                        "type": "groundtruth/image-classification",
                    },
                },
            ]
        )
        + "\n",
    )
    request = f"{folder}/annotations/consolidated-annotation/consolidation-request/iteration-1/2018-10-18_22:18:00.json"
    h.put_json(
        request,
        [
            {"datasetObjectId": str(n), "dataObject": {"s3Uri": images[n]}, "annotations": []}
            for n in range(3)
        ],
    )
    worker_response = f"{folder}/annotations/worker-response/iteration-1"
    h.put_json(f"{worker_response}/0/2018-10-18_22:17:00.json", response(("w1", "dog"), ("w2", "dog")))
    h.put_json(f"{worker_response}/2/2018-10-18_22:17:30.json", response(("w1", "cat"), ("w3", "dog")))
    return folder + "/"


def test_importing_a_job_folder_yields_every_workers_answer_and_ground_truths_labels(
    harness: GroundTruthHarness, job_folder: str
) -> None:
    imported = import_groundtruth_job(job_folder, s3=harness.s3)
    objects = {o.key.rsplit("/", 1)[-1]: o for o in imported.objects()}

    assert (imported.job_name, imported.label_attribute_name, imported.task_type) == (
        JOB,
        "species",
        "classification",
    )
    assert {k: [(j.worker_id, j.answer) for j in o.judgments] for k, o in objects.items()} == {
        "0.jpg": [
            ("w1", {"classification": {"class_name": "dog"}}),
            ("w2", {"classification": {"class_name": "dog"}}),
        ],
        "1.jpg": [],
        "2.jpg": [
            ("w1", {"classification": {"class_name": "cat"}}),
            ("w3", {"classification": {"class_name": "dog"}}),
        ],
    }
    assert objects["0.jpg"].reference is not None and objects["0.jpg"].reference.confidence == 0.93
    assert objects["1.jpg"].reference is None and objects["1.jpg"].failure_reason == "ClientError: expired"
    assert objects["2.jpg"].line == {"source-ref": f"s3://{harness.bucket}/images/2.jpg"}
    assert len(list(imported.judgments())) == 4


def test_an_imported_labelwire_job_keeps_the_item_keys_of_its_lines(harness: GroundTruthHarness) -> None:
    folder = f"s3://{harness.bucket}/out/lw-j9-1"
    line = {"source": "good food", "labelwire-key": "review-1", **image_label(0, "positive", 0.8)}
    line["species-metadata"]["job-name"] = "lw-j9-1"
    harness.put_text(f"{folder}/manifests/output/output.manifest", json.dumps(line) + "\n")
    harness.put_json(
        f"{folder}/annotations/worker-response/iteration-1/0/2026-11-25_12:00:00.json",
        response(("w1", "positive")),
    )

    [obj] = list(import_groundtruth_job(folder, s3=harness.s3).objects())

    assert obj.key == "review-1"
    assert [j.item_key for j in obj.judgments] == ["review-1"]


def test_manifests_are_read_as_json_lines_or_csv(harness: GroundTruthHarness) -> None:
    jsonl = f"s3://{harness.bucket}/m/items.manifest"
    harness.put_text(jsonl, '{"source": "a"}\r\n\n{"source-ref": "s3://b/1.jpg", "id": 2}\n')
    csv_uri = f"s3://{harness.bucket}/m/items.csv"
    harness.put_text(csv_uri, '\ufeffsource,id\n"line one\nline two",1\nplain,2\n')

    assert list(read_manifest(jsonl, s3=harness.s3)) == [
        {"source": "a"},
        {"source-ref": "s3://b/1.jpg", "id": 2},
    ]
    assert list(read_manifest(csv_uri, s3=harness.s3)) == [
        {"source": "line one\nline two", "id": "1"},
        {"source": "plain", "id": "2"},
    ]


def test_manifests_are_read_from_a_local_path_too(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("\ufeffsource,id\r\nhello,1\r\n", encoding="utf-8")
    assert list(read_manifest(str(path))) == [{"source": "hello", "id": "1"}]


def test_a_manifest_line_that_is_not_a_json_object_is_named_by_its_number(
    harness: GroundTruthHarness,
) -> None:
    uri = f"s3://{harness.bucket}/m/bad.manifest"
    harness.put_text(uri, '{"source": "a"}\n[1, 2]\n')
    with pytest.raises(ManifestError) as caught:
        list(read_manifest(uri, s3=harness.s3))
    assert caught.value.line == 2


def test_exported_labels_take_ground_truths_augmented_manifest_shapes(harness: GroundTruthHarness) -> None:
    uri = f"s3://{harness.bucket}/export/labels.manifest"
    created = datetime(2026, 11, 25, 12, 0, 0, 123456)
    fmt = ExportFormat(
        attribute="objects",
        task_type="bounding_box",
        media_type="image",
        classes=("dog", "bone"),
        job_name="jobs/j1",
    )
    labels = [
        ExportLabel(
            line={"source-ref": "s3://b/img.png", "camera": "left"},
            answer={
                "bounding_boxes": {
                    "boxes": [{"class_name": "bone", "left": 161, "top": 250, "width": 30, "height": 30}]
                }
            },
            confidence=0.9,
            created=created,
        )
    ]
    assert write_augmented_manifest(uri, labels, fmt, s3=harness.s3) == 1

    [line] = [json.loads(x) for x in harness.read_text(uri).splitlines()]
    assert line == {
        "source-ref": "s3://b/img.png",
        "camera": "left",
        "objects": {"annotations": [{"class_id": 1, "left": 161, "top": 250, "width": 30, "height": 30}]},
        "objects-metadata": {
            "type": "groundtruth/object-detection",
            "job-name": "jobs/j1",
            "human-annotated": "yes",
            "creation-date": "2026-11-25T12:00:00.123456",
            "confidence": 0.9,
            "class-map": {"1": "bone"},
            "objects": [{"confidence": 0.9}],
        },
    }


@pytest.mark.parametrize(
    ("task_type", "answer"),
    [
        ("classification", {"classification": {"class_name": "bone"}}),
        ("multi_label", {"multi_label": {"class_names": ["dog", "bone"]}}),
        (
            "bounding_box",
            {
                "bounding_boxes": {
                    "boxes": [{"class_name": "dog", "left": 1.0, "top": 2.0, "width": 3.0, "height": 4.0}]
                }
            },
        ),
        ("spans", {"spans": {"spans": [{"entity_type": "dog", "start": 0, "end": 4}]}}),
        ("verification", {"verification": {"correct": [False]}}),
        ("custom", {"custom": {"mood": "calm"}}),
    ],
)
def test_an_exported_label_reads_back_as_the_same_answer(
    harness: GroundTruthHarness, task_type: str, answer: dict[str, Any]
) -> None:
    uri = f"s3://{harness.bucket}/export/{task_type}.manifest"
    fmt = ExportFormat(
        attribute="label", task_type=task_type, media_type="image", classes=("dog", "bone"), job_name="j"
    )
    write_augmented_manifest(
        uri,
        [ExportLabel(line={"source-ref": "s3://b/1.png"}, answer=answer, confidence=0.75)],
        fmt,
        s3=harness.s3,
    )

    [line] = read_manifest(uri, s3=harness.s3)
    label = reference_label(line, "label", "k", AnswerShape(task_type, fmt.classes), lambda u: b"")

    assert label is not None and label.answer == answer


def test_an_exported_segmentation_mask_is_written_beside_the_manifest_and_reads_back(
    harness: GroundTruthHarness,
) -> None:
    uri = f"s3://{harness.bucket}/export/streets.manifest"
    mask = png.encode_grey(np.array([[0, 1], [2, 2]], dtype=np.uint8))
    fmt = ExportFormat(
        attribute="streets",
        task_type="segmentation",
        media_type="image",
        classes=("road", "car"),
        job_name="j",
    )
    label = ExportLabel(
        line={"source-ref": "s3://b/city.png"},
        answer={"segmentation": {"mask_png": base64.b64encode(mask).decode()}},
        confidence=0.8,
    )
    write_augmented_manifest(uri, [label], fmt, s3=harness.s3)

    [line] = read_manifest(uri, s3=harness.s3)
    assert line["streets-ref"] == f"s3://{harness.bucket}/export/streets-masks/0.png"
    back = reference_label(
        line,
        "streets-ref",
        "k",
        AnswerShape("segmentation", fmt.classes),
        lambda u: harness.s3.get_object(Bucket=harness.bucket, Key=u.split("/", 3)[3])["Body"].read(),
    )
    assert back is not None
    values = png.decode_rgba(base64.b64decode(back.answer["segmentation"]["mask_png"]))[:, :, 0]
    assert values.tolist() == [[0, 1], [2, 2]]
    assert back.confidence == 0.8


def test_a_label_from_the_labelwire_post_lambda_reads_as_the_task_types_answer() -> None:
    form = {"crowd-entity-annotation": {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 5}]}}
    line = {
        "source": "Alice sings",
        "ner": {
            "workerAnswers": [{"workerId": "w1", "answerContent": form}],
            "label": form,
            "confidence": 1.0,
        },
        "ner-metadata": {"type": "groundTruth/custom", "job_name": "lw-j1-1", "human-annotated": "yes"},
    }
    label = reference_label(line, "ner", "k", AnswerShape("spans", ("PER",)), lambda u: b"")

    assert label is not None
    assert label.answer == {"spans": {"spans": [{"entity_type": "PER", "start": 0, "end": 5}]}}
    assert label.confidence == 1.0


async def test_import_command_reconsolidates_a_finished_job(
    harness: GroundTruthHarness, job_folder: str, moto_endpoint: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    from labelwire.server.core import ADMIN, Core
    from labelwire.server.store import open_store

    database = str(tmp_path / "imported.db")
    store = open_store(database)
    core = Core(store, admin_key="k")
    _, api_key = await core.credentials.create_api_key(ADMIN, "team")
    await core.close()
    store.close()
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": moto_endpoint, "LABELWIRE_API_KEY": api_key}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "labelwire.server.cli.main",
            "import-groundtruth",
            job_folder,
            "--database",
            database,
            "--method",
            "majority_vote",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "3 items, 4 judgments, 1 failed" in done.stdout
    assert "equals Ground Truth's on 2 of 2" in done.stdout
    store = open_store(database)
    try:
        rows = await store.read(lambda tx: tx.current_labels(1, 0, 100))
        workers = await store.read(lambda tx: tx.workers_of(1, 0, 100))
    finally:
        store.close()
    labels = {
        r.item_key.rsplit("/", 1)[-1]: json.loads(r.value)["classification"]["class_name"] for r in rows
    }
    assert labels == {"0.jpg": "dog", "2.jpg": "cat"}
    assert sorted(w.external_id for w in workers) == ["groundtruth:w1", "groundtruth:w2", "groundtruth:w3"]


async def import_command(
    folder: str, tmp_path: Path, env: dict[str, str], *, api_key: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs `labelwire import-groundtruth` as a user would, against a fresh database."""
    from labelwire.server.core import ADMIN, Core
    from labelwire.server.store import open_store

    database = str(tmp_path / "imported.db")
    store = open_store(database)
    core = Core(store, admin_key="k")
    _, key = await core.credentials.create_api_key(ADMIN, "team")
    await core.close()
    store.close()
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "labelwire.server.cli.main",
            "import-groundtruth",
            folder,
            "--database",
            database,
        ],
        env={**env, "LABELWIRE_API_KEY": api_key or key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def no_aws_credentials(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    missing = str(tmp_path / "no-such-aws-file")
    return {
        **env,
        "AWS_SHARED_CREDENTIALS_FILE": missing,
        "AWS_CONFIG_FILE": missing,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("labelwire import-groundtruth: ")
    return lines[0]


async def test_import_command_without_aws_credentials_says_so_in_one_line(
    job_folder: str, moto_endpoint: str, tmp_path: Path
) -> None:
    env = {**no_aws_credentials(tmp_path), "AWS_ENDPOINT_URL_S3": moto_endpoint}

    done = await import_command(job_folder, tmp_path, env)

    assert "no usable AWS credentials" in error_line(done)


async def test_import_command_names_a_missing_bucket(moto_endpoint: str, tmp_path: Path) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": moto_endpoint}

    done = await import_command("s3://no-such-bucket-lw/gt-output/job/", tmp_path, env)

    assert "the bucket 'no-such-bucket-lw' does not exist" in error_line(done)


async def test_import_command_explains_a_folder_that_is_not_a_job(
    harness: GroundTruthHarness, moto_endpoint: str, tmp_path: Path
) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": moto_endpoint}
    empty = f"s3://{harness.bucket}/nothing-here/"
    broken = f"s3://{harness.bucket}/broken-job"
    harness.put_text(
        f"{broken}/manifests/output/output.manifest", '{"source-ref": "s3://b/1.jpg"}\nnot json\n'
    )

    missing = await import_command(empty, tmp_path / "a", env)
    malformed = await import_command(broken + "/", tmp_path / "b", env)

    assert "has no manifests/output/output.manifest" in error_line(missing)
    line = error_line(malformed)
    assert "is not a Ground Truth job folder labelwire can import" in line
    assert "no Ground Truth label metadata" in line


async def test_import_command_refuses_a_wrong_api_key_in_one_line(
    job_folder: str, moto_endpoint: str, tmp_path: Path
) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": moto_endpoint}

    done = await import_command(job_folder, tmp_path, env, api_key="lwc_1_wrong")

    assert "the API key (--api-key or LABELWIRE_API_KEY) was not accepted" in error_line(done)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, "access denied reading s3://b/job/"),
        ("InvalidAccessKeyId", 403, "AWS refused the credentials (InvalidAccessKeyId)"),
        ("ExpiredToken", 400, "AWS refused the credentials (ExpiredToken)"),
        ("SlowDown", 503, "S3 refused a request while reading s3://b/job/: SlowDown"),
    ],
)
def test_import_failures_from_s3_read_as_one_sentence(code: str, status: int, expected: str) -> None:
    from botocore.exceptions import ClientError

    from labelwire.server.cli.import_groundtruth import failure_message

    err = ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject"
    )
    message = failure_message(err, "s3://b/job/")
    assert message is not None and message.startswith(expected)
    assert failure_message(KeyError("bug"), "s3://b/job/") is None
