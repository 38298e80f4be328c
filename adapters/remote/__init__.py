"""The `remote` workforce: jobs served by an adapter running in its own
process, in any language, as a client of WorkforceAdapterService.

The adapter process drives the work (it claims, reports judgments, discounts
workers and sees cancellation by polling), so the server's side of this
workforce only states what it can do and checks that a job names an adapter;
the calls themselves are the core's (`labelwire.server.core.adapters`). An
attached adapter states no capabilities of its own: it refuses a job it
cannot run with FailJob.
"""

from __future__ import annotations

import re

from labelwire.adapters.base import (
    TASK_TYPES,
    Capabilities,
    JobView,
    Mode,
    SettingsError,
    SyncResult,
    Workforce,
    WorkforceContext,
)

ADAPTER_NAME = re.compile("[a-z][a-z0-9-]{0,62}")
# The server has nothing to do for these jobs between the adapter's calls.
IDLE_SYNC_SECONDS = 300.0


class RemoteWorkforce(Workforce):
    name = "remote"
    capabilities = Capabilities(task_types=TASK_TYPES, mode=Mode.PUSH, gates_by_gold=False)

    def validate(self, job: JobView) -> None:
        super().validate(job)
        adapter = job.settings.get("adapter")
        if not isinstance(adapter, str) or ADAPTER_NAME.fullmatch(adapter) is None:
            raise SettingsError(
                "workforce.settings.adapter",
                "name the adapter that serves the job: 1 to 63 of [a-z0-9-] starting with a letter"
                f" (the name its key was made for), got {adapter!r}"[:300],
            )
        unknown = sorted(set(job.settings) - {"adapter"})
        if unknown:
            raise SettingsError(
                "workforce.settings", f"the remote workforce takes only adapter, got {', '.join(unknown)}"
            )

    async def sync(self, ctx: WorkforceContext) -> SyncResult:
        return SyncResult(next_sync_seconds=IDLE_SYNC_SECONDS)
