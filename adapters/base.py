"""The workforce adapter contract.

An adapter translates between the core's items and judgments and one
workforce's own API. It never decides an item's label and never touches the
store: everything it needs from the core, and everything it reports back, goes
through the `WorkforceContext` the core hands it. Two styles fit the contract:

- pull (the in-house pool): workers ask for tasks over WorkerService and the
  core's dispatcher leases them one at a time; the adapter only states what it
  can do and checks its settings.
- push (Ground Truth, Mechanical Turk, an integrator's vendor): the core calls
  `sync` periodically; the adapter claims batches of items that need
  judgments, hands them to the outside service, and reports the judgments
  that came back, with the outside worker's id. Retries, throttling and partial
  failure of the outside service are the adapter's job; recording a judgment
  twice is harmless (the core de-duplicates by item and worker).

Adapters are found through the entry-point group `labelwire.workforces`, so an
integrator ships one in its own package:

    [project.entry-points."labelwire.workforces"]
    myvendor = "myvendor_labelwire:MyVendorWorkforce"
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

# The task kinds are part of the contract: an adapter asks a job's kind for its rules.
from labelwire.server.domain.tasks import KINDS as KINDS
from labelwire.server.domain.tasks import TaskKind as TaskKind
from labelwire.server.domain.tasks import kind_in as kind_in
from labelwire.server.domain.tasks import kind_named as kind_named
from labelwire.server.domain.tasks.base import groundtruth_confidence as groundtruth_confidence
from labelwire.server.domain.tasks.crowd import CrowdPage as CrowdPage
from labelwire.server.domain.tasks.crowd import ItemRejected as ItemRejected
from labelwire.server.domain.tasks.crowd import attr as attr
from labelwire.server.domain.tasks.crowd import require_url as require_url

TASK_TYPES = frozenset(KINDS)
"""Every task type; an adapter asks a job's kind (`JobView.kind`) for its rules
rather than comparing these names."""
MEDIA_TYPES = frozenset({"text", "image", "document", "audio", "video"})


class Mode(enum.Enum):
    PULL = "pull"
    PUSH = "push"


@dataclass(frozen=True)
class Capabilities:
    """What a workforce can do; the core refuses a job the workforce cannot run."""

    task_types: frozenset[str]
    mode: Mode
    gates_by_gold: bool
    media_types: frozenset[str] = MEDIA_TYPES
    max_judgments_per_item: int = 25


class SettingsError(ValueError):
    """A job's workforce settings break one of the workforce's rules.

    `field` is the path of the offending setting as the client wrote it (e.g.
    `workforce.settings.workteam_arn`); the core answers INVALID_ARGUMENT with it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class LabelClassView:
    name: str
    description: str = ""


@dataclass(frozen=True)
class JobView:
    """What an adapter may know of a job: never gold answers (see `gold_items`)."""

    name: str
    display_name: str
    task_type: str
    classes: tuple[LabelClassView, ...]
    media_type: str
    instructions: Mapping[str, Any]
    task_config: Mapping[str, Any]
    judgments_per_item: int
    max_judgments_per_item: int
    task_time_limit_seconds: int
    task_lifetime_seconds: int
    price_per_judgment_micros: int
    label_attribute_name: str
    settings: Mapping[str, Any]

    @property
    def kind(self) -> TaskKind:
        """The job's task type and its rules (answer key, Ground Truth names, ...)."""
        return kind_named(self.task_type)


@dataclass(frozen=True)
class WorkItem:
    """An item handed to a push workforce, with how many judgments it still needs.

    `payload_kind` is `text`, `json` or `source_ref`; `answer` shapes (here and
    in `ExternalJudgment`) are the JSON form of labelwire.v1.Answer, e.g.
    `{"classification": {"class_name": "cat"}}` (proto field names).
    """

    key: str
    payload_kind: str
    payload: str
    metadata: Mapping[str, Any]
    judgments_wanted: int
    prelabel: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class GoldItem:
    """A gold item with its answer, for workforces that gate by gold themselves
    (a Mechanical Turk qualification test's answer key). The answer goes to the
    workforce platform's answer key, never into anything a worker is shown.
    `prelabel` is what a worker is shown beside the item (a verification
    item's proposed label), so hidden gold can sit in a batch of its class."""

    key: str
    payload_kind: str
    payload: str
    answer: Mapping[str, Any]
    prelabel: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ExternalJudgment:
    """One outside worker's answer to one item.

    `worker_id` is the workforce's own id for the worker; the core namespaces it
    by the adapter's name. `answer` is None when the worker submitted nothing
    usable; the core then records nothing and counts it in `RecordOutcome.rejected`.
    """

    item_key: str
    worker_id: str
    answer: Mapping[str, Any] | None
    time_spent_seconds: float | None = None
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class ReferenceLabel:
    """The workforce's own consolidated label (Ground Truth's), kept beside ours
    for comparison; it never replaces ours."""

    item_key: str
    answer: Mapping[str, Any]
    confidence: float | None
    method: str


@dataclass
class RecordOutcome:
    recorded: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SyncResult:
    """What one push round did, and when the core should call `sync` again."""

    next_sync_seconds: float
    dispatched: int = 0
    recorded: int = 0
    finished: bool = False


