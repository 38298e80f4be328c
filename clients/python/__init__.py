"""The Python SDK for labelwire: blocking `Client` (like boto3) and `AsyncClient`,
the same calls with the same arguments, returning plain dataclasses.

    from labelwire.client import Client

    with Client.from_env() as lw:          # LABELWIRE_ADDRESS, LABELWIRE_API_KEY
        job = lw.create_job("cats", classes=["cat", "dog"], judgments=3)
        lw.add_items(job, [{"key": "a1", "source_ref": "s3://bucket/a1.jpg"}])
        lw.start_job(job)
        lw.wait(job, progress=True)
        frame = lw.labels(job).to_pandas()

`WorkerClient` / `AsyncWorkerClient` are for a worker's tool, `AdminClient` /
`AsyncAdminClient` for the operator. Failed calls raise the exceptions of
`labelwire.client.errors`. `labelwire.client.raw` is the low-level async layer
underneath (protobuf messages in and out) for whoever needs it.
"""

from labelwire.client.aio import AsyncAdminClient, AsyncClient, AsyncWorkerClient
from labelwire.client.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    LabelwireError,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from labelwire.client.items import answer
from labelwire.client.models import (
    Added,
    ApiKey,
    Counters,
    Job,
    Judgment,
    Label,
    Route,
    Task,
    Team,
    Worker,
    WorkerAccount,
)
from labelwire.client.pages import AsyncPages, Pages
from labelwire.client.sync import AdminClient, Client, WorkerClient

__all__ = [
    "Added",
    "AdminClient",
    "AlreadyExists",
    "ApiKey",
    "AsyncAdminClient",
    "AsyncClient",
    "AsyncPages",
    "AsyncWorkerClient",
    "Client",
    "Counters",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "InvalidArgument",
    "Job",
    "Judgment",
    "Label",
    "LabelwireError",
    "NotFound",
    "Pages",
    "PermissionDenied",
    "ResourceExhausted",
    "Route",
    "Task",
    "Team",
    "Unauthenticated",
    "Unavailable",
    "Worker",
    "WorkerAccount",
    "WorkerClient",
    "answer",
]
