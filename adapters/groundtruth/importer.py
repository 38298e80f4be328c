"""Importing a finished Ground Truth job folder: every worker's answer and Ground Truth's labels.

A team moving to labelwire brings its past Ground Truth jobs along, so that
labelwire's consolidation and quality statistics can be run on the raw answers
those jobs paid for. A job folder (`<S3OutputPath>/<job-name>/`) holds the
output manifest (one line per object, with Ground Truth's label) and the
worker-response files (one per object, named by data object id). Joining the
two needs each object's id: our own jobs carry the item key in every line;
for others the consolidation-request files give each id's source, or an input
manifest given by the caller gives ids by line number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labelwire.adapters.base import ExternalJudgment, ReferenceLabel
from labelwire.adapters.groundtruth.manifests import failure_reason, reference_label, task_type_of
from labelwire.adapters.groundtruth.responses import AnswerShape, dataset_object_id, worker_judgments
from labelwire.server.files import s3io
from labelwire.server.files.augmented import KEY_FIELD

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any


@dataclass(frozen=True)
class ImportedObject:
    """One data object of the job. `key` is the labelwire item key the line carries, else its
    `source-ref`, else `<job-name>/<data object id>` (inline text makes a poor key)."""

    dataset_object_id: str
    key: str
    line: dict[str, Any]
    judgments: tuple[ExternalJudgment, ...]
    reference: ReferenceLabel | None
    failure_reason: str | None


class GroundTruthJobImport:
    """A job folder opened for import; `objects()` streams it, one S3 read per object."""

    def __init__(
        self,
        folder_uri: str,
        *,
        s3: S3Client,
        job_name: str,
        label_attribute_name: str,
        task_type: str,
        classes: tuple[str, ...],
        input_manifest_uri: str | None,
    ) -> None:
        self.folder_uri = folder_uri
        self.job_name = job_name
        self.label_attribute_name = label_attribute_name
        self.task_type = task_type
        self.classes = classes
        self._s3 = s3
        self._input_manifest_uri = input_manifest_uri
        self._shape = AnswerShape(task_type, classes)

    @property
    def output_manifest_uri(self) -> str:
        return s3io.join(self.folder_uri, "manifests", "output", "output.manifest")

    def objects(self) -> Iterator[ImportedObject]:
        responses = self._responses_by_object()
        ids = self._object_ids()
        attribute = self.label_attribute_name
        for number, line in enumerate(s3io.read_manifest(self.output_manifest_uri, s3=self._s3)):
            object_id = (
                ids.pop(_source(line), str(number)) if isinstance(ids, _SourceIds) else ids.get(number)
            )
            if object_id is None:
                object_id = str(number)
            key = _key(line, self.job_name, object_id)
            judgments: list[ExternalJudgment] = []
            seen: set[str] = set()
            for uri in responses.get(object_id, []):
                for judgment in worker_judgments(s3io.get_json(self._s3, uri), key, self._shape):
                    if judgment.worker_id not in seen:
                        seen.add(judgment.worker_id)
                        judgments.append(judgment)
            yield ImportedObject(
                dataset_object_id=object_id,
                key=key,
                line={k: v for k, v in line.items() if k not in (attribute, attribute + "-metadata")},
                judgments=tuple(judgments),
                reference=reference_label(line, attribute, key, self._shape, self._read),
                failure_reason=failure_reason(line, attribute),
            )

    def judgments(self) -> Iterator[tuple[str, str, Mapping[str, Any] | None]]:
        """(item key, worker id, answer) for every worker answer in the job."""
        for obj in self.objects():
            for judgment in obj.judgments:
                yield obj.key, judgment.worker_id, judgment.answer

    def _read(self, uri: str) -> bytes:
        return s3io.get_bytes(self._s3, uri)

    def _responses_by_object(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for uri in s3io.list_uris(
            self._s3, s3io.join(self.folder_uri, "annotations", "worker-response") + "/"
        ):
            object_id = dataset_object_id(uri)
            if object_id is not None:
                found[object_id].append(uri)
        return found

    def _object_ids(self) -> dict[int, str] | _SourceIds:
        if self._input_manifest_uri is not None:
            return {
                n: str(n) for n, _ in enumerate(s3io.read_manifest(self._input_manifest_uri, s3=self._s3))
            }
        prefix = (
            s3io.join(self.folder_uri, "annotations", "consolidated-annotation", "consolidation-request")
            + "/"
        )
        by_source = _SourceIds()
        for uri in s3io.list_uris(self._s3, prefix):
            document = s3io.get_json(self._s3, uri)
            for entry in document if isinstance(document, list) else []:
                data = entry.get("dataObject") or {}
                source = data.get("s3Uri", data.get("content"))
                if source is not None and "datasetObjectId" in entry:
                    by_source.add(str(source), str(entry["datasetObjectId"]))
        return by_source if by_source else {}


class _SourceIds:
    """Data object ids by source; a source listed twice yields its ids in order."""

    def __init__(self) -> None:
        self._ids: dict[str, list[str]] = defaultdict(list)

    def add(self, source: str, object_id: str) -> None:
        if object_id not in self._ids[source]:
            self._ids[source].append(object_id)

    def pop(self, source: str | None, default: str) -> str:
        ids = self._ids.get(source or "")
        return ids.pop(0) if ids else default

    def __bool__(self) -> bool:
        return bool(self._ids)


def import_groundtruth_job(
    job_folder_uri: str,
    *,
    s3: S3Client | None = None,
    classes: Sequence[str] | None = None,
    input_manifest_uri: str | None = None,
) -> GroundTruthJobImport:
    """Opens `s3://…/<job-name>/` for import.

    The label attribute and task type are read from the output manifest's
    metadata (the attribute whose `job-name` is this job's). `classes` orders
    segmentation mask values; without it the order of Ground Truth's colour
    map is used, so value i is Ground Truth's class i.
    """
    client = s3 or s3io.make_s3_client()
    folder = job_folder_uri.rstrip("/")
    job_name = folder.rsplit("/", 1)[-1]
    manifest = s3io.join(folder, "manifests", "output", "output.manifest")
    lines = s3io.read_manifest(manifest, s3=client)
    first = next(lines, None)
    lines.close()
    if first is None:
        raise ValueError(f"{manifest} is empty: the job labeled nothing to import")
    attribute, metadata = _label_attribute(first, job_name)
    task_type = task_type_of(metadata)
    if task_type is None:
        raise ValueError(f"{manifest}: unknown Ground Truth label type {metadata.get('type')!r}")
    return GroundTruthJobImport(
        folder,
        s3=client,
        job_name=job_name,
        label_attribute_name=attribute,
        task_type=task_type,
        classes=tuple(classes) if classes is not None else _colour_map_classes(metadata),
        input_manifest_uri=input_manifest_uri,
    )


def _label_attribute(line: Mapping[str, Any], job_name: str) -> tuple[str, Mapping[str, Any]]:
    candidates = [
        (key.removesuffix("-metadata"), value)
        for key, value in line.items()
        if key.endswith("-metadata") and isinstance(value, Mapping) and "type" in value
    ]
    for attribute, metadata in candidates:
        name = str(metadata.get("job-name", metadata.get("job_name", "")))
        if name.rsplit("/", 1)[-1] == job_name:
            return attribute, metadata
    if not candidates:
        raise ValueError("the output manifest's first line has no Ground Truth label metadata")
    return candidates[-1]


def _colour_map_classes(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    colour_map = metadata.get("internal-color-map")
    if not isinstance(colour_map, Mapping):
        return ()
    ordered = sorted(
        (int(k), v) for k, v in colour_map.items() if str(k).isdigit() and isinstance(v, Mapping)
    )
    return tuple(str(v.get("class-name")) for index, v in ordered if index > 0)


def _source(line: Mapping[str, Any]) -> str | None:
    value = line.get("source-ref", line.get("source"))
    return str(value) if value is not None else None


def _key(line: Mapping[str, Any], job_name: str, object_id: str) -> str:
    if line.get(KEY_FIELD):
        return str(line[KEY_FIELD])
    if line.get("source-ref"):
        return str(line["source-ref"])
    return f"{job_name}/{object_id}"
