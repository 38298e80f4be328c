"""The workforce registry: adapters found through the `labelwire.workforces`
entry-point group, and the core's side of the contract for each job."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from labelwire.adapters.base import JobView, LabelClassView, SettingsError, Workforce
from labelwire.server.errors import InvalidArgument
from labelwire.server.model import Job, JobSpec

if TYPE_CHECKING:
    from labelwire.server.core import Core

log = logging.getLogger(__name__)
GROUP = "labelwire.workforces"


def job_view(spec: JobSpec, name: str = "") -> JobView:
    return JobView(
        name=name,
        display_name=spec.display_name,
        task_type=spec.task_type,
        classes=tuple(LabelClassView(c.name, c.description) for c in spec.classes),
        media_type=spec.media_type,
        instructions=spec.instructions,
        task_config=spec.task_config,
        judgments_per_item=spec.judgments_per_item,
        max_judgments_per_item=spec.max_judgments_per_item,
        task_time_limit_seconds=spec.task_time_limit_seconds,
        task_lifetime_seconds=spec.task_lifetime_seconds,
        price_per_judgment_micros=spec.price_per_judgment_micros,
        label_attribute_name=spec.label_attribute_name,
        settings=spec.settings,
    )


class Workforces:
    def __init__(self, adapters: dict[str, Workforce]) -> None:
        self.adapters = adapters

    @classmethod
    def discover(cls) -> Workforces:
        adapters: dict[str, Workforce] = {}
        for entry in entry_points(group=GROUP):
            try:
                factory: Any = entry.load()
                adapters[entry.name] = factory()
            except Exception:
                log.exception("workforce %s could not be loaded; jobs cannot use it", entry.name)
        return cls(adapters)

    def get(self, name: str) -> Workforce:
        adapter = self.adapters.get(name)
        if adapter is None:
            known = ", ".join(sorted(self.adapters)) or "none"
            raise InvalidArgument(f"job.workforce.adapter {name!r} is not installed (installed: {known})")
        return adapter

    def validate(self, spec: JobSpec) -> None:
        adapter = self.get(spec.adapter)
        try:
            adapter.validate(job_view(spec))
        except SettingsError as exc:
            field = exc.field if exc.field.startswith(("job.", "workforce.")) else f"job.{exc.field}"
            raise InvalidArgument(f"{field}: {exc.message}") from None

    async def cancel(self, core: Core, job: Job) -> None:
        """Push workforces stop their outside work; the pool needs nothing."""
        del core, job
