"""The `remote` workforce: jobs served by an adapter running in its own
process, in any language, as a client of WorkforceAdapterService.

The adapter process drives the work (it claims, reports judgments, discounts
workers and sees cancellation by polling), so the server's side of this
workforce only checks that a job names an adapter; the calls themselves, and
the check of what the named adapter said it runs (AttachAdapter), are the
core's (`labelwire.server.core.adapters`). It keeps no sync loop: it does not
override `sync`.
"""

from __future__ import annotations

import re

from labelwire.adapters.base import (
    TASK_TYPES,
    Capabilities,
    JobView,
    Mode,
    SettingsError,
    Workforce,
)

ADAPTER_NAME = re.compile("[a-z][a-z0-9-]{0,62}")


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
