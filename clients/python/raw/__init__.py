"""The low-level async SDK: protobuf in, protobuf out, `grpc.RpcError` raised.

`labelwire.client` (the sync `Client` and `AsyncClient`, plain dataclasses, an
error hierarchy, retries) is built on it; this layer stays for code that wants
the messages themselves. It adds the bearer token, batches items into AddItems
messages, flattens the label stream and resumes it after a dropped connection
from the last sequence it handed out.

    async with Client("127.0.0.1:50051", api_key) as lw:
        job = await lw.create_job("Sentiment", classes=["positive", "negative"])
        await lw.add_items(job.name, [text_item("r1", "Great food")])
        await lw.start_job(job.name)
        async for label in lw.stream_labels(job.name):
            print(label.item_key, label.value.classification.class_name, label.confidence)
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from labelwire.client.raw.admin import AdminClient
from labelwire.client.raw.builders import (
    classification,
    keypoints,
    multi_label,
    number,
    number_config,
    source_item,
    text_item,
)
from labelwire.client.raw.channel import ChannelOptions, _Channel
from labelwire.client.raw.jobs import ITEMS_PER_MESSAGE, JobCalls
from labelwire.client.raw.labels import (
    MAX_RECONNECTS,
    RECONNECT_FIRST_DELAY,
    RECONNECT_MAX_DELAY,
    RETRYABLE,
    LabelCalls,
)
from labelwire.client.raw.teams import TeamCalls
from labelwire.client.raw.workers import WorkerAccountClient, WorkerClient
from labelwire.v1 import (
    job_service_pb2_grpc,
    label_service_pb2_grpc,
    quality_service_pb2_grpc,
    team_service_pb2_grpc,
)

__all__ = [
    "ITEMS_PER_MESSAGE",
    "MAX_RECONNECTS",
    "RECONNECT_FIRST_DELAY",
    "RECONNECT_MAX_DELAY",
    "RETRYABLE",
    "AdminClient",
    "ChannelOptions",
    "Client",
    "WorkerAccountClient",
    "WorkerClient",
    "classification",
    "keypoints",
    "multi_label",
    "number",
    "number_config",
    "source_item",
    "text_item",
]


class Client(JobCalls, LabelCalls, TeamCalls, _Channel):
    """For the service that owns jobs, and its worker accounts and teams
    (`JobCalls`, `LabelCalls`, `TeamCalls`): needs a client API key."""

    def __init__(
        self,
        target: str,
        api_key: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        options: ChannelOptions = (),
        interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
    ) -> None:
        super().__init__(target, api_key, credentials, options, interceptors)
        self.jobs = job_service_pb2_grpc.JobServiceStub(self.channel)
        self.labels = label_service_pb2_grpc.LabelServiceStub(self.channel)
        self.quality = quality_service_pb2_grpc.QualityServiceStub(self.channel)
        self.team_service = team_service_pb2_grpc.TeamServiceStub(self.channel)
