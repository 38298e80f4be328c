"""RecordingContext: an in-memory test double of the core's side of the adapter contract.

It keeps the promises `WorkforceContext` makes, so the adapter is tested
against the contract rather than against whatever the core does today: an item
is handed out once until returned, judgments are de-duplicated by (item,
worker), and the adapter's state goes through JSON as a real store would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from labelwire.adapters.base import (
    ExternalJudgment,
    GoldItem,
    JobView,
    RecordOutcome,
    ReferenceLabel,
    WorkItem,
)
from labelwire.server.dispatch.gate import below_bar, grade
from labelwire.server.domain.model import JobSpec


@dataclass
class RecordingContext:
    job: JobView
    items: dict[str, WorkItem] = field(default_factory=dict)
    claimed: list[str] = field(default_factory=list)
    judgments: dict[tuple[str, str], ExternalJudgment] = field(default_factory=dict)
    offered: list[ExternalJudgment] = field(default_factory=list)
    references: dict[str, ReferenceLabel] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    returned: list[str] = field(default_factory=list)
    job_failure: str | None = None
    saved_state: str = "{}"
    claim_calls: list[int] = field(default_factory=list)
    discounted: dict[str, str] = field(default_factory=dict)
    claim_fees: list[int] = field(default_factory=list)
    costs: dict[str, tuple[int, str]] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)
    budget_left: int | None = None  # None: no budget; else what costs may still take

    def add_items(
        self, *keys: str, payload_kind: str = "text", payloads: Mapping[str, str] | None = None
    ) -> None:
        for key in keys:
            payload = (payloads or {}).get(key, f"text of {key}")
            self.items[key] = WorkItem(
                key=key,
                payload_kind=payload_kind,
                payload=payload,
                metadata={},
                judgments_wanted=self.job.judgments_per_item,
            )

    def add_work_item(self, item: WorkItem) -> None:
        self.items[item.key] = item

    @property
    def unclaimed(self) -> list[str]:
        return [k for k in self.items if k not in self.claimed and k not in self.failed]

    async def claim_items(self, limit: int, *, fee_micros_per_judgment: int = 0) -> list[WorkItem]:
        self.claim_calls.append(limit)
        self.claim_fees.append(fee_micros_per_judgment)
        keys = self.unclaimed[:limit]
        self.claimed.extend(keys)
        return [self.items[k] for k in keys]

    async def discount_worker(self, worker_id: str, reason: str) -> None:
        self.discounted[worker_id] = reason

    async def claimed_items(self) -> list[WorkItem]:
        judged = {key for key, _ in self.judgments}
        return [self.items[k] for k in self.claimed if k not in judged and k not in self.failed]

    async def return_items(self, keys: Sequence[str]) -> None:
        for key in keys:
            if key in self.claimed:
                self.claimed.remove(key)
                self.returned.append(key)

    async def record_judgments(self, judgments: Sequence[ExternalJudgment]) -> RecordOutcome:
        outcome = RecordOutcome()
        for judgment in judgments:
            self.offered.append(judgment)
            if judgment.item_key not in self.items:
                outcome.rejected.append((judgment.item_key, "unknown item"))
            elif judgment.answer is None:
                outcome.rejected.append((judgment.item_key, "no usable answer"))
            elif (judgment.item_key, judgment.worker_id) in self.judgments:
                outcome.duplicates += 1
            else:
                self.judgments[(judgment.item_key, judgment.worker_id)] = judgment
                outcome.recorded += 1
        return outcome

    async def reserve_cost(self, micros: int, *, key: str) -> bool:
        if key not in self.reserved:
            if self.budget_left is not None and micros > self.budget_left - sum(self.reserved.values()):
                return False
            self.reserved[key] = micros
        return True

    async def release_cost(self, *, key: str) -> None:
        if key in self.reserved:
            self.reserved[key] = 0

    async def record_cost(self, micros: int, reason: str, *, key: str, reservation: str = "") -> bool:
        if key in self.costs:
            return False
        self.costs[key] = (micros, reason)
        if reservation in self.reserved:
            self.reserved[reservation] -= min(micros, self.reserved[reservation])
        if self.budget_left is not None:
            self.budget_left -= micros
        return True

    async def record_reference_labels(self, labels: Sequence[ReferenceLabel]) -> None:
        for label in labels:
            self.references[label.item_key] = label

    async def fail_items(self, keys: Sequence[str], reason: str) -> None:
        for key in keys:
            self.failed[key] = reason

    async def fail_job(self, reason: str) -> None:
        self.job_failure = reason

    async def gold_items(self, limit: int) -> list[GoldItem]:
        return []

    async def grade_gold(self, answers: Sequence[ExternalJudgment]) -> list[bool | None]:
        """Grades as the core does, by the quality gate's comparison."""
        gold = {g.key: g.answer for g in await self.gold_items(10_000)}
        spec = cast(JobSpec, SimpleNamespace(task_type=self.job.task_type))
        return [
            None if a.item_key not in gold else grade(spec, dict(a.answer or {}), dict(gold[a.item_key]))
            for a in answers
        ]

    async def judge_gold_record(
        self, worker_id: str, answered: int, right: int, *, pass_accuracy: float, min_answered: int = 1
    ) -> bool:
        """Holds the record to the quality gate's bar, as the core does."""
        if not below_bar(pass_accuracy, answered, right, min_answered):
            return False
        await self.discount_worker(worker_id, f"{right} of {answered} hidden gold answers right")
        return True

    async def load_state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.saved_state)
        return state

    async def save_state(self, state: Mapping[str, Any]) -> None:
        self.saved_state = json.dumps(state)

    def answers_of(self, key: str) -> dict[str, Mapping[str, Any] | None]:
        return {worker: j.answer for (item, worker), j in self.judgments.items() if item == key}
