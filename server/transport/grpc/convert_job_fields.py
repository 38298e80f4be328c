"""The parts of a job's conversion that hold no answers: its enums' names,
model routing rules, task configuration, and the paths an update's mask names."""

from __future__ import annotations

from google.protobuf import field_mask_pb2, json_format

from labelwire.server.core.base import parse_name
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import (
    JobSpec,
    ModelRouting,
    RoutingRule,
)
from labelwire.v1 import (
    job_pb2,
    label_pb2,
)

MEDIA = {
    job_pb2.MEDIA_TYPE_UNSPECIFIED: "text",
    job_pb2.MEDIA_TYPE_TEXT: "text",
    job_pb2.MEDIA_TYPE_IMAGE: "image",
    job_pb2.MEDIA_TYPE_DOCUMENT: "document",
    job_pb2.MEDIA_TYPE_AUDIO: "audio",
    job_pb2.MEDIA_TYPE_VIDEO: "video",
}


MEDIA_BACK = {v: k for k, v in MEDIA.items() if k != job_pb2.MEDIA_TYPE_UNSPECIFIED}


METHODS = {
    job_pb2.CONSOLIDATION_METHOD_UNSPECIFIED: "majority_vote",
    job_pb2.CONSOLIDATION_METHOD_MAJORITY_VOTE: "majority_vote",
    job_pb2.CONSOLIDATION_METHOD_WEIGHTED_MAJORITY: "weighted_majority",
    job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE: "dawid_skene",
    job_pb2.CONSOLIDATION_METHOD_ONE_COIN: "one_coin",
    job_pb2.CONSOLIDATION_METHOD_GLAD: "glad",
    job_pb2.CONSOLIDATION_METHOD_AUTO: "auto",
}


METHODS_BACK = {v: k for k, v in METHODS.items() if k != job_pb2.CONSOLIDATION_METHOD_UNSPECIFIED}


VERDICT_NAMES = {
    label_pb2.VerificationSummary.VERDICT_CONFIRMED: "confirmed",
    label_pb2.VerificationSummary.VERDICT_DISCONFIRMED: "disconfirmed",
    label_pb2.VerificationSummary.VERDICT_SPLIT: "split",
}


VERDICT_VALUES = {name: value for value, name in VERDICT_NAMES.items()}


def routing_rules(job: job_pb2.Job) -> tuple[RoutingRule, ...]:
    rules = []
    for i, rule in enumerate(job.routing_rules):
        field = f"job.routing_rules[{i}]"
        if rule.verdict and rule.verdict not in VERDICT_NAMES:
            raise InvalidArgument(
                f"{field}.verdict must be a VerificationSummary.Verdict", f"{field}.verdict"
            )
        rules.append(
            RoutingRule(
                target_job_id=parse_name(rule.target_job, "jobs", f"{field}.target_job"),
                classes=tuple(rule.classes),
                confidence_below=rule.confidence_below if rule.HasField("confidence_below") else None,
                verdict=VERDICT_NAMES.get(rule.verdict, ""),
            )
        )
    return tuple(rules)


def rule_message(rule: RoutingRule) -> job_pb2.RoutingRule:
    out = job_pb2.RoutingRule(
        target_job=f"jobs/{rule.target_job_id}",
        classes=rule.classes,
        verdict=VERDICT_VALUES.get(rule.verdict, label_pb2.VerificationSummary.VERDICT_UNSPECIFIED),
    )
    if rule.confidence_below is not None:
        out.confidence_below = rule.confidence_below
    return out


def model_routing(job: job_pb2.Job) -> ModelRouting | None:
    if not job.HasField("model_routing"):
        return None
    m, defaults = job.model_routing, ModelRouting()
    return ModelRouting(
        class_thresholds=dict(m.class_thresholds),
        audit_share=m.audit_share if m.HasField("audit_share") else defaults.audit_share,
        target_precision=m.target_precision or defaults.target_precision,
        learn_thresholds=m.learn_thresholds,
        min_learning_items=m.min_learning_items or defaults.min_learning_items,
    )


def mask_paths(mask: field_mask_pb2.FieldMask) -> list[str]:
    """The mask's paths, each one a field of Job (AIP-134), else the error names it."""
    for i, path in enumerate(mask.paths):
        if not field_mask_pb2.FieldMask(paths=[path]).IsValidForDescriptor(job_pb2.Job.DESCRIPTOR):
            raise InvalidArgument(
                f"update_mask.paths[{i}] {path!r} is not a field of Job", f"update_mask.paths[{i}]"
            )
    return list(mask.paths)


def config_message(spec: JobSpec) -> job_pb2.TaskConfig:
    config = job_pb2.TaskConfig()
    json_format.ParseDict({spec.task_type: spec.task_config}, config)
    return config
