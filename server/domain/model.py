"""The core's domain types.

Answers are plain dicts in the JSON form of labelwire.v1.Answer with proto field
names (`{"classification": {"class_name": "cat"}}`): the one shape stored,
compared, consolidated and handed to adapters, converted from and to protobuf in
`api/convert.py` only.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from typing import Any

Answer = dict[str, Any]

MAJORITY_VOTE = "majority_vote"
"""The default consolidation method: a plain vote that weighs no worker."""


class JobState(enum.IntEnum):
    DRAFT = 1
    RUNNING = 2
    PAUSED = 3
    COMPLETED = 4
    CANCELLED = 5
    FAILED = 6


ENDED = frozenset({JobState.COMPLETED, JobState.CANCELLED, JobState.FAILED})


class EndReason(enum.IntEnum):
    """Why a COMPLETED job completed."""

    UNSPECIFIED = 0
    ALL_LABELED = 1
    BUDGET_EXHAUSTED = 2


class WorkerStatus(enum.IntEnum):
    QUIZ = 1
    QUALIFIED = 2
    FAILED_QUIZ = 3
    DISQUALIFIED = 4


class TaskPhase(enum.IntEnum):
    QUIZ = 1
    WORK = 2


class TaskState(enum.IntEnum):
    LEASED = 1
    SUBMITTED = 2
    EXPIRED = 3
    RELEASED = 4
    DECLINED = 5


class GoldUse(enum.IntEnum):
    """Which gold pool an item serves. ANY is unmarked: the server splits it
    between the pools when the job starts."""

    ANY = 0
    QUIZ = 1
    HIDDEN = 2


class ItemState(enum.IntEnum):
    OPEN = 0
    LABELED = 1
    FAILED = 2


@dataclass(frozen=True)
class LabelClass:
    name: str
    description: str = ""


@dataclass(frozen=True)
class GoldPolicy:
    quiz_size: int = 5
    pass_accuracy: float = 0.8
    hidden_gold_share: float = 0.1
    max_gold_exposures: int = 0
    min_work_agreement: float = 0.05
    min_work_judgments: int = 20
    min_segmentation_iou: float = 0.8
    number_tolerance: float = 0.0
    keypoint_tolerance: float = 0.1


@dataclass(frozen=True)
class ModelRouting:
    """Which pre-labels are accepted without a human (see `labels.routing`)."""

    class_thresholds: dict[str, float] = field(default_factory=dict)
    audit_share: float = 0.05
    target_precision: float = 0.98
    learn_thresholds: bool = False
    min_learning_items: int = 200


@dataclass(frozen=True)
class RoutingRule:
    """Where a job's labels go next (see `labels.chains`): every condition
    set must hold; `verdict` is confirmed, disconfirmed or split."""

    target_job_id: int
    classes: tuple[str, ...] = ()
    confidence_below: float | None = None
    verdict: str = ""


@dataclass(frozen=True)
class JobSpec:
    """Everything a client chose for a job. A value never changes; UpdateJob
    stores a new one (see `job_updates` for what may differ)."""

    display_name: str
    task_type: str
    classes: tuple[LabelClass, ...]
    task_config: dict[str, Any]
    media_type: str = "text"
    instructions: dict[str, Any] = field(default_factory=dict)
    adapter: str = "pool"
    settings: dict[str, Any] = field(default_factory=dict)
    judgments_per_item: int = 3
    max_judgments_per_item: int = 3
    target_confidence: float = 0.0
    consolidation_method: str = MAJORITY_VOTE
    gold: GoldPolicy = GoldPolicy()
    price_per_judgment_micros: int = 0
    budget_micros: int = 0
    task_time_limit_seconds: int = 300
    task_lifetime_seconds: int = 0
    label_attribute_name: str = "label"
    # Pool jobs: the ids of the owner's teams whose worker accounts may work on it.
    teams: tuple[int, ...] = ()
    routing: ModelRouting | None = None
    routing_rules: tuple[RoutingRule, ...] = ()

    @functools.cached_property
    def class_names(self) -> tuple[str, ...]:
        """Cached: every judgment's validation asks for it (a spec is immutable)."""
        return tuple(c.name for c in self.classes)

    @property
    def floor(self) -> int:
        """Judgments an item gets before its confidence may label it. With a target confidence
        one: a second opinion on an item whose first answer already reaches the target buys
        nothing, and asking it cost the most of any extra judgment (bench/README.md, "Quality
        per dollar"); another is asked only while the posterior is below the target, up to
        `max_judgments_per_item`. Without one, `judgments_per_item`, every item."""
        return 1 if self.target_confidence > 0 else self.judgments_per_item


@dataclass(frozen=True)
class JobCounters:
    total_items: int = 0
    gold_items: int = 0
    labeled_items: int = 0
    unlabeled_items: int = 0
    in_progress_items: int = 0
    failed_items: int = 0
    judgments: int = 0
    excluded_judgments: int = 0
    qualified_workers: int = 0
    disqualified_workers: int = 0
    cost_micros: int = 0
    reserved_micros: int = 0


