"""What UpdateJob may change in a job, and what a change means.

A job's settings split three ways. What workers read (instructions, examples,
the classes' descriptions) and how the job is run (gold policy, price, budget,
time limits) may change at any time; a change of what workers read makes a new
instructions version. What the recorded answers mean (the task type, the class
names and their order, the media) never changes. A few settings that shape
the labels (the consolidation method, fewer judgments per item) may change only
while no judgment is recorded.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from labelwire.server.domain.errors import FailedPrecondition, InvalidArgument
from labelwire.server.domain.model import JobSpec
from labelwire.server.domain.tasks import KINDS, task_kind

MAX_PATHS = 50
OUTPUT_ONLY = frozenset(
    {
        "name",
        "state",
        "counters",
        "create_time",
        "update_time",
        "failure_reason",
        "owner",
        "end_reason",
        "instructions_version",
        "state_reason",
        "pilot_size",
    }
)
# Each never changes; the message says why.
FIXED = {
    "media_type": "the media type decides how workers were shown the items",
    "workforce": "the workforce holds the job's workers and claims (pool teams change with SetJobTeams)",
}


def check_paths(paths: list[str]) -> None:
    """Refuses, before anything is read, a mask that names nothing or a field
    that is never the caller's to set. (Unknown paths are refused by the
    transport, which knows the message.)"""
    if not paths:
        raise InvalidArgument("update_mask is required: name the fields to change", "update_mask")
    if len(paths) > MAX_PATHS:
        raise InvalidArgument(
            f"update_mask.paths must have at most {MAX_PATHS} entries, got {len(paths)}", "update_mask.paths"
        )
    for i, path in enumerate(paths):
        top = path.split(".", 1)[0]
        if top in OUTPUT_ONLY:
            raise InvalidArgument(
                f"update_mask.paths[{i}]: job.{path} is output only and cannot be set",
                f"update_mask.paths[{i}]",
            )
        if top in FIXED:
            raise FailedPrecondition(f"job.{path} cannot change: {FIXED[top]}")


def carry_defaults(old: JobSpec, new: JobSpec) -> JobSpec:
    """A job without extra judgments (max_judgments_per_item equal to
    judgments_per_item, as CreateJob defaults it) keeps none when only
    judgments_per_item changes, as if it had been created so."""
    fixed = old.max_judgments_per_item == old.judgments_per_item == new.max_judgments_per_item
    if fixed and new.judgments_per_item != old.judgments_per_item:
        return dataclasses.replace(new, max_judgments_per_item=new.judgments_per_item)
    return new


def _classes_field(spec: JobSpec) -> str:
    return task_kind(spec).classes_field


def _without_descriptions(config: dict[str, Any]) -> dict[str, Any]:
    out = dict(config)
    for key in dict.fromkeys(kind.classes_key for kind in KINDS.values()):
        if key in out:
            out[key] = [{"name": c.get("name", "")} for c in out[key]]
    return out


def check_change(old: JobSpec, new: JobSpec, *, judged: bool) -> bool:
    """Refuses a change of something that cannot change (now), naming its
    field; returns whether what workers read changed (a new instructions
    version)."""
    if new.task_type != old.task_type:
        raise FailedPrecondition(f"job.task_config cannot change its task type (it is {old.task_type})")
    field = _classes_field(old)
    if len(new.classes) != len(old.classes):
        raise FailedPrecondition(
            f"{field} cannot gain or lose classes ({len(old.classes)} before, {len(new.classes)} sent);"
            " only their descriptions may change"
        )
    for i, (was, now) in enumerate(zip(old.classes, new.classes, strict=True)):
        if was.name != now.name:
            raise FailedPrecondition(
                f"{field}[{i}].name cannot change (it is {was.name!r}): recorded answers name the classes;"
                " only descriptions may change"
            )
    if _without_descriptions(new.task_config) != _without_descriptions(old.task_config):
        raise FailedPrecondition(
            f"job.task_config.{old.task_type} cannot change apart from the classes' descriptions"
        )
    if new.media_type != old.media_type:
        raise FailedPrecondition(f"job.media_type cannot change: {FIXED['media_type']}")
    if (new.adapter, new.settings, set(new.teams)) != (old.adapter, old.settings, set(old.teams)):
        raise FailedPrecondition(f"job.workforce cannot change: {FIXED['workforce']}")
    if judged and new.consolidation_method != old.consolidation_method:
        raise FailedPrecondition(
            "job.consolidation_method cannot change once judgments are recorded: labels already made"
            " and the job-level passes follow it"
        )
    if judged and new.judgments_per_item < old.judgments_per_item:
        raise FailedPrecondition(
            f"job.judgment_policy.judgments_per_item can only go up once judgments are recorded"
            f" (it is {old.judgments_per_item}, got {new.judgments_per_item})"
        )
    descriptions = [c.description for c in new.classes] != [c.description for c in old.classes]
    return descriptions or new.instructions != old.instructions
