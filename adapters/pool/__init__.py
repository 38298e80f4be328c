"""The in-house pool: workers pull tasks over WorkerService.

Dispatch (which item next), the entry quiz and hidden gold are the core's
(`labelwire.server.dispatch.dispatcher`, `labelwire.server.dispatch.gate`), because Mechanical
Turk's qualification tests gate by the same gold; this adapter states what the
pool can do and that it takes no settings.
"""

from __future__ import annotations

from labelwire.adapters.base import TASK_TYPES, Capabilities, JobView, Mode, SettingsError, Workforce


class PoolWorkforce(Workforce):
    name = "pool"
    capabilities = Capabilities(task_types=TASK_TYPES, mode=Mode.PULL, gates_by_gold=True)

    def validate(self, job: JobView) -> None:
        super().validate(job)
        if job.settings:
            unknown = ", ".join(sorted(job.settings))
            raise SettingsError("workforce.settings", f"the pool workforce takes no settings, got {unknown}")
