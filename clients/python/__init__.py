"""The Python SDK for labelwire: blocking `Client` (like boto3) and `AsyncClient`,
the same calls with the same arguments, returning plain dataclasses.

    from labelwire.client import Client

    with Client.from_env() as lw:          # LABELWIRE_ADDRESS, LABELWIRE_API_KEY
        job = lw.create_job("cats", classes=["cat", "dog"], judgments=3)
        lw.add_items(job, [{"key": "a1", "source_ref": "s3://bucket/a1.jpg"}])
        lw.start_job(job)
        lw.wait(job, progress=True)
        frame = lw.labels(job).to_pandas()

`WorkerClient` / `AsyncWorkerClient` are for a worker's tool on one job,
`WorkerAccountClient` / `AsyncWorkerAccountClient` for a worker account (its jobs,
its record, a `WorkerClient` per job), `AdminClient` / `AsyncAdminClient` for
the operator. Reports (`quality`, `calibration`, `verification_report`) come
back as the dataclasses of `labelwire.client.reports`. Failed calls raise the exceptions of
`labelwire.client.errors`. `labelwire.client.raw` is the low-level async layer
underneath (protobuf messages in and out) for whoever needs it.
"""

from labelwire.client.aio import AsyncAdminClient, AsyncClient, AsyncWorkerAccountClient, AsyncWorkerClient
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
    Comment,
    Counters,
    Decline,
    Item,
    Job,
    Judgment,
    Label,
    Route,
    Task,
    Team,
    Worker,
    WorkerAccount,
    WorkerJob,
)
from labelwire.client.pages import AsyncPages, Pages
from labelwire.client.reports import (
    Calibration,
    Exported,
    Instructions,
    JobQuality,
    Reliability,
    VerificationReport,
    WorkerHistory,
    WorkerOutliers,
    WorkerQuality,
)
from labelwire.client.sync import AdminClient, Client, WorkerAccountClient, WorkerClient

__all__ = [
    "Added",
    "AdminClient",
    "AlreadyExists",
    "ApiKey",
    "AsyncAdminClient",
    "AsyncClient",
    "AsyncPages",
    "AsyncWorkerAccountClient",
    "AsyncWorkerClient",
    "Calibration",
    "Client",
    "Comment",
    "Counters",
    "DeadlineExceeded",
    "Decline",
    "Exported",
    "FailedPrecondition",
    "FieldViolation",
    "Instructions",
    "InvalidArgument",
    "Item",
    "Job",
    "JobQuality",
    "Judgment",
    "Label",
    "LabelwireError",
    "NotFound",
    "Pages",
    "PermissionDenied",
    "Reliability",
    "ResourceExhausted",
    "Route",
    "Task",
    "Team",
    "Unauthenticated",
    "Unavailable",
    "VerificationReport",
    "Worker",
    "WorkerAccount",
    "WorkerAccountClient",
    "WorkerClient",
    "WorkerHistory",
    "WorkerJob",
    "WorkerOutliers",
    "WorkerQuality",
    "answer",
]
