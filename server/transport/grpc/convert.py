"""Protobuf messages to domain types and back: the one place that knows both.

Plain values (times, durations, structs) are in `convert_values`, the parts of
a job with no answers in `convert_job_fields`, workers and API keys in
`convert_workers`; callers use this module for all of them."""

from __future__ import annotations

import dataclasses
from typing import Any

from google.protobuf import field_mask_pb2, json_format

from labelwire.adapters.base import ExternalJudgment, WorkItem
from labelwire.server.core.adapters import AdapterJudgment
from labelwire.server.core.team_rules import parse_teams
from labelwire.server.domain import answer_schema
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import (
    Answer,
    GoldPolicy,
    GoldUse,
    ItemInput,
    Job,
    JobSpec,
    JobState,
    Judgment,
    Label,
    LabelClass,
    Task,
)
from labelwire.server.domain.tasks import KINDS, verdicts
from labelwire.server.transport.grpc.convert_job_fields import (
    MEDIA,
    MEDIA_BACK,
    METHODS,
    METHODS_BACK,
    VERDICT_NAMES,
    VERDICT_VALUES,
    config_message,
    mask_paths,
    model_routing,
    routing_rules,
    rule_message,
)
from labelwire.server.transport.grpc.convert_values import (
    duration,
    duration_message,
    duration_seconds,
    enum_name,
    seconds_of,
    seconds_or,
    struct_dict,
    timestamp,
    worker_status,
)
from labelwire.server.transport.grpc.convert_workers import api_key_message, comment_message, worker_message
from labelwire.v1 import (
    adapter_service_pb2,
    answer_pb2,
    item_pb2,
    job_pb2,
    judgment_pb2,
    label_pb2,
    task_pb2,
)

__all__ = [
    "GOLD_USES",
    "GOLD_USES_BACK",
    "MEDIA",
    "MEDIA_BACK",
    "METHODS",
    "METHODS_BACK",
    "VERDICT_NAMES",
    "VERDICT_VALUES",
    "adapter_item_message",
    "adapter_judgment",
    "answer_dict",
    "answer_message",
    "api_key_message",
    "comment_message",
    "duration",
    "duration_seconds",
    "item_input",
    "item_message",
    "job_message",
    "job_spec",
    "judgment_message",
    "label_message",
    "mask_paths",
    "merged_job_spec",
    "seconds_of",
    "struct_dict",
    "task_message",
    "timestamp",
    "worker_message",
    "worker_status",
]

GOLD_USES = {
    item_pb2.GOLD_USE_UNSPECIFIED: GoldUse.ANY,
    item_pb2.GOLD_USE_ANY: GoldUse.ANY,
    item_pb2.GOLD_USE_QUIZ: GoldUse.QUIZ,
    item_pb2.GOLD_USE_HIDDEN: GoldUse.HIDDEN,
}
GOLD_USES_BACK = {
    GoldUse.ANY: item_pb2.GOLD_USE_ANY,
    GoldUse.QUIZ: item_pb2.GOLD_USE_QUIZ,
    GoldUse.HIDDEN: item_pb2.GOLD_USE_HIDDEN,
}


_CLASS_FIELDS = {kind.answer_key: kind.class_field for kind in KINDS.values() if kind.class_field}
_REPEATED_CLASSES = {
    key: not isinstance(getattr(getattr(answer_pb2.Answer(), key), name), str)
    for key, name in _CLASS_FIELDS.items()
}
_STRUCT_ANSWERS = frozenset(kind.answer_key for kind in KINDS.values() if kind.struct_answer)
_VERDICT_KEYS = tuple(kind.answer_key for kind in KINDS.values() if kind.counts_verdicts)


def answer_dict(message: answer_pb2.Answer, field: str = "answer") -> Answer:
    """The answer's JSON form; answers that only name classes are built
    directly, since every judgment passes through here."""
    kind = message.WhichOneof("value")
    if kind is not None:
        name = _CLASS_FIELDS.get(kind)
        if name:
            named = getattr(getattr(message, kind), name)
            return {kind: {name: list(named) if _REPEATED_CLASSES[kind] else named}}
        if kind in _STRUCT_ANSWERS:
            body = struct_dict(getattr(message, kind), f"{field}.{kind}")
            return {kind: answer_schema.integral_numbers(body)}
    try:
        return json_format.MessageToDict(message, preserving_proto_field_name=True)
    except ValueError:
        raise InvalidArgument(f"{field} must not contain NaN or infinity", field) from None


