"""JobSpec to and from the JSON kept in the store."""

from __future__ import annotations

import dataclasses
from typing import Any

from labelwire.server.domain.model import GoldPolicy, JobSpec, LabelClass, ModelRouting, RoutingRule


def to_json(spec: JobSpec) -> dict[str, Any]:
    return dataclasses.asdict(spec)


def from_json(data: dict[str, Any]) -> JobSpec:
    fields = dict(data)
    fields["classes"] = tuple(LabelClass(**c) for c in fields["classes"])
    fields["gold"] = GoldPolicy(**fields["gold"])
    fields["teams"] = tuple(fields.get("teams", ()))
    if fields.get("routing") is not None:
        fields["routing"] = ModelRouting(**fields["routing"])
    fields["routing_rules"] = tuple(
        RoutingRule(**{**r, "classes": tuple(r.get("classes", ()))}) for r in fields.get("routing_rules", ())
    )
    return JobSpec(**fields)
