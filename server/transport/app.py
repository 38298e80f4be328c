"""Builds and runs the gRPC server around a core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2
from grpc_reflection.v1alpha import reflection_pb2_grpc as reflection_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

from labelwire.server.core import Core
from labelwire.server.core.base import DEFAULT_CREDENTIAL_CACHE_SECONDS
from labelwire.server.dispatch.workforces import Workforces
from labelwire.server.files.policy import FilesSettings, server_files
from labelwire.server.store import open_store
from labelwire.server.telemetry.metrics import MetricsServer, serve_metrics
from labelwire.server.transport.grpc.accounts import TeamServicer
from labelwire.server.transport.grpc.adapters import AdapterServicer
from labelwire.server.transport.grpc.admin import AdminServicer
from labelwire.server.transport.grpc.calls import CallInterceptor, WrappingRegistry
from labelwire.server.transport.grpc.jobs import JobServicer
from labelwire.server.transport.grpc.labels import LabelServicer
from labelwire.server.transport.grpc.quality import QualityServicer
from labelwire.server.transport.grpc.streams import DEFAULT_STREAMS_PER_CLIENT, StreamSlots
from labelwire.server.transport.grpc.workers import WorkerServicer
from labelwire.server.transport.http.server import HttpServer, application, serve_http
from labelwire.v1 import (
    adapter_service_pb2,
    adapter_service_pb2_grpc,
    admin_service_pb2,
    admin_service_pb2_grpc,
    job_service_pb2,
    job_service_pb2_grpc,
    label_service_pb2,
    label_service_pb2_grpc,
    quality_service_pb2,
    quality_service_pb2_grpc,
    team_service_pb2,
    team_service_pb2_grpc,
    worker_service_pb2,
    worker_service_pb2_grpc,
)

log = logging.getLogger(__name__)

# Revocation must reach every replica within 5 seconds (docs/security.md).
MAX_CREDENTIAL_CACHE_SECONDS = 5.0
MAX_RECEIVE_BYTES = 64 * 1024 * 1024
MAX_SEND_BYTES = 64 * 1024 * 1024
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"

SERVICES = (
    job_service_pb2.DESCRIPTOR.services_by_name["JobService"].full_name,
    label_service_pb2.DESCRIPTOR.services_by_name["LabelService"].full_name,
    worker_service_pb2.DESCRIPTOR.services_by_name["WorkerService"].full_name,
    admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
    quality_service_pb2.DESCRIPTOR.services_by_name["QualityService"].full_name,
    team_service_pb2.DESCRIPTOR.services_by_name["TeamService"].full_name,
    adapter_service_pb2.DESCRIPTOR.services_by_name["WorkforceAdapterService"].full_name,
)


class HealthServicer(health.aio.HealthServicer):  # type: ignore[misc,name-defined]
    """grpc's servicer, with `List` (grpcio-health-checking leaves it unimplemented)."""

    async def List(
        self, request: health_pb2.HealthListRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthListResponse:
        return health_pb2.HealthListResponse(
            statuses={
                name: health_pb2.HealthCheckResponse(status=status)
                for name, status in self._server_status.items()
            }
        )


def _describe_reflection_v1() -> None:
    """grpcio-reflection ships only v1alpha; v1's messages are the same on
    the wire, so one servicer answers both, and v1's file is registered in
    the descriptor pool so reflection can describe itself (and the HTTP port
    can route it)."""
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(REFLECTION_V1)
    except KeyError:
        v1 = descriptor_pb2.FileDescriptorProto()
        reflection_pb2.DESCRIPTOR.CopyToProto(v1)
        v1.name = "grpc/reflection/v1/reflection.proto"
        v1.package = "grpc.reflection.v1"
        for message in v1.message_type:
            for item in message.field:
                if item.type_name.startswith(".grpc.reflection.v1alpha."):
                    item.type_name = item.type_name.replace(".v1alpha.", ".v1.", 1)
        for method in v1.service[0].method:
            method.input_type = method.input_type.replace(".v1alpha.", ".v1.", 1)
            method.output_type = method.output_type.replace(".v1alpha.", ".v1.", 1)
        pool.Add(v1)


def add_reflection(servicer: ReflectionServicer, server: Any) -> None:
    """Serves reflection as `v1alpha` and `v1` (what grpcurl and buf curl try
    first), on a grpc.aio server or the HTTP port alike."""
    _describe_reflection_v1()
    reflection_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    handlers = {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
        )
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(REFLECTION_V1, handlers),))
    server.add_registered_method_handlers(REFLECTION_V1, handlers)


HEALTH_PROBE_SECONDS = 2.0
"""How often a replica asks its database whether it answers (and how long it waits)."""


async def watch_store(health_servicer: HealthServicer, core: Core, every: float) -> None:
    """Health says NOT_SERVING, for every service and the server, while the database
    does not answer, and SERVING again once it does; the store reconnects by itself."""
    serving = True
    while True:
        await asyncio.sleep(every)
        answers = await core.store_answers(timeout=every)
        if answers == serving:
            continue
        serving = answers
        if serving:
            log.warning("the database answers again; health is SERVING")
        else:
            log.error("the database does not answer; health is NOT_SERVING until it does")
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in (*SERVICES, ""):
            await health_servicer.set(service, status)