def answer_message(answer: Answer, into: answer_pb2.Answer | None = None) -> answer_pb2.Answer:
    out = into if into is not None else answer_pb2.Answer()
    for key, name in _CLASS_FIELDS.items():
        if key in answer:
            body = getattr(out, key)
            if _REPEATED_CLASSES[key]:
                body.SetInParent()
                getattr(body, name).extend(answer[key].get(name, []))
            else:
                setattr(body, name, answer[key][name])
            return out
    json_format.ParseDict(answer, out)
    return out


def job_spec(job: job_pb2.Job) -> JobSpec:
    kind = job.task_config.WhichOneof("config")
    if kind is None:
        raise InvalidArgument(
            f"job.task_config is required: set one of {', '.join(KINDS)}",
            "job.task_config",
        )
    config = getattr(job.task_config, kind)
    for name in KINDS[kind].struct_config_fields:
        struct_dict(getattr(config, name), f"job.task_config.{kind}.{name}")
    listed = getattr(config, KINDS[kind].classes_key, [])
    policy = job.judgment_policy
    if policy.judgments_per_item == 0:
        raise InvalidArgument(
            "job.judgment_policy.judgments_per_item is required (1 to 9)",
            "job.judgment_policy.judgments_per_item",
        )
    return JobSpec(
        display_name=job.display_name,
        task_type=kind,
        classes=tuple(LabelClass(c.name, c.description) for c in listed),
        task_config=json_format.MessageToDict(config, preserving_proto_field_name=True),
        media_type=enum_name(MEDIA, job.media_type, "job.media_type", job_pb2.MediaType),
        instructions=_instructions(job.instructions),
        adapter=job.workforce.adapter or "pool",
        settings=struct_dict(job.workforce.settings, "job.workforce.settings"),
        teams=parse_teams(job.workforce.teams, "job.workforce.teams"),
        judgments_per_item=policy.judgments_per_item,
        max_judgments_per_item=policy.max_judgments_per_item or policy.judgments_per_item,
        target_confidence=policy.target_confidence,
        consolidation_method=enum_name(
            METHODS, job.consolidation_method, "job.consolidation_method", job_pb2.ConsolidationMethod
        ),
        gold=_gold_policy(job.gold_policy),
        price_per_judgment_micros=job.price_per_judgment_micros,
        budget_micros=job.budget_micros,
        task_time_limit_seconds=seconds_or(job.task_time_limit, 300),
        task_lifetime_seconds=seconds_or(job.task_lifetime, 0),
        label_attribute_name=job.label_attribute_name or "label",
        routing=model_routing(job),
        routing_rules=routing_rules(job),
    )


def _gold_policy(gold: job_pb2.GoldPolicy) -> GoldPolicy:
    """Every field the caller set (all are `optional`), the domain's default for the others."""
    given = {descriptor.name: value for descriptor, value in gold.ListFields()}
    return GoldPolicy(**{f.name: given.get(f.name, f.default) for f in dataclasses.fields(GoldPolicy)})


def merged_job_spec(current: Job, patch: job_pb2.Job, mask: field_mask_pb2.FieldMask) -> JobSpec:
    """The job's spec with the masked fields taken from `patch`: a masked
    message or list is replaced whole, as AIP-134 asks."""
    merged = job_message(current)
    mask.MergeMessage(patch, merged, replace_message_field=True, replace_repeated_field=True)
    return job_spec(merged)


def _instructions(message: job_pb2.Instructions) -> dict[str, Any]:
    for group, examples in (("good_examples", message.good_examples), ("bad_examples", message.bad_examples)):
        for i, example in enumerate(examples):
            if example.HasField("answer"):
                answer_dict(example.answer, f"job.instructions.{group}[{i}].answer")
    try:
        return json_format.MessageToDict(message, preserving_proto_field_name=True)
    except ValueError:
        raise InvalidArgument(
            "job.instructions must not contain NaN or infinity", "job.instructions"
        ) from None


