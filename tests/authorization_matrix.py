"""The authorization matrix's data: every RPC of every labelwire service, the
kinds of caller, the status each must get, and how to set up and call each.

`test_authorization.py` runs it; `test_accounts.py` reuses the requests.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import duration_pb2, field_mask_pb2
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

import labelwire.v1
from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.v1 import (
    account_pb2,
    adapter_service_pb2,
    admin_service_pb2,
    job_pb2,
    job_service_pb2,
    label_service_pb2,
    quality_service_pb2,
    team_service_pb2,
    worker_service_pb2,
)
from tests.helpers import CLASSES

OK = grpc.StatusCode.OK
DENIED = grpc.StatusCode.PERMISSION_DENIED
NOT_FOUND = grpc.StatusCode.NOT_FOUND
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
CALL_DEADLINE_SECONDS = 30.0

OWNER = "owner client"
OTHER_CLIENT = "another client"
WORKER = "worker of the job"
OTHER_WORKER = "worker of another job"
ADMIN = "admin key"
NO_TOKEN = "no token"
ADAPTER = "adapter the remote job names"
OTHER_ADAPTER = "another adapter"
CALLERS = (OWNER, OTHER_CLIENT, WORKER, OTHER_WORKER, ADMIN, NO_TOKEN, ADAPTER, OTHER_ADAPTER)


def _methods() -> dict[str, MethodDescriptor]:
    """Every RPC of every service in the generated `labelwire.v1` modules."""
    found: dict[str, MethodDescriptor] = {}
    for module_info in pkgutil.iter_modules(labelwire.v1.__path__):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"labelwire.v1.{module_info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                found[f"{service.name}.{method.name}"] = method
    return found


METHODS = _methods()


@dataclass
class World:
    """The owner's resources every request aims at, and each caller's token."""

    job: str  # running, items open, one task leased to WORKER
    draft: str  # in DRAFT, with one item
    task: str
    tokens: dict[str, str]
    files: Path  # the owner's own folder under the files root
    spare_key: str  # clients/{c}/apiKeys/{k}: a key no caller uses
    spare_worker: str  # jobs/{j}/workers/{w}: a worker no caller uses
    team: str = ""  # teams/{t}: the owner's team, which no job names, with `member` in it
    member: str = ""  # workers/{a}: the owner's worker account in `team`
    spare_account: str = ""  # workers/{a}: the owner's worker account in no team
    target: str = ""  # the server's gRPC address
    remote_job: str = ""  # running, of the `remote` workforce naming ADAPTER, which claimed `r0`
    spare_adapter_key: str = ""  # adapters/{a}/keys/{k}: an adapter key no caller uses


def only(
    allowed: tuple[str, ...], *, stranger: grpc.StatusCode, others: grpc.StatusCode = DENIED
) -> dict[str, grpc.StatusCode]:
    """`allowed` get OK; the caller of the same kind aimed at someone else's
    resource gets `stranger`; every other kind of key `others`; no token
    UNAUTHENTICATED."""
    kind = {
        OWNER: "client",
        OTHER_CLIENT: "client",
        WORKER: "worker",
        OTHER_WORKER: "worker",
        ADMIN: "admin",
        ADAPTER: "adapter",
        OTHER_ADAPTER: "adapter",
    }
    allowed_kinds = {kind[c] for c in allowed}
    table: dict[str, grpc.StatusCode] = {NO_TOKEN: UNAUTHENTICATED}
    for caller, its_kind in kind.items():
        if caller in allowed:
            table[caller] = OK
        elif its_kind in allowed_kinds:
            table[caller] = stranger
        else:
            table[caller] = others
    return table


OWNERS_JOB = only((OWNER,), stranger=NOT_FOUND)
ANY_CLIENT = only((OWNER, OTHER_CLIENT), stranger=NOT_FOUND)
# The admin key reads every client's jobs (an operator's view) and changes none.
OWNERS_JOB_ADMIN_READS = {**OWNERS_JOB, ADMIN: OK}
ANY_CLIENT_ADMIN_READS = {**ANY_CLIENT, ADMIN: OK}
OWN_TASK = only((WORKER,), stranger=NOT_FOUND)
ANY_WORKER = only((WORKER, OTHER_WORKER), stranger=NOT_FOUND)
ADMIN_ONLY = only((ADMIN,), stranger=DENIED)
SERVED_JOB = only((ADAPTER,), stranger=NOT_FOUND)
ANY_ADAPTER = only((ADAPTER, OTHER_ADAPTER), stranger=NOT_FOUND)


async def _pause(world: World, owner: Client) -> None:
    await owner.pause_job(world.job)


async def _cancel_draft(world: World, owner: Client) -> None:
    await owner.cancel_job(world.draft)


# The item `_label_task` labeled, by job: CorrectLabel needs a labeled item.
LABELED: dict[str, str] = {}


async def _label_task(world: World, owner: Client) -> None:
    """WORKER answers its leased task, which labels that item (one judgment an item)."""
    async with WorkerClient(world.target, world.tokens[WORKER]) as w:
        await w.submit(world.task, classification(CLASSES[0]))
    [label] = [label async for label in owner.list_labels(world.job)]
    LABELED[world.job] = label.item_key


@dataclass(frozen=True)
class Entry:
    expected: dict[str, grpc.StatusCode]
    request: Callable[[World], Message | list[Message]]
    prepare: Callable[[World, Client], Awaitable[None]] | None = None


def _manifest(world: World) -> str:
    path = world.files / "in.manifest"
    path.write_text('{"source": "from a manifest", "id": "m1"}\n')
    return path.name


MATRIX: dict[str, Entry] = {
    "AdminService.CreateApiKey": Entry(
        ADMIN_ONLY, lambda w: admin_service_pb2.CreateApiKeyRequest(client_name="new-client")
    ),
    "AdminService.ListApiKeys": Entry(
        ADMIN_ONLY, lambda w: admin_service_pb2.ListApiKeysRequest(parent="clients/-")
    ),
    "AdminService.RevokeApiKey": Entry(
        ADMIN_ONLY, lambda w: admin_service_pb2.RevokeApiKeyRequest(name=w.spare_key)
    ),
    "AdminService.RotateApiKey": Entry(
        ADMIN_ONLY, lambda w: admin_service_pb2.RotateApiKeyRequest(name=w.spare_key)
    ),
    "AdminService.CreateAdapterKey": Entry(
        ADMIN_ONLY, lambda w: admin_service_pb2.CreateAdapterKeyRequest(adapter_name="new-adapter")
    ),
    "AdminService.RevokeAdapterKey": Entry(
        ADMIN_ONLY, lambda w: admin_service_pb2.RevokeAdapterKeyRequest(name=w.spare_adapter_key)
    ),
    "WorkforceAdapterService.AttachAdapter": Entry(
        ANY_ADAPTER, lambda w: adapter_service_pb2.AttachAdapterRequest(task_types=["classification"])
    ),
    "WorkforceAdapterService.ListAdapterJobs": Entry(
        ANY_ADAPTER, lambda w: adapter_service_pb2.ListAdapterJobsRequest()
    ),
    "WorkforceAdapterService.GetAdapterJob": Entry(
        SERVED_JOB, lambda w: adapter_service_pb2.GetAdapterJobRequest(name=w.remote_job)
    ),
    "WorkforceAdapterService.ClaimItems": Entry(
        SERVED_JOB,
        lambda w: adapter_service_pb2.ClaimItemsRequest(job=w.remote_job, claim_id="c2", max_items=1),
    ),
    "WorkforceAdapterService.ListClaimedItems": Entry(
        SERVED_JOB, lambda w: adapter_service_pb2.ListClaimedItemsRequest(job=w.remote_job)
    ),
    "WorkforceAdapterService.ReturnItems": Entry(
        SERVED_JOB, lambda w: adapter_service_pb2.ReturnItemsRequest(job=w.remote_job, item_keys=["r0"])
    ),
    "WorkforceAdapterService.RecordJudgments": Entry(
        SERVED_JOB,
        lambda w: adapter_service_pb2.RecordJudgmentsRequest(
            job=w.remote_job,
            judgments=[
                adapter_service_pb2.AdapterJudgment(
                    judgment_id="j1", item_key="r0", worker_id="v1", answer=classification(CLASSES[0])
                )
            ],
        ),
    ),
    "WorkforceAdapterService.DiscountWorker": Entry(
        SERVED_JOB,
        lambda w: adapter_service_pb2.DiscountWorkerRequest(
            job=w.remote_job, worker_id="v1", reason="failed gold"
        ),
    ),
    "WorkforceAdapterService.FailItems": Entry(
        SERVED_JOB,
        lambda w: adapter_service_pb2.FailItemsRequest(job=w.remote_job, item_keys=["r0"], reason="lost"),
    ),
    "WorkforceAdapterService.FailJob": Entry(
        SERVED_JOB, lambda w: adapter_service_pb2.FailJobRequest(job=w.remote_job, reason="vendor is down")
    ),
    "JobService.RevokeWorkerToken": Entry(
        OWNERS_JOB, lambda w: job_service_pb2.RevokeWorkerTokenRequest(worker=w.spare_worker)
    ),
    "JobService.RotateWorkerToken": Entry(
        OWNERS_JOB, lambda w: job_service_pb2.RotateWorkerTokenRequest(worker=w.spare_worker)
    ),
    "JobService.CreateJob": Entry(
        ANY_CLIENT,
        lambda w: job_service_pb2.CreateJobRequest(
            job=job_pb2.Job(
                display_name="J",
                judgment_policy=job_pb2.JudgmentPolicy(judgments_per_item=1),
                task_config=job_pb2.TaskConfig(
                    classification=job_pb2.ClassificationConfig(
                        classes=[job_pb2.LabelClass(name="a"), job_pb2.LabelClass(name="b")]
                    )
                ),
            )
        ),
    ),
    "JobService.SetJobTeams": Entry(
        OWNERS_JOB, lambda w: job_service_pb2.SetJobTeamsRequest(job=w.job, teams=[w.team])
    ),
    "JobService.GetJob": Entry(OWNERS_JOB_ADMIN_READS, lambda w: job_service_pb2.GetJobRequest(name=w.job)),
    # On a cancelled job, so that the stream ends after its first message.
    "JobService.WatchJob": Entry(
        OWNERS_JOB_ADMIN_READS, lambda w: job_service_pb2.WatchJobRequest(name=w.draft), _cancel_draft
    ),
    "JobService.ListJobs": Entry(ANY_CLIENT_ADMIN_READS, lambda w: job_service_pb2.ListJobsRequest()),
    "JobService.StartJob": Entry(OWNERS_JOB, lambda w: job_service_pb2.StartJobRequest(name=w.draft)),
    "JobService.UpdateJob": Entry(
        OWNERS_JOB,
        lambda w: job_service_pb2.UpdateJobRequest(
            job=job_pb2.Job(name=w.job, display_name="renamed"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
    ),
    "JobService.PauseJob": Entry(OWNERS_JOB, lambda w: job_service_pb2.PauseJobRequest(name=w.job)),
    "JobService.ResumeJob": Entry(
        OWNERS_JOB, lambda w: job_service_pb2.ResumeJobRequest(name=w.job), prepare=_pause
    ),
    "JobService.CancelJob": Entry(OWNERS_JOB, lambda w: job_service_pb2.CancelJobRequest(name=w.job)),
    "JobService.AddItems": Entry(
        OWNERS_JOB,
        lambda w: [
            job_service_pb2.AddItemsRequest(job=w.job, items=[text_item("added", "one more")]),
        ],
    ),
    "JobService.AddItemBatch": Entry(
        OWNERS_JOB,
        lambda w: job_service_pb2.AddItemBatchRequest(job=w.job, items=[text_item("batched", "one more")]),
    ),
    "JobService.ImportManifest": Entry(
        OWNERS_JOB,
        lambda w: job_service_pb2.ImportManifestRequest(job=w.job, uri=_manifest(w), key_field="id"),
    ),
    "JobService.CreateWorker": Entry(
        OWNERS_JOB, lambda w: job_service_pb2.CreateWorkerRequest(job=w.job, display_name="new")
    ),
    "JobService.DisqualifyWorker": Entry(
        OWNERS_JOB, lambda w: job_service_pb2.DisqualifyWorkerRequest(worker=w.spare_worker)
    ),
    "JobService.RequalifyWorker": Entry(
        OWNERS_JOB, lambda w: job_service_pb2.RequalifyWorkerRequest(worker=w.spare_worker)
    ),
    "JobService.ListWorkers": Entry(OWNERS_JOB, lambda w: job_service_pb2.ListWorkersRequest(job=w.job)),
    "JobService.ListTaskComments": Entry(
        OWNERS_JOB, lambda w: job_service_pb2.ListTaskCommentsRequest(job=w.job)
    ),
    "JobService.ListTaskDeclines": Entry(
        OWNERS_JOB, lambda w: job_service_pb2.ListTaskDeclinesRequest(job=w.job)
    ),
    "JobService.GetItem": Entry(
        OWNERS_JOB, lambda w: job_service_pb2.GetItemRequest(job=w.job, item_key="i0")
    ),
    "LabelService.StreamLabelManifest": Entry(
        OWNERS_JOB, lambda w: label_service_pb2.StreamLabelManifestRequest(job=w.job)
    ),
    "LabelService.StreamLabels": Entry(
        OWNERS_JOB, lambda w: label_service_pb2.StreamLabelsRequest(job=w.job, snapshot_only=True)
    ),
    "LabelService.ListLabels": Entry(OWNERS_JOB, lambda w: label_service_pb2.ListLabelsRequest(job=w.job)),
    "LabelService.CorrectLabel": Entry(
        OWNERS_JOB,
        lambda w: label_service_pb2.CorrectLabelRequest(
            job=w.job, item_key=LABELED.get(w.job, "i0"), value=classification(CLASSES[1])
        ),
        prepare=_label_task,
    ),
    "LabelService.ListLabelRevisions": Entry(
        OWNERS_JOB, lambda w: label_service_pb2.ListLabelRevisionsRequest(job=w.job, item_key="i0")
    ),
    "LabelService.ListJudgments": Entry(
        OWNERS_JOB, lambda w: label_service_pb2.ListJudgmentsRequest(job=w.job)
    ),
    "LabelService.ExportJudgments": Entry(
        OWNERS_JOB,
        lambda w: label_service_pb2.ExportJudgmentsRequest(
            job=w.job, uri="judgments.jsonl", format=label_service_pb2.JUDGMENT_EXPORT_FORMAT_JSON_LINES
        ),
    ),
    "LabelService.ExportLabels": Entry(
        OWNERS_JOB,
        lambda w: label_service_pb2.ExportLabelsRequest(job=w.job, uri="out.manifest"),
    ),
    "QualityService.GetJobQuality": Entry(
        OWNERS_JOB, lambda w: quality_service_pb2.GetJobQualityRequest(job=w.job)
    ),
    "QualityService.GetCalibration": Entry(
        OWNERS_JOB, lambda w: quality_service_pb2.GetCalibrationRequest(job=w.job)
    ),
    "QualityService.GetReliability": Entry(
        OWNERS_JOB, lambda w: quality_service_pb2.GetReliabilityRequest(job=w.job)
    ),
    "QualityService.GetWorkerOutliers": Entry(
        # The world's job is a classification job: its owner is told the report is for box jobs.
        {**OWNERS_JOB, "owner client": grpc.StatusCode.FAILED_PRECONDITION},
        lambda w: quality_service_pb2.GetWorkerOutliersRequest(job=w.job),
    ),
    "QualityService.GetVerificationReport": Entry(
        # The world's job is a classification job: its owner is told the report is for
        # verification jobs (tests/test_bulk_verification.py reads one).
        {**OWNERS_JOB, "owner client": grpc.StatusCode.FAILED_PRECONDITION},
        lambda w: quality_service_pb2.GetVerificationReportRequest(job=w.job),
    ),
    "WorkerService.GetInstructions": Entry(ANY_WORKER, lambda w: worker_service_pb2.GetInstructionsRequest()),
    "WorkerService.NextTask": Entry(ANY_WORKER, lambda w: worker_service_pb2.NextTaskRequest()),
    "WorkerService.SubmitJudgment": Entry(
        OWN_TASK,
        lambda w: worker_service_pb2.SubmitJudgmentRequest(task=w.task, answer=classification(CLASSES[0])),
    ),
    "WorkerService.ReleaseTask": Entry(
        OWN_TASK, lambda w: worker_service_pb2.ReleaseTaskRequest(task=w.task)
    ),
    "WorkerService.DeclineTask": Entry(
        OWN_TASK, lambda w: worker_service_pb2.DeclineTaskRequest(task=w.task, reason="cannot read it")
    ),
    "WorkerService.ExtendLease": Entry(
        OWN_TASK,
        lambda w: worker_service_pb2.ExtendLeaseRequest(
            task=w.task, extension=duration_pb2.Duration(seconds=60)
        ),
    ),
    "WorkerService.GetWorkerStats": Entry(ANY_WORKER, lambda w: worker_service_pb2.GetWorkerStatsRequest()),
    "WorkerService.ListWorkerJobs": Entry(ANY_WORKER, lambda w: worker_service_pb2.ListWorkerJobsRequest()),
    "WorkerService.GetWorkerHistory": Entry(
        ANY_WORKER, lambda w: worker_service_pb2.GetWorkerHistoryRequest()
    ),
    "WorkerService.CommentOnTask": Entry(
        OWN_TASK, lambda w: worker_service_pb2.CommentOnTaskRequest(task=w.task, text="the image is blank")
    ),
    "TeamService.CreateWorkerAccount": Entry(
        ANY_CLIENT,
        lambda w: team_service_pb2.CreateWorkerAccountRequest(
            worker_account=account_pb2.WorkerAccount(display_name="new")
        ),
    ),
    "TeamService.GetWorkerAccount": Entry(
        OWNERS_JOB_ADMIN_READS, lambda w: team_service_pb2.GetWorkerAccountRequest(name=w.member)
    ),
    "TeamService.ListWorkerAccounts": Entry(
        ANY_CLIENT_ADMIN_READS, lambda w: team_service_pb2.ListWorkerAccountsRequest()
    ),
    "TeamService.UpdateWorkerAccount": Entry(
        OWNERS_JOB,
        lambda w: team_service_pb2.UpdateWorkerAccountRequest(
            worker_account=account_pb2.WorkerAccount(name=w.member, display_name="renamed"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
    ),
    "TeamService.DeleteWorkerAccount": Entry(
        OWNERS_JOB, lambda w: team_service_pb2.DeleteWorkerAccountRequest(name=w.spare_account)
    ),
    "TeamService.IssueWorkerAccountToken": Entry(
        OWNERS_JOB, lambda w: team_service_pb2.IssueWorkerAccountTokenRequest(worker=w.member)
    ),
    "TeamService.RevokeWorkerAccountToken": Entry(
        OWNERS_JOB, lambda w: team_service_pb2.RevokeWorkerAccountTokenRequest(worker=w.member)
    ),
    "TeamService.GetWorkerAccountHistory": Entry(
        OWNERS_JOB_ADMIN_READS, lambda w: team_service_pb2.GetWorkerAccountHistoryRequest(worker=w.member)
    ),
    "TeamService.CreateTeam": Entry(
        ANY_CLIENT, lambda w: team_service_pb2.CreateTeamRequest(team=account_pb2.Team(display_name="new"))
    ),
    "TeamService.GetTeam": Entry(
        OWNERS_JOB_ADMIN_READS, lambda w: team_service_pb2.GetTeamRequest(name=w.team)
    ),
    "TeamService.ListTeams": Entry(ANY_CLIENT_ADMIN_READS, lambda w: team_service_pb2.ListTeamsRequest()),
    "TeamService.DeleteTeam": Entry(OWNERS_JOB, lambda w: team_service_pb2.DeleteTeamRequest(name=w.team)),
    "TeamService.AddTeamMember": Entry(
        OWNERS_JOB, lambda w: team_service_pb2.AddTeamMemberRequest(team=w.team, worker=w.spare_account)
    ),
    "TeamService.RemoveTeamMember": Entry(
        OWNERS_JOB, lambda w: team_service_pb2.RemoveTeamMemberRequest(team=w.team, worker=w.member)
    ),
}
