"""Amazon Mechanical Turk as a labelwire workforce (API 2017-01-17).

One HIT per claimed item, with as many assignments as the core wants
judgments; workers' answers are read from ListAssignmentsForHIT while the HIT
runs, recorded as judgments under the worker's MTurk id, and approved or
rejected by the job's approval policy before MTurk approves them on its own.
When the core wants more judgments for an item (its confidence target is not
met), the HIT gets more assignments, or the item a new HIT when the old one
cannot grow; when the core needs no more, the HIT is expired so nothing more is
paid. Mechanical Turk closed on 2026-09-30: nothing here is needed by the core.

This module holds the workforce (what the core calls) and its boto3 clients;
a round's work is in `rounds`, which builds on `hits`, `review`, `budget` and
`round_base`.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config

from labelwire.adapters.base import (
    KINDS,
    Capabilities,
    JobView,
    Mode,
    SettingsError,
    SyncResult,
    Workforce,
    WorkforceContext,
)
from labelwire.adapters.mturk import fees
from labelwire.adapters.mturk.hits import PAST
from labelwire.adapters.mturk.notifications import SqsNotifications
from labelwire.adapters.mturk.retry import MTurkRetrier
from labelwire.adapters.mturk.review import FEEDBACK_AGREEMENT, FEEDBACK_EMPTY, FEEDBACK_GOLD
from labelwire.adapters.mturk.rounds import Round as _Round
from labelwire.adapters.mturk.settings import MTurkSettings, parse_settings
from labelwire.adapters.mturk.state import AdapterState
from labelwire.adapters.retry import Sleep

if TYPE_CHECKING:
    from mypy_boto3_mturk import MTurkClient
else:
    MTurkClient = Any

__all__ = [
    "FEEDBACK_AGREEMENT",
    "FEEDBACK_EMPTY",
    "FEEDBACK_GOLD",
    "PAST",
    "BotoClients",
    "ClientFactory",
    "MTurkWorkforce",
    "cost_summary",
    "queue_region",
]

# Every kind but masks: a Mechanical Turk page has no painting tool.
TASK_TYPES = frozenset(name for name, kind in KINDS.items() if not kind.mask_reference)


class ClientFactory(Protocol):
    """Makes the boto3 client for a service ("mturk" or "sqs") as one job's settings want it."""

    def __call__(self, service: str, settings: MTurkSettings) -> Any: ...


class BotoClients:
    """boto3 clients shared by every job that agrees on region and endpoint. MTurk calls are
    retried by the adapter (with jitter and an injectable sleep), so botocore's retries are off."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, str | None], Any] = {}

    def __call__(self, service: str, settings: MTurkSettings) -> Any:
        endpoint = settings.endpoint_url if service == "mturk" else settings.sqs_endpoint_url
        region = settings.region if service == "mturk" else queue_region(settings.notification_queue_url)
        key = (service, region, endpoint)
        if key not in self._clients:
            retries: Any = {"total_max_attempts": 1} if service == "mturk" else {"mode": "standard"}
            make: Callable[..., Any] = boto3.client
            self._clients[key] = make(
                service, region_name=region, endpoint_url=endpoint, config=Config(retries=retries)
            )
        return self._clients[key]


def queue_region(queue_url: str | None) -> str:
    match = re.match(r"^https?://sqs\.([a-z0-9-]+)\.amazonaws\.com/", queue_url or "")
    return match.group(1) if match else "us-east-1"


class MTurkWorkforce(Workforce):
    name = "mturk"
    capabilities = Capabilities(
        task_types=TASK_TYPES,
        mode=Mode.PUSH,
        gates_by_gold=True,
        max_judgments_per_item=100,
    )

    def __init__(
        self,
        *,
        clients: ClientFactory | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._clients: ClientFactory = clients or BotoClients()
        self.retry = MTurkRetrier(sleep=sleep or asyncio.sleep, rng=rng or random.Random())
        self._clock = clock or time.time
        self.released: set[str] = set()  # gold HIT reservations given back by this process

    def validate(self, job: JobView) -> None:
        super().validate(job)
        parse_settings(job)
        kind = job.kind
        if kind.names_classes and not job.classes:
            raise SettingsError(
                "task_config", f"{job.task_type} tasks on Mechanical Turk need classes to offer"
            )
        if kind.min_classes > 1 and len(job.classes) < kind.min_classes:
            raise SettingsError(
                "task_config",
                f"{job.task_type} needs at least {kind.min_classes} classes, got {len(job.classes)}",
            )
        if kind.own_template:
            template = kind.own_page(job.task_config)
            if template is None or "<crowd-form" not in template:
                raise SettingsError(
                    "task_config.custom.template",
                    "a custom task on Mechanical Turk needs a template with a <crowd-form> (it posts the answer)",
                )

    def now(self) -> float:
        return self._clock()

    def client(self, settings: MTurkSettings) -> MTurkClient:
        client: MTurkClient = self._clients("mturk", settings)
        return client

    def notifications(self, settings: MTurkSettings) -> SqsNotifications | None:
        if settings.notification_queue_url is None:
            return None
        return SqsNotifications(self._clients("sqs", settings), settings.notification_queue_url)

    async def start(self, ctx: WorkforceContext) -> None:
        round_ = _Round(self, ctx)
        await round_.load()
        if round_.state.cancelled:
            return
        if round_.settings.qualification_test and round_.state.qualification_type_id is None:
            await round_.create_qualification_type()
        await round_.recover_orphans()

    async def sync(self, ctx: WorkforceContext) -> SyncResult:
        round_ = _Round(self, ctx)
        await round_.load()
        return await round_.sync()

    async def cancel(self, ctx: WorkforceContext) -> None:
        round_ = _Round(self, ctx)
        await round_.load()
        await round_.cancel()


def cost_summary(state: Mapping[str, Any]) -> dict[str, Any]:
    """What the job has cost on MTurk so far (approved work only), for logs and the cost account."""
    cost = AdapterState.from_json(state).cost
    return {
        "approved_assignments": cost.approved,
        "rejected_assignments": cost.rejected,
        "rewards_usd": fees.dollars(cost.reward_cents),
        "fees_usd": fees.dollars(cost.fee_cents),
        "total_usd": fees.dollars(cost.total_cents),
    }
