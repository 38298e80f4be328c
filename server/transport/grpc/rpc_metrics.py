"""Counts every call and times it, whatever service answers it (ours, health,
reflection): `labelwire_rpc_requests_total{method, code}` and
`labelwire_rpc_duration_seconds{method}`. `calls.py`'s interceptor, which
wraps every call anyway, records each one here when it ends, with the status
the caller got."""

from __future__ import annotations

from typing import Any

from labelwire.server.telemetry import metrics


class Series:
    """One method's series, looked up once rather than on every call."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.seconds = metrics.RPC_SECONDS.labels(method)
        self.by_code: dict[str, Any] = {}

    def done(self, code: str, seconds: float) -> None:
        counter = self.by_code.get(code)
        if counter is None:
            counter = self.by_code[code] = metrics.RPC_REQUESTS.labels(self.method, code)
        counter.inc()
        self.seconds.observe(seconds)
