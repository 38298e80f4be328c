"""Rows kept beside a job's items, typed as `rows.py`'s are: uploads in
flight, the stored model of the job's last pass, and the tasks workers declined."""

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
