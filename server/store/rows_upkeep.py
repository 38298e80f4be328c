"""Rows kept beside a job's items, typed as `rows.py`'s are: uploads in
flight, the stored model of the job's last pass, the tasks workers declined, and the
few columns of a job's workers that skill routing reads."""

from __future__ import annotations

from typing import NamedTuple

from labelwire.server.store.rows import columns


class UploadRow(NamedTuple):
    id: int
    job_id: int
    state: int  # 0 staging, 1 publishing
    touched_at: float


class JobModelRow(NamedTuple):
    """A pass model as stored: arrays as little-endian bytes."""

    job_id: int
    stamp: int
    method: str
    classes: int
    priors: bytes
    workers: bytes
    confusions: bytes


class JobDeclineRow(NamedTuple):
    """A task a worker declined, and the reason given."""

    worker_id: int
    decline_reason: str | None


UPLOAD_COLUMNS = columns(UploadRow)
JOB_MODEL_COLUMNS = columns(JobModelRow)


class RoutingWorkerRow(NamedTuple):
    """What skill routing reads of each of a job's workers on every lease of a target job
    (`dispatch.contested.routed`): a whole `WorkerRow` of 500 workers cost ~2.4 ms a lease."""

    id: int
    status: int
    last_active_at: float | None
    skill: float | None
    gold_answered: int
    gold_correct: int


ROUTING_WORKER_COLUMNS = columns(RoutingWorkerRow)
