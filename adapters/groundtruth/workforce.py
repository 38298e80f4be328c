"""The Ground Truth workforce: labelwire items labeled by SageMaker Ground Truth jobs.

A labelwire job outlives any one Ground Truth labeling job: items keep arriving
while it runs, and a labeling job's input is fixed at creation. So claimed
items fill batches of at most MaxConcurrentTaskCount objects, and each batch
becomes its own labeling job, `<prefix>-<n>`, once it is full or has waited
`batch_wait_seconds`. Workers' raw answers are read from the worker-response
files while a labeling job runs, so labelwire's consolidation (not Ground
Truth's) decides labels, and labels stream before the labeling job ends;
Ground Truth's own consolidated labels are kept beside ours as reference.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config

from labelwire.adapters.base import (
    TASK_TYPES,
    Capabilities,
    JobView,
    Mode,
    SettingsError,
    SyncResult,
    Workforce,
    WorkforceContext,
    WorkItem,
)
from labelwire.adapters.groundtruth.manifests import (
    DataObject,
    ItemRejected,
    data_object,
    input_line,
)
from labelwire.adapters.groundtruth.requests import (
    builtin_task_type,
)
from labelwire.adapters.groundtruth.rounds import Round
from labelwire.adapters.groundtruth.settings import (
    BUILTIN_UI,
    CUSTOM_UI,
    MAX_WORKERS_PER_OBJECT,
    GroundTruthSettings,
    default_ui,
    parse_settings,
)
from labelwire.adapters.groundtruth.state import AdapterState
from labelwire.adapters.retry import Retrier, Sleep
from labelwire.server.files import s3io

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
else:
    S3Client = Any
    SageMakerClient = Any


class ClientFactory(Protocol):
    """Makes the boto3 client for a service ("s3" or "sagemaker") as one job's settings want it."""

    def __call__(self, service: str, settings: GroundTruthSettings) -> Any: ...


class BotoClients:
    """boto3 clients, one per (service, region, endpoint), shared by every job that agrees on them.

    SageMaker calls are retried by the adapter (with jitter, and with the
    adapter's injectable sleep), so botocore's own retries are off for it.
    """

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, str | None], Any] = {}

    def __call__(self, service: str, settings: GroundTruthSettings) -> Any:
        endpoint = settings.s3_endpoint_url if service == "s3" else settings.sagemaker_endpoint_url
        key = (service, settings.region, endpoint)
        if key not in self._clients:
            retries: Any = (
                {"mode": "standard", "max_attempts": 5} if service == "s3" else {"total_max_attempts": 1}
            )
            make: Callable[..., Any] = boto3.client
            self._clients[key] = make(
                service, region_name=settings.region, endpoint_url=endpoint, config=Config(retries=retries)
            )
        return self._clients[key]


class GroundTruthWorkforce(Workforce):
    name = "groundtruth"
    capabilities = Capabilities(
        task_types=TASK_TYPES,
        mode=Mode.PUSH,
        gates_by_gold=False,
        max_judgments_per_item=MAX_WORKERS_PER_OBJECT,
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
        self._retry = Retrier(sleep=sleep or asyncio.sleep, rng=rng or random.Random())
        self._clock = clock or time.time
        self._keys: dict[str, list[DataObject]] = {}

    def validate(self, job: JobView) -> None:
        super().validate(job)
        settings = parse_settings(job)
        if job.kind.class_field and len(job.classes) < 2:
            raise_classes(2, job)
        if not job.kind.own_template and not job.classes and settings.ui == BUILTIN_UI:
            raise_classes(1, job)

    def validate_item(self, job: JobView, item: WorkItem) -> None:
        """The manifest line an item would get, built now: an image outside S3, a value over
        Ground Truth's limits or a verification pre-label without boxes is refused at AddItems."""
        ui = job.settings.get("ui") or default_ui(job)
        gt_type = None if ui == CUSTOM_UI else builtin_task_type(job.task_type, job.media_type)
        attribute = (job.label_attribute_name or "label") + "-prelabel"
        try:
            input_line(
                item,
                media_type=job.media_type,
                prelabel_attribute=attribute if gt_type == "VerificationBoundingBox" else None,
            )
        except ItemRejected as err:
            raise SettingsError("item", f"Ground Truth cannot take this item: {err}") from None

    async def start(self, ctx: WorkforceContext) -> None:
        state = AdapterState.from_json(await ctx.load_state())
        if not state.batches and state.poll_seconds == 0:
            state.poll_seconds = parse_settings(ctx.job).poll_seconds
            await ctx.save_state(state.to_json())
        await self.recover_orphans(ctx, state)

    async def recover_orphans(self, ctx: WorkforceContext, state: AdapterState) -> None:
        """Hands back items claimed before a crash that no manifest received, so
        they are claimed again instead of waiting forever."""
        claimed = await ctx.claimed_items()
        if not claimed:
            return
        s3, _ = self.clients(parse_settings(ctx.job))
        held: set[str] = set()
        for batch in state.batches:
            if await asyncio.to_thread(s3io.exists, s3, batch.manifest_uri):
                held.update(await self.manifest_keys(s3, batch.manifest_uri))
        orphans = [item.key for item in claimed if item.key not in held]
        if orphans:
            await ctx.return_items(orphans)

    async def sync(self, ctx: WorkforceContext) -> SyncResult:
        return await Round(self, ctx).sync()

    async def cancel(self, ctx: WorkforceContext) -> None:
        await Round(self, ctx).cancel()

    # Shared by rounds: the clients, retries, clock and the item keys of each manifest.

    def clients(self, settings: GroundTruthSettings) -> tuple[S3Client, SageMakerClient]:
        return self._clients("s3", settings), self._clients("sagemaker", settings)

    @property
    def retry(self) -> Retrier:
        return self._retry

    def now(self) -> float:
        return self._clock()

    async def data_objects(self, s3: S3Client, manifest_uri: str) -> list[DataObject]:
        """Our item keys by Ground Truth data object id (the manifest line number):
        one per line, several for a verification batch's line."""
        if manifest_uri not in self._keys:
            lines = await asyncio.to_thread(lambda: list(s3io.read_manifest(manifest_uri, s3=s3)))
            self._keys[manifest_uri] = [data_object(line) for line in lines]
        return self._keys[manifest_uri]

    async def manifest_keys(self, s3: S3Client, manifest_uri: str) -> list[str]:
        """Every item key a manifest holds."""
        return [key for obj in await self.data_objects(s3, manifest_uri) for key in obj.keys if key]

    def forget_manifest(self, manifest_uri: str) -> None:
        self._keys.pop(manifest_uri, None)


def raise_classes(minimum: int, job: JobView) -> None:
    raise SettingsError(
        "task_config",
        f"Ground Truth needs at least {minimum} classes for {job.task_type} tasks, got {len(job.classes)}",
    )


def describe_batches(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A readable summary of the labeling jobs behind a labelwire job, for logs and admin views."""
    return [
        {
            "name": b.name,
            "status": b.status,
            "gt_status": b.gt_status,
            "objects": b.size,
            "label_counters": dict(b.counters),
            "outcome": b.outcome,
        }
        for b in AdapterState.from_json(state).batches
    ]
