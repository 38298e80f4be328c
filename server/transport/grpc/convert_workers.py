"""Workers, their comments and API keys as the API returns them."""

from __future__ import annotations

from labelwire.server.core import auth
from labelwire.server.domain.model import (
    Credential,
    TaskComment,
    Worker,
)
from labelwire.server.transport.grpc.convert_values import timestamp, worker_status
from labelwire.v1 import (
    admin_service_pb2,
    task_pb2,
)


def comment_message(comment: TaskComment) -> task_pb2.TaskComment:
    job = f"jobs/{comment.job_id}"
    return task_pb2.TaskComment(
        task=f"{job}/tasks/{comment.task_id}",
        item_key=comment.item_key,
        worker=f"{job}/workers/{comment.worker_id}",
        worker_display_name=comment.worker_display_name,
        text=comment.text,
        create_time=timestamp(comment.created_at),
    )


def worker_message(worker: Worker, *, own: bool = False) -> task_pb2.WorkerStats:
    """A worker's record; `own` is the worker's own view, whose gold figures
    are its quiz's alone, so that no hidden-gold answer moves them."""
    out = task_pb2.WorkerStats(
        name=worker.name,
        display_name=worker.display_name,
        status=worker_status(worker.status),
        judgments=worker.judgments,
        gold_answered=worker.quiz_answered if own else worker.gold_answered,
        gold_correct=worker.quiz_correct if own else worker.gold_correct,
        gold_accuracy=worker.quiz_accuracy if own else worker.gold_accuracy,
        quiz_remaining=worker.quiz_remaining,
        account="" if worker.account_id is None else f"workers/{worker.account_id}",
    )
    if worker.last_active_at:
        out.last_active_time.CopyFrom(timestamp(worker.last_active_at))
    return out


def api_key_message(key: Credential, now: float) -> admin_service_pb2.ApiKey:
    out = admin_service_pb2.ApiKey(
        name=f"clients/{key.owner_id}/apiKeys/{key.id}",
        client=f"clients/{key.owner_id}",
        client_name=key.owner_name,
        key_prefix=auth.shown_prefix(key.kind, key.id),
        state=admin_service_pb2.CredentialState.Value(f"CREDENTIAL_STATE_{key.state(now).upper()}"),
        create_time=timestamp(key.created_at),
    )
    if key.expires_at is not None:
        out.expire_time.CopyFrom(timestamp(key.expires_at))
    if key.revoked_at is not None:
        out.revoke_time.CopyFrom(timestamp(key.revoked_at))
    return out
