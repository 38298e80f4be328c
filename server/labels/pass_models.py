"""What a job's last consolidation pass learned, stored so that an item completing
between passes is labeled as the next pass would label it, on any replica (issue 13:
the first label a client sees is already the right one)."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from labelwire.server.domain.tasks.classification import DEFAULT_SKILL
from labelwire.server.store import Tx


@dataclass(frozen=True)
class JobModel:
    """What the last job-level pass of a classification job learned: class priors and each
    worker's confusion matrix (`[truth, answer]`)."""

    priors: np.ndarray
    confusions: dict[int, np.ndarray]
    method: str = ""
    """The consolidation method that fitted it: a job updated to another method stops using it."""


MAX_MODELS = 256
_models: OrderedDict[tuple[int, int], JobModel] = OrderedDict()
_models_lock = threading.Lock()


def save_model(tx: Tx, job_id: int, model: JobModel) -> None:
    """Stores a job's latest pass model in the pass's transaction, so every replica, and this
    one after a restart, labels with it; this process keeps it decoded (the most recent
    `MAX_MODELS` jobs) under the random stamp that tells one pass's model from another's."""
    workers = sorted(model.confusions)
    k = len(model.priors)
    stack = np.stack([model.confusions[w] for w in workers]) if workers else np.zeros((0, k, k))
    stamp = secrets.randbits(62)
    tx.save_job_model(
        job_id,
        stamp,
        model.method,
        k,
        np.asarray(model.priors, dtype="<f8").tobytes(),
        np.asarray(workers, dtype="<i8").tobytes(),
        np.asarray(stack, dtype="<f8").tobytes(),
    )
    _remember(job_id, stamp, model)


def _remember(job_id: int, stamp: int, model: JobModel) -> None:
    with _models_lock:
        _models[(job_id, stamp)] = model
        _models.move_to_end((job_id, stamp))
        while len(_models) > MAX_MODELS:
            _models.popitem(last=False)


def job_model(tx: Tx, job_id: int) -> JobModel | None:
    """The job's latest pass model, whichever replica ran the pass; None before the first."""
    stamp = tx.job_model_stamp(job_id)
    if stamp is None:
        return None
    with _models_lock:
        model = _models.get((job_id, stamp))
    if model is not None:
        return model
    row = tx.job_model_row(job_id)
    if row is None:
        return None
    k = int(row.classes)
    workers = np.frombuffer(bytes(row.workers), dtype="<i8")
    stack = np.frombuffer(bytes(row.confusions), dtype="<f8").reshape(len(workers), k, k)
    model = JobModel(
        priors=np.frombuffer(bytes(row.priors), dtype="<f8").copy(),
        confusions={int(w): stack[n].copy() for n, w in enumerate(workers.tolist())},
        method=str(row.method),
    )
    _remember(job_id, int(row.stamp), model)
    return model


def model_posterior(model: JobModel, answers: list[tuple[int, int]], skills: dict[int, float]) -> np.ndarray:
    """The pass model's posterior for one item (its E-step): class priors times each answer's
    likelihood under its worker's confusion matrix; a worker the pass has not seen answers
    with its estimated skill, errors spread evenly."""
    k = len(model.priors)
    log_post = np.log(np.maximum(model.priors, 1e-12))
    for worker, answer in answers:
        matrix = model.confusions.get(worker)
        if matrix is None:
            s = min(max(skills.get(worker, DEFAULT_SKILL), 1e-3), 1 - 1e-3)
            column = np.full(k, (1 - s) / max(k - 1, 1))
            column[answer] = s
        else:
            column = matrix[:, answer]
        log_post = log_post + np.log(np.maximum(column, 1e-12))
    post = np.exp(log_post - log_post.max())
    return np.asarray(post / post.sum())
