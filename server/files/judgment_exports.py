"""The lines of an exported judgments file: every raw answer, for rerunning
consolidation offline or auditing workers.

Three forms. Flat: one line per judgment with every mark the owner may filter on
(gold, excluded), the shape crowd-kit and pandas read. Ground Truth: one line per
item, its augmented-manifest line (as ExportLabels writes it) plus the item's
counted answers as Ground Truth hands them to an annotation-consolidation Lambda
(`datasetObjectId`, `annotations[].workerId`, `annotationData.content` a JSON
string), so a consolidation function written for Ground Truth runs on it as is.
CSV: the flat form's columns, for spreadsheets and `pandas.read_csv`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from labelwire.server.domain.model import Judgment
from labelwire.server.files.augmented import ExportFormat
from labelwire.server.files.exports import ExportItem, export_line

FLAT = "json_lines"
GROUND_TRUTH = "ground_truth"
CSV = "csv"
FORMS = (FLAT, GROUND_TRUTH, CSV)
CSV_COLUMNS = (
    "item_key",
    "task",
    "worker",
    "account",
    "external_worker_id",
    "answer",
    "time_spent_seconds",
    "submitted",
    "phase",
    "gold",
    "gold_correct",
    "excluded",
    "excluded_reason",
    "instructions_version",
)


def _when(seconds: float) -> str:
    """Ground Truth's time format, `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def worker_id(judgment: Judgment) -> str:
    """The outside workforce's id when there is one, so answers join with its own records."""
    return judgment.external_worker_id or f"jobs/{judgment.job_id}/workers/{judgment.worker_id}"


def flat_line(judgment: Judgment) -> dict[str, Any]:
    line: dict[str, Any] = {
        "item_key": judgment.item_key,
        "task": f"jobs/{judgment.job_id}/tasks/{judgment.task_id}",
        "worker": f"jobs/{judgment.job_id}/workers/{judgment.worker_id}",
        "account": "" if judgment.account_id is None else f"workers/{judgment.account_id}",
        "external_worker_id": judgment.external_worker_id or "",
        "answer": judgment.answer,
        "time_spent_seconds": judgment.time_spent_ms / 1000,
        "submitted": _when(judgment.created_at),
        "phase": judgment.phase.name.lower(),
        "gold": judgment.gold,
        "excluded": judgment.excluded,
        "excluded_reason": judgment.excluded_reason,
        "instructions_version": judgment.instructions_version,
    }
    if judgment.gold_correct is not None:
        line["gold_correct"] = judgment.gold_correct
    return line


def csv_row(judgment: Judgment) -> list[Any]:
    """The flat line as a CSV row: the answer as compact JSON, booleans as JSON's
    `true`/`false`, an absent `gold_correct` empty."""
    line = flat_line(judgment)

    def cell(name: str) -> Any:
        value = line.get(name)
        if name == "answer":
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else value

    return [cell(name) for name in CSV_COLUMNS]


def ground_truth_lines(
    items: Iterable[ExportItem], judgments: Sequence[Judgment], fmt: ExportFormat
) -> Iterator[dict[str, Any]]:
    """One line per item with a counted judgment, in item order; `items` are
    `export_items` rows. `datasetObjectId` numbers the lines from 0, as Ground
    Truth numbers its manifest."""
    by_key: dict[str, list[Judgment]] = {}
    for judgment in judgments:
        if not judgment.excluded:
            by_key.setdefault(judgment.item_key, []).append(judgment)
    number = 0
    for row in items:
        answers = by_key.get(row.item_key)
        if not answers:
            continue
        line, _ = export_line(row, fmt)
        line["datasetObjectId"] = str(number)
        line["annotations"] = [_annotation(j) for j in answers]
        number += 1
        yield line


def _annotation(judgment: Judgment) -> Mapping[str, Any]:
    return {
        "workerId": worker_id(judgment),
        "annotationData": {"content": json.dumps(judgment.answer, separators=(",", ":"), sort_keys=True)},
        "timeSpentInSeconds": judgment.time_spent_ms / 1000,
        "submissionTime": _when(judgment.created_at),
        "instructionsVersion": judgment.instructions_version,
    }
