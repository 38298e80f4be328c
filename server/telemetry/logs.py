"""How the server's log lines look: plain text for a terminal, or one JSON
object per line for a log pipeline (`--log-format json`).

A JSON line carries `time` (UTC, ISO 8601), `level`, `logger` and `message`,
every field the caller passed with `extra=` (the per-call line's
`request_id`, `method`, `caller`, `status`, `duration_ms`; the start-up
line's `address`, `tls`, `store`, `version`), and `exception` with the
traceback when there is one.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any

FORMATS = ("plain", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Their DEBUG lines are every HTTP request to AWS, headers and bodies included.
QUIET = ("botocore", "boto3", "s3transfer", "urllib3")

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def configure(level: str = "INFO", fmt: str = "plain") -> None:
    """Sends every logger's records to stderr in the chosen format; replaces
    what was configured before, so the command's choice wins."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(PLAIN))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))
