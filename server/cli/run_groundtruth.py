"""`labelwire run-groundtruth-job`: a Ground Truth custom job run on the in-house pool.

The job is given as Ground Truth knows it: the `CreateLabelingJob` request as
JSON, its worker template, its input manifest, its pre- and post-labeling
hooks. The command does what Ground Truth would: each manifest line goes
through the pre-labeling hook and becomes an item whose `task.input` is the
returned `taskInput`; the pool's workers label it in the worker app with the
template; once the job is done the workers' answers are written as
worker-response files, handed to the post-labeling hook as a consolidation
request, and the augmented output manifest is written beside them, all under
`<S3OutputPath>/<LabelingJobName>/` (`server/files/gt_output.py`).

It is a client of a running server (the job, items and judgments go through
the public API with the owner's API key) that reads and writes files with the
operator's files rules, and runs only the hooks the operator allows. The
request's parsing is in `gt_definition` (re-exported here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import grpc
from google.protobuf import duration_pb2
from google.protobuf.json_format import MessageToDict

from labelwire.client.raw import Client
from labelwire.server.cli.gt_definition import Definition, hooks_of, parse_definition
from labelwire.server.core import auth
from labelwire.server.domain import gt_hooks
from labelwire.server.domain.errors import InvalidArgument, LabelwireError
from labelwire.server.domain.gt_hooks import Hook, HookFailed, HookPolicy
from labelwire.server.domain.validation import MAX_PAYLOAD_BYTES
from labelwire.server.files import gt_output, s3io, storage
from labelwire.server.files.gt_output import JobOutput, WorkerAnswer
from labelwire.server.files.policy import FilesSettings, S3Object, open_for_reading, resolve
from labelwire.v1 import item_pb2, job_pb2, judgment_pb2

__all__ = ["Definition", "Summary", "add_parser", "hooks_of", "main", "parse_definition", "run_job"]

ENDED = {job_pb2.JOB_STATE_COMPLETED, job_pb2.JOB_STATE_CANCELLED, job_pb2.JOB_STATE_FAILED}
PRE_HOOK_CONCURRENCY = 8


@dataclass
class Summary:
    job: str
    output_manifest: str
    objects: int = 0
    labeled: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    """datasetObjectId: reason."""
    post_hook_failure: str = ""
    unanswered: str = "no worker answered before the job ended"
    """The failure reason of an object no worker answered."""


@dataclass
class _Object:
    object_id: str
    line: dict[str, Any]
    task_input: dict[str, Any] | None = None
    human: bool = True
    failure: str = ""
    answers: list[WorkerAnswer] = field(default_factory=list)


def read_text(settings: FilesSettings, client_id: int, uri: str, field_name: str) -> str:
    """A whole small file (template, label categories) under the files rules."""
    target = resolve(settings, client_id, uri, field_name, write=False)
    if isinstance(target, S3Object):
        return s3io.get_bytes(s3io.make_s3_client(), target.uri).decode("utf-8")
    with open(open_for_reading(target, field_name), encoding="utf-8") as handle:
        return handle.read()


async def run_job(
    lw: Client,
    definition: Definition,
    template: str,
    *,
    settings: FilesSettings,
    client_id: int,
    policy: HookPolicy,
    pre_hook: Hook | None,
    post_hook: Hook | None,
    poll_seconds: float = 2.0,
    timeout_seconds: float = 7 * 24 * 3600.0,
    on_job: Callable[[str], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Summary:
    output = JobOutput(settings, client_id, definition.output_path, definition.name)
    output.check()
    manifest = resolve(settings, client_id, definition.manifest_uri, "ManifestS3Uri", write=False)
    rows = await asyncio.to_thread(
        lambda: [row for _, row in storage.read_rows(manifest, "jsonl", "ManifestS3Uri")]
    )
    categories = None
    if definition.label_categories_uri:
        text = read_text(settings, client_id, definition.label_categories_uri, "LabelCategoryConfigS3Uri")
        categories = [str(c.get("label")) for c in json.loads(text).get("labels", []) if isinstance(c, dict)]
    objects = [_Object(str(index), row) for index, row in enumerate(rows)]
    await _pre_label(objects, definition, pre_hook, policy)
    summary = Summary(
        job="", output_manifest=output.uri("manifests/output/output.manifest"), objects=len(objects)
    )
    labels: dict[str, Any] = {}
    work = [o for o in objects if not o.failure and o.human]
    if work:
        job = await _create_job(lw, definition, template)
        summary.job = job.name
        if on_job is not None:
            on_job(job.name)
        items = [
            item_pb2.Item(key=o.object_id, json=json.dumps(o.task_input, ensure_ascii=False)) for o in work
        ]
        await lw.add_items(job.name, items)
        await lw.start_job(job.name)
        if not await _wait(lw, job.name, poll_seconds, timeout_seconds):
            summary.unanswered = (
                f"no worker answered within {timeout_seconds:g} s (the job {job.name} runs on)"
            )
        await _collect(lw, job.name, {o.object_id: o for o in work})
        labels = await _consolidate(
            lw, job.name, definition, work, output, post_hook, policy, categories, summary, now
        )
    lines = []
    created = now()
    for o in objects:
        line = dict(o.line)
        if o.failure:
            line[f"{definition.attribute}-metadata"] = gt_output.failed_metadata(definition.name, o.failure)
            summary.failed[o.object_id] = o.failure
        elif not o.human:
            summary.skipped += 1
        elif o.object_id in labels:
            label, extra = labels[o.object_id]
            line[definition.attribute] = label
            line[f"{definition.attribute}-metadata"] = gt_output.label_metadata(
                definition.name, created, **extra
            )
            summary.labeled += 1
        elif not o.answers:
            reason = summary.post_hook_failure or summary.unanswered
            line[f"{definition.attribute}-metadata"] = gt_output.failed_metadata(definition.name, reason)
            summary.failed[o.object_id] = reason
        elif summary.post_hook_failure:
            line[f"{definition.attribute}-metadata"] = gt_output.failed_metadata(
                definition.name, summary.post_hook_failure
            )
            summary.failed[o.object_id] = summary.post_hook_failure
        lines.append(line)
    await asyncio.to_thread(output.output_manifest, lines)
    return summary


async def _pre_label(
    objects: Sequence[_Object], definition: Definition, hook: Hook | None, policy: HookPolicy
) -> None:
    """Each line through the hook, a few at once; a line whose hook keeps
    failing is marked failed with the reason and holds up no other."""
    gate = asyncio.Semaphore(PRE_HOOK_CONCURRENCY)

    async def one(o: _Object) -> None:
        async with gate:
            try:
                result = await gt_hooks.pre_label(hook, definition.arn, o.line, policy)
            except HookFailed as err:
                o.failure = f"pre-labeling: {err.reason}"
                return
            size = len(json.dumps(result.task_input, ensure_ascii=False).encode())
            if size > MAX_PAYLOAD_BYTES:
                o.failure = (
                    f"pre-labeling: the hook's taskInput has {size:,} bytes; an item holds at most"
                    f" {MAX_PAYLOAD_BYTES:,}"
                )
                return
            o.task_input, o.human = result.task_input, result.human_annotation_required

    await asyncio.gather(*(one(o) for o in objects))


async def _create_job(lw: Client, definition: Definition, template: str) -> job_pb2.Job:
    spec = job_pb2.Job(display_name=definition.title)
    spec.task_config.custom.groundtruth_template = template
    spec.instructions.short_instructions = definition.description
    spec.task_time_limit.CopyFrom(duration_pb2.Duration(seconds=definition.time_limit_seconds))
    return await lw.create_job(
        definition.title,
        classes=[],
        judgments_per_item=definition.workers_per_object,
        max_judgments_per_item=definition.workers_per_object,
        quiz_size=0,
        hidden_gold_share=0,
        job=spec,
    )


async def _wait(lw: Client, job: str, poll_seconds: float, timeout_seconds: float) -> bool:
    """Whether the job ended before the timeout."""
    ends = time.monotonic() + timeout_seconds
    while (await lw.get_job(job)).state not in ENDED:
        if time.monotonic() >= ends:
            return False
        await asyncio.sleep(poll_seconds)
    return True


async def _collect(lw: Client, job: str, by_id: Mapping[str, _Object]) -> None:
    async for judgment in lw.list_judgments(job):
        target = by_id.get(judgment.item_key)
        if target is None or judgment.gold or judgment.excluded:
            continue
        target.answers.append(_answer(judgment))


def _answer(judgment: judgment_pb2.Judgment) -> WorkerAnswer:
    submitted = judgment.create_time.ToDatetime(tzinfo=UTC)
    seconds = judgment.time_spent.ToTimedelta().total_seconds()
    who = judgment.account or judgment.worker
    return WorkerAnswer(
        worker_id="labelwire." + who.replace("/", "."),
        accepted=submitted - timedelta(seconds=seconds),
        submitted=submitted,
        seconds=seconds,
        content=MessageToDict(judgment.answer.custom),
    )


async def _consolidate(
    lw: Client,
    job: str,
    definition: Definition,
    work: Sequence[_Object],
    output: JobOutput,
    hook: Hook | None,
    policy: HookPolicy,
    categories: list[str] | None,
    summary: Summary,
    now: Callable[[], datetime],
) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Each answered object's label and the metadata it adds: the post-labeling
    hook's when the job names one, else labelwire's own consolidation's."""
    answered = [o for o in work if o.answers]
    refs: dict[str, str] = {}
    for o in answered:
        when = max(a.submitted for a in o.answers)
        refs[o.object_id] = await asyncio.to_thread(output.worker_response, o.object_id, when, o.answers)
    if hook is None:
        own: dict[str, tuple[Any, dict[str, Any]]] = {}
        async for label in lw.list_labels(job):
            if label.item_key in refs:
                value = MessageToDict(label.value.custom)
                extra = {
                    "confidence": round(label.confidence, 4),
                    "worker-response-ref": refs[label.item_key],
                }
                own[label.item_key] = (value, extra)
        return own
    if not answered:
        return {}
    entries = [gt_output.request_entry(o.object_id, o.line, o.answers) for o in answered]
    when = now()
    request_uri = await asyncio.to_thread(output.consolidation_request, when, entries)
    payload: dict[str, Any] = (
        {"s3Uri": request_uri} if request_uri.startswith("s3://") else {"content": entries}
    )
    event = {
        "version": gt_hooks.VERSION,
        "labelingJobArn": definition.arn,
        "labelCategories": categories,
        "labelAttributeName": definition.attribute,
        "roleArn": definition.role_arn,
        "payload": payload,
        "outputConfig": output.uri("annotations"),
        "maxHumanWorkersPerDataObject": definition.workers_per_object,
    }
    ids = [o.object_id for o in answered]
    try:
        answer = await gt_hooks.call(hook, event, policy)
        labels = gt_hooks.check_consolidation(hook, answer, definition.attribute, ids)
    except HookFailed as err:
        summary.post_hook_failure = f"post-labeling: {err.reason}"
        return {}
    await asyncio.to_thread(output.consolidation_response, when, answer)
    return {object_id: (label, {}) for object_id, label in labels.items()}


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    env: Mapping[str, str],
    parents: Sequence[argparse.ArgumentParser],
) -> None:
    run = commands.add_parser(
        "run-groundtruth-job",
        parents=list(parents),
        help="run a Ground Truth custom labeling job on the in-house pool",
        description="Run a Ground Truth custom job, given as its CreateLabelingJob request (JSON), on a running"
        " labelwire server's pool: each manifest line goes through the pre-labeling hook, the workers label it"
        " with the job's worker template, the post-labeling hook consolidates their answers, and Ground Truth's"
        " output files (worker responses, consolidation request and response, output manifest) are written under"
        " <S3OutputPath>/<LabelingJobName>/. The manifest, template and output are read and written under the"
        " files rules (--files-root, --s3-allow) as the API key's client.",
    )
    run.add_argument("definition", help="the CreateLabelingJob request as a JSON file")
    run.add_argument(
        "--template", help="the worker template file (default: HumanTaskConfig.UiConfig.UiTemplateS3Uri)"
    )
    run.add_argument(
        "--pre-hook", default="", help="python:module:function or URL, instead of PreHumanTaskLambdaArn"
    )
    run.add_argument(
        "--post-hook",
        default="",
        help="python:module:function or URL, instead of AnnotationConsolidationLambdaArn",
    )
    run.add_argument(
        "--hook-allow",
        action="append",
        default=[p for p in env.get("LABELWIRE_HOOK_ALLOW", "").split(",") if p],
        metavar="MODULE:FUNCTION",
        help="a Python hook that may run (module:* for a whole module); repeatable (LABELWIRE_HOOK_ALLOW)",
    )
    run.add_argument(
        "--hook-url-allow",
        action="append",
        default=[p for p in env.get("LABELWIRE_HOOK_URL_ALLOW", "").split(",") if p],
        metavar="URL_PREFIX",
        help="a URL prefix hooks may be called at; repeatable (LABELWIRE_HOOK_URL_ALLOW)",
    )
    run.add_argument("--hook-timeout", type=float, default=30.0, help="seconds per hook call (default 30)")
    run.add_argument("--hook-attempts", type=int, default=4, help="tries per hook call (default 4)")
    run.add_argument(
        "--files-root", default=env.get("LABELWIRE_FILES_ROOT"), help="the operator's files root"
    )
    run.add_argument(
        "--s3-allow",
        action="append",
        default=[p for p in env.get("LABELWIRE_S3_ALLOW", "").split(",") if p],
        metavar="S3_PREFIX",
        help="an s3://bucket/prefix the client may use, in <prefix>/<client id>/; repeatable",
    )
    run.add_argument("--s3-shared", action="store_true", help="the whole of each --s3-allow prefix")
    run.add_argument("--address", default=env.get("LABELWIRE_ADDRESS", "127.0.0.1:50051"), help="HOST:PORT")
    run.add_argument("--api-key", default=env.get("LABELWIRE_API_KEY"), help="the owner's client API key")
    run.add_argument("--tls-ca", default=env.get("LABELWIRE_TLS_CA"), help="PEM certificate(s) to trust")
    run.add_argument(
        "--interval", type=float, default=5.0, help="seconds between progress checks (default 5)"
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=7 * 24 * 3600.0,
        help="stop waiting for workers after this many seconds",
    )


