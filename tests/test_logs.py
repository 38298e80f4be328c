"""Logs as an operator's pipeline reads them: one JSON object per line, with
a start-up line that says what runs where and a shut-down line with its reason."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from labelwire.client.raw import AdminClient
from labelwire.server.cli.main import shown_database
from labelwire.server.telemetry.logs import JsonFormatter
from tests.serve_process import serve

ADMIN = "logs-admin-key"


async def test_json_logs_have_a_start_up_and_a_shut_down_line(tmp_path: Path) -> None:
    with serve(tmp_path, "--admin-key", ADMIN) as served:
        async with AdminClient(served.target, ADMIN) as admin:
            await admin.create_api_key("ml")
        assert served.stop() == 0
        records = [json.loads(line) for line in served.lines()]  # every line is JSON

    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    start = records[0]
    assert start["event"] == "start" and start["level"] == "INFO"
    assert start["address"].startswith("127.0.0.1:") and not start["address"].endswith(":0")
    assert start["tls"] is False
    assert start["store"] == "sqlite"
    assert start["database"] == "labelwire-data/labelwire.db"
    assert start["version"] == version("labelwire")
    assert start["metrics_address"] is None
    stop = records[-1]
    assert (stop["event"], stop["reason"]) == ("stop", "SIGTERM")
    assert stop["message"] == "labelwire stopped"


def record(extra: dict[str, object], *, failed: bool = False) -> logging.LogRecord:
    exc_info = None
    if failed:
        try:
            raise ValueError("store is gone")
        except ValueError:
            exc_info = sys.exc_info()
    rec = logging.LogRecord(
        "labelwire.server.transport.grpc", logging.INFO, __file__, 1, "call %s", ("done",), exc_info
    )
    rec.__dict__.update(extra)
    return rec


def test_json_formatter_renders_the_call_fields_and_the_exception() -> None:
    extra = {
        "request_id": "r-1f3a",
        "method": "/labelwire.v1.JobService/GetJob",
        "caller": "client",
        "status": "INTERNAL",
        "duration_ms": 12.5,
    }
    line = json.loads(JsonFormatter().format(record(extra, failed=True)))
    assert line["message"] == "call done"
    assert line["level"] == "INFO" and line["logger"] == "labelwire.server.transport.grpc"
    assert {k: line[k] for k in extra} == extra
    assert "ValueError: store is gone" in line["exception"]
    assert line["time"].endswith("+00:00")


def test_a_postgres_password_never_reaches_the_log() -> None:
    url = "postgresql://labelwire:s3cret@db.internal:5432/labelwire?sslmode=require"
    assert shown_database(url) == "postgresql://labelwire:***@db.internal:5432/labelwire?sslmode=require"
    assert shown_database("postgresql:///labelwire?host=/run/pg&password=s3cret") == (
        "postgresql:///labelwire?host=/run/pg&password=***"
    )
    assert shown_database("labelwire-data/labelwire.db") == "labelwire-data/labelwire.db"


def test_a_bad_log_setting_in_the_environment_is_named(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "labelwire.server.cli.main", "serve"],
        cwd=tmp_path,
        env={**os.environ, "LABELWIRE_LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "--log-format (LABELWIRE_LOG_FORMAT) must be one of plain, json, got xml" in out.stderr
