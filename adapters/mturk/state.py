"""The adapter's own progress for one labelwire job, saved through the context.

What MTurk cannot tell us again is kept: which HIT holds which item (MTurk
knows only our RequesterAnnotation), which assignments were recorded and which
we approved or rejected (so a restart neither records nor pays twice), the
qualification type made from gold, the money spent, each worker's record on
hidden gold, and the notification events already acted on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

CREATING = "creating"
OPEN = "open"
CLOSED = "closed"

ITEM = "item"
GOLD = "gold"
BATCH = "batch"  # a verification HIT holding several items of one model class (and maybe a hidden gold)

APPROVED = "approved"
REJECTED = "rejected"

STATE_VERSION = 1
MAX_EVENTS_KEPT = 5000


@dataclass
class Seen:
    """One assignment read from MTurk: who answered what, and until when we may decide."""

    worker: str
    answer: str  # canonical JSON of the labelwire answer ("" when nothing usable), see answers.answer_key
    auto_approve_at: float
    correct: bool | None = None  # gold HITs: whether it matched the gold answer


@dataclass
class Hit:
    """One HIT, from the moment we decide to make it until every assignment is settled."""

    kind: str
    key: str
    round: int
    token: str
    max_assignments: int
    created_max: int
    status: str = CREATING
    hit_id: str = ""
    hit_type_id: str = ""
    expires_at: float = 0.0
    expired_by_us: bool = False
    answers: dict[str, Seen] = field(default_factory=dict)
    decided: dict[str, str] = field(default_factory=dict)
    slots: list[str] = field(default_factory=list)  # a batch HIT's items (and gold) in page order
    gold_slots: list[str] = field(default_factory=list)  # which of `slots` are hidden gold

    def work_keys(self) -> list[str]:
        """The items whose judgments this HIT gathers."""
        if self.kind == BATCH:
            return [k for k in self.slots if k not in self.gold_slots]
        return [self.key] if self.kind == ITEM else []

    def outstanding(self) -> int:
        """Assignments still to come (available or being worked on)."""
        return max(0, self.max_assignments - len(self.answers))

    def undecided(self) -> list[str]:
        return [a for a in self.answers if a not in self.decided]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Hit:
        values = dict(raw)
        values["answers"] = {k: Seen(**v) for k, v in raw.get("answers", {}).items()}
        values["decided"] = dict(raw.get("decided", {}))
        values["slots"] = list(raw.get("slots", []))
        values["gold_slots"] = list(raw.get("gold_slots", []))
        return cls(**values)


@dataclass
class Cost:
    """Money MTurk charged (approved work: reward plus fee) in cents, and rejected work (free)."""

    approved: int = 0
    rejected: int = 0
    reward_cents: int = 0
    fee_cents: int = 0

    @property
    def total_cents(self) -> int:
        return self.reward_cents + self.fee_cents


@dataclass
class WorkerRecord:
    gold_right: int = 0
    gold_wrong: int = 0
    rejected: int = 0


@dataclass
class AdapterState:
    qualification_type_id: str | None = None
    notified_hit_types: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    item_hits_since_gold: int = 0
    gold_cursor: int = 0
    cost: Cost = field(default_factory=Cost)
    workers: dict[str, WorkerRecord] = field(default_factory=dict)
    events_seen: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    last_sweep: float = 0.0
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AdapterState:
        if not raw:
            return cls()
        version = raw.get("version")
        if version != STATE_VERSION:
            raise ValueError(f"Mechanical Turk adapter state version {version} is not {STATE_VERSION}")
        return cls(
            qualification_type_id=raw.get("qualification_type_id"),
            notified_hit_types=list(raw.get("notified_hit_types", [])),
            hits=[Hit.from_json(h) for h in raw.get("hits", [])],
            item_hits_since_gold=int(raw.get("item_hits_since_gold", 0)),
            gold_cursor=int(raw.get("gold_cursor", 0)),
            cost=Cost(**raw.get("cost", {})),
            workers={w: WorkerRecord(**r) for w, r in raw.get("workers", {}).items()},
            events_seen=list(raw.get("events_seen", [])),
            priority=list(raw.get("priority", [])),
            last_sweep=float(raw.get("last_sweep", 0.0)),
            cancelled=bool(raw.get("cancelled", False)),
        )

    def with_status(self, *statuses: str) -> list[Hit]:
        return [h for h in self.hits if h.status in statuses]

    def item_hits(self, key: str) -> list[Hit]:
        return [h for h in self.hits if h.kind in (ITEM, BATCH) and key in h.work_keys()]

    def worker(self, worker_id: str) -> WorkerRecord:
        return self.workers.setdefault(worker_id, WorkerRecord())

    def remember_events(self, keys: list[str]) -> None:
        self.events_seen = [*self.events_seen, *keys][-MAX_EVENTS_KEPT:]