@dataclass(frozen=True)
class Job:
    id: int
    owner_id: int
    spec: JobSpec
    state: JobState
    created_at: float
    updated_at: float
    failure_reason: str = ""
    counters: JobCounters = JobCounters()
    last_sequence: int = 0
    end_reason: EndReason = EndReason.UNSPECIFIED
    instructions_version: int = 1
    # Items of the pilot while one runs, else 0.
    pilot_size: int = 0

    @property
    def name(self) -> str:
        return f"jobs/{self.id}"

    @property
    def state_reason(self) -> str:
        """Why the server chose the state (a pilot's pause); the column that
        holds it holds a failure's reason in JOB_STATE_FAILED."""
        return self.failure_reason if self.state != JobState.FAILED else ""


@dataclass(frozen=True)
class ItemInput:
    key: str
    payload_kind: str
    payload: str
    metadata: dict[str, Any] | None = None
    prelabel: Answer | None = None
    prelabel_confidence: float | None = None
    gold: Answer | None = None
    gold_use: GoldUse = GoldUse.ANY
    gold_explanation: str = ""


@dataclass(frozen=True)
class AddResult:
    added: int
    duplicates: int
    gold: int


@dataclass(frozen=True)
class Worker:
    id: int
    job_id: int
    display_name: str
    status: WorkerStatus
    quiz_remaining: int
    judgments: int = 0
    gold_answered: int = 0
    gold_correct: int = 0
    last_active_at: float | None = None
    external_id: str | None = None
    skill: float | None = None
    quiz_answered: int = 0
    quiz_correct: int = 0
    work_skill: float | None = None
    # The worker account this per-job record belongs to, if any.
    account_id: int | None = None

    @property
    def name(self) -> str:
        return f"jobs/{self.job_id}/workers/{self.id}"

    @property
    def gold_accuracy(self) -> float:
        return self.gold_correct / self.gold_answered if self.gold_answered else 0.0

    @property
    def quiz_accuracy(self) -> float:
        return self.quiz_correct / self.quiz_answered if self.quiz_answered else 0.0


@dataclass(frozen=True)
class Task:
    """A lease of one item to one worker, as the worker may see it."""

    id: int
    job_id: int
    item_id: int
    worker_id: int
    phase: TaskPhase
    state: TaskState
    expires_at: float
    payload_kind: str = ""
    payload: str = ""
    metadata: dict[str, Any] | None = None
    prelabel: Answer | None = None
    prelabel_confidence: float | None = None
    batch: tuple[BatchItem, ...] = ()
    # A custom job's Ground Truth template, rendered for this task.
    rendered_template: str = ""

    @property
    def name(self) -> str:
        return f"jobs/{self.job_id}/tasks/{self.id}"


@dataclass(frozen=True)
class BatchItem:
    """One item of a bulk-verification task, as the worker sees it (never
    whether it is gold)."""

    payload_kind: str
    payload: str
    metadata: dict[str, Any] | None
    prelabel: Answer | None
    prelabel_confidence: float | None


@dataclass(frozen=True)
class NextTaskResult:
    status: WorkerStatus
    task: Task | None = None
    retry_after: float = 0.0
    message: str = ""
    # With lookahead: the lease after `task`, whose media a page loads ahead.
    upcoming: Task | None = None


@dataclass(frozen=True)
class QuizFeedback:
    """What a worker learns after answering an entry-quiz question."""

    correct: bool
    expected: Answer
    explanation: str = ""


@dataclass(frozen=True)
class TaskComment:
    """A worker's comment on one of its tasks, for the job's owner."""

    id: int
    job_id: int
    task_id: int
    worker_id: int
    worker_display_name: str
    item_key: str
    text: str
    created_at: float


@dataclass(frozen=True)
class SubmitResult:
    task_name: str
    status: WorkerStatus
    message: str = ""
    quiz: QuizFeedback | None = None
    next: NextTaskResult | None = None


@dataclass(frozen=True)
class Label:
    """One event of a job's label feed."""

    job_id: int
    item_key: str
    sequence: int
    revision: int
    value: Answer
    confidence: float
    probabilities: dict[str, float]
    method: str
    judgment_count: int
    human: bool
    tie: bool
    created_at: float
    item_metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class Judgment:
    """One worker's raw answer as its job's owner reads it back."""

    job_id: int
    task_id: int
    item_key: str
    worker_id: int
    answer: Answer
    time_spent_ms: int
    created_at: float
    phase: TaskPhase
    gold: bool
    gold_correct: bool | None
    excluded: bool
    account_id: int | None = None
    external_worker_id: str | None = None
    instructions_version: int = 1

    @property
    def excluded_reason(self) -> str:
        # Disqualification is today the one way a judgment stops counting.
        return "worker_disqualified" if self.excluded else ""


@dataclass(frozen=True)
class Consolidated:
    """An item's label before it has a place in the feed."""

    value: Answer
    confidence: float
    probabilities: dict[str, float]
    method: str
    judgment_count: int
    tie: bool


@dataclass(frozen=True)
class Principal:
    """Who is calling: a client (owns jobs), a worker (of one job), a worker
    account (`account`, before it names a job), or the admin. A worker acting
    through its account has the account's id in `account_id`."""

    kind: str
    id: int = 0
    job_id: int = 0
    account_id: int = 0


@dataclass(frozen=True)
class Credential:
    """A client API key or a worker token, without its secret."""

    id: int
    kind: int
    owner_id: int
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    owner_name: str = ""

    def state(self, now: float) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
