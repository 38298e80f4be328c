"""The async clients: the one definition of the SDK's calls.

`AsyncClient` (its calls in the mixins of `jobs`, `labels` and `teams`),
`AsyncWorkerClient`, `AsyncWorkerAccountClient` (`workers`) and
`AsyncAdminClient` (`admin`) hold the logic; the blocking `Client`,
`WorkerClient`, `WorkerAccountClient` and `AdminClient` (`labelwire.client.sync`)
are generated from them by `scripts/gen_sync_client.py`, so the two cannot
drift (a test fails when the generated file is stale).

Each call has a deadline (`timeout`, 30 s unless changed; streams have none),
raises a `labelwire.client.errors.LabelwireError`, and the idempotent reads are
retried by gRPC itself on UNAVAILABLE and RESOURCE_EXHAUSTED with exponential
backoff (the channel's service config): a create or a submit is never retried
blindly, since the first attempt may have landed.
"""

from __future__ import annotations

import grpc

from labelwire.client import raw
from labelwire.client.aio.admin import AsyncAdminClient
from labelwire.client.aio.base import (
    DEFAULT_ADDRESS,
    DEFAULT_TIMEOUT,
    IDEMPOTENT_METHODS,
    RETRY_POLICY,
    _Base,
    service_config,
)
from labelwire.client.aio.jobs import JobMethods
from labelwire.client.aio.labels import LabelMethods
from labelwire.client.aio.teams import TeamMethods
from labelwire.client.aio.workers import AsyncWorkerAccountClient, AsyncWorkerClient

__all__ = [
    "DEFAULT_ADDRESS",
    "DEFAULT_TIMEOUT",
    "IDEMPOTENT_METHODS",
    "RETRY_POLICY",
    "AsyncAdminClient",
    "AsyncClient",
    "AsyncWorkerAccountClient",
    "AsyncWorkerClient",
    "service_config",
]


class AsyncClient(JobMethods, LabelMethods, TeamMethods, _Base):
    """For the service that owns jobs: needs a client API key.

    async with AsyncClient.from_env() as lw:
        job = await lw.create_job("cats", classes=["cat", "dog"], judgments=3)
    """

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        api_key: str = "",
        *,
        tls: bool = False,
        root_certificates: bytes | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: bool = True,
    ) -> None:
        """`tls` (or `root_certificates`, PEM) for a server with TLS; `timeout` is each
        unary call's deadline in seconds (None: none); `retries=False` turns gRPC's
        retries of idempotent calls off."""
        super().__init__(address, tls, root_certificates, credentials, timeout, retries)
        self._raw = self.raw = raw.Client(address, api_key, **self._channel)
