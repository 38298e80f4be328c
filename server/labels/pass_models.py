"""What a job's last consolidation pass learned, kept so that an item completing
between passes is labeled as the next pass would label it (issue 13: the first
label a client sees is already the right one)."""

from __future__ import annotations

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
    job_created_at: float = 0.0
    """Which job of that id it is: ids start again in a new database (tests, a restore)."""
    method: str = ""
    """The consolidation method that fitted it: a job updated to another method stops using it."""


MAX_MODELS = 256
_models: OrderedDict[int, JobModel] = OrderedDict()
_models_lock = threading.Lock()


def keep_model(job_id: int, model: JobModel) -> None:
    """Keeps a job's latest pass model in this process (the most recent `MAX_MODELS` jobs).
    Another replica, or this one after a restart, labels with the workers' pass skills until
    its next pass, as before: the model is a refinement, never needed for a label."""
    with _models_lock:
        _models[job_id] = model
        _models.move_to_end(job_id)
        while len(_models) > MAX_MODELS:
            _models.popitem(last=False)


def job_model(tx: Tx, job_id: int) -> JobModel | None:
    with _models_lock:
        model = _models.get(job_id)
    if model is None:
        return None
    job = tx.job(job_id)
    return model if job is not None and job.created_at == model.job_created_at else None


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