@dataclass
class Running:
    server: grpc.aio.Server
    core: Core
    port: int
    metrics: MetricsServer | None = None
    http: HttpServer | None = None
    watch: asyncio.Task[None] | None = None

    async def stop(self, grace: float | None = 1.0) -> None:
        if self.watch is not None:
            self.watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watch
        if self.http is not None:
            await self.http.stop(grace)
        await self.server.stop(grace)
        if self.metrics is not None:
            self.metrics.stop()
        await self.core.close()
        self.core.store.close()


async def start_server(
    *,
    address: str,
    database: str,
    admin_key: str,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    clock: Callable[[], float] = time.time,
    seed: int | None = None,
    workforces: Workforces | None = None,
    drive_workforces: bool = True,
    metrics_address: str | None = None,
    metrics_allow_remote: bool = False,
    files: FilesSettings | None = None,
    credential_cache_seconds: float = DEFAULT_CREDENTIAL_CACHE_SECONDS,
    max_streams_per_client: int = DEFAULT_STREAMS_PER_CLIENT,
    http_address: str | None = None,
    http_cors_origins: Sequence[str] = (),
    health_probe_seconds: float = HEALTH_PROBE_SECONDS,
    database_writers: int | None = None,
) -> Running:
    """`drive_workforces=False` leaves push workforces' sync rounds to the
    caller (tests that script an outside service step by step).
    `metrics_address` (HOST:PORT, port 0 for any) serves Prometheus metrics.
    `http_address` (HOST:PORT) also serves every service over Connect and
    gRPC-Web, with the same servicers, and TLS when `tls_cert` is given.
    `files` says which local paths and S3 prefixes clients may name (none by
    default); the database's own files are refused whatever it says.
    `database_writers`: PostgreSQL writer connections (None: the store's default)."""
    if not 0 <= credential_cache_seconds <= MAX_CREDENTIAL_CACHE_SECONDS:
        raise ValueError(
            f"credential_cache_seconds must be between 0 and {MAX_CREDENTIAL_CACHE_SECONDS:g},"
            f" got {credential_cache_seconds:g}"
        )
    store = open_store(database, database_writers)
    core = Core(
        store,
        admin_key=admin_key,
        clock=clock,
        seed=seed,
        workforces=workforces,
        drive_workforces=drive_workforces,
        files=(files or FilesSettings()).protecting(server_files(database)),
        credential_cache_seconds=credential_cache_seconds,
    )
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
            ("grpc.max_send_message_length", MAX_SEND_BYTES),
        ],
    )
    streams = StreamSlots(max_streams_per_client)
    servicers: list[tuple[Callable[..., None], object]] = [
        (job_service_pb2_grpc.add_JobServiceServicer_to_server, JobServicer(core, streams=streams)),
        (label_service_pb2_grpc.add_LabelServiceServicer_to_server, LabelServicer(core, streams=streams)),
        (worker_service_pb2_grpc.add_WorkerServiceServicer_to_server, WorkerServicer(core)),
        (admin_service_pb2_grpc.add_AdminServiceServicer_to_server, AdminServicer(core)),
        (quality_service_pb2_grpc.add_QualityServiceServicer_to_server, QualityServicer(core)),
        (team_service_pb2_grpc.add_TeamServiceServicer_to_server, TeamServicer(core)),
        (adapter_service_pb2_grpc.add_WorkforceAdapterServiceServicer_to_server, AdapterServicer(core)),
    ]
    health_servicer = HealthServicer()
    reflection_servicer = ReflectionServicer(
        (*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME, REFLECTION_V1)
    )
    # Health checking and reflection on both ports, as Connect's own servers do.
    servicers += [
        (health_pb2_grpc.add_HealthServicer_to_server, health_servicer),
        (add_reflection, reflection_servicer),
    ]
    registry = WrappingRegistry(server)
    for add, servicer in servicers:
        add(servicer, registry)
    if tls_cert and tls_key:
        credentials = grpc.ssl_server_credentials([(tls_key.read_bytes(), tls_cert.read_bytes())])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        store.close()
        raise OSError(f"cannot listen on {address}")
    exporter: MetricsServer | None = None
    http: HttpServer | None = None
    try:
        if metrics_address:
            exporter = serve_metrics(metrics_address, allow_remote=metrics_allow_remote)
        if http_address:
            app = await application(
                servicers,
                [CallInterceptor()],
                max_message_bytes=MAX_RECEIVE_BYTES,
                cors_origins=http_cors_origins,
            )
            http = await serve_http(app, http_address, tls_cert=tls_cert, tls_key=tls_key)
    except BaseException:
        if exporter is not None:
            exporter.stop()
        store.close()
        raise
    await server.start()
    await core.start_background()
    for service in (*SERVICES, ""):
        await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    watch = asyncio.create_task(
        watch_store(health_servicer, core, health_probe_seconds), name="labelwire-health"
    )
    return Running(server=server, core=core, port=port, metrics=exporter, http=http, watch=watch)