async def main(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Exit status 0 when every object was labeled or skipped, 1 when some
    failed (each named with its reason), 2 when the job could not run."""
    parsed = auth.parse(args.api_key or "")
    if parsed is None:
        print(
            "labelwire run-groundtruth-job: --api-key (LABELWIRE_API_KEY) is not a client API key", file=err
        )
        return 2
    try:
        settings = FilesSettings.build(args.files_root, args.s3_allow, s3_shared=args.s3_shared)
        policy = HookPolicy(
            entry_points=tuple(args.hook_allow),
            url_prefixes=tuple(args.hook_url_allow),
            timeout_seconds=args.hook_timeout,
            attempts=max(1, args.hook_attempts),
        )
        with open(args.definition, encoding="utf-8") as handle:
            definition = parse_definition(json.load(handle))
        pre, post = hooks_of(definition, policy, args.pre_hook, args.post_hook)
        if args.template:
            with open(args.template, encoding="utf-8") as handle:
                template = handle.read()
        elif definition.template_uri:
            template = read_text(settings, parsed[1], definition.template_uri, "UiTemplateS3Uri")
        else:
            raise InvalidArgument("HumanTaskConfig.UiConfig.UiTemplateS3Uri or --template is required")
        credentials = grpc.ssl_channel_credentials(Path(args.tls_ca).read_bytes()) if args.tls_ca else None
        async with Client(args.address, args.api_key, credentials=credentials) as lw:
            summary = await run_job(
                lw,
                definition,
                template,
                settings=settings,
                client_id=parsed[1],
                policy=policy,
                pre_hook=pre,
                post_hook=post,
                poll_seconds=args.interval,
                timeout_seconds=args.timeout,
                on_job=lambda name: print(f"{name}: running on the pool", file=out, flush=True),
            )
    except (LabelwireError, OSError, ValueError) as error:
        message = error.message if isinstance(error, LabelwireError) else str(error)
        print(f"labelwire run-groundtruth-job: {message}", file=err)
        return 2
    except grpc.aio.AioRpcError as error:
        print(f"labelwire run-groundtruth-job: {error.code().name}: {error.details()}", file=err)
        return 2
    for object_id, reason in sorted(summary.failed.items(), key=lambda kv: int(kv[0])):
        print(f"object {object_id} failed: {reason}", file=err)
    print(
        f"{definition.name}: {summary.labeled} of {summary.objects} objects labeled, {summary.skipped} skipped,"
        f" {len(summary.failed)} failed; output manifest {summary.output_manifest}",
        file=out,
    )
    return 1 if summary.failed else 0
