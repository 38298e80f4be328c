"""A Ground Truth custom job's output files, written where its `S3OutputPath` says.

Ground Truth writes under `<S3OutputPath>/<LabelingJobName>/` (aws.md §2.2):
the worker-response file of each object, the consolidation request it handed
the post-labeling Lambda and the response it got, and the augmented output
manifest. A team's downstream code reads exactly these, so a job run on the
pool writes the same files with the same shapes (§2.4 custom, §2.5, §3.2).

Every file's location goes through the files policy (`policy.resolve`) like
any other client-named file: a local path stays in the client's own folder
under the operator's files root, an `s3://` URI under the S3 prefixes the
operator allows the client.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from labelwire.server.files import storage
from labelwire.server.files.policy import FilesSettings, resolve

ITERATION = 1
TYPE = "groundTruth/custom"
FIELD = "OutputConfig.S3OutputPath"


@dataclass(frozen=True)
class WorkerAnswer:
    """One worker's submitted answer to one object."""

    worker_id: str
    accepted: datetime
    submitted: datetime
    seconds: float
    content: Mapping[str, Any]
    """`answerContent`: what `crowd-form` submitted."""


def file_stamp(when: datetime) -> str:
    """A file name's timestamp, as Ground Truth names them (`2021-03-08_23:06:49`)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d_%H:%M:%S")


def _iso_millis(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def worker_response(answers: Sequence[WorkerAnswer]) -> dict[str, Any]:
    """`annotations/worker-response/iteration-<i>/<id>/<ts>.json` (aws.md §2.5)."""
    return {
        "answers": [
            {
                "acceptanceTime": _iso_millis(a.accepted),
                "submissionTime": _iso_millis(a.submitted),
                "timeSpentInSeconds": round(a.seconds, 3),
                "workerId": a.worker_id,
                "answerContent": dict(a.content),
            }
            for a in answers
        ]
    }


def data_object(line: Mapping[str, Any]) -> dict[str, Any]:
    """A consolidation request's `dataObject`: `s3Uri` for a `source-ref`
    line, `content` for an inline `source` one."""
    if "source-ref" in line:
        return {"s3Uri": line["source-ref"]}
    source = line.get("source")
    return {"content": source if isinstance(source, str) else json.dumps(dict(line), ensure_ascii=False)}


def request_entry(object_id: str, line: Mapping[str, Any], answers: Sequence[WorkerAnswer]) -> dict[str, Any]:
    """One object of the consolidation request file (aws.md §3.2); each answer
    is a JSON string, as Ground Truth passes it."""
    return {
        "datasetObjectId": object_id,
        "dataObject": data_object(line),
        "annotations": [
            {
                "workerId": a.worker_id,
                "annotationData": {"content": json.dumps(dict(a.content), ensure_ascii=False)},
            }
            for a in answers
        ],
    }


def label_metadata(job_name: str, created: datetime, **extra: Any) -> dict[str, Any]:
    """`<attr>-metadata` of a custom job's label, with the underscore keys of
    Ground Truth's own custom example (aws.md §2.4)."""
    return {
        "job_name": job_name,
        "type": TYPE,
        "human-annotated": "yes",
        "creation_date": created.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds"),
        **extra,
    }


def failed_metadata(job_name: str, reason: str) -> dict[str, Any]:
    return {"job_name": job_name, "type": TYPE, "failure-reason": reason}


class JobOutput:
    """Writes one job's files under `<output path>/<job name>/`, each checked
    by the files policy as the client's own."""

    def __init__(self, settings: FilesSettings, client_id: int, output_path: str, job_name: str) -> None:
        self.settings = settings
        self.client_id = client_id
        self.base = f"{output_path.rstrip('/')}/{job_name}"

    def uri(self, relative: str) -> str:
        return f"{self.base}/{relative}"

    def check(self) -> None:
        """Refuses an output path the client may not write, before any work is done."""
        resolve(
            self.settings, self.client_id, self.uri("manifests/output/output.manifest"), FIELD, write=True
        )

    def write_document(self, relative: str, value: Any) -> str:
        uri = self.uri(relative)
        storage.write_document(resolve(self.settings, self.client_id, uri, FIELD, write=True), value, FIELD)
        return uri

    def write_lines(self, relative: str, lines: Iterable[Mapping[str, Any]]) -> str:
        uri = self.uri(relative)
        storage.write_lines(resolve(self.settings, self.client_id, uri, FIELD, write=True), lines, FIELD)
        return uri

    def worker_response(self, object_id: str, when: datetime, answers: Sequence[WorkerAnswer]) -> str:
        return self.write_document(
            f"annotations/worker-response/iteration-{ITERATION}/{object_id}/{file_stamp(when)}.json",
            worker_response(answers),
        )

    def consolidation_request(self, when: datetime, entries: Sequence[Mapping[str, Any]]) -> str:
        return self.write_document(
            f"annotations/consolidated-annotation/consolidation-request/iteration-{ITERATION}/{file_stamp(when)}.json",
            list(entries),
        )

    def consolidation_response(self, when: datetime, response: Any) -> str:
        return self.write_document(
            f"annotations/consolidated-annotation/consolidation-response/iteration-{ITERATION}/{file_stamp(when)}.json",
            response,
        )

    def output_manifest(self, lines: Iterable[Mapping[str, Any]]) -> str:
        return self.write_lines("manifests/output/output.manifest", lines)
