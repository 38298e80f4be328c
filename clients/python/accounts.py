"""Who does the work, as the SDK hands it back: a worker on one job, worker
accounts and their teams, the jobs an account sees, and API keys. Frozen
dataclasses like those of `labelwire.client.models`, which re-exports them."""

from __future__ import annotations

from dataclasses import dataclass, field

from labelwire.client.values import _enum_name
from labelwire.v1 import account_pb2, admin_service_pb2, job_pb2, task_pb2


@dataclass(frozen=True)
class Worker:
    """A worker on one job and its record there (`status`: quiz, qualified, failed_quiz, disqualified)."""

    name: str
    display_name: str
    status: str
    judgments: int
    gold_answered: int
    gold_correct: int
    quiz_remaining: int
    proto: task_pb2.WorkerStats = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: task_pb2.WorkerStats) -> Worker:
        return cls(
            name=message.name,
            display_name=message.display_name,
            status=_enum_name("WORKER_STATUS_", task_pb2.WorkerStatus.Name(message.status)),
            judgments=message.judgments,
            gold_answered=message.gold_answered,
            gold_correct=message.gold_correct,
            quiz_remaining=message.quiz_remaining,
            proto=message,
        )


@dataclass(frozen=True)
class WorkerAccount:
    """A worker who works on every job of yours that names one of its teams (`teams/{t}`)."""

    name: str
    display_name: str
    teams: tuple[str, ...]
    active_tokens: int
    proto: account_pb2.WorkerAccount = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: account_pb2.WorkerAccount) -> WorkerAccount:
        return cls(
            name=message.name,
            display_name=message.display_name,
            teams=tuple(message.teams),
            active_tokens=message.active_tokens,
            proto=message,
        )


@dataclass(frozen=True)
class Team:
    """A group of worker accounts; a job that names it is open to them."""

    name: str
    display_name: str
    description: str
    worker_count: int
    proto: account_pb2.Team = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: account_pb2.Team) -> Team:
        return cls(
            name=message.name,
            display_name=message.display_name,
            description=message.description,
            worker_count=message.worker_count,
            proto=message,
        )


@dataclass(frozen=True)
class ApiKey:
    """A client's API key as the admin lists it: never the secret, only its prefix."""

    name: str
    client: str
    client_name: str
    key_prefix: str
    state: str
    proto: admin_service_pb2.ApiKey = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: admin_service_pb2.ApiKey) -> ApiKey:
        return cls(
            name=message.name,
            client=message.client,
            client_name=message.client_name,
            key_prefix=message.key_prefix,
            state=_enum_name("CREDENTIAL_STATE_", admin_service_pb2.CredentialState.Name(message.state)),
            proto=message,
        )


@dataclass(frozen=True)
class WorkerJob:
    """A job a worker account may work on, as the account sees it: `status` is
    not_started, quiz, qualified, failed_quiz, disqualified or job_ended."""

    job: str
    display_name: str
    short_instructions: str
    price_per_judgment_micros: int
    status: str
    job_state: str
    judgments: int
    proto: account_pb2.WorkerJob = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: account_pb2.WorkerJob) -> WorkerJob:
        return cls(
            job=message.job,
            display_name=message.display_name,
            short_instructions=message.short_instructions,
            price_per_judgment_micros=message.price_per_judgment_micros,
            status=_enum_name("WORKER_JOB_STATUS_", account_pb2.WorkerJobStatus.Name(message.status)),
            job_state=_enum_name("JOB_STATE_", job_pb2.JobState.Name(message.job_state)),
            judgments=message.worker.judgments,
            proto=message,
        )
