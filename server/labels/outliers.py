"""Which workers drift and which items are hard, on a job whose answers have a spread
(boxes, key points, numbers): each worker's share of outlying annotations, and each
item's spread across its workers.

The task kind says, per item, how spread its annotations are and which are outliers
(`TaskKind.spread`). As with numbers (`consolidation.numeric.worker_outliers`), an item
needs three annotations before one can be called off, and a worker's rate is shrunk
towards the pool's so that one miss in two is not a drift while a tenth of two hundred is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelwire.server.consolidation.numeric import NumericResult, worker_outliers
from labelwire.server.domain.model import JobSpec
from labelwire.server.domain.tasks import task_kind
from labelwire.server.store.rows import CountedJudgmentRow

MIN_VALUES = 3
DEFAULT_ITEMS = 100
MAX_ITEMS = 1000


@dataclass(frozen=True)
class WorkerRate:
    worker_id: int
    checked: int
    flagged: int
    rate: float
    shrunk_rate: float
    drifting: bool


@dataclass(frozen=True)
class ItemSpread:
    key: str
    annotations: int
    spread: float
    outliers: int


@dataclass(frozen=True)
class Report:
    workers: list[WorkerRate]
    pool_rate: float
    items: int
    spreads: list[ItemSpread]


def report(spec: JobSpec, rows: Sequence[CountedJudgmentRow], item_limit: int = DEFAULT_ITEMS) -> Report:
    """Per worker of the job's counted judgments (`Tx.job_judgments` rows, by item), and the
    `item_limit` items with the widest spread."""
    kind = task_kind(spec)
    by_item: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    keys: dict[int, str] = {}
    for r in rows:
        by_item.setdefault(int(r.item_id), []).append((int(r.worker_id), json.loads(r.answer)))
        keys[int(r.item_id)] = str(r.item_key)
    items: list[int] = []
    workers: list[int] = []
    flagged: list[bool] = []
    counts: list[int] = []
    spreads: list[ItemSpread] = []
    for n, (item_id, judgments) in enumerate(by_item.items()):
        counts.append(len(judgments))
        spread, flags = kind.spread(spec, judgments) or (0.0, [False] * len(judgments))
        counted = len(judgments) >= MIN_VALUES
        spreads.append(ItemSpread(keys[item_id], len(judgments), spread, sum(flags) if counted else 0))
        for (worker, _), flag in zip(judgments, flags, strict=True):
            items.append(n)
            workers.append(worker)
            flagged.append(flag)
    worker_ids, dense = np.unique(np.array(workers, dtype=np.int64), return_inverse=True)
    n_values = np.array(counts, dtype=np.int64)
    outliers = np.array(flagged, dtype=np.bool_) & (n_values[np.array(items, dtype=np.int64)] >= MIN_VALUES)
    result = NumericResult(
        centre=np.zeros(len(counts)),
        spread=np.zeros(len(counts)),
        n_values=n_values,
        deviation=np.zeros(len(items)),
        outliers=outliers,
    )
    rates = worker_outliers(result, np.array(items, dtype=np.int64), dense, len(worker_ids))
    out = [
        WorkerRate(
            worker_id=int(w),
            checked=int(rates.checked[n]),
            flagged=int(rates.flagged[n]),
            rate=float(rates.flagged[n] / rates.checked[n]) if rates.checked[n] else 0.0,
            shrunk_rate=float(rates.rate[n]),
            drifting=bool(rates.drifting[n]),
        )
        for n, w in enumerate(worker_ids.tolist())
    ]
    widest = sorted(spreads, key=lambda s: (-s.spread, s.key))[:item_limit]
    return Report(
        workers=out, pool_rate=rates.pool_rate, items=int(np.sum(n_values >= MIN_VALUES)), spreads=widest
    )
