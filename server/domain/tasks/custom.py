"""Custom tasks: the owner's own form (a template, or a Ground Truth template
rendered per task), its answer any JSON object its schema allows."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from labelwire.server.domain import answer_schema, gt_template
from labelwire.server.domain.checks import require
from labelwire.server.domain.model import Answer, JobSpec
from labelwire.server.domain.tasks.base import EXACT_METHOD, TaskKind
from labelwire.server.domain.tasks.crowd import CrowdPage, ItemRejected
from labelwire.server.domain.tasks.exports import Exported, ExportTo

_TEMPLATE_SLOT = re.compile(r"\{\{\s*task\.input\.(?:taskObject|source)\s*\}\}")
"""Where the owner's template takes the item (Ground Truth's names for it)."""


def _check_groundtruth_template(task_config: dict[str, Any]) -> None:
    """A Ground Truth template is parsed once here, so a job never starts
    with a template that would fail for every task."""
    inner = task_config.get("custom", task_config)
    source = inner.get("groundtruth_template", "") if isinstance(inner, dict) else ""
    if not source:
        return
    field = "job.task_config.custom.groundtruth_template"
    require(
        not inner.get("template"),
        f"{field} and job.task_config.custom.template are exclusive: set one",
        field,
    )
    problem = gt_template.template_problem(source)
    require(problem is None, f"{field} {problem}", field)


class Custom(TaskKind):
    name = "custom"
    answer_key = "custom"
    component = "custom"
    min_classes = 0
    vote_share_methods = frozenset({EXACT_METHOD})
    struct_answer = True
    struct_config_fields = ("answer_schema",)
    own_template = True
    groundtruth_outputs = ("groundtruth/custom",)

    def validate_config(self, spec: JobSpec) -> None:
        schema = answer_schema.schema_of(spec.task_config)
        if schema is not None:
            problem = answer_schema.schema_problem(schema)
            require(
                problem is None, f"job.task_config.custom.answer_schema is not a valid JSON Schema: {problem}"
            )
        _check_groundtruth_template(spec.task_config)

    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        schema = answer_schema.schema_of(spec.task_config)
        problem = None if schema is None else answer_schema.answer_problem(schema, body, f"{field}.custom")
        require(problem is None, str(problem))

    def groundtruth_template(self, spec: JobSpec) -> str:
        inner = spec.task_config.get("custom", spec.task_config)
        source = inner.get("groundtruth_template", "") if isinstance(inner, dict) else ""
        return source if isinstance(source, str) else ""

    def own_page(self, task_config: Mapping[str, Any]) -> str | None:
        """`template` (either nesting), when it holds more than blanks."""
        inner = task_config.get("custom", task_config)
        template = inner.get("template") if isinstance(inner, Mapping) else None
        return template if isinstance(template, str) and template.strip() else None

    def crowd_element(self, page: CrowdPage) -> str:
        """The owner's own template, the item in its slots."""
        template = self.own_page(page.task_config)
        if template is None:
            raise ItemRejected("a custom task needs task_config.custom.template")
        return _TEMPLATE_SLOT.sub(lambda _: page.target(), template)

    def crowd_answer(self, fields: Mapping[str, Any], classes: Sequence[str]) -> Answer | None:
        """The whole form."""
        return {"custom": dict(fields)} if fields else None

    def export(self, body: Mapping[str, Any], to: ExportTo) -> Exported:
        return dict(body), {}, "groundTruth/custom"
