"""Re-consolidating a finished Ground Truth job: `labelwire import-groundtruth`.

The job's raw worker answers become judgments of a new labelwire job (workers
namespaced `groundtruth:<id>`), Ground Truth's own labels are kept beside ours
as reference labels, and the job's consolidation (Dawid-Skene by default) runs
over them, so a team can see what its past jobs' labels look like once every
worker is weighed by their whole record.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from labelwire.adapters.groundtruth import import_groundtruth_job
from labelwire.server.core import Core
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.dispatch.workforces import JobContext
from labelwire.server.domain.errors import InvalidArgument, LabelwireError, Unauthenticated
from labelwire.server.domain.model import GoldPolicy, ItemInput, JobSpec, LabelClass, Principal
from labelwire.server.domain.tasks import kind_named
from labelwire.server.labels import items as labeling
from labelwire.server.store import Tx

NAMESPACE = "groundtruth"
FOLDER_HINT = "s3://<bucket>/<S3OutputPath>/<job-name>/"
_REFUSED_CREDENTIALS = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired"}
)


@dataclass(frozen=True)
class ImportSummary:
    job_name: str
    items: int
    judgments: int
    failed: int
    agree_with_groundtruth: int
    compared: int


def _item(obj: Any) -> ItemInput:
    line = dict(obj.line)
    if "source-ref" in line:
        kind, payload = "source_ref", str(line.pop("source-ref"))
    else:
        kind, payload = "text", str(line.pop("source", ""))
    metadata = {
        k: v for k, v in line.items() if not k.endswith("-metadata") and not isinstance(v, dict | list)
    }
    return ItemInput(key=obj.key, payload_kind=kind, payload=payload, metadata=metadata or None)


def _observed_classes(objects: Sequence[Any]) -> list[str]:
    """Class names seen in the answers, when Ground Truth's files name none up
    front (classification output lists only the chosen class)."""
    seen: set[str] = set()
    answers = [j.answer for o in objects for j in o.judgments if j.answer]
    answers += [o.reference.answer for o in objects if o.reference is not None]
    for answer in answers:
        body = answer.get("classification") or answer.get("multi_label") or {}
        seen.update([body["class_name"]] if "class_name" in body else body.get("class_names", []))
    names = sorted(seen)
    return names if len(names) >= 2 else [*names, "other"][:2] if names else ["yes", "no"]


def _close(tx: Tx, spec: JobSpec, job_id: int, now: float) -> int:
    """Labels every item from the judgments it has (an object may have fewer
    than the most any object got) and fails those with none."""
    failed = 0
    for row in tx.open_items(job_id):
        if row.done == 0:
            failed += tx.fail_items(job_id, [row.key], "no worker answered in Ground Truth")
            continue
        tx.update_item(row.id, target=row.done)
        labeling.finish_item(tx, spec, job_id, row.id, now)
    tx.count_job(job_id, failed_items=failed)
    dispatch.complete_if_done(tx, job_id, now)
    return failed


async def import_job(core: Core, owner: Principal, uri: str, method: str) -> ImportSummary:
    try:
        imported = await asyncio.to_thread(import_groundtruth_job, uri)
        objects = await asyncio.to_thread(lambda: list(imported.objects()))
    except ValueError as err:
        raise InvalidArgument(
            f"{uri} is not a Ground Truth job folder labelwire can import ({FOLDER_HINT}): {err}"
        ) from None
    most = max((len(o.judgments) for o in objects), default=1)
    classes = tuple(LabelClass(c) for c in imported.classes or _observed_classes(objects))
    spec = JobSpec(
        display_name=f"Imported from Ground Truth: {imported.job_name}"[:200],
        task_type=imported.task_type,
        classes=classes,
        task_config={kind_named(imported.task_type).classes_key: [{"name": c.name} for c in classes]},
        media_type="text" if all("source" in o.line for o in objects) else "image",
        judgments_per_item=min(max(most, 1), 9),
        max_judgments_per_item=min(max(most, 1), 9),
        consolidation_method=method,
        label_attribute_name=imported.label_attribute_name.removesuffix("-ref"),
        gold=GoldPolicy(quiz_size=0, hidden_gold_share=0.0),
    )
    job = await core.jobs.create_job(owner, spec)
    upload = await core.jobs.begin_upload(owner, job.name)
    items = [_item(o) for o in objects]
    for start in range(0, len(items), 5000):
        await upload.add(items[start : start + 5000])
    await upload.commit()
    await core.jobs.change_state(owner, job.name, "start")
    ctx = JobContext(core.reads, job.id, spec, namespace=NAMESPACE)
    judgments = [j for o in objects for j in o.judgments]
    for start in range(0, len(judgments), 2000):
        await ctx.record_judgments(judgments[start : start + 2000])
    await ctx.record_reference_labels([o.reference for o in objects if o.reference is not None])
    failed = await core.store.write(lambda tx: _close(tx, spec, job.id, core.clock()))
    await core.run_passes()
    agree, compared = await _compare(core, job.id, objects)
    return ImportSummary(job.name, len(objects), len(judgments), failed, agree, compared)


async def _compare(core: Core, job_id: int, objects: Sequence[Any]) -> tuple[int, int]:
    """How often our label equals Ground Truth's."""
    references = {o.key: dict(o.reference.answer) for o in objects if o.reference is not None}
    rows = await core.store.read(lambda tx: tx.current_labels(job_id, 0, 2**62))
    ours = {r.item_key: json.loads(r.value) for r in rows}
    compared = [k for k in references if k in ours]
    return sum(ours[k] == references[k] for k in compared), len(compared)


def failure_message(err: BaseException, uri: str) -> str | None:
    """One line saying what went wrong with an import and what to change, for the errors a
    user can fix (credentials, bucket, folder, API key); None for anything else (a bug)."""
    if isinstance(err, NoCredentialsError | PartialCredentialsError):
        return (
            "no usable AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,"
            f" to an identity that may read {uri} ({err})"
        )
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            bucket = error.get("BucketName") or uri.removeprefix("s3://").split("/", 1)[0]
            return f"the bucket {bucket!r} does not exist; check the job folder {uri}"
        if code in _REFUSED_CREDENTIALS:
            return f"AWS refused the credentials ({code}): check AWS_PROFILE or AWS_ACCESS_KEY_ID"
        if code in ("AccessDenied", "AllAccessDisabled", "Forbidden") or status == 403:
            return f"access denied reading {uri}: the AWS identity in use may not read this bucket ({code or status})"
        if code in ("NoSuchKey", "NotFound", "404") or status == 404:
            return (
                f"{uri} has no manifests/output/output.manifest: is it a finished Ground Truth job's"
                f" folder ({FOLDER_HINT})?"
            )
        return (
            f"S3 refused a request while reading {uri}: {code or status}: {error.get('Message', '')}".strip()
        )
    if isinstance(err, BotoCoreError):
        return f"cannot read {uri} from S3: {err}"
    if isinstance(err, Unauthenticated):
        return f"the API key (--api-key or LABELWIRE_API_KEY) was not accepted: {err.message}"
    if isinstance(err, LabelwireError):
        return err.message
    return None
