"""The dispatcher: which item a worker judges next, and what a judgment does.

Every function here runs inside one store transaction, so a lease, a
judgment, the worker's gold record, the item's counts and the label it may
complete are committed together or not at all.

Callers import this module (`from labelwire.server.dispatch import dispatcher
as dispatch`); the code lives by concern in `leasing` (the next task),
`judgments` (what a judgment does), `lease_ends` (expiry, release,
disqualification), `budget`, `completion` and `task_views`.
"""

from __future__ import annotations

from labelwire.server.dispatch.budget import (
    affordable,
    budget_spent,
    end_if_budget_spent,
    free_item_reservation,
    free_reservation,
)
from labelwire.server.dispatch.completion import PILOT_COMPLETE, complete_if_done, pause_if_pilot_done
from labelwire.server.dispatch.judgments import record_external, record_judgment, submit
from labelwire.server.dispatch.lease_ends import (
    disqualify,
    end_lease,
    expire_leases,
    extend,
    live_task,
    own_task,
    release,
    release_for_cancel,
)
from labelwire.server.dispatch.leasing import NO_WORK_RETRY_SECONDS, next_task
from labelwire.server.dispatch.task_views import task_of, task_view

__all__ = [
    "NO_WORK_RETRY_SECONDS",
    "PILOT_COMPLETE",
    "affordable",
    "budget_spent",
    "complete_if_done",
    "disqualify",
    "end_if_budget_spent",
    "end_lease",
    "expire_leases",
    "extend",
    "free_item_reservation",
    "free_reservation",
    "live_task",
    "next_task",
    "own_task",
    "pause_if_pilot_done",
    "record_external",
    "record_judgment",
    "release",
    "release_for_cancel",
    "submit",
    "task_of",
    "task_view",
]
