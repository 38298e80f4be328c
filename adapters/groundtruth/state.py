"""The adapter's own progress for one labelwire job, saved through the context.

Only what cannot be found again is kept: which labeling jobs exist and where,
which worker-response files were read, and which workers' answers were recorded
per data object. Item keys are not kept: the input manifest we wrote holds them,
line by line, in the order Ground Truth numbers its data objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

FILLING = "filling"
CREATING = "creating"
RUNNING = "running"
DONE = "done"

STATE_VERSION = 1


@dataclass
class Batch:
    """One Ground Truth labeling job, from its first claimed item to its last read file."""

    name: str
    number: int
    workers: int
    manifest_uri: str
    opened_at: float
    status: str = FILLING
    size: int = 0
    gt_status: str = ""
    counters: dict[str, int] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)
    answered: dict[str, list[str]] = field(default_factory=dict)
    stopped_by_us: bool = False
    outcome: str = ""

    @property
    def active(self) -> bool:
        return self.status != DONE


@dataclass
class AdapterState:
    next_number: int = 1
    batches: list[Batch] = field(default_factory=list)
    poll_seconds: float = 0.0
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AdapterState:
        if not raw:
            return cls()
        version = raw.get("version")
        if version != STATE_VERSION:
            raise ValueError(f"Ground Truth adapter state version {version} is not {STATE_VERSION}")
        return cls(
            next_number=int(raw["next_number"]),
            batches=[Batch(**b) for b in raw["batches"]],
            poll_seconds=float(raw["poll_seconds"]),
            cancelled=bool(raw["cancelled"]),
        )

    def with_status(self, *statuses: str) -> list[Batch]:
        return [b for b in self.batches if b.status in statuses]