def job_message(job: Job) -> job_pb2.Job:
    spec, c = job.spec, job.counters
    out = job_pb2.Job(
        name=job.name,
        display_name=spec.display_name,
        task_config=config_message(spec),
        media_type=MEDIA_BACK[spec.media_type],
        workforce=job_pb2.WorkforceConfig(adapter=spec.adapter, teams=[f"teams/{t}" for t in spec.teams]),
        judgment_policy=job_pb2.JudgmentPolicy(
            judgments_per_item=spec.judgments_per_item,
            max_judgments_per_item=spec.max_judgments_per_item,
            target_confidence=spec.target_confidence,
        ),
        consolidation_method=METHODS_BACK[spec.consolidation_method],
        gold_policy=job_pb2.GoldPolicy(**dataclasses.asdict(spec.gold)),
        price_per_judgment_micros=spec.price_per_judgment_micros,
        budget_micros=spec.budget_micros,
        task_time_limit=duration_message(spec.task_time_limit_seconds),
        task_lifetime=duration_message(spec.task_lifetime_seconds),
        label_attribute_name=spec.label_attribute_name,
        model_routing=(
            job_pb2.ModelRouting(
                class_thresholds=spec.routing.class_thresholds,
                audit_share=spec.routing.audit_share,
                target_precision=spec.routing.target_precision,
                learn_thresholds=spec.routing.learn_thresholds,
                min_learning_items=spec.routing.min_learning_items,
            )
            if spec.routing is not None
            else None
        ),
        routing_rules=[rule_message(r) for r in spec.routing_rules],
        state=job_pb2.JobState.Value(f"JOB_STATE_{job.state.name}"),
        counters=job_pb2.JobCounters(
            total_items=c.total_items,
            gold_items=c.gold_items,
            labeled_items=c.labeled_items,
            unlabeled_items=c.unlabeled_items,
            in_progress_items=c.in_progress_items,
            failed_items=c.failed_items,
            judgments=c.judgments,
            excluded_judgments=c.excluded_judgments,
            qualified_workers=c.qualified_workers,
            disqualified_workers=c.disqualified_workers,
            cost_micros=c.cost_micros,
            reserved_micros=c.reserved_micros,
        ),
        owner=f"clients/{job.owner_id}",
        end_reason=job_pb2.JobEndReason.Value(f"JOB_END_REASON_{job.end_reason.name}")
        if job.state == JobState.COMPLETED
        else job_pb2.JOB_END_REASON_UNSPECIFIED,
        create_time=timestamp(job.created_at),
        update_time=timestamp(job.updated_at),
        failure_reason=job.failure_reason if job.state == JobState.FAILED else "",
        instructions_version=job.instructions_version,
        state_reason=job.state_reason,
        pilot_size=job.pilot_size,
    )
    json_format.ParseDict(spec.instructions, out.instructions)
    out.workforce.settings.update(spec.settings)
    return out


def item_input(item: item_pb2.Item, field: str = "item") -> ItemInput:
    kind = item.WhichOneof("payload")
    return ItemInput(
        key=item.key,
        payload_kind=kind or "",
        payload=getattr(item, kind) if kind else "",
        metadata=struct_dict(item.metadata, f"{field}.metadata") if item.HasField("metadata") else None,
        prelabel=answer_dict(item.prelabel, f"{field}.prelabel") if item.HasField("prelabel") else None,
        prelabel_confidence=item.prelabel_confidence if item.HasField("prelabel") else None,
        gold=answer_dict(item.gold_answer, f"{field}.gold_answer") if item.HasField("gold_answer") else None,
        gold_use=GOLD_USES.get(item.gold_use, GoldUse.ANY),
        gold_explanation=item.gold_explanation,
    )


def item_message(item: ItemInput, into: item_pb2.Item) -> None:
    """An item back as it was added, for its owner (gold included)."""
    into.key = item.key
    if item.payload_kind:
        setattr(into, item.payload_kind, item.payload)
    if item.metadata:
        into.metadata.update(item.metadata)
    if item.prelabel is not None:
        answer_message(item.prelabel, into.prelabel)
        into.prelabel_confidence = item.prelabel_confidence or 0.0
    if item.gold is not None:
        answer_message(item.gold, into.gold_answer)
        into.gold_use = GOLD_USES_BACK[item.gold_use]
        into.gold_explanation = item.gold_explanation


def label_message(label: Label, job_name: str, into: label_pb2.Label) -> None:
    into.job = job_name
    into.item_key = label.item_key
    into.sequence = label.sequence
    into.revision = label.revision
    answer_message(label.value, into.value)
    into.confidence = label.confidence
    for name, p in label.probabilities.items():
        into.class_probabilities.add(class_name=name, probability=p)
    into.method = label.method
    into.judgment_count = label.judgment_count
    into.human_annotated = label.human
    into.tie = label.tie
    into.create_time.FromNanoseconds(int(label.created_at * 1e9))
    if label.item_metadata:
        into.item_metadata.update(label.item_metadata)
    if any(key in label.value for key in _VERDICT_KEYS):
        _verification_summary(label, into.verification)