class WorkforceContext(Protocol):
    """The core's side of the contract, one per (job, adapter)."""

    @property
    def job(self) -> JobView: ...

    async def claim_items(self, limit: int, *, fee_micros_per_judgment: int = 0) -> list[WorkItem]:
        """Items that need judgments and are with no workforce yet; they count
        as in progress from now on, across restarts, until judged, failed or
        returned. With a budget, only as many whole items as the budget still
        pays for (each wanted judgment at the job's price plus
        `fee_micros_per_judgment`, the workforce's own fee), counting what
        leases and other claims reserve: the claim reserves that amount, and
        an empty list may mean the budget is spent. Each judgment recorded
        for a claimed item is charged its price plus that fee."""
        ...

    async def claimed_items(self) -> list[WorkItem]:
        """Items this workforce claimed that are not yet judged, failed or
        returned: after a crash between a claim and the hand-over, `start` can
        find the ones the outside service never received."""
        ...

    async def return_items(self, keys: Sequence[str]) -> None:
        """Hands claimed items back undone (their batch was stopped or lost);
        what their claim reserved goes back to the budget."""
        ...

    async def reserve_cost(self, micros: int, *, key: str) -> bool:
        """Holds `micros` (millionths of a US dollar) of the job's budget for
        a charge of the workforce's own that may come later, e.g. the rewards
        and fees of a gold HIT's assignments, as a lease holds its price:
        once per `key` (a retried round finds it held and gets True). False,
        holding nothing, when the budget less what is spent and reserved
        cannot pay it: then do not incur the charge. Always True without a
        budget."""
        ...

    async def release_cost(self, *, key: str) -> None:
        """Gives back what the reservation `key` still holds (the charge will
        not come, or came in lower); harmless to repeat."""
        ...

    async def record_cost(self, micros: int, reason: str, *, key: str, reservation: str = "") -> bool:
        """Adds a charge of the workforce's own to the job's cost, in
        millionths of a US dollar, once per `key` (a retried round may report
        it again; says whether it was new): what `fee_micros_per_judgment`
        did not cover, e.g. a fee above the claimed rate or the reward of a
        gold HIT whose answers are not judgments. A charge `reserve_cost`
        held budget for names that `reservation` and is paid out of it; an
        unreserved charge can take the job past its budget, so keep those
        small. A recorded judgment's price and claimed fee are counted by the
        core already."""
        ...

    async def record_judgments(self, judgments: Sequence[ExternalJudgment]) -> RecordOutcome:
        """Records answers; acknowledged means committed. Idempotent by
        (item, worker)."""
        ...

    async def record_reference_labels(self, labels: Sequence[ReferenceLabel]) -> None: ...

    async def fail_items(self, keys: Sequence[str], reason: str) -> None:
        """Marks claimed items failed; their judgments so far are kept."""
        ...

    async def fail_job(self, reason: str) -> None: ...

    async def discount_worker(self, worker_id: str, reason: str) -> None:
        """Stops counting an outside worker's judgments (it failed a check of
        the workforce's own; gold goes through `judge_gold_record`): the labels they fed are recomputed and
        their items get replacement judgments, as for a disqualified pool worker."""
        ...

    async def grade_gold(self, answers: Sequence[ExternalJudgment]) -> list[bool | None]:
        """Grades outside workers' answers to gold items (`item_key` a gold
        item's key) by the core's quality gate, the comparison a pool worker's
        gold answers get: True or False for each, None when the item is not
        (or no longer) gold. Nothing is recorded: the answers are not judgments,
        and the workforce keeps each worker's record itself."""
        ...

    async def judge_gold_record(
        self, worker_id: str, answered: int, right: int, *, pass_accuracy: float, min_answered: int = 1
    ) -> bool:
        """Holds an outside worker's gold record (`right` of `answered`) to the
        quality gate's bar, `pass_accuracy` (0 to 1: the workforce's own passing
        score) once it has `min_answered` answers; a worker below it is
        discounted as by `discount_worker`. Says whether it is below the bar."""
        ...

    async def gold_items(self, limit: int) -> list[GoldItem]: ...

    async def load_state(self) -> dict[str, Any]:
        """The adapter's own progress (which outside jobs exist, what was read),
        as saved by `save_state`, so a restart resumes where it was."""
        ...

    async def save_state(self, state: Mapping[str, Any]) -> None: ...


class Workforce:
    """One workforce. Instances are created once per server and shared by jobs."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def validate(self, job: JobView) -> None:
        """Checks a job before it is created; raises SettingsError. The default
        checks the task type, media type and judgment counts against
        `capabilities`."""
        caps = self.capabilities
        if job.task_type not in caps.task_types:
            supported = ", ".join(sorted(caps.task_types))
            raise SettingsError(
                "task_config",
                f"the {self.name} workforce cannot run {job.task_type} tasks (it runs {supported})",
            )
        if job.media_type not in caps.media_types:
            raise SettingsError("media_type", f"the {self.name} workforce cannot show {job.media_type} items")
        if job.max_judgments_per_item > caps.max_judgments_per_item:
            raise SettingsError(
                "judgment_policy.max_judgments_per_item",
                f"the {self.name} workforce allows at most {caps.max_judgments_per_item}, "
                f"got {job.max_judgments_per_item}",
            )

    def validate_item(self, job: JobView, item: WorkItem) -> None:
        """Checks an item as it is added (AddItems, ImportManifest), after the core's own
        checks; raises SettingsError saying what this workforce cannot take, so the item is
        refused then rather than failed once dispatched. The default takes every item."""

    async def start(self, ctx: WorkforceContext) -> None:
        """Called when the job starts (and again after a server restart)."""

    async def sync(self, ctx: WorkforceContext) -> SyncResult:
        """One push round: dispatch claimed work, collect results."""
        return SyncResult(next_sync_seconds=60.0, finished=True)

    async def cancel(self, ctx: WorkforceContext) -> None:
        """Stops outside work for a cancelled job; what was judged is kept."""

    async def close(self) -> None:
        """Releases clients and connections at server shutdown."""