def _verification_summary(label: Label, into: label_pb2.VerificationSummary) -> None:
    counted = verdicts.counts(label.probabilities, label.judgment_count)
    if counted is None:
        return
    into.confirmed, into.disconfirmed = counted
    summary = label_pb2.VerificationSummary
    if into.confirmed == into.disconfirmed:
        into.verdict = summary.VERDICT_SPLIT
    else:
        into.verdict = (
            summary.VERDICT_CONFIRMED if into.confirmed > into.disconfirmed else summary.VERDICT_DISCONFIRMED
        )
    into.confidence = label.confidence


def judgment_message(judgment: Judgment, into: judgment_pb2.Judgment) -> None:
    into.task = f"jobs/{judgment.job_id}/tasks/{judgment.task_id}"
    into.item_key = judgment.item_key
    into.worker = f"jobs/{judgment.job_id}/workers/{judgment.worker_id}"
    if judgment.account_id is not None:
        into.account = f"workers/{judgment.account_id}"
    into.external_worker_id = judgment.external_worker_id or ""
    answer_message(judgment.answer, into.answer)
    into.time_spent.FromMilliseconds(judgment.time_spent_ms)
    into.create_time.FromNanoseconds(int(judgment.created_at * 1e9))
    into.phase = task_pb2.TaskPhase.Value(f"TASK_PHASE_{judgment.phase.name}")
    into.gold = judgment.gold
    if judgment.gold_correct is not None:
        into.gold_correct = judgment.gold_correct
    into.excluded = judgment.excluded
    into.excluded_reason = judgment.excluded_reason
    into.instructions_version = judgment.instructions_version


def task_message(task: Task, out: task_pb2.Task | None = None) -> task_pb2.Task:
    """The task as the API shows it; written into `out` (a response's field)
    when given, so a NextTask answer is built in place rather than copied."""
    out = task_pb2.Task() if out is None else out
    out.name = task.name
    out.phase = task_pb2.TaskPhase.Value(f"TASK_PHASE_{task.phase.name}")
    out.lease_expire_time.FromNanoseconds(int(task.expires_at * 1e9))
    setattr(out, task.payload_kind, task.payload)
    if task.metadata:
        out.metadata.update(task.metadata)
    if task.prelabel:
        answer_message(task.prelabel, out.prelabel)
    if task.prelabel_confidence is not None:
        out.prelabel_confidence = task.prelabel_confidence
    for item in task.batch:
        entry = out.batch.add()
        setattr(entry, item.payload_kind, item.payload)
        if item.metadata:
            entry.metadata.update(item.metadata)
        if item.prelabel:
            answer_message(item.prelabel, entry.prelabel)
        if item.prelabel_confidence is not None:
            entry.prelabel_confidence = item.prelabel_confidence
    out.rendered_template = task.rendered_template
    return out


def adapter_item_message(item: WorkItem) -> adapter_service_pb2.AdapterItem:
    out = adapter_service_pb2.AdapterItem(
        key=item.key,
        payload_kind=item.payload_kind,
        payload=item.payload,
        judgments_wanted=item.judgments_wanted,
    )
    if item.metadata:
        out.metadata.update(dict(item.metadata))
    if item.prelabel is not None:
        answer_message(dict(item.prelabel), out.prelabel)
    return out


def adapter_judgment(message: adapter_service_pb2.AdapterJudgment, field: str) -> AdapterJudgment:
    """An adapter's judgment; one without an answer is passed on as unusable
    (the core rejects it by name, as it does for an in-process adapter)."""
    answer = (
        answer_dict(message.answer, f"{field}.answer")
        if message.answer.WhichOneof("value") is not None
        else None
    )
    spent = duration_seconds(message.time_spent)
    if spent is not None and spent < 0:
        raise InvalidArgument(
            f"{field}.time_spent must not be negative, got {spent:g} s", f"{field}.time_spent"
        )
    return AdapterJudgment(
        message.judgment_id,
        ExternalJudgment(message.item_key, message.worker_id, answer, spent),
    )
